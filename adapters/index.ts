import type {Dialect} from '../src/warehouse/dialect.js'
import type {Adapter} from '../src/warehouse/warehouse.js'
import {bigqueryAdapter} from './bigquery/index.js'
import {duckdbAdapter} from './duckdb/index.js'
import {snowflakeAdapter} from './snowflake/index.js'
import {duckdbDialect} from './duckdb/dialect.js'
import {bigqueryDialect} from './bigquery/dialect.js'
import {snowflakeDialect} from './snowflake/dialect.js'

/** Target `type` → adapter. A warehouse is added here and in its own folder, nowhere else. */
export const ADAPTERS: Record<string, Adapter> = {
  duckdb: duckdbAdapter,
  snowflake: snowflakeAdapter,
  bigquery: bigqueryAdapter,
}

/** Dialects that `segc compile --dialect` offers; compiling needs no SDK. */
export const DIALECTS: Record<string, Dialect> = {
  duckdb: duckdbDialect,
  snowflake: snowflakeDialect,
  bigquery: bigqueryDialect,
}

export function adapterFor(type: string): Adapter | undefined {
  return ADAPTERS[type]
}

import type {Dialect} from '../src/generate/dialect.js'
import type {Adapter} from '../src/run/warehouse.js'
import {duckdbAdapter} from './duckdb/index.js'
import {duckdbDialect} from './duckdb/dialect.js'

/** Target `type` → adapter. A warehouse is added here and in its own folder, nowhere else. */
export const ADAPTERS: Record<string, Adapter> = {
  duckdb: duckdbAdapter,
}

/** Dialects that `segc compile --dialect` offers; compiling needs no SDK. */
export const DIALECTS: Record<string, Dialect> = {
  duckdb: duckdbDialect,
}

export function adapterFor(type: string): Adapter | undefined {
  return ADAPTERS[type]
}

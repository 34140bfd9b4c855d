import type {Adapter} from '../../src/warehouse/warehouse.js'
import {DuckDBWarehouse} from './connection.js'
import {duckdbDialect} from './dialect.js'

export const duckdbAdapter: Adapter = {
  type: 'duckdb',
  dialect: duckdbDialect,
  begin: 'BEGIN TRANSACTION',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  connect: (target, root, opts) => DuckDBWarehouse.open(target, root, opts),
}

import type {Adapter} from '../../src/warehouse/warehouse.js'
import {snowflakeDialect} from './dialect.js'

export const snowflakeAdapter: Adapter = {
  type: 'snowflake',
  dialect: snowflakeDialect,
  begin: 'BEGIN TRANSACTION',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  // the SDK loads only when a Snowflake target is used: compile and DuckDB runs never pay for it
  connect: async (target, root) => (await import('./connection.js')).SnowflakeWarehouse.open(target, root),
}

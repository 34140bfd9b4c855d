import type {Adapter} from '../../src/warehouse/warehouse.js'
import {bigqueryDialect} from './dialect.js'

export const bigqueryAdapter: Adapter = {
  type: 'bigquery',
  dialect: bigqueryDialect,
  // multi-statement transactions in a session (https://cloud.google.com/bigquery/docs/transactions)
  begin: 'BEGIN TRANSACTION',
  commit: 'COMMIT TRANSACTION',
  rollback: 'ROLLBACK TRANSACTION',
  connect: async (target, root) => (await import('./connection.js')).BigQueryWarehouse.open(target, root),
}

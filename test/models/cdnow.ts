import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'

/** The CDNOW sample (a copy of ../shared/data/cdnow, test/models/data/README.md): 6,919 purchase records of 2,357 customers. */
export const CDNOW_FILE = fileURLToPath(new URL('./data/CDNOW_sample.txt', import.meta.url))

export const CDNOW_MODELS = `
entities:
  customer: {table: main.customers, key: id}
events:
  purchase:
    entity: customer
    table: main.purchases
    key: customer_id
    timestamp: ts
    label: bought CDs
    properties: {cds: integer, amount: number}
traits:
  purchases: {fit: bgnbd, event: purchase, time_unit: 7d}
  spend: {fit: gamma_gamma, event: purchase, of: amount}
  p_alive: {predict: p_alive, model: purchases}
  next_90d: {predict: expected_purchases, model: purchases, horizon: 90d}
  avg_spend: {predict: expected_spend, model: spend}
  clv_1y: {predict: clv, model: [purchases, spend], horizon: 365d, discount_rate: 0.1}
  orders_total: {event: purchase}
  revenue_total: {event: purchase, aggregate: sum, of: amount}
  days_since_last: {expr: "days_since(last_purchase_at)"}
  last_purchase_at: {event: purchase, aggregate: max, of: timestamp}
`

/** A project directory with the CDNOW warehouse loaded into its DuckDB target. */
export async function cdnowProject(dir: string, segments = ''): Promise<string> {
  mkdirSync(join(dir, 'models'), {recursive: true})
  mkdirSync(join(dir, 'segments'), {recursive: true})
  writeFileSync(join(dir, 'segc.yaml'), 'name: cdnow\ndefault_target: local\ntargets:\n  local: {type: duckdb, path: cdnow.duckdb}\n')
  writeFileSync(join(dir, 'models/cdnow.yaml'), CDNOW_MODELS)
  if (segments) writeFileSync(join(dir, 'segments/value.yaml'), segments)
  const conn = await duckdbAdapter.connect({name: 'load', type: 'duckdb', path: join(dir, 'cdnow.duckdb')}, dir)
  try {
    // columns: id in the full set, id in the sample, yyyymmdd, CDs, dollars (space-aligned)
    await conn.execute(`CREATE TABLE main.purchases AS
      SELECT p[2] AS customer_id, strptime(p[3], '%Y%m%d')::TIMESTAMP AS ts, p[4]::INTEGER AS cds, p[5]::DOUBLE AS amount
      FROM (SELECT string_split_regex(trim(column0, ' \r'), '\\s+') AS p
            FROM read_csv('${CDNOW_FILE}', header = false, delim = '|', columns = {'column0': 'VARCHAR'}))`)
    await conn.execute('CREATE TABLE main.customers AS SELECT DISTINCT customer_id AS id FROM main.purchases')
  } finally {
    await conn.close()
  }
  return dir
}

import {sql} from 'kysely'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {featurePlan, type StoredModel} from '../../src/plan/build-plan.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {evaluateBigQuery, startZetaSQL} from '../helpers/zetasql.js'

// The prediction SQL segc generates for BigQuery, executed by ZetaSQL's reference evaluator,
// gives DuckDB's values within 1e-9 relative: the series of 2F1, P(alive), CLV, k-means.

const MODELS = `
entities:
  customer: {table: customers, key: id, attributes: {score: number, age: number}}
events:
  order:
    entity: customer
    table: orders
    key: cid
    timestamp: ts
    properties: {amount: number}
traits:
  purchases: {fit: bgnbd, event: order, time_unit: 7d}
  spend: {fit: gamma_gamma, event: order, of: amount}
  p_alive: {predict: p_alive, model: purchases}
  next_90d: {predict: expected_purchases, model: purchases, horizon: 90d}
  clv: {predict: clv, model: [purchases, spend], horizon: 365d, discount_rate: 0.1}
  cluster: {fit: kmeans, k: 2, of: [score, age]}
`
const day = (n: number) => new Date(Date.parse('2026-06-01T00:00:00Z') - n * 86400_000).toISOString()
const ROWS = {
  customers: Array.from({length: 12}, (_, i) => ({id: `c${i}`, score: i % 4, age: i % 3 === 0 ? null : i})),
  orders: Array.from({length: 12}, (_, i) => Array.from({length: (i % 5) + 1}, (_, j) => ({cid: `c${i}`, ts: day(3 + i * 17 + j * (11 + i)), amount: 5 + ((i * 7 + j * 3) % 40)}))).flat(),
}
const PARAMS = new Map<string, StoredModel>([
  ['purchases', {model: 'purchases', version: 1, kind: 'bgnbd', params: {r: 0.243, alpha: 4.414, a: 0.793, b: 2.426}}],
  ['spend', {model: 'spend', version: 1, kind: 'gamma_gamma', params: {p: 6.25, q: 3.74, gamma: 15.44}}],
  ['cluster', {model: 'cluster', version: 1, kind: 'kmeans', params: {features: ['score', 'age'], means: [1.5, 6], stddevs: [1.1, 3.2], centroids: [[-1, -0.5], [0.8, 0.9]]}}],
])

let stop: () => void
beforeAll(async () => {
  stop = (await startZetaSQL()).stop
})
afterAll(() => stop?.())

describe('fitted-trait SQL on BigQuery (ZetaSQL reference evaluation) equals DuckDB', () => {
  it('p_alive, expected purchases, CLV and the cluster of every customer', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const names = ['p_alive', 'next_90d', 'clv', 'cluster']
    const query = (dialect: typeof bigqueryDialect) => {
      const f = featurePlan(v.project, 'customer', new Date('2026-06-01T00:00:00Z'), names.map((name) => ({name, target: 'trait' as const})), {models: PARAMS})
      const db = compilerFor(dialect)
      return render(db, sql`${featureQuery(db, dialect, f.asOf, f.plan, f.values)}`)
    }
    const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
    let duck: Array<Record<string, unknown>>
    try {
      for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, ROWS)) await conn.execute(s)
      duck = await conn.query(query(duckdbAdapter.dialect))
    } finally {
      await conn.close()
    }
    const bq = await evaluateBigQuery(v.project, ROWS, query(bigqueryDialect))
    expect(bq).toHaveLength(12)
    const byKey = new Map(bq.map((r) => [String(r.segc_key), r]))
    let compared = 0
    for (const d of duck) {
      const b = byKey.get(String(d.segc_key))!
      for (const k of ['f0', 'f1', 'f2', 'f3']) {
        if (d[k] === null) {
          expect(b[k], `${String(d.segc_key)} ${k}`).toBe(null)
          continue
        }
        const x = Number(d[k])
        expect(Math.abs(Number(b[k]) - x) / Math.max(Math.abs(x), 1e-300), `${String(d.segc_key)} ${k}: ${String(b[k])} vs ${x}`).toBeLessThan(1e-9)
        compared++
      }
    }
    expect(compared).toBeGreaterThan(40)
  })
})

import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {SNOWFLAKE_MACROS, snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {featurePlan, type StoredModel} from '../../src/plan/build-plan.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {evaluateBigQuery, useZetaSQL} from '../helpers/zetasql.js'

// The prediction SQL segc generates for BigQuery (executed by ZetaSQL's reference evaluator)
// and for Snowflake (translated to DuckDB by an independent translator) gives DuckDB's values
// within 1e-9 relative: the series of 2F1, P(alive), CLV, k-means.

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

useZetaSQL()

/** Relative differences of every fitted-trait value, key by key; NULLs must match exactly. */
function compare(duck: Array<Record<string, unknown>>, other: Array<Record<string, unknown>>, label: string): number {
  const lower = other.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x])))
  expect(lower).toHaveLength(duck.length)
  const byKey = new Map(lower.map((r) => [String(r.segc_key), r]))
  let compared = 0
  for (const d of duck) {
    const o = byKey.get(String(d.segc_key))!
    for (const k of ['f0', 'f1', 'f2', 'f3']) {
      if (d[k] === null) {
        expect(o[k], `${label} ${String(d.segc_key)} ${k}`).toBe(null)
        continue
      }
      const x = Number(d[k])
      expect(Math.abs(Number(o[k]) - x) / Math.max(Math.abs(x), 1e-300), `${label} ${String(d.segc_key)} ${k}: ${String(o[k])} vs ${x}`).toBeLessThan(1e-9)
      compared++
    }
  }
  return compared
}

function predictionQuery(project: ReturnType<typeof validOrThrow>['project'], dialect: Dialect, params = PARAMS): string {
  const names = ['p_alive', 'next_90d', 'clv', 'cluster']
  const f = featurePlan(project, 'customer', new Date('2026-06-01T00:00:00Z'), names.map((name) => ({name, target: 'trait' as const})), {models: params})
  const db = compilerFor(dialect)
  return render(db, sql`${featureQuery(db, dialect, f.asOf, f.plan, f.values)}`)
}

async function onDuckDB(dir: string, project: ReturnType<typeof validOrThrow>['project'], statements: string[], query: string) {
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of [...fixtureStatements(duckdbAdapter.dialect, project, ROWS), ...statements]) await conn.execute(s)
    return await conn.query(query)
  } finally {
    await conn.close()
  }
}

describe('fitted-trait SQL gives DuckDB\'s values in every dialect, within 1e-9 relative', () => {
  it('BigQuery, executed by ZetaSQL\'s reference evaluator: p_alive, expected purchases, CLV and the cluster of every customer', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], predictionQuery(v.project, duckdbAdapter.dialect))
    const bq = await evaluateBigQuery(v.project, ROWS, predictionQuery(v.project, bigqueryDialect))
    expect(compare(duck, bq, 'bigquery')).toBeGreaterThan(40)
  })

  it('Snowflake, translated to DuckDB by polyglot (FLATTEN over ARRAY_GENERATE_RANGE included)', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], predictionQuery(v.project, duckdbAdapter.dialect))
    const snowflake = predictionQuery(v.project, snowflakeDialect)
    expect(snowflake).toContain('FLATTEN(INPUT => ARRAY_GENERATE_RANGE(')
    const translated = await snowflakeToDuckDB(snowflake)
    const sf = await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, translated)
    expect(compare(duck, sf, 'snowflake')).toBeGreaterThan(40)
  })

  it('a BG/NBD fit at its NBD limit (a = 0, b not identified): the limit\'s closed forms in every dialect', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const limit = new Map(PARAMS)
    limit.set('purchases', {model: 'purchases', version: 1, kind: 'bgnbd', params: {r: 0.81, alpha: 5.3, a: 0, b: null}})
    const duck = await onDuckDB(dir, v.project, [], predictionQuery(v.project, duckdbAdapter.dialect, limit))
    // every customer with a transaction is alive, with E[X(t) | x, T] = (r + x) / (α + T) · t
    const withTx = duck.filter((r) => r.f0 !== null)
    expect(withTx.length).toBeGreaterThan(8)
    for (const r of withTx) expect(Number(r.f0)).toBe(1)
    const bq = await evaluateBigQuery(v.project, ROWS, predictionQuery(v.project, bigqueryDialect, limit))
    expect(compare(duck, bq, 'bigquery')).toBeGreaterThan(40)
    const sf = await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, await snowflakeToDuckDB(predictionQuery(v.project, snowflakeDialect, limit)))
    expect(compare(duck, sf, 'snowflake')).toBeGreaterThan(40)
  })

  it('the comparison can fail: other parameters in the Snowflake SQL are caught', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], predictionQuery(v.project, duckdbAdapter.dialect))
    const other = new Map(PARAMS)
    other.set('purchases', {model: 'purchases', version: 1, kind: 'bgnbd', params: {r: 0.243, alpha: 4.414, a: 0.793, b: 2.4261}})
    const sf = await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, await snowflakeToDuckDB(predictionQuery(v.project, snowflakeDialect, other)))
    expect(() => compare(duck, sf, 'snowflake')).toThrow(/snowflake/)
  })
})

import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {buildPlan, featurePlan, type StoredModel} from '../../src/plan/build-plan.js'
import {membershipSelect} from '../../src/generate/run-statements.js'
import {segc} from '../helpers/cli.js'
import type {PropensityParams} from '../../src/plan/propensity-plan.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {SNOWFLAKE_MACROS, snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'
import {evaluateBigQuery, useZetaSQL} from '../helpers/zetasql.js'

// Propensity scores (SPEC §17) in every dialect: the probability and the percentile SQL segc
// generates for BigQuery (executed by ZetaSQL's reference evaluator) and Snowflake (translated
// to DuckDB) give DuckDB's values within 1e-9 — NULL features, booleans, a level holding a
// quote (escaped by each dialect), a population outside which both are NULL.

const MODELS = `
entities:
  customer: {table: customers, key: id, attributes: {score: number, opt_in: boolean, city: string, active: boolean}}
events:
  order: {entity: customer, table: orders, key: cid, timestamp: ts}
traits:
  orders_90d: {event: order, within: 90d}
  buys: {fit: propensity, goal: {event: order}, horizon: 30d, population: actives, features: [orders_90d, score, opt_in, city]}
  p_buy: {predict: probability, model: buys}
  pct_buy: {predict: percentile, model: buys}
`
const SEGMENTS = 'segment: actives\nentity: customer\nrule: {attribute: active}\n'
const day = (n: number) => new Date(Date.parse('2026-06-01T00:00:00Z') - n * 86400_000).toISOString()
const CITIES = ["O'Brien", 'Oslo', 'Lima', null]
const ROWS = {
  customers: Array.from({length: 30}, (_, i) => ({id: `c${i}`, score: i % 7 === 0 ? null : (i * 37) % 11, opt_in: i % 5 === 0 ? null : i % 2 === 0, city: CITIES[i % 4]!, active: i % 6 !== 0})),
  orders: Array.from({length: 30}, (_, i) => Array.from({length: i % 4}, (_, j) => ({cid: `c${i}`, ts: day(2 + i + j * 20)}))).flat(),
}
const PARAMS: Partial<PropensityParams> = {
  features: ['orders_90d', 'score', 'opt_in', 'city'],
  types: {orders_90d: 'number', score: 'number', opt_in: 'boolean', city: 'string'},
  columns: [{feature: 'orders_90d'}, {feature: 'score'}, {feature: 'opt_in'}, {feature: 'city', level: "O'Brien"}, {feature: 'city', level: 'Oslo'}],
  means: {orders_90d: 1.4, score: 4.9},
  stddevs: {orders_90d: 1.1, score: 3.3},
  levels: {city: ["O'Brien", 'Oslo']},
  coefficients: [0.83, -0.41, 0.57, 1.9, -0.66],
  intercept: -1.2,
}
const models = new Map<string, StoredModel>([['buys', {model: 'buys', version: 1, kind: 'propensity', params: PARAMS as Record<string, unknown>}]])

useZetaSQL()

function query(project: ReturnType<typeof validOrThrow>['project'], dialect: Dialect): string {
  const f = featurePlan(project, 'customer', new Date('2026-06-01T00:00:00Z'), [{name: 'p_buy', target: 'trait'}, {name: 'pct_buy', target: 'trait'}], {models})
  const db = compilerFor(dialect)
  return render(db, sql`${featureQuery(db, dialect, f.asOf, f.plan, f.values)}`)
}

async function onDuckDB(dir: string, project: ReturnType<typeof validOrThrow>['project'], statements: string[], q: string) {
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of [...fixtureStatements(duckdbAdapter.dialect, project, ROWS), ...statements]) await conn.execute(s)
    return await conn.query(q)
  } finally {
    await conn.close()
  }
}

function compare(duck: Array<Record<string, unknown>>, other: Array<Record<string, unknown>>, label: string): number {
  const byKey = new Map(other.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x]))).map((r) => [String(r.segc_key), r]))
  expect(byKey.size).toBe(duck.length)
  let n = 0
  for (const d of duck) {
    const o = byKey.get(String(d.segc_key))!
    for (const k of ['f0', 'f1']) {
      if (d[k] === null) {
        expect(o[k], `${label} ${String(d.segc_key)} ${k}`).toBe(null)
        continue
      }
      expect(Math.abs(Number(o[k]) - Number(d[k])), `${label} ${String(d.segc_key)} ${k}: ${String(o[k])} vs ${String(d[k])}`).toBeLessThan(1e-9)
      n++
    }
  }
  return n
}

/** The closed form, by hand: the DuckDB values are right before the other dialects are compared with them. */
function closedForm(i: number): number | null {
  const c = ROWS.customers[i]!
  if (!c.active) return null
  const orders = ROWS.orders.filter((o) => o.cid === c.id && Date.parse(o.ts) > Date.parse('2026-06-01T00:00:00Z') - 90 * 86400_000).length
  const z = (v: number | null, f: 'orders_90d' | 'score') => ((v ?? PARAMS.means![f]!) - PARAMS.means![f]!) / PARAMS.stddevs![f]!
  const x = [z(orders, 'orders_90d'), z(c.score, 'score'), c.opt_in === true ? 1 : 0, c.city === "O'Brien" ? 1 : 0, c.city === 'Oslo' ? 1 : 0]
  const eta = PARAMS.intercept! + x.reduce((a, v, j) => a + v * PARAMS.coefficients![j]!, 0)
  return 1 / (1 + Math.exp(-eta))
}

describe('propensity scores give DuckDB\'s values in every dialect, within 1e-9', () => {
  it('DuckDB equals the closed form; outside the population both scores are NULL', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': SEGMENTS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], query(v.project, duckdbAdapter.dialect))
    for (const r of duck) {
      const want = closedForm(Number(String(r.segc_key).slice(1)))
      if (want === null) expect([r.f0, r.f1]).toEqual([null, null])
      else expect(Math.abs(Number(r.f0) - want)).toBeLessThan(1e-12)
    }
    expect(duck.filter((r) => r.f0 === null)).toHaveLength(5)
  })

  it('BigQuery, executed by ZetaSQL', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': SEGMENTS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], query(v.project, duckdbAdapter.dialect))
    const bq = await evaluateBigQuery(v.project, ROWS, query(v.project, bigqueryDialect))
    expect(compare(duck, bq, 'bigquery')).toBe(50)
  })

  it('Snowflake, translated to DuckDB', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': SEGMENTS})
    const v = validOrThrow(dir)
    const duck = await onDuckDB(dir, v.project, [], query(v.project, duckdbAdapter.dialect))
    const sf = await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, await snowflakeToDuckDB(query(v.project, snowflakeDialect)))
    expect(compare(duck, sf, 'snowflake')).toBe(50)
  })
})

// `segc compile --membership` (and the run's membership query) with segments on both scores
const SCORED = `${SEGMENTS}---
segment: probable
entity: customer
rule: {trait: p_buy, gte: 0.5}
---
segment: top_fifth
entity: customer
rule: {trait: pct_buy, gte: 0.2}
`
const AT = new Date('2026-06-01T00:00:00Z')
const sorted = (rows: Array<Record<string, unknown>>) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x]))).map((r) => `${String(r.segment)}/${String(r.entity_key)}/${String(r.holdout)}`).sort()

describe('membership with propensity segments in every dialect', () => {
  it('with a stored version: the members the closed form gives, on DuckDB, BigQuery (ZetaSQL) and Snowflake (translated)', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': SCORED})
    const v = validOrThrow(dir)
    const q = (d: Dialect) => membershipSelect(d, buildPlan(v.project, AT, undefined, {models}))!
    // by hand: probable is p ≥ 0.5; top_fifth is NTILE(100) ≥ 20 of 25 scored, i.e. the 6 highest (ties by key)
    const scored = ROWS.customers.map((c, i) => ({key: c.id, p: closedForm(i)})).filter((x): x is {key: string; p: number} => x.p !== null)
    const ranked = [...scored].sort((a, b) => a.p - b.p || (a.key < b.key ? -1 : 1))
    const want = [
      ...ROWS.customers.filter((c) => c.active).map((c) => `actives/${c.id}/false`),
      ...scored.filter((x) => x.p >= 0.5).map((x) => `probable/${x.key}/false`),
      ...ranked.filter((_, i) => i + 1 >= 20).map((x) => `top_fifth/${x.key}/false`),
    ].sort()
    const duck = sorted(await onDuckDB(dir, v.project, [], q(duckdbAdapter.dialect)))
    expect(duck).toEqual(want)
    expect(want.filter((w) => w.startsWith('probable/')).length).toBeGreaterThan(2)
    expect(sorted(await evaluateBigQuery(v.project, ROWS, q(bigqueryDialect)))).toEqual(want)
    expect(sorted(await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, await snowflakeToDuckDB(q(snowflakeDialect))))).toEqual(want)
  })

  it('segc compile --membership --dialect X: exits 0 in each, names the placeholder models, and the three SELECTs return the same rows', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': SCORED})
    const v = validOrThrow(dir)
    const texts: Record<string, string> = {}
    for (const d of ['duckdb', 'bigquery', 'snowflake']) {
      const r = segc(['compile', '--membership', '--dialect', d, '--as-of', AT.toISOString()], {cwd: dir})
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^-- fitted models \(buys\) show placeholder parameters: a run uses the versions stored in segment_models$/m)
      texts[d] = r.stdout.replace(/^--.*$/gm, '').trim().replace(/;$/, '')
    }
    const duck = sorted(await onDuckDB(dir, v.project, [], texts.duckdb!))
    // placeholders score everyone in the population 0.5: all 25 actives are probable, the last 6 by key the top fifth
    const actives = ROWS.customers.filter((c) => c.active).map((c) => c.id).sort()
    expect(duck.filter((r) => r.startsWith('probable/'))).toHaveLength(25)
    expect(duck.filter((r) => r.startsWith('top_fifth/'))).toEqual(actives.slice(-6).map((k) => `top_fifth/${k}/false`).sort())
    expect(sorted(await evaluateBigQuery(v.project, ROWS, texts.bigquery!))).toEqual(duck)
    expect(sorted(await onDuckDB(dir, v.project, SNOWFLAKE_MACROS, await snowflakeToDuckDB(texts.snowflake!)))).toEqual(duck)
  })
})

import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {featurePlan, type StoredModel} from '../../src/plan/build-plan.js'
import {segc} from '../helpers/cli.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {withProjectDb} from '../helpers/state.js'

// Real-data edges of the fitted traits, on rows worked out by hand. Parameters are given
// (a handful of rows cannot be fitted); the expected values come from the published closed
// forms evaluated here in plain arithmetic, not from segc's SQL.

const MODELS = `
entities:
  customer: {table: main.customers, key: id, attributes: {score: number, age: number}}
events:
  order:
    entity: customer
    table: main.orders
    key: cid
    timestamp: ts
    properties: {amount: number}
traits:
  purchases: {fit: bgnbd, event: order, time_unit: 1d}
  spend: {fit: gamma_gamma, event: order, of: amount}
  p_alive: {predict: p_alive, model: purchases}
  next_30d: {predict: expected_purchases, model: purchases, horizon: 30d}
  avg_spend: {predict: expected_spend, model: spend}
  cluster: {fit: kmeans, k: 2, of: [score, age]}
`
const AS_OF = '2026-06-01T00:00:00Z'
const o = (cid: string, ts: string, amount: number) => ({cid, ts, amount})
const ROWS = {
  'main.customers': [
    {id: 'one', score: 1, age: 1},
    {id: 'zero', score: 3, age: 5},
    {id: 'today', score: null, age: 2},
    {id: 'later', score: 0, age: 0},
    {id: 'none', score: 2, age: 2},
  ],
  'main.orders': [
    o('one', '2026-05-01T10:00:00Z', 50), // a single purchase day: x = 0
    o('one', '2026-05-01T18:00:00Z', 30), // same UTC day: one transaction
    o('zero', '2026-03-01T00:00:00Z', 40), // first day
    o('zero', '2026-04-01T00:00:00Z', 0), // repeat purchases worth 0
    o('zero', '2026-05-01T00:00:00Z', 0),
    o('today', '2026-06-01T00:00:00Z', 10), // on the as_of instant: counts, T = 0
    o('later', '2026-06-02T00:00:00Z', 99), // after as_of: ignored, so no transaction at all
  ],
}
const BG = {r: 0.5, alpha: 10, a: 0.8, b: 2.5}
const GG = {p: 6, q: 4, gamma: 15}
const KM = {features: ['score', 'age'], means: [0, 0], stddevs: [1, 1], centroids: [[1, 1], [3, 5]]}

/** Hand forms: P(alive), and E[X(t)] by the series of 2F1 summed here in plain arithmetic. */
function hyp2f1(a: number, b: number, c: number, z: number): number {
  let term = 1
  let sum = 1
  for (let k = 0; k < 100000 && Math.abs(term) > 1e-18 * Math.abs(sum); k++) {
    term *= (((a + k) * (b + k)) / ((c + k) * (k + 1))) * z
    sum += term
  }
  return sum
}
function bgnbd(x: number, tx: number, T: number, t: number) {
  const {r, alpha, a, b} = BG
  const odds = x > 0 ? (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 0
  const e = (((a + b + x - 1) / (a - 1)) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))) / (1 + odds)
  return {p_alive: 1 / (1 + odds), expected: e}
}

describe('fitted traits on hand-worked edges', () => {
  it('x, t_x, T and m_x; predictions; NULL where there is no transaction or feature', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
    try {
      for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, ROWS)) await conn.execute(s)
      const models = new Map<string, StoredModel>([
        ['purchases', {model: 'purchases', version: 1, kind: 'bgnbd', params: BG}],
        ['spend', {model: 'spend', version: 1, kind: 'gamma_gamma', params: GG}],
        ['cluster', {model: 'cluster', version: 1, kind: 'kmeans', params: KM}],
      ])
      const names = ['p_alive', 'next_30d', 'avg_spend', 'cluster']
      const f = featurePlan(v.project, 'customer', new Date(AS_OF), names.map((name) => ({name, target: 'trait' as const})), {models})
      const db = compilerFor(duckdbAdapter.dialect)
      const rows = await conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)} ORDER BY segc_key`))
      const byKey = Object.fromEntries(rows.map((r) => [String(r.segc_key), r]))
      // one: a single purchase day (two orders on it) 31 days before as_of: x = 0, T = 31
      const one = bgnbd(0, 0, 31, 30)
      expect(Number(byKey.one!.f0)).toBe(1)
      expect(Number(byKey.one!.f1)).toBeCloseTo(one.expected, 12)
      expect(Number(byKey.one!.f2)).toBeCloseTo((GG.p * GG.gamma) / (GG.q - 1), 12) // x = 0: the population mean
      // zero: first day 2026-03-01, repeats 04-01 and 05-01 worth 0: x = 2, t_x = 61, T = 92, m_x = 0
      const zero = bgnbd(2, 61, 92, 30)
      expect(Number(byKey.zero!.f0)).toBeCloseTo(zero.p_alive, 12)
      expect(Number(byKey.zero!.f1)).toBeCloseTo(zero.expected, 12)
      expect(Number(byKey.zero!.f2)).toBeCloseTo((GG.p * (GG.gamma + 2 * 0)) / (GG.p * 2 + GG.q - 1), 12) // still scored
      // today: the only purchase at the as_of instant: x = 0, T = 0
      expect(Number(byKey.today!.f1)).toBeCloseTo(bgnbd(0, 0, 0, 30).expected, 12)
      // later and none: no transaction at or before as_of: NULL predictions
      for (const k of ['later', 'none']) expect([byKey[k]!.f0, byKey[k]!.f1, byKey[k]!.f2]).toEqual([null, null, null])
      // clusters: a NULL feature gets none; features equal to a centroid get that one; (0,0) is nearer (1,1)
      expect(byKey.today!.f3).toBe(null)
      expect(Number(byKey.one!.f3)).toBe(1)
      expect(Number(byKey.zero!.f3)).toBe(2)
      expect(Number(byKey.later!.f3)).toBe(1)
      // (2,2) is sqrt(2) from (1,1) and sqrt(10) from (3,5)
      expect(Number(byKey.none!.f3)).toBe(1)
    } finally {
      await conn.close()
    }
  })

  it('a tie between two centroids goes to the lower index', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const v = validOrThrow(dir)
    const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
    try {
      for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, {'main.customers': [{id: 'mid', score: 2, age: 3}], 'main.orders': []})) await conn.execute(s)
      const models = new Map<string, StoredModel>([['cluster', {model: 'cluster', version: 1, kind: 'kmeans', params: KM}]])
      const f = featurePlan(v.project, 'customer', new Date(AS_OF), [{name: 'cluster', target: 'trait'}], {models})
      const db = compilerFor(duckdbAdapter.dialect)
      const [row] = await conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)}`))
      // (2,3) is sqrt(5) from both (1,1) and (3,5)
      expect(Number(row!.f0)).toBe(1)
    } finally {
      await conn.close()
    }
  })
})

describe('bad input around fitted models', () => {
  it('predict: naming a missing model or one of the wrong kind; a model used as a value; kmeans on a string', () => {
    const dir = writeProject({
      'models/m.yaml': MODELS.replace('  cluster:', `  bad1: {predict: p_alive, model: purchasez}
  bad2: {predict: expected_spend, model: purchases}
  bad3: {predict: clv, model: purchases, horizon: 365d}
  bad4: {predict: expected_purchases, model: purchases}
  cluster:`),
      'segments/s.yaml': 'segment: s\nentity: customer\nrule: {trait: purchases, gte: 1}\n',
    })
    const r = segc(['validate'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^models\/m\.yaml:\d+:\d+: error\[unknown_trait\]: unknown trait 'purchasez' \(did you mean 'purchases'\?\)$/m)
    expect(r.stderr).toMatch(/^models\/m\.yaml:\d+:\d+: error\[type_mismatch\]: predict: expected_spend needs a fit: gamma_gamma trait; 'purchases' is a fit: bgnbd trait$/m)
    expect(r.stderr).toMatch(/^models\/m\.yaml:\d+:\d+: error\[type_mismatch\]: predict: clv needs a fit: gamma_gamma trait in 'model'$/m)
    expect(r.stderr).toMatch(/^models\/m\.yaml:\d+:\d+: error\[missing_key\]: predict: expected_purchases needs 'horizon', like 90d$/m)
    expect(r.stderr).toMatch(/^segments\/s\.yaml:3:\d+: error\[type_mismatch\]: trait 'purchases' is a fitted model, not a value/m)
  })

  it('a fit on too little data exits 2 with the reason; the models that fit are stored, the others named', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segc.yaml': 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n'})
    const v = validOrThrow(dir)
    await withProjectDb(dir, async (c) => {
      for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, ROWS)) await c.execute(s)
    }, 'w.duckdb')
    const r = segc(['fit', 'purchases', '--as-of', AS_OF], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: segc fit: purchases: too little data to fit BG\/NBD: 3 entities with a transaction, 1 with a repeat transaction \(at least 20 and 5 are needed\); nothing was stored$/m)
    const stored = await withProjectDb(dir, (c) => c.query('SELECT count(*) AS n FROM segments.segment_models'), 'w.duckdb')
    expect(Number(stored[0]!.n)).toBe(0)
    // every model at once: the two that cannot be fitted are named, the one that can is stored
    const all = segc(['fit', '--as-of', AS_OF, '--json'], {cwd: dir})
    expect(all.code).toBe(2)
    const out = JSON.parse(all.stdout) as {status: string; error: string; result: {models: Array<{model: string; version: number}>; failed: Array<{model: string; error: string}>}}
    expect(out.status).toBe('error')
    expect(out.result.models.map((m) => [m.model, m.version])).toEqual([['cluster', 1]])
    expect(out.result.failed.map((f) => f.model)).toEqual(['purchases', 'spend'])
    expect(out.result.failed[1]!.error).toMatch(/^too little data to fit Gamma-Gamma/)
    expect(out.error).toMatch(/stored cluster v1$/)
    const kept = await withProjectDb(dir, (c) => c.query('SELECT model, version FROM segments.segment_models'), 'w.duckdb')
    expect(kept.map((k) => [k.model, Number(k.version)])).toEqual([['cluster', 1]])
    // in text, the stored model's table and then the failure
    const text = segc(['fit', '--as-of', AS_OF], {cwd: dir})
    expect(text.code).toBe(2)
    expect(text.stdout).toMatch(/^cluster\s+kmeans\s+2\s+4\s/m)
    expect(text.stderr).toMatch(/^error: segc fit: purchases: too little data.*; spend: too little data.*; stored cluster v2$/m)
    const unknown = segc(['fit', 'purchase'], {cwd: dir})
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^TRAIT:1:1: error\[unknown_trait\]: no fit: trait 'purchase' \(did you mean 'purchases'\?\)$/m)
  })
})

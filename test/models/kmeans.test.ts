import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {loadModels} from '../../src/project/models.js'
import {featurePlan} from '../../src/plan/build-plan.js'
import {prepare} from '../../src/project/session.js'
import {exampleCopy, segc} from '../helpers/cli.js'
import {cdnowProject} from './cdnow.js'

// segc's k-means (run in the warehouse) against scikit-learn's Lloyd from the same initial
// centroids: same centroids within 1e-9, same assignment for every entity.

const TOOL = fileURLToPath(new URL('./tools/kmeans_sklearn.py', import.meta.url))

interface KmeansParams {
  features: string[]
  means: number[]
  stddevs: number[]
  centroids: number[][]
  initial_centroids: number[][]
}

/** segc's stored model and its assignment of every entity, and the raw feature rows the test reads with its own SQL. */
async function compare(dir: string, model: string, entity: string, asOf: string, ownFeatures: string) {
  const r1 = segc(['fit', model, '--as-of', asOf, '--json'], {cwd: dir})
  expect(r1.code, r1.stderr).toBe(0)
  const p = prepare({project: dir})
  const conn = await duckdbAdapter.connect(p.target, p.v.root)
  try {
    const models = await loadModels(conn, p.v.project, p.adapter.dialect)
    const params = models.get(model)!.params as unknown as KmeansParams
    const f = featurePlan(p.v.project, entity, new Date(asOf), [{name: model, target: 'trait'}], {models})
    const db = compilerFor(duckdbAdapter.dialect)
    const assigned = new Map((await conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)}`))).map((r) => [String(r.segc_key), r.f0 === null ? null : Number(r.f0)]))
    const raw = await conn.query(ownFeatures)
    return {params, assigned, raw, fitOutput: JSON.parse(r1.stdout) as {models: Array<{detail: {profiles: string[]; iterations: number}}>}}
  } finally {
    await conn.close()
  }
}

function sklearn(points: number[][], initial: number[][], standardize = true) {
  const r = spawnSync('/usr/bin/python3', [TOOL], {input: JSON.stringify({points, initial, standardize}), encoding: 'utf8', maxBuffer: 1 << 28})
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as {means: number[]; stddevs: number[]; centroids: number[][]; labels: number[]; iterations: number}
}

function expectSame(params: KmeansParams, sk: ReturnType<typeof sklearn>, keys: string[], assigned: Map<string, number | null>) {
  params.means.forEach((m, i) => expect(Math.abs(m - sk.means[i]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(m))))
  params.stddevs.forEach((s, i) => expect(Math.abs(s - sk.stddevs[i]!) / s).toBeLessThan(1e-9))
  // segc numbers clusters by the first feature's centroid; map sklearn's order onto it
  const order = sk.centroids.map((c, j) => ({c, j})).sort((a, b) => a.c[0]! - b.c[0]!)
  const rank = new Map(order.map((o, i) => [o.j, i + 1]))
  order.forEach((o, i) => o.c.forEach((v, d) => expect(Math.abs(v - params.centroids[i]![d]!), `centroid ${i + 1}, feature ${d}`).toBeLessThan(1e-9)))
  let same = 0
  keys.forEach((k, i) => {
    expect(assigned.get(k), k).toBe(rank.get(sk.labels[i]!))
    same++
  })
  return same
}

describe('kmeans equals scikit-learn Lloyd from the same initial centroids', () => {
  it('on CDNOW features (recency, frequency, monetary), standardized', async () => {
    const dir = await cdnowProject(mkdtempSync(join(tmpdir(), 'segc-km-')))
    writeFileSync(join(dir, 'models/cdnow.yaml'), readFileSync(join(dir, 'models/cdnow.yaml'), 'utf8') + '  rfm_cluster: {fit: kmeans, k: 4, of: [days_since_last, orders_total, revenue_total], standardize: true}\n')
    const asOf = '1997-09-30T00:00:00Z'
    const own = `SELECT customer_id AS k, floor(date_diff('second', max(ts), TIMESTAMP '1997-09-30') / 86400) AS recency, count(*) AS orders, sum(amount) AS revenue
                 FROM main.purchases WHERE ts <= TIMESTAMP '1997-09-30' GROUP BY customer_id ORDER BY customer_id`
    const {params, assigned, raw, fitOutput} = await compare(dir, 'rfm_cluster', 'customer', asOf, own)
    expect(raw).toHaveLength(2357)
    expect(params.centroids).toHaveLength(4)
    const sk = sklearn(raw.map((r) => [Number(r.recency), Number(r.orders), Number(r.revenue)]), params.initial_centroids)
    expect(expectSame(params, sk, raw.map((r) => String(r.k)), assigned)).toBe(2357)
    // clusters numbered by the first feature (recency), ascending, each with a profile
    expect(params.centroids.map((c) => c[0])).toEqual([...params.centroids.map((c) => c[0])].sort((a, b) => a! - b!))
    expect(fitOutput.models[0]!.detail.profiles).toHaveLength(4)
    // deterministic: a second fit stores the same centroids
    const again = segc(['fit', 'rfm_cluster', '--as-of', asOf, '--json'], {cwd: dir})
    const second = JSON.parse(again.stdout) as {models: Array<{version: number; params: KmeansParams}>}
    expect(second.models[0]!.version).toBe(2)
    expect(second.models[0]!.params.centroids).toEqual(params.centroids)
    expect(second.models[0]!.params.initial_centroids).toEqual(params.initial_centroids)
  })

  it('on the demo, where some customers have no orders (NULL features get no cluster)', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '3000', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    writeFileSync(join(dir, 'models/shop.yaml'), readFileSync(join(dir, 'models/shop.yaml'), 'utf8').replace(/\ntraits:\n/, '\ntraits:\n  km_test: {fit: kmeans, k: 5, of: [days_since_last_order, orders_365d, lifetime_revenue]}\n'))
    const asOf = '2026-06-01T00:00:00Z'
    const own = `SELECT c.customer_id AS k, floor(date_diff('second', max(o.ordered_at), TIMESTAMP '2026-06-01') / 86400) AS recency,
                   count(*) FILTER (WHERE o.ordered_at > TIMESTAMP '2025-06-01') AS orders, sum(o.amount) AS revenue
                 FROM main.customers c JOIN main.orders o ON o.customer_id = c.customer_id AND o.ordered_at <= TIMESTAMP '2026-06-01'
                 GROUP BY c.customer_id ORDER BY c.customer_id`
    const {params, assigned, raw} = await compare(dir, 'km_test', 'customer', asOf, own)
    const sk = sklearn(raw.map((r) => [Number(r.recency), Number(r.orders), Number(r.revenue)]), params.initial_centroids)
    expect(expectSame(params, sk, raw.map((r) => String(r.k)), assigned)).toBe(raw.length)
    const unclustered = [...assigned.values()].filter((c) => c === null).length
    expect(unclustered).toBe(3000 - raw.length)
    expect(unclustered).toBeGreaterThan(0)
  })
})

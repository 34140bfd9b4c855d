import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {sql} from 'kysely'
import {beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {RunStatements} from '../../src/generate/run-statements.js'
import {featurePlan} from '../../src/plan/build-plan.js'
import {snapshotRows} from '../../src/models/propensity.js'
import {loadModels} from '../../src/project/models.js'
import type {PropensityParams} from '../../src/plan/propensity-plan.js'
import {erasedEntities} from '../../src/project/session.js'
import {noStackTrace, segc} from '../helpers/cli.js'
import {AS_OF, C0, C1, DAY, generate, propensityProject, type Data, withConn} from './propensity-data.js'

// The edges of a propensity fit: a goal nobody reaches, data a feature separates perfectly,
// a segment goal read from membership history, erased keys, a fitted feature and its versions.

const EXTRA = `
  never_goal: {fit: propensity, goal: {event: never}, horizon: 30d, features: [sessions_30d]}
  separable: {fit: propensity, goal: {event: convert}, horizon: 30d, features: [flag, sessions_30d], l2: 0.5}
  will_engage: {fit: propensity, goal: {segment: engaged}, horizon: 30d, features: [sessions_30d, opt_in]}
  user_cluster: {fit: kmeans, k: 2, of: [sessions_30d, age]}
  with_cluster: {fit: propensity, goal: {event: upgrade, where: {plan: pro}}, horizon: 30d, features: [user_cluster, opt_in]}
`
const ENGAGED = 'segment: engaged\nentity: user\nrule: {trait: sessions_30d, gte: 6}\n'


const sessionsIn = (data: Data, t: number) => {
  const n = new Map<string, number>()
  for (const s of data.sessions) if (s.ts > t - 30 * DAY && s.ts <= t) n.set(s.user, (n.get(s.user) ?? 0) + 1)
  return n
}

describe('propensity edges', () => {
  let data: Data
  let dir: string
  const runTimes: number[] = []

  beforeAll(async () => {
    data = generate(7)
    dir = await propensityProject(mkdtempSync(join(tmpdir(), 'segc-prop-e-')), data, EXTRA, {'engaged.yaml': ENGAGED})
    // membership history for the segment goal: a run every 3 days from c₀ − 3d to as_of
    const from = new Date(C0.getTime() - 3 * DAY)
    const r = segc(['run', '--from', from.toISOString(), '--to', AS_OF.toISOString(), '--every', '3d'], {cwd: dir, timeoutMs: 300_000})
    expect(r.code, r.stderr).toBe(0)
    for (let t = from.getTime(); t <= AS_OF.getTime(); t += 3 * DAY) runTimes.push(t)
  }, 300_000)

  it('a goal nobody reaches fails that model with a message; the others are stored (exit 2); separable data converges under l2', async () => {
    const r = segc(['fit', '--as-of', AS_OF.toISOString(), '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(2)
    expect(noStackTrace(r.stderr + r.stdout)).toBe(true)
    const out = JSON.parse(r.stdout) as {error: string; result: {models: Array<{model: string; params: PropensityParams}>; failed: Array<{model: string; error: string}>}}
    const failed = Object.fromEntries(out.result.failed.map((f) => [f.model, f.error]))
    expect(failed.never_goal).toMatch(/too few positives .* 0 of \d+ reached the goal/)
    // the kmeans feature has no version fitted at or before the cutoffs (it is fitted now, at as_of)
    expect(failed.with_cluster).toMatch(/no version fitted at or before/)
    const stored = Object.fromEntries(out.result.models.map((m) => [m.model, m.params]))
    expect(Object.keys(stored).sort()).toEqual(['separable', 'user_cluster', 'will_engage', 'will_upgrade'])
    const sep = stored.separable!
    expect([...sep.coefficients, sep.intercept].every(Number.isFinite)).toBe(true)
    expect(sep.auc).toBe(1)
    expect(sep.iterations).toBeLessThanOrEqual(50)
    // under the penalty the flag's coefficient is large but finite
    expect(sep.coefficients[0]).toBeGreaterThan(3)
    const models = await withConn(dir, (conn, p) => loadModels(conn, p.v.project, p.adapter.dialect))
    expect(models.has('never_goal')).toBe(false)
    expect(models.get('separable')!.kind).toBe('propensity')
  })

  it('a segment goal: not a member at the cutoff, a member at some run in (c, c + horizon]', async () => {
    const rows = await withConn(dir, (conn, p) => snapshotRows(conn, p, 'will_engage', C0))
    const member = (t: number) => {
      const n = sessionsIn(data, t)
      return (u: string) => (n.get(u) ?? 0) >= 6
    }
    // membership at c is the last run's at or before it
    const atC = member(Math.max(...runTimes.filter((t) => t <= C0.getTime())))
    const later = runTimes.filter((t) => t > C0.getTime() && t <= C0.getTime() + 30 * DAY).map(member)
    const own = new Map(data.users.map((u) => [u.id, !atC(u.id) && later.some((m) => m(u.id)) ? 1 : 0]))
    expect(rows.length).toBe(data.users.length)
    for (const r of rows) expect(Number(r.y), String(r.segc_key)).toBe(own.get(String(r.segc_key)))
    expect(rows.filter((r) => Number(r.y) === 1).length).toBeGreaterThan(10)
  })

  it('a fitted feature uses its latest version fitted at or before the cutoff', async () => {
    const early = segc(['fit', 'user_cluster', '--as-of', new Date(C0.getTime() - DAY).toISOString()], {cwd: dir})
    expect(early.code, early.stderr).toBe(0)
    const r = segc(['fit', 'with_cluster', '--as-of', AS_OF.toISOString(), '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    // the version fitted at as_of is newer than both cutoffs; the one at c₀ − 1d is what the snapshots read
    const {rows, v2} = await withConn(dir, async (conn, p) => {
      const [v] = await conn.query(`SELECT version, kind, params FROM segments.segment_models WHERE model = 'user_cluster' AND as_of < TIMESTAMP '${C0.toISOString().slice(0, 10)}'`)
      const models = new Map([['user_cluster', {model: 'user_cluster', version: Number(v!.version), kind: 'kmeans' as const, params: JSON.parse(String(v!.params)) as Record<string, unknown>}]])
      const f = featurePlan(p.v.project, 'user', C1, [{name: 'user_cluster', target: 'trait'}], {models})
      const db = compilerFor(duckdbAdapter.dialect)
      const v2 = await conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)} ORDER BY segc_key`))
      return {rows: await snapshotRows(conn, p, 'with_cluster', C1), v2}
    })
    expect(rows.map((x) => x.f0)).toEqual(v2.map((x) => x.f0))
    expect(new Set(rows.map((x) => x.f0))).toEqual(new Set([1, 2, null]))
  })

  it('erased keys are in no snapshot and get no score', async () => {
    const keys = data.users.slice(0, 3).map((u) => u.id)
    const f = segc(['forget', ...keys, '--entity', 'user'], {cwd: dir})
    expect(f.code, f.stderr).toBe(0)
    const rows = await withConn(dir, async (conn, p) => {
      const erased = await erasedEntities(conn, new RunStatements(p.adapter.dialect, p.v.project.outputSchema), p.v.project.outputSchema)
      return snapshotRows(conn, p, 'will_upgrade', C1, erased ? {erased} : {})
    })
    expect(rows.length).toBe(data.users.length - 3)
    expect(rows.some((r) => keys.includes(String(r.segc_key)))).toBe(false)
    const r = segc(['fit', 'will_upgrade', '--as-of', AS_OF.toISOString(), '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {models: Array<{n: number}>}).models[0]!.n).toBe(data.users.length - 3)
    const scores = await withConn(dir, async (conn, p) => {
      const erased = await erasedEntities(conn, new RunStatements(p.adapter.dialect, p.v.project.outputSchema), p.v.project.outputSchema)
      const f = featurePlan(p.v.project, 'user', AS_OF, [{name: 'upgrade_score', target: 'trait'}], {models: await loadModels(conn, p.v.project, p.adapter.dialect), ...(erased ? {erased} : {})})
      const db = compilerFor(duckdbAdapter.dialect)
      return conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)} ORDER BY segc_key`))
    })
    expect(scores.filter((x) => x.f0 === null).map((x) => String(x.segc_key))).toEqual(keys)
  })
})

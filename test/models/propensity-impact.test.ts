import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import type {PropensityParams} from '../../src/plan/propensity-plan.js'
import {segc} from '../helpers/cli.js'
import {AS_OF, DAY, generate, ownSnapshot, propensityProject, type Data} from './propensity-data.js'

// `segc plan --impact` (SPEC §14) on segments that read a propensity score: a changed
// threshold and a refit are announced in people, and the people are the ones the closed form
// (the stored parameters applied here, by hand, to the features rebuilt from the generated
// arrays) puts in the segment.

const FEATURES = ['sessions_30d', 'plan', 'opt_in', 'age', 'constant']
const segment = (gte: number) => `segment: likely_upgraders\nentity: user\nrule: {trait: upgrade_pct, gte: ${gte}}\n`

interface Impact {
  as_of: string
  segments: Array<{segment: string; status: string; size_before: number; size_after: number; entering: number; exiting: number}>
}

/** The percentile of every user at `at` with version `p`, by hand: NTILE(100) ascending, ties by key. */
function percentiles(data: Data, p: PropensityParams, at: Date): Map<string, number> {
  const rows = ownSnapshot(data, at.getTime())
  const scored = rows.map((r) => {
    let eta = p.intercept
    p.columns.forEach((c, j) => {
      const v = r.features[FEATURES.indexOf(c.feature)]
      const x = c.level !== undefined ? (v === c.level ? 1 : 0) : p.types[c.feature] === 'boolean' ? (v === true ? 1 : 0) : (((v as number | null) ?? p.means[c.feature]!) - p.means[c.feature]!) / p.stddevs[c.feature]!
      eta += p.coefficients[j]! * x
    })
    return {key: r.key, p: 1 / (1 + Math.exp(-eta))}
  })
  scored.sort((a, b) => a.p - b.p || (a.key < b.key ? -1 : 1))
  // NTILE(n): the first n mod 100 buckets hold one row more
  const n = scored.length
  const small = Math.floor(n / 100)
  const big = n % 100
  const out = new Map<string, number>()
  scored.forEach((s, i) => {
    const bucket = i < big * (small + 1) ? Math.floor(i / (small + 1)) + 1 : big + Math.floor((i - big * (small + 1)) / small) + 1
    out.set(s.key, bucket / 100)
  })
  return out
}

async function stored(dir: string): Promise<{params: PropensityParams[]; members: Set<string>}> {
  const c = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'prop.duckdb')}, dir, {readOnly: true})
  try {
    const versions = await c.query(`SELECT params FROM segments.segment_models WHERE model = 'will_upgrade' ORDER BY version`)
    const members = await c.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = 'likely_upgraders'`)
    return {params: versions.map((v) => JSON.parse(String(v.params)) as PropensityParams), members: new Set(members.map((m) => String(m.entity_key)))}
  } finally {
    await c.close()
  }
}

describe('segc plan --impact with a propensity segment', () => {
  let data: Data
  let dir: string
  const day1 = new Date(AS_OF.getTime() + DAY)

  beforeAll(async () => {
    data = generate()
    dir = await propensityProject(mkdtempSync(join(tmpdir(), 'segc-prop-impact-')), data, '', {'likely.yaml': segment(0.9)})
    expect(segc(['fit', 'will_upgrade', '--as-of', AS_OF.toISOString()], {cwd: dir}).code).toBe(0)
    const r = segc(['run', '--as-of', day1.toISOString()], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  it('a changed threshold: size after and who enters are the closed form’s', async () => {
    const before = await stored(dir)
    const pct = percentiles(data, before.params[0]!, day1)
    // the run holds what the closed form gives (the baseline the impact compares with)
    expect([...before.members].sort()).toEqual([...pct].filter(([, v]) => v >= 0.9).map(([k]) => k).sort())
    writeFileSync(join(dir, 'segments/likely.yaml'), segment(0.75))
    const r = segc(['plan', '--impact', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const impact = JSON.parse(r.stdout) as Impact
    expect(impact.as_of).toBe(day1.toISOString())
    const after = [...pct].filter(([, v]) => v >= 0.75).map(([k]) => k)
    expect(impact.segments).toEqual([{segment: 'likely_upgraders', status: 'changed', size_before: before.members.size, size_after: after.length, entering: after.length - before.members.size, exiting: 0}])
    expect(after.length - before.members.size).toBeGreaterThan(100)
    writeFileSync(join(dir, 'segments/likely.yaml'), segment(0.9))
  })

  it('a refit: the segment is changed, and the impact moves exactly whom the new version’s closed form moves', async () => {
    const later = new Date(AS_OF.getTime() + 8 * DAY)
    expect(segc(['fit', 'will_upgrade', '--as-of', later.toISOString()], {cwd: dir}).code).toBe(0)
    const {params, members} = await stored(dir)
    expect(params).toHaveLength(2)
    const r = segc(['plan', '--impact', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const impact = JSON.parse(r.stdout) as Impact
    // the new version's members at the impact's as_of, by hand
    const pct = percentiles(data, params[1]!, day1)
    const next = new Set([...pct].filter(([, v]) => v >= 0.9).map(([k]) => k))
    const entering = [...next].filter((k) => !members.has(k)).length
    const exiting = [...members].filter((k) => !next.has(k)).length
    expect(entering + exiting).toBeGreaterThan(0)
    expect(impact.segments).toEqual([{segment: 'likely_upgraders', status: 'changed', size_before: members.size, size_after: next.size, entering, exiting}])
  })
})

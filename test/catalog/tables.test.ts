import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Explainer} from '../../src/explain/explain.js'
import {exampleCopy, segc} from '../helpers/cli.js'
import {validOrThrow} from '../helpers/project.js'
import {withProjectDb} from '../helpers/state.js'

const DB = '.segc/warehouse.duckdb'

describe('segment_catalog after two runs of the example project', () => {
  let dir: string
  beforeAll(() => {
    dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '1500', '--path', DB], {cwd: dir}).code).toBe(0)
    expect(segc(['run', '--as-of', '2026-06-08'], {cwd: dir}).code).toBe(0)
  })

  it('holds one row per current segment with its metadata and plain-English rule', async () => {
    const v = validOrThrow(dir)
    const explain = new Explainer(v.project)
    const rows = await withProjectDb(dir, (c) => c.query('SELECT * FROM segments.segment_catalog ORDER BY segment'))
    expect(rows.map((r) => r.segment)).toEqual([...v.project.segments.keys()].sort())
    for (const r of rows) {
      const s = v.project.segments.get(String(r.segment))!
      expect(r).toMatchObject({
        entity: s.entity,
        description: s.description ?? null,
        owner: s.owner ?? null,
        tags: JSON.stringify(s.tags),
        purpose: s.purpose ?? null,
        kpi: s.kpi ?? null,
        review_by: s.reviewBy ?? null,
        refresh: s.refresh,
        holdout_percent: s.holdout?.percent ?? null,
        rule_text: explain.segment(s),
      })
      expect(String(r.definition_hash)).toMatch(/^[0-9a-f]{64}$/)
    }
    const winBack = rows.find((r) => r.segment === 'win_back')!
    expect(winBack.rule_text).toMatch(/^Customers .*lifetime revenue is at least 200.*excluding those who are in Suppression list.*10% are held out/)
    expect(winBack.purpose).toBe('Win-back offer by email')
  })

  it('a segment removed from the project leaves the catalog at the next run', async () => {
    const file = join(dir, 'segments/growth.yaml')
    const docs = readFileSync(file, 'utf8').split(/^---$/m)
    writeFileSync(file, docs.filter((d) => !/^segment: trial_not_activated$/m.test(d)).join('---'))
    expect(segc(['run', '--as-of', '2026-06-15'], {cwd: dir}).code).toBe(0)
    const names = await withProjectDb(dir, (c) => c.query('SELECT segment FROM segments.segment_catalog'))
    expect(names).toHaveLength(22)
    expect(names.map((r) => r.segment)).not.toContain('trial_not_activated')
  })
})

/** The last committed run's overlap rows, and the same counts made here from the membership rows. */
async function overlapAgainstMembership(dir: string) {
  const {membership, overlap, catalog} = await withProjectDb(dir, async (c) => ({
    membership: await c.query('SELECT segment, entity, entity_key FROM segments.segment_membership'),
    overlap: await c.query(`SELECT segment_a, segment_b, "both", only_a, only_b FROM segments.segment_overlap
      WHERE run_id = (SELECT run_id FROM segments.segment_runs WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1)`),
    catalog: await c.query('SELECT segment, entity FROM segments.segment_catalog'),
  }))
  // independent: sets of keys per segment, every pair of segments of one entity
  const keys = new Map<string, Set<string>>(catalog.map((r) => [String(r.segment), new Set()]))
  for (const r of membership) keys.get(String(r.segment))!.add(String(r.entity_key))
  const expected: Array<Record<string, unknown>> = []
  for (const a of catalog)
    for (const b of catalog) {
      if (a.entity !== b.entity || String(a.segment) >= String(b.segment)) continue
      const A = keys.get(String(a.segment))!
      const B = keys.get(String(b.segment))!
      const both = [...A].filter((k) => B.has(k)).length
      expected.push({segment_a: a.segment, segment_b: b.segment, both, only_a: A.size - both, only_b: B.size - both})
    }
  const order = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({...r, both: Number(r.both), only_a: Number(r.only_a), only_b: Number(r.only_b)})).sort((x, y) => `${x.segment_a}/${x.segment_b}`.localeCompare(`${y.segment_a}/${y.segment_b}`))
  return {actual: order(overlap), expected: order(expected), catalog}
}

describe('segment_overlap', () => {
  it('equals a count of both, only_a and only_b made from the membership rows, for every pair of one entity', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '1200', '--path', DB], {cwd: dir}).code).toBe(0)
    const {actual, expected} = await overlapAgainstMembership(dir)
    expect(expected).toHaveLength((22 * 21) / 2) // 22 customer segments, one account segment has no pair
    expect(actual).toEqual(expected)
    expect(expected.some((r) => (r.both as number) > 0) && expected.some((r) => r.both === 0)).toBe(true)
  })

  it('stays equal run after run, counted from what moved: daily data, a changed, an added and a removed segment, --select, --rebuild', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '3', '--customers', '1500', '--path', DB], {cwd: dir}).code).toBe(0)
    const check = async (label: string) => {
      const {actual, expected} = await overlapAgainstMembership(dir)
      expect(actual, label).toEqual(expected)
      return expected
    }
    await check('after a weekly history')
    const moved = await withProjectDb(dir, (c) => c.query("SELECT count(*) AS n FROM segments.segment_transitions WHERE run_id = (SELECT run_id FROM segments.segment_runs WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1)"))
    expect(Number(moved[0]!.n)).toBeGreaterThan(0)
    const file = join(dir, 'segments/growth.yaml')
    const docs = readFileSync(file, 'utf8').split(/^---$/m)
    writeFileSync(
      file,
      docs
        .filter((d) => !/^segment: trial_not_activated$/m.test(d))
        .join('---')
        .replace('gte: 200', 'gte: 150') + '\n---\nsegment: big_spenders\nentity: customer\nrule: {trait: lifetime_revenue, gte: 400}\n',
    )
    expect(segc(['run', '--as-of', '2026-06-08'], {cwd: dir}).code).toBe(0)
    const after = await check('after definition changes')
    expect(after.some((r) => r.segment_a === 'big_spenders' || r.segment_b === 'big_spenders')).toBe(true)
    expect(segc(['run', '--as-of', '2026-06-09', '--select', 'win_back'], {cwd: dir}).code).toBe(0)
    await check('after a --select run')
    expect(segc(['run', '--as-of', '2026-06-10', '--rebuild'], {cwd: dir}).code).toBe(0)
    await check('after --rebuild')
    expect(segc(['run', '--as-of', '2026-06-11'], {cwd: dir}).code).toBe(0)
    await check('the day after --rebuild')
  }, 180_000)
})

describe('segment_lift on the demo', () => {
  it('counts, for win_back, what an independent computation over history and orders gives', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--customers', '3000', '--path', DB], {cwd: dir}).code).toBe(0)
    const {lift, history, orders, asOf} = await withProjectDb(dir, async (c) => ({
      lift: await c.query("SELECT l.* FROM segments.segment_lift l JOIN segments.segment_runs r USING (run_id) ORDER BY r.as_of DESC LIMIT 1"),
      history: await c.query("SELECT entity_key, valid_from, holdout FROM segments.segment_membership_history WHERE segment = 'win_back'"),
      orders: await c.query('SELECT CAST(customer_id AS VARCHAR) AS k, ordered_at FROM main.orders'),
      asOf: (await c.query("SELECT max(as_of) AS a FROM segments.segment_runs WHERE status = 'success'"))[0]!.a,
    }))
    const end = Date.parse(String(asOf))
    const window = 30 * 86400_000
    const first = new Map<string, {at: number; holdout: boolean}>()
    for (const h of history) {
      const at = Date.parse(String(h.valid_from))
      const prev = first.get(String(h.entity_key))
      if (!prev || at < prev.at) first.set(String(h.entity_key), {at, holdout: h.holdout === true})
    }
    const byKey = new Map<string, number[]>()
    for (const o of orders) byKey.set(String(o.k), [...(byKey.get(String(o.k)) ?? []), Date.parse(String(o.ordered_at))])
    const counts = {members: 0, members_converted: 0, holdout: 0, holdout_converted: 0}
    for (const [key, {at, holdout}] of first) {
      if (at + window > end) continue // window not closed yet
      const converted = (byKey.get(key) ?? []).some((t) => t > at && t <= at + window && t <= end)
      if (holdout) (counts.holdout++, converted && counts.holdout_converted++)
      else (counts.members++, converted && counts.members_converted++)
    }
    expect(counts.members).toBeGreaterThan(100)
    expect(counts.holdout).toBeGreaterThan(5)
    expect(lift).toHaveLength(1)
    const row = lift[0]!
    expect({members: Number(row.members), members_converted: Number(row.members_converted), holdout: Number(row.holdout), holdout_converted: Number(row.holdout_converted)}).toEqual(counts)
    expect(row.segment).toBe('win_back')
  })
})

describe('measure: needs a holdout and a known event', () => {
  it('positioned errors, exit 1, nothing run', () => {
    const dir = exampleCopy()
    const file = join(dir, 'segments/growth.yaml')
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.replace('holdout: { percent: 10, salt: "2026" }\n', '').replace(/^segment: trial_not_activated$/m, 'segment: trial_not_activated\nmeasure: {outcome: {event: purchase, within: 7d}}'))
    const r = segc(['validate'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segments\/growth\.yaml:\d+:1: error\[measure_without_holdout\]: segment 'win_back' has measure: but no holdout/m)
    expect(r.stderr).toMatch(/^segments\/growth\.yaml:\d+:1: error\[measure_without_holdout\]: segment 'trial_not_activated'/m)
    const run = segc(['run', '--as-of', '2026-06-01'], {cwd: dir})
    expect(run.code).toBe(1)
  })

  it('an unknown outcome event is a positioned error', () => {
    const dir = exampleCopy()
    const file = join(dir, 'segments/growth.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('outcome: { event: order, within: 30d }', 'outcome: { event: ordr, within: 30d }'))
    const r = segc(['validate'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segments\/growth\.yaml:\d+:\d+: error\[unknown_event\]: .*'ordr'.*did you mean 'order'/m)
  })
})

import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, noStackTrace, segc} from '../helpers/cli.js'
import {snapshot, withProjectDb} from '../helpers/state.js'

// `segc plan --impact` (SPEC §14): the effect of a definition change in people, before a run. The
// oracle is the run itself: the same change run for real on a copy of the warehouse at the same
// as_of must enter and exit exactly the people the impact announced, and move the same entities
// between a group's stages.

const DB = '.segc/warehouse.duckdb'
const AS_OF = '2026-06-01T00:00:00.000Z'

interface Impact {
  as_of: string
  target: string
  segments: Array<{segment: string; status: string; size_before: number; size_after: number; entering: number; exiting: number}>
  groups: Array<{group: string; from: string | null; to: string | null; count: number}>
  notes: string[]
}

/** active_customer: 90 → 60 days; a new segment; win_back's rule widened */
function edit(dir: string): void {
  const life = join(dir, 'segments/lifecycle.yaml')
  writeFileSync(life, readFileSync(life, 'utf8').replace('  event: order\n  within: 90d\n---\nsegment: at_risk', '  event: order\n  within: 60d\n---\nsegment: at_risk'))
  writeFileSync(join(dir, 'segments/new.yaml'), 'segment: big_spenders\nentity: customer\nrule: {trait: revenue_365d, gte: 800}\n')
}

let base: string
beforeAll(() => {
  base = exampleCopy()
  const demo = segc(['demo', '--weeks', '2', '--customers', '3000', '--path', DB], {cwd: base})
  expect(demo.code, demo.stderr).toBe(0)
}, 240_000)

describe('segc plan --impact', () => {
  it('announces exactly what a run of the change then does, and writes nothing', async () => {
    const dir = cloneProject(base)
    edit(dir)
    const before = await withProjectDb(dir, (c) => snapshot(c))
    const r = segc(['plan', '--impact', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const impact = JSON.parse(r.stdout) as Impact
    // read-only: every table as it was
    expect(await withProjectDb(dir, (c) => snapshot(c))).toEqual(before)
    expect(impact.as_of).toBe(AS_OF)
    const status = Object.fromEntries(impact.segments.map((s) => [s.segment, s.status]))
    // the later stages of the group are changed too: their group-resolved definition includes the
    // stages before them; the earlier stage is only affected (people can move into it)
    // (win_back reads a lifecycle stage: its definition hash covers what it reads)
    expect(status).toEqual({active_customer: 'changed', big_spenders: 'added', new_customer: 'affected', at_risk: 'changed', dormant: 'changed', lost: 'changed', win_back: 'changed'})
    expect(impact.segments.find((s) => s.segment === 'active_customer')!.exiting).toBeGreaterThan(0)
    // the oracle: the same change, run for real at the same as_of
    const run = segc(['run', '--as-of', AS_OF, '--json'], {cwd: dir})
    expect(run.code, run.stderr).toBe(0)
    const ran = JSON.parse(run.stdout) as {run_id: string; segments: Array<{segment: string; size: number; entered: number; exited: number}>}
    for (const s of impact.segments) {
      const x = ran.segments.find((y) => y.segment === s.segment)!
      expect({segment: s.segment, after: s.size_after, entering: s.entering, exiting: s.exiting}).toEqual({segment: s.segment, after: x.size, entering: x.entered, exiting: x.exited})
      expect(s.size_after - s.size_before).toBe(x.entered - x.exited)
    }
    // nobody else moved
    for (const x of ran.segments.filter((y) => !(y.segment in status))) expect([x.segment, x.entered, x.exited]).toEqual([x.segment, 0, 0])
    const moves = await withProjectDb(dir, (c) =>
      // this run's moves: its own run id (the demo's last run has the same as_of)
      c.query(`SELECT group_name, from_segment, to_segment, count(*) AS n FROM segments.segment_group_transitions WHERE run_id = '${ran.run_id}' GROUP BY ALL`),
    )
    const want = moves.map((m) => ({group: String(m.group_name), from: m.from_segment === null ? null : String(m.from_segment), to: m.to_segment === null ? null : String(m.to_segment), count: Number(m.n)}))
    expect(impact.groups.length).toBeGreaterThan(0)
    expect([...impact.groups].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(want.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))))
  })

  it('prints a pull-request comment: biggest changes first, totals, the note', () => {
    const dir = cloneProject(base)
    edit(dir)
    const json = JSON.parse(segc(['plan', '--impact', '--json'], {cwd: dir}).stdout) as Impact
    const r = segc(['plan', '--impact', '--format', 'markdown'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(`### segc: impact on \`local\` at ${AS_OF}`)
    const rows = lines.filter((l) => /^\| `/.test(l) && !l.startsWith('| `lifecycle`'))
    expect(rows.map((l) => l.split('|')[1]!.trim().replaceAll('`', ''))).toEqual(json.segments.map((s) => s.segment))
    const moved = json.segments.map((s) => s.entering + s.exiting)
    expect(moved).toEqual([...moved].sort((a, b) => b - a))
    const entering = json.segments.reduce((n, s) => n + s.entering, 0)
    expect(r.stdout).toContain(`| **total** | | | | | **${entering.toLocaleString('en-US')}** |`)
    expect(r.stdout).toMatch(/^> evaluated at the last run's as_of/m)
  })

  it('no change: nothing to evaluate; a target never run: everyone enters, and it says so', () => {
    const same = segc(['plan', '--impact', '--json'], {cwd: cloneProject(base)})
    expect(same.code, same.stderr).toBe(0)
    expect((JSON.parse(same.stdout) as Impact).segments).toEqual([])
    const fresh = exampleCopy()
    // a target that has never run: the demo's data without its runs
    const r0 = segc(['demo', '--weeks', '0', '--customers', '300', '--path', DB], {cwd: fresh})
    expect(r0.code).toBe(0)
    // every table of the run gone, the fitted models kept
    const runTables = ['segment_membership', 'segment_membership_history', 'segment_transitions', 'segment_group_transitions', 'segment_sizes', 'segment_runs', 'segment_definitions', 'segment_catalog', 'segment_overlap', 'segment_lift']
    return withProjectDb(fresh, async (c) => {
      for (const t of runTables) await c.execute(`DROP TABLE segments.${t}`)
    }).then(() => {
      const r = segc(['plan', '--impact', '--as-of', '2026-06-01', '--json'], {cwd: fresh})
      expect(r.code, r.stderr).toBe(0)
      const impact = JSON.parse(r.stdout) as Impact
      expect(impact.notes[0]).toMatch(/has never run: it holds no membership, so every member of every segment enters/)
      expect(impact.segments.length).toBeGreaterThan(10)
      for (const s of impact.segments) expect([s.status, s.size_before, s.exiting, s.entering]).toEqual(['added', 0, 0, s.size_after])
    })
  })

  it('bad input: invalid definitions (exit 1, positioned), an unknown target (exit 1), a warehouse that cannot be opened (exit 2), nothing written', () => {
    const dir = cloneProject(base)
    writeFileSync(join(dir, 'segments/bad.yaml'), 'segment: broken\nentity: customer\nrule: {trait: no_such_trait, gte: 1}\n')
    const bad = segc(['plan', '--impact'], {cwd: dir})
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^segments\/bad\.yaml:3:\d+: error\[unknown_trait\]/m)
    const unknown = segc(['plan', '--impact', '--target', 'nope'], {cwd: cloneProject(base)})
    expect(unknown.code).toBe(1)
    // a warehouse that cannot be opened: the target's file is not a database
    const gone = cloneProject(base)
    writeFileSync(join(gone, DB), 'not a database')
    const r = segc(['plan', '--impact'], {cwd: gone})
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^error: /m)
    expect(noStackTrace(r.stderr)).toBe(true)
  })
})

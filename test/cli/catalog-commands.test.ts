import {beforeAll, describe, expect, it} from 'vitest'
import {exampleCopy, noStackTrace, segc} from '../helpers/cli.js'
import {withProjectDb} from '../helpers/state.js'

// stats, overlap and measure read the tables a demo history wrote; every figure they print is
// checked against the tables themselves.
describe('segc stats, overlap and measure', () => {
  let dir: string
  beforeAll(() => {
    dir = exampleCopy()
    expect(segc(['demo', '--customers', '1500', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
  })

  it('stats: the latest size per segment, and entries and exits over the runs shown (the first run left out)', async () => {
    const r = segc(['stats', '--runs', '3', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {runs: string[]; segments: Array<{segment: string; size: number; entered: number; exited: number; churn: number | null; history: unknown[]}>}
    expect(out.runs).toEqual(['2026-05-18T00:00:00.000Z', '2026-05-25T00:00:00.000Z', '2026-06-01T00:00:00.000Z'])
    expect(out.segments).toHaveLength(23)
    const expected = await withProjectDb(dir, (c) =>
      c.query(`SELECT segment, SUM(entered) AS entered, SUM(exited) AS exited, MAX(CASE WHEN as_of = TIMESTAMP '2026-06-01' THEN size END) AS size
               FROM segments.segment_sizes WHERE as_of >= TIMESTAMP '2026-05-18' GROUP BY segment`),
    )
    for (const e of expected) {
      const s = out.segments.find((x) => x.segment === e.segment)!
      expect({size: s.size, entered: s.entered, exited: s.exited}).toEqual({size: Number(e.size), entered: Number(e.entered), exited: Number(e.exited)})
      expect(s.history).toHaveLength(3)
    }
    const text = segc(['stats'], {cwd: dir}).stdout
    expect(text).toMatch(/^local: 9 runs from 2026-04-06T00:00:00.000Z to 2026-06-01T00:00:00.000Z$/m)
    expect(text).toMatch(/^segment\s+entity\s+size\s+holdout\s+entered\s+exited\s+churn$/m)
    // over all nine runs the first (every member "entering") is not churn
    const all = JSON.parse(segc(['stats', '--json'], {cwd: dir}).stdout) as typeof out
    const firstRun = await withProjectDb(dir, (c) => c.query("SELECT segment, entered FROM segments.segment_sizes WHERE as_of = TIMESTAMP '2026-04-06'"))
    const total = await withProjectDb(dir, (c) => c.query('SELECT segment, SUM(entered) AS entered FROM segments.segment_sizes GROUP BY segment'))
    for (const t of total) expect(all.segments.find((s) => s.segment === t.segment)!.entered).toBe(Number(t.entered) - Number(firstRun.find((f) => f.segment === t.segment)!.entered))
    const one = segc(['stats', 'win_back', '--runs', '2'], {cwd: dir})
    expect(one.stdout).toMatch(/^win_back \(customer\)$/m)
    expect(one.stdout).toMatch(/^2026-06-01T00:00:00.000Z\s+\d+\s+\d+\s+\d+\s+\d+$/m)
  })

  it('overlap: the pairs sharing most entities, with shares', async () => {
    const r = segc(['overlap', '--limit', '3', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {pairs: Array<{segment_a: string; segment_b: string; both: number; only_a: number; only_b: number; share_of_smaller: number; jaccard: number}>}
    expect(out.pairs).toHaveLength(3)
    const top = await withProjectDb(dir, (c) =>
      c.query(`SELECT o.segment_a, o.segment_b, o."both" FROM segments.segment_overlap o JOIN segments.segment_runs r USING (run_id)
               WHERE r.as_of = TIMESTAMP '2026-06-01' ORDER BY o."both" DESC, o.segment_a, o.segment_b LIMIT 3`),
    )
    expect(out.pairs.map((p) => [p.segment_a, p.segment_b, p.both])).toEqual(top.map((t) => [t.segment_a, t.segment_b, Number(t.both)]))
    for (const p of out.pairs) {
      expect(p.share_of_smaller).toBeCloseTo(p.both / Math.min(p.both + p.only_a, p.both + p.only_b), 12)
      expect(p.jaccard).toBeCloseTo(p.both / (p.both + p.only_a + p.only_b), 12)
    }
    expect(segc(['overlap'], {cwd: dir}).stdout).toMatch(/^segment_a\s+segment_b\s+both\s+only_a\s+only_b\s+of_smaller\s+jaccard$/m)
  })

  it('measure: the latest lift row of each measured segment, with the reason when there are no statistics', async () => {
    const r = segc(['measure', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {segments: Array<Record<string, unknown>>}
    const [row] = await withProjectDb(dir, (c) =>
      c.query(`SELECT l.* EXCLUDE (run_id) FROM segments.segment_lift l JOIN segments.segment_runs r USING (run_id) WHERE r.as_of = TIMESTAMP '2026-06-01'`),
    )
    expect(out.segments).toHaveLength(1)
    const m = out.segments[0]!
    expect(m).toMatchObject({segment: 'win_back', as_of: '2026-06-01T00:00:00.000Z', members: Number(row!.members), holdout: Number(row!.holdout), members_converted: Number(row!.members_converted)})
    if (row!.lift_abs === null) expect(m.reason).toMatch(/^too few to say anything|^no /)
    const text = segc(['measure', 'win_back'], {cwd: dir})
    expect(text.stdout).toMatch(/^segment\s+as_of\s+members\s+rate\s+holdout\s+rate\s+lift\s+95% CI \(pts\)\s+p$/m)
  })

  it('bad input: an unknown segment, a segment without measure:, an unknown target', () => {
    for (const [args, message] of [
      [['measure', 'win_bak'], /^SEGMENT:1:1: error\[unknown_segment\]: no segment 'win_bak' in the project \(did you mean 'win_back'\?\)$/m],
      [['stats', 'win_back', 'nope'], /^SEGMENT:1:2: error\[unknown_segment\]: no segment 'nope'/m],
      [['measure', 'at_risk'], /^SEGMENT:1:1: error\[bad_value\]: segment 'at_risk' has no measure:/m],
      [['overlap', '--target', 'prodd'], /error\[unknown_target\]/],
    ] as Array<[string[], RegExp]>) {
      const r = segc(args, {cwd: dir})
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toMatch(message)
      expect(noStackTrace(r.stderr)).toBe(true)
    }
  })
})

import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, segc} from '../helpers/cli.js'
import {invariantViolations, withProjectDb} from '../helpers/state.js'

// retention (SPEC §15): each run deletes history closed before as_of − history and transitions
// before as_of − transitions, in its transaction. Beside a twin without retention, after the
// same runs: the same membership, SPEC §5's invariants, and exactly the old rows gone.

const LAST = '2026-06-10T00:00:00.000Z'
const BOUND = '2026-06-05 00:00:00'

function rows(dir: string, sql: string): Promise<string[]> {
  return withProjectDb(dir, async (c) => (await c.query(sql)).map((r) => JSON.stringify(Object.values(r).map((x) => (x instanceof Date ? x.toISOString() : x)))).sort())
}

describe('retention', () => {
  it('deletes closed history and whole transition pairs older than the bound; invariants hold; membership as without it', async () => {
    const base = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '800', '--path', '.segc/warehouse.duckdb'], {cwd: base}).code).toBe(0)
    const twin = cloneProject(base)
    const kept = cloneProject(base)
    writeFileSync(join(kept, 'segc.yaml'), readFileSync(join(kept, 'segc.yaml'), 'utf8') + 'retention:\n  history: 5d\n  transitions: 5d\n')
    for (const dir of [twin, kept]) {
      const r = segc(['run', '--from', '2026-06-02', '--to', LAST, '--every', '1d', '--json'], {cwd: dir})
      expect(r.code, r.stderr).toBe(0)
    }
    expect(await withProjectDb(kept, (c) => invariantViolations(c))).toEqual([])
    expect(await rows(kept, 'SELECT segment, entity_key, holdout, entered_at FROM segments.segment_membership')).toEqual(await rows(twin, 'SELECT segment, entity_key, holdout, entered_at FROM segments.segment_membership'))
    // history: exactly the intervals closed before the bound are gone
    const oldClosed = `valid_to IS NOT NULL AND valid_to < TIMESTAMP '${BOUND}'`
    expect(Number((await rows(twin, `SELECT count(*) FROM segments.segment_membership_history WHERE ${oldClosed}`))[0]!.slice(1, -1))).toBeGreaterThan(10)
    expect(await rows(kept, 'SELECT * FROM segments.segment_membership_history')).toEqual(await rows(twin, `SELECT * FROM segments.segment_membership_history WHERE NOT (${oldClosed})`))
    // transitions: everything from the bound on is kept; before it, only entries of memberships not closed since
    const recent = `transitioned_at >= TIMESTAMP '${BOUND}'`
    expect(await rows(kept, `SELECT * EXCLUDE (run_id) FROM segments.segment_transitions WHERE ${recent}`)).toEqual(await rows(twin, `SELECT * EXCLUDE (run_id) FROM segments.segment_transitions WHERE ${recent}`))
    const old = await rows(kept, `SELECT change FROM segments.segment_transitions WHERE NOT (${recent})`)
    const twinOld = await rows(twin, `SELECT change FROM segments.segment_transitions WHERE NOT (${recent})`)
    expect(old.length).toBeLessThan(twinOld.length)
    expect(new Set(old)).toEqual(new Set(['["entered"]']))
    expect(await rows(kept, `SELECT count(*) FROM segments.segment_group_transitions WHERE NOT (${recent})`)).toEqual(['[0]'])
  }, 300_000)

  it('a duration segc cannot read is a positioned error', () => {
    const dir = exampleCopy()
    writeFileSync(join(dir, 'segc.yaml'), readFileSync(join(dir, 'segc.yaml'), 'utf8') + 'retention:\n  history: 400 days\n')
    const r = segc(['validate'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segc\.yaml:\d+:12: error\[bad_duration\]: retention\.history '400 days' is not a duration/m)
  })
})

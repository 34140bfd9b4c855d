import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {exampleCopy, segc} from '../helpers/cli.js'
import {withProjectDb} from '../helpers/state.js'

// A target an earlier segc made: segment_runs without the columns added since (`mode`, SPEC
// §13; `identity_hashes`, SPEC §20). The next run and fit add them before commenting on them
// (a COMMENT ON a column not yet added was the failure), and keep the runs already recorded.

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

const columns = (dir: string) => withProjectDb(dir, async (c) => (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'segments' AND table_name = 'segment_runs'`)).map((r) => String(r.column_name)).sort())

describe('a target made by an earlier segc', () => {
  it('gets the columns segment_runs gained since, on the next run and fit', async () => {
    const dir = exampleCopy()
    dirs.push(dir)
    rmSync(join(dir, 'segments/value.yaml'))
    expect(segc(['demo', '--weeks', '0', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const first = segc(['run', '--as-of', '2026-06-15T00:00:00Z'], {cwd: dir})
    expect(first.code, first.stderr).toBe(0)
    const full = await columns(dir)
    expect(full).toEqual(expect.arrayContaining(['mode', 'identity_hashes']))
    await withProjectDb(dir, async (c) => {
      await c.execute('ALTER TABLE segments.segment_runs DROP COLUMN mode')
      await c.execute('ALTER TABLE segments.segment_runs DROP COLUMN identity_hashes')
    })
    expect(await columns(dir)).not.toContain('identity_hashes')
    const fit = segc(['fit', '--as-of', '2026-06-15T00:00:00Z'], {cwd: dir})
    expect(fit.stderr).not.toMatch(/identity_hashes|Binder Error/)
    expect(await columns(dir)).toEqual(full)
    const run = segc(['run', '--as-of', '2026-06-16T00:00:00Z'], {cwd: dir})
    expect(run.code, run.stderr).toBe(0)
    const runs = await withProjectDb(dir, async (c) => c.query(`SELECT status, mode FROM segments.segment_runs ORDER BY as_of`))
    // the demo's run, the first run and this one, all kept
    expect(runs.map((r) => r.status)).toEqual(['success', 'success', 'success'])
  }, 180_000)
})

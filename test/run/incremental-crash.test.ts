import {spawn} from 'node:child_process'
import {appendFileSync, copyFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, REPO, segc} from '../helpers/cli.js'
import {invariantViolations, snapshot, withProjectDb} from '../helpers/state.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'

// SPEC §13: state is written in the run's transaction. A run killed at any moment of an
// incremental run leaves every output table and every state table as it was, or (killed after
// its commit) all of the run; the next run completes and reads state without a warning.

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))

const DB = '.segc/warehouse.duckdb'
const AS_OF = '2026-06-03T00:00:00Z'

function clone(base: string): string {
  const dir = cloneProject(base)
  dirs.push(dir)
  return dir
}

/** The output tables and every state table, sorted; `normalize` leaves out run ids and clocks. */
async function everything(c: WarehouseConnection, normalize: boolean): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = await snapshot(c, 'segments', normalize)
  const tables = await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'segments' AND table_name LIKE 'segment\\_state\\_%' ESCAPE '\\' AND table_name <> 'segment_state_sources' ORDER BY 1`)
  for (const t of tables) out[String(t.table_name)] = await c.query(`SELECT * FROM segments."${String(t.table_name)}" ORDER BY ALL`)
  return out
}

function killedRun(dir: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--as-of', AS_OF], {cwd: dir, stdio: 'ignore'})
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    child.on('exit', (_code, signal) => {
      clearTimeout(timer)
      resolve(signal === 'SIGKILL')
    })
  })
}

describe('a killed incremental run leaves tables and state as they were', () => {
  it('SIGKILL at 8 moments of an incremental run: everything as before, or the whole run; the next run is incremental', async () => {
    const base = exampleCopy()
    dirs.push(base)
    appendFileSync(join(base, 'segc.yaml'), 'incremental:\n  late_arrival: 2d\n')
    expect(segc(['demo', '--weeks', '0', '--customers', '3000', '--path', DB], {cwd: base}).code).toBe(0)
    // a second run keeps state a day further: the killed run extends it, prunes it and reads it
    expect(segc(['run', '--as-of', '2026-06-02T00:00:00Z'], {cwd: base}).code).toBe(0)
    const before = await withProjectDb(base, (c) => everything(c, false))
    expect(Object.keys(before).filter((t) => /^segment_state_\w+_\w+$/.test(t)).length).toBeGreaterThan(1)

    const ref = clone(base)
    const started = Date.now()
    const r = segc(['run', '--as-of', AS_OF, '--json'], {cwd: ref})
    const duration = Date.now() - started
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).mode).toBe('incremental')
    const after = await withProjectDb(ref, (c) => everything(c, true))

    let untouched = 0
    for (let i = 0; i < 8; i++) {
      const dir = clone(base)
      copyFileSync(join(base, DB), join(dir, DB))
      const delay = Math.round(duration * (0.3 + (0.7 * i) / 7))
      const killed = await killedRun(dir, delay)
      const raw = await withProjectDb(dir, (c) => everything(c, false))
      if (JSON.stringify(raw) === JSON.stringify(before)) untouched++
      else expect(await withProjectDb(dir, (c) => everything(c, true)), `trial ${i} (killed=${killed}, ${delay} ms)`).toEqual(after)
      const next = segc(['run', '--as-of', AS_OF, '--json'], {cwd: dir})
      expect(next.code, next.stderr).toBe(0)
      const result = JSON.parse(next.stdout)
      expect([result.mode, result.warnings]).toEqual(['incremental', []])
      expect(await withProjectDb(dir, (c) => everything(c, true))).toEqual(after)
      expect(await withProjectDb(dir, (c) => invariantViolations(c))).toEqual([])
    }
    expect(untouched).toBeGreaterThan(2)
  }, 600_000)
})

import {spawn} from 'node:child_process'
import {copyFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, REPO, segc} from '../helpers/cli.js'
import {invariantViolations, snapshot, withProjectDb} from '../helpers/state.js'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))

const AS_OF = '2026-06-15T00:00:00Z'
const DB = '.segc/warehouse.duckdb'


function clone(base: string): string {
  const dir = cloneProject(base)
  dirs.push(dir)
  return dir
}

/** Starts `segc run`, SIGKILLs it after `delayMs`, resolves when it is gone. */
function killedRun(dir: string, delayMs: number): Promise<{killed: boolean; code: number | null}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--as-of', AS_OF], {cwd: dir, stdio: 'ignore'})
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({killed: signal === 'SIGKILL', code})
    })
  })
}

describe('a killed run leaves every table as it was (SPEC §6)', () => {
  it('SIGKILL at 20 moments: tables are exactly as before (or the run committed whole); the next run completes', async () => {
    const base = exampleCopy()
    dirs.push(base)
    expect(segc(['demo', '--weeks', '0', '--customers', '6000', '--path', DB], {cwd: base}).code).toBe(0)
    const before = await withProjectDb(base, (c) => snapshot(c))

    const ref = clone(base)
    const started = Date.now()
    expect(segc(['run', '--as-of', AS_OF], {cwd: ref}).code).toBe(0)
    const duration = Date.now() - started
    const after = await withProjectDb(ref, (c) => snapshot(c, 'segments', true))
    expect(after.segment_transitions!.length).toBeGreaterThan(before.segment_transitions!.length)

    const outcomes = {before: 0, committed: 0}
    for (let i = 0; i < 20; i++) {
      const dir = clone(base)
      copyFileSync(join(base, DB), join(dir, DB))
      const delay = Math.round(duration * (0.25 + (0.8 * i) / 19))
      const {killed} = await killedRun(dir, delay)
      const raw = await withProjectDb(dir, (c) => snapshot(c))
      if (JSON.stringify(raw) === JSON.stringify(before)) outcomes.before++
      else {
        // a kill after COMMIT: the whole run is there, nothing half-written
        expect(await withProjectDb(dir, (c) => snapshot(c, 'segments', true)), `trial ${i} (killed=${killed}, ${delay} ms)`).toEqual(after)
        outcomes.committed++
      }
      const next = segc(['run', '--as-of', AS_OF], {cwd: dir})
      expect(next.code, next.stderr).toBe(0)
      expect(await withProjectDb(dir, (c) => snapshot(c, 'segments', true))).toEqual(after)
      expect(await withProjectDb(dir, (c) => invariantViolations(c))).toEqual([])
    }
    // the kills landed both before and during the transaction, not all after it
    expect(outcomes.before).toBeGreaterThan(5)
  }, 600_000)
})

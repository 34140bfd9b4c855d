import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {REPO} from '../helpers/cli.js'
import {Receiver} from '../helpers/receiver.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, CRM_SYNC, ENV, sendable, sorted, state, sync, withSyncs} from './sync-project.js'

// SIGKILL during delivery, 10 trials at different moments: a rerun finishes, the receiver has
// seen every change at least once, and the state never holds an operation the receiver did
// not acknowledge.

let base: string
let receiver: Receiver
beforeAll(async () => {
  base = await baseProject()
}, 120_000)
afterEach(async () => receiver?.stop())

describe('segc sync killed mid-delivery', () => {
  it('10 trials: rerun completes, at least once, state only acknowledged', async () => {
    let killedMidway = 0
    for (let trial = 0; trial < 10; trial++) {
      receiver = new Receiver()
      const dir = withSyncs(base, await receiver.start(), {'crm.yaml': CRM_SYNC}, '{type: webhook, url: URL, signing_secret: "${env:SEGC_HOOK_SECRET}", batch_size: 4, concurrency: 2}')
      const expected = await sendable(dir, ['win_back', 'at_risk'])
      const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'sync'], {cwd: dir, env: {...process.env, ...ENV}, stdio: 'ignore'})
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      // kill at the Nth request: before answering it on even trials, after on odd ones
      const at = 2 + trial * 3
      receiver.fallback = (q) => {
        const n = receiver.requests.length + 1
        if (n === at && trial % 2 === 0) child.kill('SIGKILL')
        if (n === at && trial % 2 === 1) setTimeout(() => child.kill('SIGKILL'), 5)
        return {status: 200}
      }
      const code = await exited
      if (code === null) killedMidway++
      const acked = new Set(receiver.requests.filter((q) => q.status === 200).flatMap((q) => q.body.operations.map((o) => `${o.segment}|${o.entity_key}|${o.id}`)))
      const after = await state(dir, 'crm')
      for (const [k, id] of after) expect(acked.has(`${k}|${id}`), `trial ${trial}: state holds ${k} the receiver never acknowledged`).toBe(true)
      const seen = receiver.requests.length
      receiver.fallback = {status: 200}
      // the rerun in this process (the kill is what needs a process of its own)
      const rerun = await sync(dir)
      expect(rerun.exit_code, JSON.stringify(rerun.syncs)).toBe(0)
      const everything = new Set(receiver.requests.flatMap((q) => q.body.operations.map((o) => `${o.segment}|${o.entity_key}`)))
      for (const k of expected.keys()) expect(everything.has(k), `trial ${trial}: ${k} never sent`).toBe(true)
      expect(sorted(await state(dir, 'crm'))).toEqual(sorted(expected))
      expect(receiver.requests.length).toBeGreaterThan(seen - 1)
      // the killed run is closed as failed by the next sync
      const runs = await withProjectDb(dir, (c) => c.query(`SELECT status FROM segments.segment_sync_runs ORDER BY started_at`))
      if (code === null) expect(runs.map((r) => r.status)).toEqual(['failed', 'success'])
      await receiver.stop()
    }
    expect(killedMidway).toBeGreaterThanOrEqual(8)
  }, 240_000)
})

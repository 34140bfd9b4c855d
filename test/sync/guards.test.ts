import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {runProject} from '../../src/run/run-project.js'
import {noStackTrace, segcAsync as segc} from '../helpers/cli.js'
import {Receiver} from '../helpers/receiver.js'
import {snapshot, withProjectDb} from '../helpers/state.js'
import {baseProject, CRM_SYNC, ENV, state, sync, T2, withSyncs} from './sync-project.js'

// Guards run on the plan before any request (SPEC §11): a refused sync sends nothing, exits 3
// and prints the verdict; --force proceeds. --dry-run sends and writes nothing.

let base: string
let receiver: Receiver
beforeAll(async () => {
  base = await baseProject()
}, 120_000)
afterEach(async () => receiver?.stop())

const withGuards = (guards: string) => CRM_SYNC + `guards: ${guards}\n`

async function syncedProject(guards: string) {
  receiver = new Receiver()
  const dir = withSyncs(base, await receiver.start(), {'crm.yaml': withGuards(guards)})
  const first = await sync(dir)
  expect(first.exit_code).toBe(0)
  return dir
}

describe('guards', () => {
  it('more removals than max_removals: nothing sent, exit 3 with the verdict; --force proceeds', async () => {
    const dir = await syncedProject('{max_removals: 0.1}')
    const synced = (await state(dir, 'crm')).size
    // most synced people withdraw consent
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN (SELECT entity_key FROM segments.segment_sync_state WHERE sync = 'crm' ORDER BY entity_key LIMIT ${Math.ceil(synced / 2)})`))
    const before = receiver.requests.length
    const cli = await segc(['sync'], {cwd: dir, env: ENV})
    expect(cli.code, cli.stderr).toBe(3)
    expect(cli.stdout).toMatch(/crm: refused, nothing sent:\n {2}max_removals: \d+ of \d+ synced rows would be removed \(\d+\.\d%; max_removals 10\.0%\)/)
    expect(receiver.requests.length).toBe(before)
    expect((await state(dir, 'crm')).size).toBe(synced)
    const runs = await withProjectDb(dir, (c) => c.query(`SELECT status, error FROM segments.segment_sync_runs ORDER BY started_at`))
    expect(runs.at(-1)).toMatchObject({status: 'refused'})
    expect(String(runs.at(-1)!.error)).toMatch(/^refused by max_removals: /)
    const forced = await segc(['sync', '--force'], {cwd: dir, env: ENV})
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.stdout).toContain('guards overridden by --force')
    expect(receiver.requests.length).toBeGreaterThan(before)
    expect((await state(dir, 'crm')).size).toBeLessThan(synced)
  }, 90_000)

  it('an empty set over a non-empty state, and below min_size: refused', async () => {
    const dir = await syncedProject('{min_size: 10}')
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE`))
    const before = receiver.requests.length
    const r = await sync(dir)
    expect(r.exit_code).toBe(3)
    expect(r.syncs[0]!.guards.filter((g) => !g.passed).map((g) => g.guard).sort()).toEqual(['allow_empty', 'min_size'])
    expect(r.syncs[0]!.guards.find((g) => g.guard === 'allow_empty')!.message).toMatch(/^nothing may be sent, but the destination holds \d+ rows from segc: every one would be removed$/)
    expect(receiver.requests.length).toBe(before)
  }, 90_000)

  it("a synced segment whose last run broke its expect: refused", async () => {
    const dir = await syncedProject('{}')
    // at_risk may not change by more than 0.1% between runs: the next run breaks it
    const file = join(dir, 'segments/lifecycle.yaml')
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.replace('expect:\n  max_share: 0.5\n', 'expect:\n  max_share: 0.5\n  max_change: 0.001\n'))
    expect(readFileSync(file, 'utf8')).toContain('max_change: 0.001')
    const run = await runProject({project: dir, asOf: T2, target: 'local'})
    expect(run.warnings.some((w) => w.code === 'expectation_failed')).toBe(true)
    const before = receiver.requests.length
    const r = await sync(dir)
    expect(r.exit_code).toBe(3)
    expect(r.syncs[0]!.guards.find((g) => !g.passed)).toMatchObject({guard: 'expect'})
    expect(r.syncs[0]!.guards.find((g) => !g.passed)!.message).toMatch(/segment 'at_risk': .* above max_change 0\.1%/)
    expect(receiver.requests.length).toBe(before)
    expect((await sync(dir, {force: true})).exit_code).toBe(0)
  }, 90_000)
})

describe('--dry-run and --json', () => {
  it('--dry-run: zero requests, zero table changes, the plan printed', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'crm.yaml': CRM_SYNC})
    // the sync tables exist after a run
    const before = await withProjectDb(dir, (c) => snapshot(c))
    const cli = await segc(['sync', '--dry-run'], {cwd: dir, env: ENV})
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stdout).toMatch(/^dry run: nothing sent, nothing written on local/)
    expect(cli.stdout).toMatch(/\ncrm: plan\n {2}add {5}(at_risk|win_back) {2}c\d+ {2}\(user\d+@mail\.example\)/)
    expect(receiver.requests).toHaveLength(0)
    expect(await withProjectDb(dir, (c) => snapshot(c))).toEqual(before)
    const json = await segc(['sync', '--dry-run', '--full-resync', '--json'], {cwd: dir, env: ENV})
    expect(json.code).toBe(0)
    const out = JSON.parse(json.stdout) as {status: string; syncs: Array<{planned: {add: number}; operations: unknown[]; sync_run_id: null}>}
    expect(out.status).toBe('planned')
    expect(out.syncs[0]!.sync_run_id).toBe(null)
    expect(out.syncs[0]!.operations).toHaveLength(out.syncs[0]!.planned.add)
    expect(await withProjectDb(dir, (c) => snapshot(c))).toEqual(before)
  }, 60_000)

  it('--json reports every sync; failures keep the JSON and the exit code; a missing secret is exit 1 before any request', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'crm.yaml': CRM_SYNC})
    const ok = await segc(['sync', '--json'], {cwd: dir, env: ENV})
    expect(ok.code, ok.stderr).toBe(0)
    const r = JSON.parse(ok.stdout) as Record<string, unknown> & {syncs: Array<Record<string, unknown>>}
    expect(Object.keys(r).sort()).toEqual(['exit_code', 'segment_run_id', 'status', 'syncs', 'target'])
    expect(Object.keys(r.syncs[0]!).sort()).toEqual(['destination', 'error', 'forced', 'guards', 'mode', 'pending', 'planned', 'rejected', 'segment_run_id', 'skipped', 'status', 'succeeded', 'sync', 'sync_run_id'])
    receiver.fallback = {status: 403}
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET first_name = 'Changed'`))
    const denied = await segc(['sync', '--json'], {cwd: dir, env: ENV})
    expect(denied.code).toBe(2)
    expect(JSON.parse(denied.stdout)).toMatchObject({status: 'failed', exit_code: 2, syncs: [{status: 'failed', error: "destination 'crm_hook': HTTP 403"}]})
    const requests = receiver.requests.length
    const missing = await segc(['sync'], {cwd: dir, env: {SEGC_HOOK_SECRET: ''}})
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^segc\.yaml:\d+:\d+: error\[env_missing\]: destination 'crm_hook' needs the environment variable SEGC_HOOK_SECRET \(for 'signing_secret'\), which is not set/m)
    expect(noStackTrace(missing.stderr)).toBe(true)
    expect(receiver.requests.length).toBe(requests)
    const unknown = await segc(['sync', 'crn'], {cwd: dir, env: ENV})
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("error[unknown_sync]: no sync 'crn' (did you mean 'crm'?)")
  }, 90_000)
})

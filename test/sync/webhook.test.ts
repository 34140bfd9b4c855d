import {createHmac} from 'node:crypto'
import {Webhook} from 'standardwebhooks'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {runProject} from '../../src/run/run-project.js'
import {Receiver} from '../helpers/receiver.js'
import {withProjectDb} from '../helpers/state.js'
import {applied, baseProject, CRM_SYNC, SECRET, sendable, sorted, state, sync, T2, withSyncs} from './sync-project.js'

// SPEC §11 end to end against a real HTTP receiver on 127.0.0.1: what may be sent, the diff,
// signatures, and the state after every sync.

let base: string
let receiver: Receiver
beforeAll(async () => {
  base = await baseProject()
}, 120_000)
afterEach(async () => receiver?.stop())

async function excluded(dir: string): Promise<Set<string>> {
  // holdout members, unconsented members and members without an email, of the synced segments
  return withProjectDb(dir, async (c) => {
    const rows = await c.query(`SELECT m.entity_key FROM segments.segment_membership m JOIN main.customers c ON c.customer_id = m.entity_key
      WHERE m.segment IN ('win_back', 'at_risk') AND (m.holdout OR NOT coalesce(c.email_opt_in, FALSE) OR c.email IS NULL)
        AND m.entity_key NOT IN (SELECT m2.entity_key FROM segments.segment_membership m2 JOIN main.customers c2 ON c2.customer_id = m2.entity_key
          WHERE m2.segment IN ('win_back', 'at_risk') AND NOT m2.holdout AND c2.email_opt_in AND c2.email IS NOT NULL)`)
    return new Set(rows.map((r) => String(r.entity_key)))
  })
}

describe('segc sync to a webhook', () => {
  it('sends exactly the sendable set, signed; holdout, unconsented and unidentified members appear nowhere; a second sync sends nothing', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'crm.yaml': CRM_SYNC})
    // two members lose their email: they are skipped (logged, no payload)
    const noEmail = await withProjectDb(dir, async (c) => {
      const rows = await c.query(`SELECT entity_key FROM segments.segment_membership m JOIN main.customers c ON c.customer_id = m.entity_key WHERE segment = 'at_risk' AND NOT holdout AND c.email_opt_in ORDER BY entity_key LIMIT 2`)
      const keys = rows.map((r) => String(r.entity_key))
      await c.execute(`UPDATE main.customers SET email = NULL WHERE customer_id IN ('${keys.join("', '")}')`)
      return keys
    })
    const expected = await sendable(dir, ['win_back', 'at_risk'])
    const hidden = await excluded(dir)
    expect(expected.size).toBeGreaterThan(50)
    expect(hidden.size).toBeGreaterThan(10)
    for (const k of noEmail) expect(hidden.has(k)).toBe(true)

    const r = await sync(dir)
    expect(r.exit_code).toBe(0)
    expect(r.syncs[0]).toMatchObject({status: 'success', rejected: 0, pending: 0, skipped: 2})
    expect(r.syncs[0]!.planned.add).toBe(expected.size)
    expect(sorted(applied(receiver.acknowledged()))).toEqual(sorted(expected))
    expect(sorted(await state(dir, 'crm'))).toEqual(sorted(expected))
    // nothing excluded reached the receiver, in any field
    const everything = receiver.requests.map((q) => q.raw).join('\n')
    for (const k of hidden) expect(everything).not.toContain(`"${k}"`)
    // fields as declared
    const op = receiver.acknowledged()[0]!
    expect(Object.keys(op.fields).sort()).toEqual(['country', 'first_name', 'member', 'segment', 'since'])
    expect(op.fields.member).toBe(true)
    // every request verifies with the secret, by the Standard Webhooks library, and carries an Idempotency-Key
    const wh = new Webhook(SECRET)
    for (const q of receiver.requests) {
      expect(() => wh.verify(q.raw, {'webhook-id': String(q.headers['webhook-id']), 'webhook-timestamp': String(q.headers['webhook-timestamp']), 'webhook-signature': String(q.headers['webhook-signature'])})).not.toThrow()
      expect(q.headers['idempotency-key']).toBe(q.headers['webhook-id'])
    }
    expect(() => new Webhook(`whsec_${Buffer.from('another key').toString('base64')}`).verify(receiver.requests[0]!.raw, receiver.requests[0]!.headers as Record<string, string>)).toThrow()
    // the log: no payload, skipped rows without one either
    const log = await withProjectDb(dir, (c) => c.query(`SELECT * FROM segments.segment_sync_log ORDER BY entity_key`))
    expect(log.filter((l) => l.status === 'skipped').map((l) => l.entity_key).sort()).toEqual(noEmail)
    expect(log.filter((l) => l.status === 'succeeded')).toHaveLength(expected.size)
    expect(Object.keys(log[0]!).sort()).toEqual(['at', 'attempts', 'entity_key', 'http_status', 'idempotency_key', 'op', 'reason', 'segment', 'status', 'sync', 'sync_run_id'])
    const emails = [...expected.values()]
    expect(JSON.stringify(log, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))).not.toContain(emails[0])

    const before = receiver.requests.length
    const again = await sync(dir)
    expect(again.syncs[0]).toMatchObject({status: 'success', planned: {add: 0, remove: 0, update: 0}})
    expect(receiver.requests.length).toBe(before)
  }, 60_000)

  it('after a run with entries and exits sends only the changes; lost consent and the holdout are removed; state equals the sendable set', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'crm.yaml': CRM_SYNC})
    expect((await sync(dir)).exit_code).toBe(0)
    const first = applied(receiver.acknowledged())
    const sent = receiver.requests.length
    // three synced people withdraw consent; a bigger holdout moves members into it
    const withdrawn = [...first.keys()].filter((k) => k.startsWith('at_risk|')).slice(0, 3).map((k) => k.split('|')[1]!)
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN ('${withdrawn.join("', '")}')`))
    const {readFileSync, writeFileSync} = await import('node:fs')
    const growth = `${dir}/segments/growth.yaml`
    writeFileSync(growth, readFileSync(growth, 'utf8').replace('holdout: { percent: 10, salt: "2026" }', 'holdout: { percent: 40, salt: "2026" }'))
    const run = await runProject({project: dir, asOf: T2, target: 'local'})
    expect(run.segments.some((s) => s.entered + s.exited > 0)).toBe(true)

    const expected = await sendable(dir, ['win_back', 'at_risk'])
    const r = await sync(dir)
    expect(r.exit_code).toBe(0)
    const changes = receiver.requests.slice(sent).flatMap((q) => q.body.operations)
    expect(receiver.requests.every((q) => q.status === 200)).toBe(true)
    const after = applied(changes, first)
    expect(sorted(after)).toEqual(sorted(expected))
    expect(sorted(await state(dir, 'crm'))).toEqual(sorted(expected))
    // only the difference went out
    const diff = [...new Set([...first.keys(), ...expected.keys()])].filter((k) => first.get(k) !== expected.get(k))
    expect(changes.filter((o) => o.op !== 'update').map((o) => `${o.segment}|${o.entity_key}`).sort()).toEqual(diff.sort())
    for (const k of withdrawn) expect(changes.find((o) => o.entity_key === k && o.op === 'remove')).toBeTruthy()
    const heldOut = await withProjectDb(dir, (c) => c.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = 'win_back' AND holdout`))
    const newlyHeld = heldOut.map((h) => `win_back|${String(h.entity_key)}`).filter((k) => first.has(k))
    expect(newlyHeld.length).toBeGreaterThan(0)
    for (const k of newlyHeld) expect(changes.find((o) => `${o.segment}|${o.entity_key}` === k)?.op).toBe('remove')
    // a removal carries the identifier it was added with and no fields
    const removal = changes.find((o) => o.op === 'remove')!
    expect(removal.id).toBe(first.get(`${removal.segment}|${removal.entity_key}`))
    expect(removal.fields).toEqual({})
  }, 90_000)

  it('signs with the secret as given when it is not in whsec_ form', async () => {
    receiver = new Receiver()
    const url = await receiver.start()
    const dir = withSyncs(base, url, {'crm.yaml': CRM_SYNC}, '{type: webhook, url: URL, signing_secret: "${env:RAW_SECRET}", batch_size: 1000}')
    const r = await sync(dir, {env: {...process.env, RAW_SECRET: 'plain-text-secret'}})
    expect(r.exit_code).toBe(0)
    for (const q of receiver.requests) {
      const signed = `${String(q.headers['webhook-id'])}.${String(q.headers['webhook-timestamp'])}.${q.raw}`
      expect(q.headers['webhook-signature']).toBe(`v1,${createHmac('sha256', 'plain-text-secret').update(signed).digest('base64')}`)
    }
  }, 60_000)
})

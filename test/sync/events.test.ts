import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {runProject} from '../../src/run/run-project.js'
import {Receiver} from '../helpers/receiver.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, sendable, sync, T1, T2, withSyncs} from './sync-project.js'

// events mode: one entered/exited message per net change since the last sync, with the
// transition's cause and time, checked against segment_transitions read here.

let base: string
let receiver: Receiver
beforeAll(async () => {
  base = await baseProject()
}, 120_000)
afterEach(async () => receiver?.stop())

const EVENTS = `sync: moves
destination: crm_hook
segments: [win_back, at_risk]
mode: events
identify_by: email
consent: [email_opt_in]
`

describe('events mode', () => {
  it('entered and exited with cause and transitioned_at; members removed for consent say so', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'moves.yaml': EVENTS})
    expect((await sync(dir)).exit_code).toBe(0)
    const first = receiver.acknowledged()
    expect(new Set(first.map((o) => o.op))).toEqual(new Set(['entered']))
    expect(first).toHaveLength((await sendable(dir, ['win_back', 'at_risk'])).size)
    // the first run added the segments: that is the cause of every entry
    expect(new Set(first.map((o) => `${o.cause}@${o.transitioned_at}`))).toEqual(new Set([`segment_added@${new Date(T1).toISOString()}`]))
    const withdrawn = first.filter((o) => o.segment === 'at_risk').slice(0, 2).map((o) => o.entity_key)
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN ('${withdrawn.join("', '")}')`))
    await runProject({project: dir, asOf: T2, target: 'local'})
    const mark = receiver.requests.length
    expect((await sync(dir)).exit_code).toBe(0)
    const moves = receiver.requests.slice(mark).flatMap((q) => q.body.operations)
    const transitions = await withProjectDb(dir, (c) =>
      c.query(`SELECT segment, entity_key, change, cause FROM segments.segment_transitions WHERE run_id = (SELECT run_id FROM segments.segment_runs WHERE status = 'success' ORDER BY as_of DESC LIMIT 1) AND segment IN ('win_back', 'at_risk')`),
    )
    const byKey = new Map(transitions.map((t) => [`${String(t.segment)}|${String(t.entity_key)}`, t]))
    let fromTransitions = 0
    for (const o of moves) {
      const t = byKey.get(`${o.segment}|${o.entity_key}`)
      if (withdrawn.includes(o.entity_key) && !t) {
        expect(o).toMatchObject({op: 'exited', cause: 'not_sendable', transitioned_at: new Date(T2).toISOString()})
        continue
      }
      if (!t) continue // a holdout or consent change of a member who did not move
      fromTransitions++
      expect(o.op).toBe(t.change)
      expect(o.cause).toBe(t.cause)
      expect(o.transitioned_at).toBe(new Date(T2).toISOString())
    }
    expect(fromTransitions).toBeGreaterThan(0)
    expect(moves.filter((o) => o.op === 'exited').length).toBeGreaterThan(0)
    expect(moves.every((o) => Object.keys(o).sort().join() === 'cause,entity_key,fields,id,idempotency_key,op,segment,transitioned_at')).toBe(true)
  }, 90_000)
})

// Delivery, shared by every destination: batches within the destination's limits, a few in
// flight at once, a request rate cap, retries with exponential backoff and full jitter that
// never come before Retry-After, split-retry of a rejected batch until the bad rows stand
// alone, and a stop at the first 401/403. Every batch's outcome goes to `settle` (which writes
// state and log in one transaction) before the next outcome does.
import {DeliveryError, type DeliveryLimits, type DestinationSession, type Operation} from '../destination/destination.js'

export type Outcome = 'succeeded' | 'rejected' | 'pending'

export interface Settled {
  op: Operation
  outcome: Outcome
  attempts: number
  httpStatus: number | null
  reason: string | null
}

export interface DeliveryResult {
  /** the 401/403 (or other fatal error) that stopped delivery */
  fatal?: string
}

export interface DeliveryOptions {
  /** base of the exponential backoff, in ms (tests shorten it) */
  backoffBaseMs?: number
  backoffCapMs?: number
  /** called after each settled batch, e.g. for a progress line */
  progress?: (done: number, total: number) => void
  random?: () => number
  sleep?: (ms: number) => Promise<void>
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Pending {
  ops: Operation[]
  /** requests each op has been in so far */
  attempts: number[]
  tries: number
}

export async function deliver(ops: readonly Operation[], session: DestinationSession, limits: DeliveryLimits, settle: (rows: Settled[]) => Promise<void>, opts: DeliveryOptions = {}): Promise<DeliveryResult> {
  const base = opts.backoffBaseMs ?? 500
  const cap = opts.backoffCapMs ?? 30_000
  const random = opts.random ?? Math.random
  const sleep = opts.sleep ?? defaultSleep
  const queue: Pending[] = []
  for (let i = 0; i < ops.length; i += limits.batchSize) {
    const slice = ops.slice(i, i + limits.batchSize)
    queue.push({ops: slice, attempts: slice.map(() => 0), tries: 0})
  }
  let fatal: string | undefined
  let done = 0
  // settle calls are chained: one transaction at a time on the warehouse connection
  let settling = Promise.resolve()
  const record = (rows: Settled[]) => {
    settling = settling.then(() => settle(rows))
    done += rows.length
    opts.progress?.(done, ops.length)
    return settling
  }
  // a request slot every 1/rate seconds at most, across all workers
  let nextSlot = 0
  const slot = async () => {
    if (!limits.ratePerSecond) return
    const now = Date.now()
    const at = Math.max(now, nextSlot)
    nextSlot = at + 1000 / limits.ratePerSecond
    if (at > now) await sleep(at - now)
  }

  const settleAll = (p: Pending, outcome: Outcome, httpStatus: number | null, reason: string | null) =>
    record(p.ops.map((op, i) => ({op, outcome, attempts: p.attempts[i]!, httpStatus, reason})))

  async function handle(p: Pending): Promise<void> {
    if (fatal) return settleAll(p, 'pending', null, `not sent: ${fatal}`)
    await slot()
    p.tries++
    p.attempts = p.attempts.map((a) => a + 1)
    let results: Awaited<ReturnType<DestinationSession['send']>>
    try {
      results = await session.send(p.ops)
    } catch (error) {
      const e = error instanceof DeliveryError ? error : new DeliveryError((error as Error).message, 'retry')
      const status = e.httpStatus ?? null
      if (e.kind === 'fatal') {
        fatal ??= e.message
        return settleAll(p, 'pending', status, e.message)
      }
      if (e.kind === 'reject') {
        if (p.ops.length === 1) return settleAll(p, 'rejected', status, e.message)
        // split until the bad rows stand alone; the halves start a fresh count of tries
        const mid = Math.ceil(p.ops.length / 2)
        const halves = [0, mid].map((from) => ({ops: p.ops.slice(from, from === 0 ? mid : undefined), attempts: p.attempts.slice(from, from === 0 ? mid : undefined), tries: 0}))
        for (const h of halves) await handle(h)
        return
      }
      if (p.tries >= limits.maxAttempts) return settleAll(p, 'pending', status, e.message)
      const backoff = Math.min(cap, base * 2 ** (p.tries - 1)) * random()
      await sleep(Math.max(backoff, e.retryAfterMs ?? 0))
      return handle(p)
    }
    if (!results) return settleAll(p, 'succeeded', null, null)
    return record(p.ops.map((op, i) => ({op, outcome: results[i]?.ok ? 'succeeded' : 'rejected', attempts: p.attempts[i]!, httpStatus: results[i]?.httpStatus ?? null, reason: results[i]?.ok ? null : (results[i]?.reason ?? 'rejected by the destination')})))
  }

  const workers = Array.from({length: Math.max(1, Math.min(limits.concurrency, queue.length))}, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await handle(p)
  })
  await Promise.all(workers)
  await settling
  return fatal ? {fatal} : {}
}

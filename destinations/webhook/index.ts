// Webhook destination (SPEC §11): POST of a JSON body per batch, signed as Standard Webhooks
// (webhook-id, webhook-timestamp, webhook-signature) with an Idempotency-Key header. Plain
// fetch: no SDK.
import {createHash, createHmac} from 'node:crypto'
import {classifyStatus, DeliveryError, retryAfterMs, type DestinationSession, type DestinationType, type Operation} from '../../src/destination/destination.js'

/**
 * The HMAC key. A `whsec_`-prefixed secret is the Standard Webhooks form: base64 of the key
 * bytes. Any other secret is used as its UTF-8 bytes, as SPEC §11 words it.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8')
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/** The same batch of changes sent again carries the same message id and idempotency key. */
export function batchId(batch: readonly Operation[]): string {
  const h = createHash('sha256')
  for (const op of batch) h.update(op.idempotency_key).update('\n')
  return `msg_${h.digest('hex').slice(0, 32)}`
}

export const webhook: DestinationType = {
  type: 'webhook',
  defaults: {batchSize: 500, concurrency: 4, timeoutSeconds: 30, maxAttempts: 5},
  async open(config, ctx, limits): Promise<DestinationSession> {
    const url = String(config.url)
    const secret = String(config.signing_secret)
    const extra = (config.headers ?? {}) as Record<string, string>
    return {
      async send(batch) {
        const body = JSON.stringify({
          sync: ctx.sync.name,
          sync_run_id: ctx.syncRunId,
          segment_run_id: ctx.segmentRunId,
          operations: batch.map((o) => ({
            op: o.op,
            segment: o.segment,
            entity_key: o.entity_key,
            id: o.id,
            idempotency_key: o.idempotency_key,
            fields: o.fields,
            ...(ctx.mode === 'events' ? {cause: o.cause ?? null, transitioned_at: o.transitioned_at ?? null} : {}),
          })),
        })
        const id = batchId(batch)
        const timestamp = Math.floor(Date.now() / 1000)
        let response: Response
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: {...extra, 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(secret, id, timestamp, body), 'idempotency-key': id},
            body,
            signal: AbortSignal.timeout(limits.timeoutSeconds * 1000),
          })
        } catch (error) {
          const cause = (error as {cause?: {code?: string}}).cause?.code
          const why = cause ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${limits.timeoutSeconds} s` : (error as Error).message)
          throw new DeliveryError(`could not reach the webhook: ${why}`, 'retry')
        }
        const kind = classifyStatus(response.status)
        if (!kind) {
          await response.body?.cancel()
          return
        }
        const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300)
        throw new DeliveryError(`HTTP ${response.status}${text ? `: ${text}` : ''}`, kind, response.status, retryAfterMs(response.headers.get('retry-after')))
      },
      async close() {},
    }
  },
}

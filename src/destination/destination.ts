// What a destination is to segc: a small object that checks nothing itself (segc.yaml's schema
// does), opens a session, sends one batch and reports per-row results. Batching, retries,
// backoff, splitting and state live in deliver.ts, shared by all of them; each destination's
// SDK is imported only in its own folder under destinations/.
import type {SyncDef, SyncMode} from '../resolve/resolve-syncs.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'

/** erase: `segc forget` (SPEC §15): the key leaves everything this sync sent there, whatever its segments */
export type OpName = 'add' | 'remove' | 'update' | 'entered' | 'exited' | 'erase'

/** One change to send: what a destination sees (never a holdout member or an unconsented one). */
export interface Operation {
  op: OpName
  /** NULL for an erase: the key leaves every segment the sync sent it for */
  segment: string | null
  entity_key: string
  /** the identify_by value (the entity key by default) */
  id: string
  idempotency_key: string
  /** the sync's fields, by destination field name; empty for removals */
  fields: Record<string, unknown>
  /** events mode */
  cause?: string | null
  transitioned_at?: string | null
}

export interface RowResult {
  ok: boolean
  reason?: string
  httpStatus?: number
}

/**
 * How a failed request is handled (SPEC §11): retry (network, timeouts, 408, 425, 429, 5xx),
 * reject the rows (400, 404, 409, 422: a batch is split until the bad rows are isolated), or
 * fatal (401, 403: the sync stops at once).
 */
export type FailureKind = 'retry' | 'reject' | 'fatal'

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly httpStatus?: number,
    /** Retry-After, in milliseconds: the next attempt is not earlier */
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

export function classifyStatus(status: number): FailureKind | undefined {
  if (status >= 200 && status < 300) return undefined
  if (status === 401 || status === 403) return 'fatal'
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry'
  if (status === 400 || status === 404 || status === 409 || status === 422) return 'reject'
  return 'fatal'
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

export interface SessionContext {
  sync: SyncDef
  mode: SyncMode
  syncRunId: string
  /** NULL for `segc forget`'s deletions, which follow no run */
  segmentRunId: string | null
  /** project root, for relative paths */
  root: string
  /** --full-resync: the destination's previous contents are not segc's to keep */
  fullResync: boolean
  /**
   * A fresh in-memory SQL engine (DuckDB), closed by the caller of it: handed in so that a
   * destination that writes files with SQL (csv, parquet, jsonl) imports no adapter.
   */
  scratch(): Promise<WarehouseConnection>
}

export interface DestinationSession {
  /** Sends one batch. Returns per-row results (same order), or nothing when all succeeded; throws DeliveryError for the whole batch. */
  send(batch: readonly Operation[]): Promise<RowResult[] | void>
  close(): Promise<void>
}

export interface DeliveryLimits {
  batchSize: number
  concurrency: number
  /** requests per second at most; undefined: no limit */
  ratePerSecond?: number
  timeoutSeconds: number
  maxAttempts: number
}

export interface DestinationType {
  readonly type: string
  readonly defaults: DeliveryLimits
  /** where deletions (op erase) go one request per key, the limits that apply to them instead */
  readonly eraseLimits?: Partial<DeliveryLimits>
  /** config: the destination's keys from segc.yaml, ${env:...} already substituted */
  open(config: Record<string, unknown>, ctx: SessionContext, limits: DeliveryLimits): Promise<DestinationSession>
}

// `segc sync` (SPEC §11): for each sync, plan in the warehouse (one query), check the guards
// before any request, deliver the operations, and after every acknowledged batch advance the
// state and write the log in one transaction. A crash leaves the state at what destinations
// acknowledged; the next sync plans the rest again with the same idempotency keys.
import {createHash, randomBytes} from 'node:crypto'
import {destinationFor, hasDestination} from '../../destinations/index.js'
import {diag, DiagnosticsError, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {SyncStatements, type LogRow, type PlannedOp, type StateRow, type SyncRunRow} from '../generate/sync-sql.js'
import type {SyncDef} from '../resolve/resolve-syncs.js'
import {profileTable} from '../resolve/resolve-profile.js'
import {checkExpectations} from '../project/expectations.js'
import {redact} from '../project/redact.js'
import {connectTarget, prepare, scratchEngine, type Prepared, type SessionOptions} from '../project/session.js'
import {MEMBERSHIP, SYNC_LOG, SYNC_RUNS, SYNC_STATE} from '../warehouse/tables.js'
import {destinationDataset, emitter, inputDatasets, outputDataset} from '../lineage/openlineage.js'
import {inTransaction, type WarehouseConnection} from '../warehouse/warehouse.js'
import {deliver, type DeliveryOptions, type Settled} from './deliver.js'
import {deliveryLimits, destinationConfig} from './destination-config.js'
import type {Operation} from '../destination/destination.js'

export interface SyncOptions extends SessionOptions {
  /** sync names; none: every sync (or, with afterRun, those marked after_run) */
  syncs?: string[]
  afterRun?: boolean
  dryRun?: boolean
  force?: boolean
  fullResync?: boolean
  delivery?: DeliveryOptions
}

export interface GuardVerdict {
  guard: 'max_removals' | 'min_size' | 'allow_empty' | 'expect'
  passed: boolean
  message: string
}

export interface SyncReport {
  sync: string
  destination: string
  mode: string
  sync_run_id: string | null
  segment_run_id: string
  status: 'success' | 'partial' | 'failed' | 'refused' | 'planned'
  planned: {add: number; remove: number; update: number; skip: number}
  succeeded: number
  rejected: number
  skipped: number
  pending: number
  guards: GuardVerdict[]
  forced: boolean
  error: string | null
  /** the plan's operations (--dry-run only): op, segment, entity_key, id */
  operations?: Array<{op: string; segment: string; entity_key: string; id: string | null}>
}

export interface SyncResult {
  status: 'success' | 'partial' | 'failed' | 'refused' | 'planned' | 'nothing'
  target: string
  segment_run_id: string | null
  syncs: SyncReport[]
  exit_code: number
}

function chosenSyncs(p: Prepared, opts: SyncOptions): SyncDef[] {
  const all = [...p.v.syncs.values()].sort((a, b) => a.name.localeCompare(b.name))
  if (!opts.syncs?.length) return opts.afterRun ? all.filter((s) => s.afterRun) : all
  const unknown = opts.syncs.filter((s) => !p.v.syncs.has(s))
  if (unknown.length) throw new DiagnosticsError(unknown.map((s, i) => diag('unknown_sync', {file: 'SYNC', line: 1, col: i + 1}, `no sync '${s}'${didYouMean(s, p.v.syncs.keys())}`)))
  return opts.syncs.map((s) => p.v.syncs.get(s)!)
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString())

/** A JSON-able value from the warehouse (timestamps as ISO strings, big integers as numbers where exact). */
function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (v !== null && typeof v === 'object' && 'micros' in (v as object)) return new Date(Number((v as {micros: bigint}).micros / 1000n)).toISOString()
  return v
}

/**
 * The idempotency key of one change: the same each time the same change is planned again.
 * An add or update carries its membership interval (entered_at) and payload; a removal the
 * state row it undoes (its hash and when it was acknowledged).
 */
export function idempotencyKey(sync: string, o: Pick<PlannedOp, 'segment' | 'entity_key' | 'op' | 'payload_hash' | 'previous_hash' | 'entered_at'> & {synced_at?: string | null}): string {
  const carried = o.op === 'remove' ? `${o.previous_hash ?? ''}|${o.synced_at ?? ''}` : `${o.payload_hash ?? ''}|${o.entered_at ?? ''}`
  return createHash('sha256').update([sync, o.segment, o.entity_key, o.op, carried].join('\u001f')).digest('hex')
}

function readPlan(rows: Array<Record<string, unknown>>, sync: SyncDef): Array<PlannedOp & {synced_at: string | null}> {
  return rows.map((r) => ({
    segment: String(r.segment),
    entity_key: String(r.entity_key),
    op: String(r.op) as PlannedOp['op'],
    dest_key: r.dest_key === null || r.dest_key === undefined ? null : String(r.dest_key),
    payload_hash: (r.payload_hash as string | null) ?? null,
    previous_hash: (r.previous_hash as string | null) ?? null,
    synced_at: iso(r.synced_at),
    entered_at: iso(r.entered_at),
    fields: sync.fields.map((_, i) => jsonValue(r[`f_${i}`])),
    cause: (r.cause as string | null | undefined) ?? null,
    transitioned_at: iso(r.transitioned_at),
  }))
}

function guardVerdicts(sync: SyncDef, stateSize: number, plan: readonly PlannedOp[], expectProblems: readonly Diagnostic[]): GuardVerdict[] {
  const adds = plan.filter((o) => o.op === 'add').length
  const removes = plan.filter((o) => o.op === 'remove').length
  const sendable = stateSize - removes + adds
  const out: GuardVerdict[] = []
  const g = sync.guards
  if (g.maxRemovals !== undefined && stateSize > 0) {
    const share = removes / stateSize
    out.push({guard: 'max_removals', passed: share <= g.maxRemovals, message: `${removes} of ${stateSize} synced rows would be removed (${(share * 100).toFixed(1)}%; max_removals ${(g.maxRemovals * 100).toFixed(1)}%)`})
  }
  if (g.minSize !== undefined) out.push({guard: 'min_size', passed: sendable >= g.minSize, message: `${sendable} rows may be sent (min_size ${g.minSize})`})
  if (stateSize > 0) out.push({guard: 'allow_empty', passed: sendable > 0 || g.allowEmpty, message: sendable > 0 ? `${sendable} rows may be sent` : `nothing may be sent, but the destination holds ${stateSize} rows from segc${g.allowEmpty ? ' (allow_empty: true)' : ': every one would be removed'}`})
  const broken = expectProblems.filter((d) => sync.segments.includes(String(d.data?.segment)))
  out.push({guard: 'expect', passed: broken.length === 0, message: broken.length ? `the last run broke expect: ${broken.map((d) => d.message).join('; ')}` : 'every synced segment met its expect guards in the last run'})
  return out
}

export async function syncProject(opts: SyncOptions): Promise<SyncResult> {
  const p = prepare(opts)
  const env = opts.env ?? process.env
  const syncs = chosenSyncs(p, opts)
  const configs = new Map(syncs.map((s) => [s.destination, destinationConfig(p, s.destination, env)]))
  for (const s of syncs) if (!hasDestination(s.destinationType)) throw new DiagnosticsError([diag('unsupported', s.loc, `destination type '${s.destinationType}' is not available in this build of segc`)])
  const st = new SyncStatements(p.adapter.dialect, p.v.project.outputSchema)
  // a dry run writes nothing and sends nothing: no lineage to tell
  const lineage = opts.dryRun ? emitter(p, 'sync', {env, off: true}) : emitter(p, 'sync', {env})
  // a sync with trait fields reads its entity's profile too
  const profiles = [...new Set(syncs.filter((s) => s.fields.some((f) => f.source.kind === 'trait')).map((s) => profileTable(s.entity)))].map((t) => outputDataset(p, t))
  const inputs = lineage.enabled ? [outputDataset(p, MEMBERSHIP.name), outputDataset(p, SYNC_STATE.name), ...profiles, ...inputDatasets(p, undefined, syncs.map((s) => p.v.project.entities.get(s.entity)!.relation))] : []
  await lineage.start(inputs)
  try {
    const result = await syncAll(p, opts, syncs, configs, st)
    const sent = (name: string) => result.syncs.filter((r) => r.sync === name).reduce((n, r) => n + r.succeeded, 0)
    const failed = result.syncs.filter((r) => r.status === 'failed')
    if (failed.length) await lineage.fail(new Error(failed.map((r) => `${r.sync}: ${r.error ?? 'failed'}`).join('; ')), inputs)
    else await lineage.complete(inputs, [
      outputDataset(p, SYNC_RUNS.name, result.syncs.filter((r) => r.sync_run_id !== null).length),
      outputDataset(p, SYNC_STATE.name),
      outputDataset(p, SYNC_LOG.name),
      ...syncs.map((s) => destinationDataset(s.destinationType, s.destination, s.name, configs.get(s.destination)!, sent(s.name))),
    ])
    return result
  } catch (error) {
    await lineage.fail(error, inputs)
    throw error
  }
}

async function syncAll(p: Prepared, opts: SyncOptions, syncs: SyncDef[], configs: Map<string, Record<string, unknown>>, st: SyncStatements): Promise<SyncResult> {
  const conn = await connectTarget(p, opts)
  try {
    if (!(await conn.tableExists(p.v.project.outputSchema, 'segment_runs'))) {
      throw new DiagnosticsError([diag('no_runs', {file: 'segc.yaml', line: 1, col: 1}, `no run has written to target '${p.target.name}' yet: run 'segc run' first`)])
    }
    const [latest] = await conn.query(st.latestRun())
    if (!latest) throw new DiagnosticsError([diag('no_runs', {file: 'segc.yaml', line: 1, col: 1}, `target '${p.target.name}' has no successful run to sync: run 'segc run' first`)])
    const segmentRunId = String(latest.run_id)
    const asOf = iso(latest.as_of)!
    if (!opts.dryRun) for (const s of st.setup()) await conn.execute(s)
    else if (!(await conn.tableExists(p.v.project.outputSchema, SYNC_STATE.name))) {
      throw new DiagnosticsError([diag('no_runs', {file: 'segc.yaml', line: 1, col: 1}, `the sync tables do not exist on target '${p.target.name}' yet: run 'segc run' (or a sync without --dry-run) first`)])
    }
    const sizes = (await conn.query(st.sizes(segmentRunId))).map((r) => ({segment: String(r.segment), entity: p.v.project.segments.get(String(r.segment))?.entity ?? '', size: Number(r.size), entered: Number(r.entered), exited: Number(r.exited)}))
    const universe = new Map<string, number>()
    for (const e of new Set(syncs.map((s) => s.entity))) {
      const entity = p.v.project.entities.get(e)!
      if ([...p.v.project.segments.values()].some((s) => s.entity === e && s.expect?.maxShare !== undefined)) universe.set(e, Number((await conn.query(st.universe(entity)))[0]!.n))
    }
    const expectProblems = checkExpectations(p.v.project, sizes, universe)
    const reports: SyncReport[] = []
    for (const sync of syncs) reports.push(await syncOne(p, conn, st, sync, configs.get(sync.destination)!, segmentRunId, asOf, expectProblems, opts))
    const exit = Math.max(0, ...reports.map(exitCodeOf))
    const status = reports.length === 0 ? 'nothing' : opts.dryRun ? 'planned' : exit === 3 ? 'refused' : reports.some((r) => r.status === 'failed') ? 'failed' : reports.some((r) => r.status === 'partial') ? 'partial' : 'success'
    return {status, target: p.target.name, segment_run_id: segmentRunId, syncs: reports, exit_code: exit}
  } finally {
    await conn.close()
  }
}

export function exitCodeOf(r: SyncReport): number {
  if (r.status === 'refused') return 3
  if (r.status === 'failed' || r.status === 'partial') return 2
  return 0
}

async function syncOne(p: Prepared, conn: WarehouseConnection, st: SyncStatements, sync: SyncDef, config: Record<string, unknown>, segmentRunId: string, asOf: string, expectProblems: Diagnostic[], opts: SyncOptions): Promise<SyncReport> {
  const {adapter} = p
  const entity = p.v.project.entities.get(sync.entity)!
  const dest = (await destinationFor(sync.destinationType))!
  const startedAt = new Date().toISOString()
  const syncRunId = `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`
  // --dry-run and --full-resync plan inside a transaction: a dry run rolls it back
  let plan: ReturnType<typeof readPlan>
  let stateSize: number
  await conn.execute(adapter.begin)
  try {
    if (!opts.dryRun) await conn.execute(st.closeAbandoned(sync.name, startedAt))
    if (opts.fullResync) await conn.execute(st.forgetState(sync.name))
    stateSize = Number((await conn.query(st.stateSize(sync.name)))[0]!.n)
    plan = readPlan(await conn.query(st.plan(sync, entity, asOf)), sync)
    await conn.execute(opts.dryRun ? adapter.rollback : adapter.commit)
  } catch (error) {
    await conn.execute(adapter.rollback).catch(() => undefined)
    throw error
  }
  const count = (op: string) => plan.filter((o) => o.op === op).length
  const planned = {add: count('add'), remove: count('remove'), update: count('update'), skip: count('skip')}
  const guards = guardVerdicts(sync, stateSize, plan, expectProblems)
  const refused = guards.filter((g) => !g.passed)
  const report: SyncReport = {sync: sync.name, destination: sync.destination, mode: sync.mode, sync_run_id: opts.dryRun ? null : syncRunId, segment_run_id: segmentRunId, status: 'success', planned, succeeded: 0, rejected: 0, skipped: planned.skip, pending: 0, guards, forced: refused.length > 0 && opts.force === true, error: null}
  const row: SyncRunRow = {sync_run_id: syncRunId, sync: sync.name, destination: sync.destination, mode: sync.mode, segment_run_id: segmentRunId, started_at: startedAt, finished_at: null, status: 'running', planned_add: planned.add, planned_remove: planned.remove, planned_update: planned.update, succeeded: 0, rejected: 0, skipped: planned.skip, pending: 0, error: null}
  if (opts.dryRun) {
    report.status = refused.length && !opts.force ? 'refused' : 'planned'
    report.operations = plan.map((o) => ({op: sync.mode === 'events' ? eventOp(o.op) : o.op, segment: o.segment, entity_key: o.entity_key, id: o.dest_key}))
    return report
  }
  if (refused.length && !opts.force) {
    const error = `refused by ${refused.map((g) => `${g.guard}: ${g.message}`).join('; ')}`
    await conn.execute(st.insertRun({...row, status: 'refused', finished_at: new Date().toISOString(), error}))
    return {...report, status: 'refused', error}
  }
  await conn.execute(st.insertRun(row))
  const ops: Operation[] = []
  const planOf = new Map<Operation, (typeof plan)[number]>()
  const skipped: LogRow[] = []
  for (const o of plan) {
    const key = idempotencyKey(sync.name, o)
    if (o.op === 'skip') {
      skipped.push({segment: o.segment, entity_key: o.entity_key, op: 'add', idempotency_key: key, status: 'skipped', attempts: 0, http_status: null, reason: `no ${sync.identifyBy?.name ?? 'key'} to identify it by`})
      continue
    }
    const op: Operation = {
      op: sync.mode === 'events' ? eventOp(o.op) : o.op,
      segment: o.segment,
      entity_key: o.entity_key,
      id: o.dest_key!,
      idempotency_key: key,
      fields: o.op === 'remove' ? {} : Object.fromEntries(sync.fields.map((f, i) => [f.name, o.fields[i]])),
      ...(sync.mode === 'events' ? {cause: o.cause, transitioned_at: o.transitioned_at} : {}),
    }
    ops.push(op)
    planOf.set(op, o)
  }
  if (skipped.length) for (const s of st.insertLog(syncRunId, sync.name, skipped, new Date().toISOString())) await conn.execute(s)
  const limits = deliveryLimits(dest.defaults, config)
  const settle = async (rows: Settled[]) => {
    const at = new Date().toISOString()
    const upserts: StateRow[] = []
    const removals: Array<{segment: string; entity_key: string}> = []
    for (const r of rows) {
      if (r.outcome === 'succeeded') report.succeeded++
      else if (r.outcome === 'rejected') report.rejected++
      else report.pending++
      if (r.outcome !== 'succeeded') continue
      const o = planOf.get(r.op)!
      if (o.op === 'remove') removals.push({segment: o.segment, entity_key: o.entity_key})
      else upserts.push({segment: o.segment, entity_key: o.entity_key, dest_key: o.dest_key!, payload_hash: o.payload_hash!})
    }
    const log: LogRow[] = rows.map((r) => ({segment: r.op.segment!, entity_key: r.op.entity_key, op: r.op.op, idempotency_key: r.op.idempotency_key, status: r.outcome, attempts: r.attempts, http_status: r.httpStatus, reason: r.reason === null ? null : redact(r.reason)}))
    await inTransaction(conn, adapter, async () => {
      for (const s of [...st.applyState(sync.name, upserts, removals, at), ...st.insertLog(syncRunId, sync.name, log, at)]) await conn.execute(s)
    })
  }
  let fatal: string | undefined
  if (ops.length) {
    let session
    try {
      session = await dest.open(config, {sync, mode: sync.mode, syncRunId, segmentRunId, root: p.v.root, fullResync: opts.fullResync === true, scratch: () => scratchEngine(p.v.root)}, limits)
    } catch (error) {
      fatal = (error as Error).message
    }
    if (session) {
      try {
        fatal = (await deliver(ops, session, limits, settle, opts.delivery)).fatal
      } finally {
        await session.close()
      }
    } else await settle(ops.map((op) => ({op, outcome: 'pending', attempts: 0, httpStatus: null, reason: `could not open the destination: ${fatal}`})))
  }
  const tooManyRejected = ops.length > 0 && report.rejected / ops.length > sync.guards.maxRejected
  report.status = fatal ? 'failed' : report.pending > 0 || tooManyRejected ? 'partial' : 'success'
  report.error = fatal
    ? `destination '${sync.destination}': ${fatal}`
    : report.pending > 0
      ? `destination '${sync.destination}': ${report.pending} operations not acknowledged; the next sync sends them again`
      : tooManyRejected
        ? `destination '${sync.destination}' rejected ${report.rejected} of ${ops.length} operations (max_rejected ${(sync.guards.maxRejected * 100).toFixed(1)}%)`
        : null
  await conn.execute(st.finishRun({...row, finished_at: new Date().toISOString(), status: report.status, succeeded: report.succeeded, rejected: report.rejected, pending: report.pending, error: report.error === null ? null : redact(report.error)}))
  return report
}

function eventOp(op: PlannedOp['op']): Operation['op'] {
  return op === 'remove' ? 'exited' : op === 'add' ? 'entered' : (op as Operation['op'])
}


import {randomBytes} from 'node:crypto'
import {diag, DiagnosticsError, type Diagnostic} from '../diagnostics/diagnostic.js'
import {catalogRows} from '../catalog/catalog.js'
import {liftStatistics, type LiftCounts} from '../catalog/lift.js'
import {RunStatements, type Cause, type DefinitionRow, type RunContext, type RunSegment} from '../generate/run-statements.js'
import {buildPlan, placeholderModels} from '../plan/build-plan.js'
import type {Plan} from '../plan/plan-types.js'
import {definitionHashes} from '../resolve/definition-hash.js'
import {parseDuration} from '../resolve/time.js'
import type {Validated} from '../validate/validate-project.js'
import {SEGC_VERSION} from '../version.js'
import {checkExpectations, ExpectationsFailed} from '../project/expectations.js'
import {redact} from '../project/redact.js'
import {identityEntities} from '../identity/attribute.js'
import {CATALOG, DEFINITIONS, ERASED_IDENTIFIERS, GROUP_TRANSITIONS, HISTORY, MEMBERSHIP, OVERLAP, RUNS, SIZES, TRANSITIONS} from '../warehouse/tables.js'
import {emitter, identityDatasets, identityInputs, inputDatasets, outputDataset, profileDatasets, type Dataset} from '../lineage/openlineage.js'
import {asOfFlag, connectTarget, erasedEntities, FLAG, modelVersions, prepare, requireModels, type Prepared, type SessionOptions} from '../project/session.js'
import {dropStale, lateArrival, prepareState, readWhole, type IncrementalOutcome, type SourceOutcome} from './incremental.js'
import {labelForRun, type IdentityRun} from './identity-run.js'
import {liftCounts, prepareLift, type LiftOutcome, type LiftRun} from './lift.js'
import {findTouched, prepareTouched, writeSnapshots, type EvaluationOutcome, type TouchedRun} from './touched.js'
import {materializeLayers, planProfiles, profileStatements, type ProfileRun} from './profile-run.js'
import {WarehouseError, type Row, type WarehouseConnection} from '../warehouse/warehouse.js'

export interface RunOptions extends SessionOptions {
  /** recompute history from an empty state (allows an as_of earlier than the last run's) */
  rebuild?: boolean
  /** an incremental project's run reads every event source whole and rebuilds its state (SPEC §13) */
  full?: boolean
  /** an `expect` guard that fails fails the run: nothing is committed (exit 3) */
  strict?: boolean
}

export interface SegmentSummary {
  segment: string
  entity: string
  cause: Cause
  size: number
  holdout_size: number
  entered: number
  exited: number
  /** expect guards this run broke */
  warnings: string[]
}

export interface RunResult {
  run_id: string
  as_of: string
  target: string
  /** `unchanged`: the same as_of as the last run and nothing moved, so nothing was written */
  status: 'success' | 'unchanged'
  /** members whose holdout flag the run flipped (rows of membership and history it rewrote beside entries and exits) */
  holdout_flips?: number
  /** full, or incremental when some event source was read from kept state (SPEC §13) */
  mode: 'full' | 'incremental'
  /** with incremental: set, how each event source was read */
  sources?: SourceOutcome[]
  /** with incremental: per entity with segments, whether only its touched keys were evaluated (SPEC §13) and why */
  evaluation?: EvaluationOutcome[]
  /** with incremental and measured segments: per entity, whether lift was counted from kept state, built it again, or read the whole history, and why */
  lift?: LiftOutcome[]
  segments: SegmentSummary[]
  warnings: Diagnostic[]
  /** SPEC §20: per entity with identity, the labelling's breadth-first levels, anonymous rounds and time */
  identity?: Array<{entity: string; levels: number; anonymous_rounds: number; millis: number}>
}

function newRunId(asOf: Date): string {
  return `${asOf.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`
}

/** segc.yaml's retention as instants before which a run at as_of deletes (SPEC §15); durations were checked by validate. */
export function retentionBounds(config: Record<string, unknown>, asOf: Date): {history?: string; transitions?: string} {
  const r = (config.retention ?? {}) as {history?: string; transitions?: string}
  const before = (d: string | undefined) => {
    const seconds = d === undefined ? undefined : parseDuration(d)
    return seconds === undefined ? undefined : new Date(asOf.getTime() - seconds * 1000).toISOString()
  }
  const history = before(r.history)
  const transitions = before(r.transitions)
  return {...(history ? {history} : {}), ...(transitions ? {transitions} : {})}
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(String(v)).toISOString())

/**
 * The connection as a run uses it: SIGINT/SIGTERM interrupt the statement in flight and make
 * every later statement fail, so the run rolls back and exits 2 instead of dying half-way.
 * Only a statement in flight is interrupted: DuckDB keeps an interrupt that found nothing
 * running and aborts the next statement with it, which would be the ROLLBACK. From the COMMIT
 * on the run is whole and nothing interrupts it.
 */
function interruptible(raw: WarehouseConnection): {conn: WarehouseConnection; interrupted: () => string | undefined; commit: (sql: string) => Promise<void>; release: () => void} {
  let signal: string | undefined
  let inFlight = 0
  let committing = false
  const onSignal = (s: NodeJS.Signals) => {
    if (committing) return
    signal = s
    if (inFlight > 0) raw.interrupt?.()
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
  for (const s of signals) process.on(s, onSignal)
  const guarded = async <T>(f: () => Promise<T>): Promise<T> => {
    if (signal) throw new WarehouseError(`interrupted by ${signal}`)
    inFlight++
    try {
      return await f()
    } finally {
      inFlight--
    }
  }
  const conn: WarehouseConnection = {
    execute: (sql) => guarded(() => raw.execute(sql)),
    query: (sql) => guarded(() => raw.query(sql)),
    tableExists: (schema, table) => guarded(() => raw.tableExists(schema, table)),
    close: () => raw.close(),
  }
  const commit = async (sql: string) => {
    if (signal) throw new WarehouseError(`interrupted by ${signal}`)
    committing = true
    await raw.execute(sql)
  }
  return {conn, interrupted: () => signal, commit, release: () => signals.forEach((s) => process.off(s, onSignal))}
}

/** Runs a step; a warehouse error says which step failed and keeps the failing statement. */
async function step(what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f()
  } catch (error) {
    if (error instanceof WarehouseError && !/^interrupted by /.test(error.message)) {
      throw new WarehouseError(`${error.message}\n  while ${what}${error.statement ? `\n  in: ${error.statement.replace(/\s+/g, ' ').slice(0, 200)}${error.statement.length > 200 ? ' …' : ''}` : ''}`, error.statement, error.locked)
    }
    throw error
  }
}

/** One run at one as_of, in one transaction, over an open connection. */
export async function runAt(p: Prepared, raw: WarehouseConnection, asOf: Date, opts: RunOptions): Promise<RunResult> {
  const {conn, interrupted, commit, release} = interruptible(raw)
  const {v, adapter, target} = p
  const st = new RunStatements(adapter.dialect, v.project.outputSchema)
  const runId = newRunId(asOf)
  await raw.nameRun?.(runId)
  const ctx: RunContext = {runId, asOf: asOf.toISOString(), schema: v.project.outputSchema, target: target.name, version: SEGC_VERSION, startedAt: new Date().toISOString(), segments: [], groups: [], definitions: []}
  let inTransaction = false
  try {
    // before the transaction: the labelling's working tables are DDL, which commits on Snowflake
    let identity: IdentityRun | undefined
    if (identityEntities(v.project).length) {
      const erasedIds = (await conn.tableExists(v.project.outputSchema, ERASED_IDENTIFIERS.name)) ? ERASED_IDENTIFIERS.name : undefined
      await step('labelling identities', async () => {
        identity = await labelForRun(conn, adapter.dialect, v.project.outputSchema, v.project, asOf, erasedIds ? {erased: erasedIds} : {})
      })
      ctx.merged = identity!.outcomes.flatMap((o) => (o.mergedTable ? [{entity: o.entity, table: o.mergedTable}] : []))
      ctx.identityHashes = identity!.hashes
    }
    // what the plan reads: events with ids through the identity map (SPEC §20)
    const project = identity?.project ?? v.project
    await conn.execute(adapter.begin)
    inTransaction = true
    await step('creating the output tables', async () => {
      for (const s of st.setup()) await conn.execute(s)
      for (const s of identity?.outcomes.flatMap((o) => o.setup) ?? []) await conn.execute(s)
    })
    const last = iso((await conn.query(st.lastSuccessfulAsOf()))[0]?.as_of)
    if (last !== null && asOf.toISOString() < last && !opts.rebuild) {
      throw new DiagnosticsError([
        diag('bad_flag', FLAG('--as-of'), `--as-of ${asOf.toISOString()} is earlier than the last successful run (${last}); pass --rebuild to recompute history from that point`),
      ])
    }
    let previous = new Map<string, Row>((await conn.query(st.definitions())).map((r) => [String(r.segment), r]))
    if (opts.rebuild) {
      for (const s of st.rebuild()) await conn.execute(s)
      previous = new Map()
    }
    const models = await requireModels(p, conn, opts.select)
    const hashes = definitionHashes(v.project, modelVersions(models))
    // static segments evaluated under their current definition keep their members
    const frozen = new Set(
      [...v.project.segments.values()]
        .filter((s) => s.refresh === 'static' && previous.get(s.name)?.removed_run_id === null && previous.get(s.name)?.definition_hash === hashes.get(s.name))
        .map((s) => s.name),
    )
    const erased = await erasedEntities(conn, st, v.project.outputSchema)
    // a run of the whole project writes every profile's traits too (SPEC §19)
    const plan = buildPlan(project, asOf, opts.select, {frozen: {segments: frozen, table: [v.project.outputSchema, MEMBERSHIP.name]}, models, erased, profile: opts.select === undefined})
    const late = lateArrival(v.config)
    let state: IncrementalOutcome | undefined
    const {segments, definitions} = runSegments(v, plan, previous, runId, opts.select === undefined, hashes)
    let touched: TouchedRun | undefined
    let lift: LiftRun | undefined
    if (late !== undefined) {
      const identityNames = new Set(identityEntities(v.project).map((e) => e.name))
      const whole = opts.select ? buildPlan(project, asOf, undefined, {frozen: {segments: frozen, table: [v.project.outputSchema, MEMBERSHIP.name]}, models, erased}) : plan
      // before any row is written: the snapshot tables' DDL commits on Snowflake
      await step('deciding which keys the run evaluates', async () => {
        const why = opts.rebuild ? '--rebuild' : opts.full ? '--full' : opts.select ? '--select evaluates the segments it names for every key' : undefined
        const planAt = (at: Date) => buildPlan(project, at, undefined, {frozen: {segments: frozen, table: [v.project.outputSchema, MEMBERSHIP.name]}, models, erased, profile: true})
        touched = await prepareTouched(conn, adapter.dialect, v.project.outputSchema, v.project, plan, planAt, {asOf, lateSeconds: late, ...(why ? {whole: why} : {}), segments, hashes, identity: identityNames})
      })
      // before any row is written too: its tables' DDL (and, without measures, what was kept for them goes)
      await step('deciding how lift is counted', async () => {
        const why = opts.rebuild ? '--rebuild' : opts.full ? '--full' : undefined
        lift = await prepareLift(conn, adapter.dialect, v.project.outputSchema, v.project, plan, {asOf, lateSeconds: late, ...(why ? {whole: why} : {}), retention: retentionBounds(v.config, asOf).history !== undefined, identity: identityNames})
      })
      await step('keeping the state of incremental event sources', async () => {
        state = await prepareState(conn, adapter.dialect, v.project.outputSchema, plan, whole, {asOf, lateSeconds: late, full: opts.full === true || opts.rebuild === true, readWhole: readWhole(v.config), runId, ...(erased ? {erased} : {})})
      })
    }
    let evaluation: EvaluationOutcome[] | undefined
    if (touched) {
      await step('finding the keys whose membership can move', async () => {
        evaluation = await findTouched(conn, adapter.dialect, v.project.outputSchema, touched!, asOf)
      })
    }
    ctx.mode = state?.mode ?? 'full'
    const modeOf = {...(state ? {mode: state.mode, sources: state.sources} : {mode: 'full' as const}), ...(evaluation ? {evaluation} : {}), ...(lift?.outcomes.length ? {lift: lift.outcomes} : {}), ...(identity ? {identity: identity.outcomes.map((o) => ({entity: o.entity, levels: o.levels, anonymous_rounds: o.anonymousRounds, millis: o.millis}))} : {})}
    ctx.segments = segments
    ctx.definitions = definitions
    ctx.groups = runGroups(v, plan)

    const names = segments.filter((x) => x.cause !== 'segment_removed').map((x) => x.segment)
    let profiles: ProfileRun | undefined
    await step(`computing the membership of ${names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more segments` : names.join(', ')}`, async () => {
      // each entity's last layer evaluated once: the diff and the profile read it
      const layers = await materializeLayers(conn, adapter.dialect, v.project.outputSchema, project, plan)
      for (const s of st.compute(plan, ctx, layers)) await conn.execute(s)
      const retry = !opts.rebuild && !opts.full && last === asOf.toISOString()
      profiles = await planProfiles(conn, adapter.dialect, v.project.outputSchema, project, plan, layers, opts.select === undefined, retry)
    })
    const sizes = await conn.query(st.sizes())
    const flips = Number((await conn.query(st.holdoutFlips()))[0]?.n ?? 0)
    const summary: SegmentSummary[] = sizes.map((r) => ({
      segment: String(r.segment),
      entity: String(r.entity),
      cause: r.cause as Cause,
      size: Number(r.size),
      holdout_size: Number(r.holdout_size),
      entered: Number(r.entered),
      exited: Number(r.exited),
      warnings: [],
    }))
    const order = new Map(segments.map((s, i) => [s.segment, i]))
    summary.sort((a, b) => order.get(a.segment)! - order.get(b.segment)!)
    const universe = new Map<string, number>()
    for (const entity of new Set(summary.filter((s) => v.project.segments.get(s.segment)?.expect?.maxShare !== undefined).map((s) => s.entity))) {
      universe.set(entity, Number((await conn.query(st.universe(project.entities.get(entity)!.relation)))[0]!.n))
    }
    const broken = checkExpectations(v.project, summary, universe)
    for (const d of broken) summary.find((s) => s.segment === d.data!.segment)!.warnings.push(d.message.replace(/^segment '[^']+': /, ''))
    const warnings = [...v.diagnostics.filter((d) => d.severity === 'warning'), ...(state?.warnings ?? []), ...(identity?.warnings ?? []), ...broken]
    const strictFailures = [...broken, ...(identity?.warnings ?? [])]
    if (opts.strict && strictFailures.length) {
      await raw.execute(adapter.rollback)
      inTransaction = false
      const result: RunResult = {run_id: runId, as_of: asOf.toISOString(), target: target.name, status: 'success', ...modeOf, segments: summary, warnings}
      throw new ExpectationsFailed(`${strictFailures.length} ${identity?.warnings.length ? 'check' : 'expectation'}${strictFailures.length === 1 ? '' : 's'} failed under --strict; nothing was committed:\n${strictFailures.map((d) => `  ${d.message}`).join('\n')}`, result)
    }
    const moved = summary.some((s) => s.entered + s.exited > 0)
    if (!opts.rebuild && !opts.full && last === asOf.toISOString() && !moved && !profiles?.moved && segments.every((s) => s.cause === 'data') && !state?.sources.some((x) => x.how === 'rebuilt')) {
      // Same as_of, same definitions, nobody moved: a retry of a run that already happened.
      await raw.execute(adapter.rollback)
      inTransaction = false
      return {run_id: runId, as_of: asOf.toISOString(), target: target.name, status: 'unchanged', ...modeOf, segments: summary, warnings}
    }
    // the overlap counts of the run that wrote the membership as it is before this run's
    // changes, if it left any: the new counts then only pair the entities that moved
    const committed = (await conn.query(st.lastCommittedRun()))[0]?.run_id as string | undefined
    const incremental = committed !== undefined && Number((await conn.query(st.overlapRows(committed)))[0]!.n) > 0 ? committed : undefined
    await step('writing transitions, history and membership', async () => {
      for (const s of st.write(ctx)) await conn.execute(s)
    })
    if (identity) {
      await step('writing the identity map', async () => {
        for (const s of identity!.outcomes.flatMap((o) => o.write)) await conn.execute(s)
      })
    }
    if (profiles?.writes.length) {
      await step('writing the profiles', async () => {
        for (const s of profileStatements(adapter.dialect, v.project.outputSchema, profiles!, runId)) await conn.execute(s)
      })
    }
    // a --select run leaves the snapshots as they were: the next run evaluates every key
    if (touched && !opts.select) {
      await step('keeping the snapshot of each entity\'s rows', async () => {
        await writeSnapshots(conn, adapter.dialect, v.project.outputSchema, touched!, asOf, runId)
      })
    }
    const kept = retentionBounds(v.config, asOf)
    if (kept.history || kept.transitions) {
      await step('deleting history and transitions older than retention', async () => {
        for (const s of st.retention(kept.history, kept.transitions)) await conn.execute(s)
      })
    }
    await step('writing the catalog, overlap and lift', async () => {
      for (const s of st.catalog(catalogRows(v.project, hashes))) await conn.execute(s)
      for (const s of st.overlap(ctx, incremental)) await conn.execute(s)
      // incremental: from the kept state, which reads only what can still move
      const wholeLift = lift ? undefined : st.liftCounts(plan)
      const counts = lift ? await liftCounts(conn, adapter.dialect, v.project.outputSchema, lift, plan, runId) : wholeLift ? await conn.query(wholeLift) : []
      const rows = st.lift(ctx, liftRows(counts))
      if (rows) await conn.execute(rows)
    })
    await conn.execute(st.record(ctx, 'success', null))
    await commit(adapter.commit)
    inTransaction = false
    const stale = [...(state?.stale ?? []), ...(touched && !opts.select ? touched.stale : []), ...(lift?.stale ?? [])]
    if (stale.length) await dropStale(raw, adapter.dialect, v.project.outputSchema, stale)
    return {run_id: runId, as_of: asOf.toISOString(), target: target.name, status: 'success', ...modeOf, holdout_flips: flips, segments: summary, warnings}
  } catch (error) {
    // a second try: an interrupt that landed as its statement finished aborts the first ROLLBACK
    if (inTransaction) await raw.execute(adapter.rollback).catch(() => raw.execute(adapter.rollback)).catch(() => undefined)
    if (error instanceof DiagnosticsError || error instanceof ExpectationsFailed) throw error
    const signal = interrupted()
    const message = redact(signal ? `interrupted by ${signal}: the run stopped and nothing was committed` : error instanceof Error ? error.message : String(error))
    // Record the failure on its own, however early it came (a signal while the output tables
    // were being created too); if even that fails, the tables are as they were.
    await raw.execute(st.record(ctx, 'failed', message)).catch(() => undefined)
    if (error instanceof WarehouseError && !signal) throw new WarehouseError(message, error.statement, error.locked)
    throw new WarehouseError(message)
  } finally {
    release()
  }
}

/** Lift rows from the warehouse's counts: the statistics computed here. */
export function liftRows(counts: Row[]) {
  return counts.map((r) => {
    const c: LiftCounts = {members: Number(r.members), members_converted: Number(r.members_converted), holdout: Number(r.holdout), holdout_converted: Number(r.holdout_converted)}
    const {reason: _, ...stats} = liftStatistics(c)
    return {segment: String(r.segment), ...c, ...stats}
  })
}

/**
 * The segments a run writes, each with the cause of its transitions, and their
 * segment_definitions rows afterwards. `previous` holds the target's definitions rows.
 */
export function runSegments(
  v: Validated,
  plan: Plan,
  previous: ReadonlyMap<string, Row>,
  runId: string,
  fullRun: boolean,
  hashes: ReadonlyMap<string, string> = definitionHashes(v.project),
): {segments: RunSegment[]; definitions: DefinitionRow[]} {
  const segments: RunSegment[] = []
  const definitions: DefinitionRow[] = []
  for (const name of plan.entities.flatMap((e) => e.segments.map((s) => s.segment))) {
    const s = v.project.segments.get(name)!
    const prev = previous.get(name)
    const hash = hashes.get(name)!
    const cause: Cause = !prev || prev.removed_run_id !== null ? 'segment_added' : prev.definition_hash !== hash ? 'definition' : 'data'
    segments.push({segment: name, entity: s.entity, cause})
    definitions.push({
      segment: name,
      entity: s.entity,
      definition_hash: hash,
      description: s.description ?? null,
      owner: s.owner ?? null,
      tags: JSON.stringify(s.tags),
      first_run_id: prev ? String(prev.first_run_id) : runId,
      changed_run_id: cause === 'data' ? String(prev!.changed_run_id) : runId,
      removed_run_id: null,
    })
  }
  // Segments that left the project exit whole; only a full run decides that.
  if (fullRun) {
    for (const [name, prev] of previous) {
      if (v.project.segments.has(name) || prev.removed_run_id !== null) continue
      segments.push({segment: name, entity: String(prev.entity), cause: 'segment_removed'})
      definitions.push({
        segment: name,
        entity: String(prev.entity),
        definition_hash: String(prev.definition_hash),
        description: (prev.description as string | null) ?? null,
        owner: (prev.owner as string | null) ?? null,
        tags: String(prev.tags ?? '[]'),
        first_run_id: String(prev.first_run_id),
        changed_run_id: String(prev.changed_run_id),
        removed_run_id: runId,
      })
    }
  }
  return {segments, definitions}
}

export function runGroups(v: Validated, plan: Plan): Array<{group: string; segment: string}> {
  const planned = new Set(plan.entities.flatMap((e) => e.segments.map((s) => s.segment)))
  return [...v.project.groups.values()].flatMap((g) => g.segments.filter((s) => planned.has(s)).map((segment) => ({group: g.name, segment})))
}

/** `segc run`: one as_of (default now). */
export async function runProject(opts: RunOptions = {}): Promise<RunResult> {
  const p = prepare(opts)
  const asOf = asOfFlag(opts.asOf)
  const conn = opts.connection ?? (await connectTarget(p, opts))
  try {
    return await observedRun(p, conn, asOf, opts)
  } finally {
    if (!opts.connection) await conn.close()
  }
}

/** One run, told to the lineage endpoint (SPEC §16) when segc.yaml names one. */
async function observedRun(p: Prepared, conn: WarehouseConnection, asOf: Date, opts: RunOptions): Promise<RunResult> {
  const lineage = emitter(p, 'run', {...(opts.env ? {env: opts.env} : {})})
  // the relations read, from the plan's shape (stand-in model parameters change no relation)
  const inputs = !lineage.enabled ? [] : inputDatasets(p, buildPlan(p.v.project, asOf, opts.select, {models: placeholderModels(p.v.project)}), identityInputs(p))
  await lineage.start(inputs)
  try {
    const result = await runAt(p, conn, asOf, opts)
    await lineage.complete(inputs, runOutputs(p, result))
    return result
  } catch (error) {
    await lineage.fail(error, inputs)
    throw error
  }
}

/** The tables a run writes; rows written where the run knows the number exactly. */
function runOutputs(p: Prepared, r: RunResult): Dataset[] {
  if (r.status === 'unchanged') return []
  const moved = r.segments.reduce((n, s) => n + s.entered + s.exited, 0)
  const flips = r.holdout_flips ?? 0
  return [
    // an entry inserts a row, an exit deletes one, a flip updates one
    outputDataset(p, MEMBERSHIP.name, moved + flips),
    // an entry opens an interval, an exit closes one, a flip closes one and opens another
    outputDataset(p, HISTORY.name, moved + 2 * flips),
    outputDataset(p, TRANSITIONS.name, moved),
    outputDataset(p, GROUP_TRANSITIONS.name),
    outputDataset(p, SIZES.name, r.segments.length),
    outputDataset(p, RUNS.name, 1),
    outputDataset(p, DEFINITIONS.name),
    outputDataset(p, CATALOG.name),
    outputDataset(p, OVERLAP.name),
    // a --select run writes its segments' flags into the profiles, a full run every column
    ...profileDatasets(p),
    // the identity maps (SPEC §20), rewritten whole by every run
    ...identityDatasets(p),
  ]
}

export const MAX_BACKFILL_POINTS = 100_000

/** The as_of points of a backfill: from, from + every, ... up to and including to. */
export function backfillPoints(from: string, to: string, every: string): Date[] {
  const start = asOfFlag(from, '--from')
  const end = asOfFlag(to, '--to')
  const step = parseDuration(every)
  if (step === undefined || step === 0) throw new DiagnosticsError([diag('bad_duration', FLAG('--every'), `--every '${every}' is not a duration like 1d or 6h`)])
  if (end < start) throw new DiagnosticsError([diag('bad_flag', FLAG('--to'), `--to ${end.toISOString()} is before --from ${start.toISOString()}`)])
  const count = Math.floor((end.getTime() - start.getTime()) / (step * 1000)) + 1
  if (count > MAX_BACKFILL_POINTS) throw new DiagnosticsError([diag('bad_flag', FLAG('--every'), `that backfill has ${count} points; segc runs at most ${MAX_BACKFILL_POINTS} in one call`)])
  return Array.from({length: count}, (_, i) => new Date(start.getTime() + i * step * 1000))
}

/**
 * `segc run --from --to --every`: point by point, one transaction each. Resumable: points
 * before the last successful run are skipped, so rerunning a failed backfill continues it.
 * With --rebuild, only the first point rebuilds.
 */
export async function backfill(opts: RunOptions & {from: string; to: string; every: string}, onPoint?: (r: RunResult) => void): Promise<RunResult[]> {
  const p = prepare(opts)
  const points = backfillPoints(opts.from, opts.to, opts.every)
  const conn = opts.connection ?? (await connectTarget(p, opts))
  try {
    const st = new RunStatements(p.adapter.dialect, p.v.project.outputSchema)
    const last = opts.rebuild ? null : await conn.query(st.lastSuccessfulAsOf()).then((r) => iso(r[0]?.as_of), () => null)
    const results: RunResult[] = []
    for (const [i, point] of points.entries()) {
      if (last !== null && point.toISOString() < last) continue
      const r = await observedRun(p, conn, point, {...opts, rebuild: opts.rebuild === true && i === 0})
      results.push(r)
      onPoint?.(r)
    }
    return results
  } finally {
    if (!opts.connection) await conn.close()
  }
}

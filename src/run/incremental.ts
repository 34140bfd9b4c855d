// Incremental runs (SPEC §13), the run's side: per event source, keep its state or rebuild it,
// move its values per key by the slices the windows' bounds crossed and extend its day buckets
// with the days that froze since the last run, and point the plan's scan at it. Everything
// here runs inside the run's transaction.
import {diag, NO_POSITION, type Diagnostic} from '../diagnostics/diagnostic.js'
import type {Dialect} from '../warehouse/dialect.js'
import {hasDays, KEYED_MARKS, keyedRows, readEstimate, stateRows, stateTemplate, touchedKeys} from '../generate/state-sql.js'
import {StateStatements} from '../generate/state-statements.js'
import {frozenAt, incrementalScan, keyedDelta, stateShapes, type StateShape} from '../plan/incremental.js'
import type {Plan, SourcePlan, Span} from '../plan/plan-types.js'
import type {PlanOptions} from '../plan/build-plan.js'
import {IDENTITY_KEY_COLUMN} from '../resolve/resolve-project.js'
import {parseDuration} from '../resolve/time.js'
import type {Row, WarehouseConnection} from '../warehouse/warehouse.js'

/** segc.yaml's `incremental:` as seconds of late arrival; undefined when runs are all full. */
export function lateArrival(config: Record<string, unknown>): number | undefined {
  const inc = config.incremental as {late_arrival?: string} | undefined
  return inc?.late_arrival === undefined ? undefined : parseDuration(String(inc.late_arrival))
}

/** segc.yaml's `incremental.read_whole`: auto, a relation is read whole where that reads less (SPEC §13, never slower). */
export function readWhole(config: Record<string, unknown>): 'auto' | 'never' {
  return (config.incremental as {read_whole?: 'auto' | 'never'} | undefined)?.read_whole ?? 'auto'
}

export interface SourceOutcome {
  source: string
  /** incremental: state kept and extended; rebuilt: state made again from the source; full: this source keeps no state */
  how: 'incremental' | 'rebuilt' | 'full'
  why?: string
  /** the estimate the choice was made from (kept state only): state rows, source rows the slices hold, rows of the relation */
  rows?: {state: number; read: number; whole: number}
}

export interface IncrementalOutcome {
  mode: 'full' | 'incremental'
  sources: SourceOutcome[]
  warnings: Diagnostic[]
  /** state tables of shapes no longer used: dropped once the run has committed */
  stale: string[]
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(String(v)).toISOString())

interface Decision {
  entity: string
  shape: StateShape
  record?: Row
  keep: boolean
  why?: string
  exists: boolean
  horizon: string | null
}

/**
 * Prepares the state of every event relation of `plan` for a run at `asOf`, and points each
 * source scan and sequence step at it. `whole` is the plan of every segment: state is kept for
 * all of them, whatever this run selects.
 */
export async function prepareState(
  conn: WarehouseConnection,
  dialect: Dialect,
  schema: string,
  plan: Plan,
  whole: Plan,
  opts: {asOf: Date; lateSeconds: number; full: boolean; runId: string; erased?: PlanOptions['erased']; readWhole?: 'auto' | 'never'},
): Promise<IncrementalOutcome> {
  const st = new StateStatements(dialect, schema)
  const registry = new Map((await conn.query(st.registry())).map((r) => [String(r.source_id), r]))
  const frozen = frozenAt(opts.asOf, opts.lateSeconds)
  const out: IncrementalOutcome = {mode: 'full', sources: [], warnings: [], stale: []}
  const decisions: Decision[] = []
  for (const e of plan.entities) {
    const shapes = stateShapes(e, whole.entities.find((x) => x.entity === e.entity) ?? e)
    for (const s of e.sources) {
      if (shapes.some((x) => x.source === s)) continue
      out.sources.push({source: describe(s), how: 'full', why: s.timestamp === null ? 'its events read different timestamp columns, so it keeps no day buckets' : 'none of its aggregates is kept in day buckets'})
    }
    for (const shape of shapes) {
      const h = shape.horizon(opts.asOf)
      const need = h === null ? null : new Date(h).toISOString()
      const record = registry.get(shape.sourceId)
      const exists = await conn.tableExists(schema, shape.table)
      const d: Decision = {entity: e.entity, shape, keep: false, exists, horizon: need, ...(record ? {record} : {})}
      if (opts.full) d.why = '--full'
      // not yet kept per identifier (SPEC §20's incremental identity): the map is labelled again every run
      else if (shape.identity.key === IDENTITY_KEY_COLUMN) d.why = 'identity: its events are attributed through the identity map, labelled again each run, so it is read whole (docs/identity.md)'
      else if (!record) d.why = 'its first incremental run'
      else if (String(record.state_table) !== shape.table) d.why = 'the aggregates read from it changed'
      else if (!exists) {
        d.why = `its state table ${shape.table} is missing`
        out.warnings.push(diag('state_rebuilt', NO_POSITION, `the state of ${shape.describe} (${shape.table}) is missing: rebuilt from the source, a full scan of it`))
      } else if (iso(record.as_of)! > opts.asOf.toISOString()) d.why = 'the run is earlier than its state'
      else if (iso(record.frozen)! > new Date(frozen).toISOString()) d.why = 'late_arrival grew: days it held are open again'
      else if (record.horizon !== null && (need === null || iso(record.horizon)! > need)) d.why = 'a window now reaches further back than its state'
      else {
        const rows = Number((await conn.query(st.count(shape.table)))[0]!.n)
        if (rows !== Number(record.state_rows)) {
          d.why = `its state table has ${rows} rows where the last run left ${Number(record.state_rows)}`
          out.warnings.push(diag('state_rebuilt', NO_POSITION, `the state of ${shape.describe} (${shape.table}) was changed outside segc (${rows} rows, ${Number(record.state_rows)} expected): rebuilt from the source, a full scan of it`))
        } else d.keep = true
      }
      decisions.push(d)
    }
  }
  // tables first: on warehouses where DDL ends a transaction, it comes before any row is written
  for (const d of decisions) {
    if (d.exists) continue
    const {identity, slots, table} = d.shape
    await conn.execute(st.create(table, stateTemplate(dialect, identity, slots, plan.asOf, [schema, table])))
  }
  for (const d of decisions) {
    const {shape, record} = d
    const relation = shape.identity
    const erased = opts.erased?.entities.has(d.entity) ? {erased: {table: opts.erased.table, entity: d.entity}} : {}
    let loadedUntil: string | undefined
    if (relation.loadedAt) loadedUntil = iso((await conn.query(st.lastLoaded(relation)))[0]?.loaded) ?? (record && d.keep ? iso(record.loaded_until) : null) ?? new Date(0).toISOString()
    const to = new Date(frozen).toISOString()
    const days = hasDays(shape.slots)
    const now = {asOf: opts.asOf, frozen}
    const table = [schema, shape.table]
    let estimate: SourceOutcome['rows']
    if (d.keep) {
      // never slower (SPEC §13): kept state and the slices read against the relation read whole
      const previous = iso(record!.frozen)!
      const delta = keyedDelta(shape.slots, now, {asOf: new Date(iso(record!.as_of)!), frozen: Date.parse(previous)})
      const scan = shape.source ? incrementalScan(shape.source, shape, schema, opts.asOf, frozen, loadedUntil) : undefined
      const spans: Span[] = [...delta.slices]
      if (days) spans.push({after: {at: previous, incl: true}, before: {at: to, incl: false}})
      if (scan && scan.readFrom === null) spans.push({})
      else spans.push({after: {at: scan?.readFrom ?? to, incl: true}}, ...(scan?.edges ?? []).map((e) => ({after: {at: e, incl: true}, before: {at: new Date(Date.parse(e) + 86_400_000).toISOString(), incl: false}})))
      const counted = (await conn.query(st.estimate(readEstimate(dialect, relation, spans, plan.asOf))))[0]!
      estimate = {state: Number(record!.state_rows), read: Number(counted.read ?? 0), whole: Number(counted.whole ?? 0)}
      if (opts.readWhole !== 'never' && estimate.state + estimate.read >= estimate.whole) {
        d.keep = false
        d.why = `reading it incrementally would read ${estimate.state} rows of state and ${estimate.read} of the source, reading it whole ${estimate.whole}`
      }
    }
    if (d.keep) {
      const previous = iso(record!.frozen)!
      const loadedAfter = record!.loaded_until !== null ? iso(record!.loaded_until)! : undefined
      if (days && (previous < to || (relation.loadedAt && loadedUntil !== loadedAfter))) {
        const range = {horizon: d.horizon, to, from: previous, ...(loadedAfter ? {loadedAfter} : {}), ...(loadedUntil ? {loadedUntil} : {}), ...erased}
        await conn.execute(st.insert(shape.table, shape.slots, stateRows(dialect, relation, shape.slots, plan.asOf, range), 'days'))
      }
      const delta = keyedDelta(shape.slots, now, {asOf: new Date(iso(record!.as_of)!), frozen: Date.parse(previous)}, relation.loadedAt !== null && loadedAfter !== undefined && loadedUntil !== loadedAfter)
      if (delta.slices.length || delta.landed) {
        // only the keys the slices hold move: their successors are written under a mark of their
        // own, then their old rows deleted and the new ones marked as the rest (all in the transaction)
        const loads = {...(loadedUntil ? {loadedUntil} : {}), ...(loadedAfter ? {loadedAfter} : {})}
        const {rest, fresh} = KEYED_MARKS
        await conn.execute(st.insert(shape.table, shape.slots, keyedRows(dialect, relation, shape.slots, plan.asOf, delta, {table, touched: true, mark: fresh, ...loads, ...erased}), 'keys'))
        await conn.execute(st.dropTouched(shape.table, touchedKeys(dialect, relation, shape.slots, plan.asOf, delta, loads), fresh))
        await conn.execute(st.settle(shape.table, fresh, rest))
      }
      if (d.horizon !== null && (record!.horizon === null || iso(record!.horizon)! < d.horizon)) await conn.execute(st.prune(shape.table, d.horizon))
      out.mode = 'incremental'
      out.sources.push({source: shape.describe, how: 'incremental', why: `${estimate!.state} rows of state and ${estimate!.read} of the source read, against ${estimate!.whole} read whole`, rows: estimate!})
    } else {
      if (d.exists) await conn.execute(st.clear(shape.table))
      if (days) await conn.execute(st.insert(shape.table, shape.slots, stateRows(dialect, relation, shape.slots, plan.asOf, {horizon: d.horizon, to, ...(loadedUntil ? {loadedUntil} : {}), ...erased}), 'days'))
      const delta = keyedDelta(shape.slots, now)
      if (delta.slices.length) await conn.execute(st.insert(shape.table, shape.slots, keyedRows(dialect, relation, shape.slots, plan.asOf, delta, {table, mark: KEYED_MARKS.rest, ...(loadedUntil ? {loadedUntil} : {}), ...erased}), 'keys'))
      out.sources.push({source: shape.describe, how: 'rebuilt', ...(d.why ? {why: d.why} : {}), ...(estimate ? {rows: estimate} : {})})
      if (record && String(record.state_table) !== shape.table) out.stale.push(String(record.state_table))
    }
    const rows = Number((await conn.query(st.count(shape.table)))[0]!.n)
    for (const q of st.record({sourceId: shape.sourceId, source: shape.describe, entity: d.entity, table: shape.table, signature: shape.signature, horizon: d.horizon, frozen: to, loadedUntil: loadedUntil ?? null, asOf: plan.asOf, runId: opts.runId, rows})) await conn.execute(q)
    if (shape.source) shape.source.incremental = incrementalScan(shape.source, shape, schema, opts.asOf, frozen, loadedUntil)
    const e = plan.entities.find((x) => x.entity === d.entity)!
    for (const m of shape.models) e.models!.find((x) => x.model === m.model)!.incremental = {table: [schema, shape.table], slot: m.slot, frozen: to}
    for (const step of shape.steps) {
      e.sequences.find((q) => q.id === step.sequence)!.steps[step.step]!.incremental = {table: [schema, shape.table], slot: step.slot, frozen: to, ...(loadedUntil ? {loadedUntil} : {})}
    }
  }
  return out
}

/** Drops state tables of shapes no run reads any more; after the commit, and a failure changes nothing. */
export async function dropStale(conn: WarehouseConnection, dialect: Dialect, schema: string, tables: string[]): Promise<void> {
  const st = new StateStatements(dialect, schema)
  for (const t of tables) await conn.execute(st.drop(t)).catch(() => undefined)
}

function describe(s: SourcePlan): string {
  const rel = s.relation.kind === 'table' ? s.relation.path.join('.') : '(sql)'
  return `${rel} by ${s.key}`
}


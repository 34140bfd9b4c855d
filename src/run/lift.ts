// The lift statement from kept state (SPEC §13), the run's side: per entity with measured
// segments, decide whether this run extends the kept first entries and conversions or builds
// them again from the whole history and outcome events, and say why; create the tables before
// any row is written (DDL commits on Snowflake); once the run has written its history, bring the
// state to this run and count from it. Everything but the DDL runs in the run's transaction.
import {LiftStatements, liftSignature, liftTable, type LiftBounds} from '../generate/lift-state-sql.js'
import {RunStatements} from '../generate/run-statements.js'
import {StateStatements} from '../generate/state-statements.js'
import type {MeasurePlan, Plan} from '../plan/plan-types.js'
import type {Project} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import type {Row, WarehouseConnection} from '../warehouse/warehouse.js'

/** What `segc run --json` says of an entity's lift: its kept state extended, built again, or the statement over the whole history (and why). */
export interface LiftOutcome {
  entity: string
  segments: string[]
  how: 'incremental' | 'rebuilt' | 'whole'
  why?: string
}

interface Decision {
  entity: string
  measures: MeasurePlan[]
  table: string
  signature: string
  bounds: LiftBounds
  outcome: LiftOutcome
}

export interface LiftRun {
  decisions: Decision[]
  /** measures counted by the statement over the whole history, as without incremental: */
  whole: MeasurePlan[]
  outcomes: LiftOutcome[]
  /** registry rows (source_id) of entities that no longer keep lift state */
  gone: string[]
  /** state tables no run reads any more: dropped after the commit */
  stale: string[]
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(String(v)).toISOString())
export const liftSourceId = (entity: string) => `lift:${entity}`

/**
 * Decides per entity how this run counts lift. A measure is counted over the whole history, as
 * a full project does, where kept state could not give the same answer: history retention
 * deletes first entries the statement then no longer sees; an identity entity's events are
 * attributed through a map labelled again each run; a `loaded_at` event may land outcomes older
 * than late_arrival.
 */
export async function prepareLift(
  conn: WarehouseConnection,
  dialect: Dialect,
  schema: string,
  project: Project,
  plan: Plan,
  opts: {asOf: Date; lateSeconds: number; whole?: string; retention: boolean; identity: ReadonlySet<string>},
): Promise<LiftRun> {
  const st = new StateStatements(dialect, schema)
  const registry = new Map((await conn.query(st.registry())).map((r) => [String(r.source_id), r]))
  const committed = String((await conn.query(new RunStatements(dialect, schema).lastCommittedRun()))[0]?.run_id ?? '')
  const out: LiftRun = {decisions: [], whole: [], outcomes: [], gone: [], stale: []}
  const byEntity = new Map<string, MeasurePlan[]>()
  for (const m of plan.measures ?? []) {
    const s = project.segments.get(m.segment)!
    const why = opts.retention
      ? 'retention.history deletes old first entries, which the statement over the whole history then no longer counts'
      : opts.identity.has(s.entity)
        ? 'identity: its outcome events are attributed through the identity map, labelled again each run'
        : project.events.get(s.measure!.event)?.loadedAt
          ? 'its outcome event has loaded_at: a row may land later than late_arrival'
          : undefined
    if (why) {
      out.whole.push(m)
      out.outcomes.push({entity: s.entity, segments: [m.segment], how: 'whole', why})
    } else byEntity.set(s.entity, [...(byEntity.get(s.entity) ?? []), m])
  }
  const asOf = opts.asOf.toISOString()
  const frozen = new Date(opts.asOf.getTime() - opts.lateSeconds * 1000).toISOString()
  for (const [entity, measures] of byEntity) {
    const table = liftTable(entity, measures)
    const signature = liftSignature(measures)
    const record = registry.get(liftSourceId(entity))
    if (record && String(record.state_table) !== table) out.stale.push(String(record.state_table))
    const exists = await conn.tableExists(schema, table)
    let why: string | undefined
    if (opts.whole) why = opts.whole
    else if (!record) why = 'its first run with kept lift state'
    else if (String(record.state_table) !== table || String(record.signature) !== signature) why = 'a measure, its outcome or its window changed, or a measured segment was added or removed'
    else if (!exists) why = `its state table ${table} is missing`
    else if (String(record.run_id) !== committed) why = 'the last committed run did not keep it'
    else if (iso(record.as_of)! > asOf) why = 'the run is earlier than its state'
    else if (iso(record.frozen)! > frozen) why = 'late_arrival grew: outcomes it took as final may still land'
    else if (Number((await conn.query(st.count(table)))[0]!.n) !== Number(record.state_rows)) why = 'its state table was changed outside segc'
    const segments = measures.map((m) => m.segment)
    const bounds: LiftBounds = {asOf, frozen, ...(why ? {} : {previous: {asOf: iso(record!.as_of)!, frozen: iso(record!.frozen)!}})}
    const outcome: LiftOutcome = why ? {entity, segments, how: 'rebuilt', why} : {entity, segments, how: 'incremental', why: 'history rows since the last run, and outcome events after its frozen point'}
    out.decisions.push({entity, measures, table, signature, bounds, outcome})
    out.outcomes.push(outcome)
    if (!exists) await conn.execute(new LiftStatements(dialect, schema).create(table))
  }
  // an entity that no longer keeps lift state leaves the registry with its table
  for (const [id, r] of registry) {
    if (!id.startsWith('lift:') || byEntity.has(id.slice('lift:'.length))) continue
    out.gone.push(id)
    out.stale.push(String(r.state_table))
  }
  return out
}

/** Brings every kept lift state to this run, after the run wrote its history, and returns the counts of every measure. */
export async function liftCounts(conn: WarehouseConnection, dialect: Dialect, schema: string, run: LiftRun, plan: Plan, runId: string): Promise<Row[]> {
  const ls = new LiftStatements(dialect, schema)
  const st = new StateStatements(dialect, schema)
  const rows: Row[] = []
  for (const d of run.decisions) {
    for (const q of ls.update(d.table, d.measures, d.bounds)) await conn.execute(q)
    rows.push(...(await conn.query(ls.counts(d.table, d.measures, plan.asOf)!)))
    const n = Number((await conn.query(st.count(d.table)))[0]!.n)
    const source = `the first entries and outcomes of ${d.measures.map((m) => m.segment).join(', ')}`
    for (const q of st.record({sourceId: liftSourceId(d.entity), source, entity: d.entity, table: d.table, signature: d.signature, horizon: null, frozen: d.bounds.frozen, loadedUntil: null, asOf: d.bounds.asOf, runId, rows: n})) await conn.execute(q)
  }
  for (const id of run.gone) await conn.execute(st.unregister(id))
  const whole = new RunStatements(dialect, schema).liftCounts({...plan, measures: run.whole})
  if (whole) rows.push(...(await conn.query(whole)))
  // the order the statement over the whole history gives
  const order = new Map((plan.measures ?? []).map((m, i) => [m.segment, i]))
  return rows.sort((a, b) => order.get(String(a.segment))! - order.get(String(b.segment))!)
}

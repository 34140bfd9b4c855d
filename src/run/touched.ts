// Touched keys (SPEC §13), the run's side: per entity, decide whether this incremental run may
// evaluate only the keys whose membership can move, or must evaluate every key (and say why);
// find those keys into a scratch table the plan reads; and, once the run has written
// membership and profiles, move the entity's snapshot on. Everything here runs inside the
// run's transaction but the snapshot tables' DDL, which comes before any row is written.
import {createHash} from 'node:crypto'
import {commentedProfileColumns} from '../catalog/profile-columns.js'
import {RunStatements, type RunSegment} from '../generate/run-statements.js'
import {StateStatements} from '../generate/state-statements.js'
import {snapshotTable, touchedTable, TouchedStatements} from '../generate/touched-sql.js'
import type {EntityPlan, Plan} from '../plan/plan-types.js'
import {touchedPlan, type Crossing, type TouchedRelation} from '../plan/touched.js'
import type {Project} from '../resolve/model.js'
import {profileEntities, profileTable} from '../resolve/resolve-profile.js'
import type {Dialect} from '../warehouse/dialect.js'
import type {Row, WarehouseConnection} from '../warehouse/warehouse.js'

/** What `segc run` reports per entity: every key evaluated, or only the touched ones (and how many). */
export interface EvaluationOutcome {
  entity: string
  keys: 'touched' | 'all'
  why: string
  /** touched keys evaluated (keys: touched) */
  touched?: number
}

interface Decision {
  e: EntityPlan
  table: string
  signature: string
  keys: 'touched' | 'all'
  why: string
  record?: Row
  exists: boolean
  relations: TouchedRelation[]
  crossings: Crossing[]
  /** the previous run's as_of (touched) */
  previous?: string
  /** with loaded_at: the rows landed after this are new (touched) */
  loadedAfter?: string | null
  /** with loaded_at: the newest load time this run sees, recorded for the next */
  loadedNow: string | null
}

export interface TouchedRun {
  decisions: Decision[]
  /** snapshot tables of a shape no longer used: dropped after the commit */
  stale: string[]
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(String(v)).toISOString())
const sourceId = (entity: string) => `entity:${entity}`

/**
 * Decides, per entity with segments, how this run evaluates it, and creates the snapshot tables
 * that do not exist yet (DDL first: on Snowflake it commits). `planAt` plans the same run at
 * another as_of: the previous run's plan is compared with this one's.
 */
export async function prepareTouched(
  conn: WarehouseConnection,
  dialect: Dialect,
  schema: string,
  project: Project,
  plan: Plan,
  planAt: (asOf: Date) => Plan,
  opts: {asOf: Date; lateSeconds: number; whole?: string; segments: RunSegment[]; hashes: ReadonlyMap<string, string>; identity: ReadonlySet<string>},
): Promise<TouchedRun> {
  const st = new StateStatements(dialect, schema)
  const registry = new Map((await conn.query(st.registry())).map((r) => [String(r.source_id), r]))
  const committed = String((await conn.query(new RunStatements(dialect, schema).lastCommittedRun()))[0]?.run_id ?? '')
  const profiled = new Set(profileEntities(project))
  const out: TouchedRun = {decisions: [], stale: []}
  let before: Plan | undefined
  for (const e of plan.entities) {
    if (!e.segments.length) continue
    // identity entities are labelled again at every run (docs/identity.md): evaluated whole, no snapshot
    if (opts.identity.has(e.entity)) continue
    const table = snapshotTable(e)
    const profile = profiled.has(e.entity) ? commentedProfileColumns(project, e.entity) : []
    const signature = createHash('sha256')
      .update(JSON.stringify({relation: e.relation, key: e.key, attributes: e.attributes, segments: e.segments.map((s) => [s.segment, opts.hashes.get(s.segment) ?? null]), profile}))
      .digest('hex')
    const record = registry.get(sourceId(e.entity))
    const exists = await conn.tableExists(schema, table)
    const loadedQuery = new TouchedStatements(dialect, schema).lastLoaded(loadedRelations(e))
    // read before any row is: a row landing during the run is new to the next one too
    const loadedNow = loadedQuery ? iso((await conn.query(loadedQuery))[0]?.loaded) : null
    const d: Decision = {e, table, signature, keys: 'all', why: '', exists, relations: [], crossings: [], loadedNow, ...(record ? {record} : {})}
    out.decisions.push(d)
    if (record && String(record.state_table) !== table) out.stale.push(String(record.state_table))
    const moved = opts.segments.find((s) => s.entity === e.entity && s.cause !== 'data')
    if (opts.whole) d.why = opts.whole
    else if (moved) d.why = `segment ${moved.segment}: ${moved.cause.replace('_', ' ')}`
    else if (!record) d.why = 'its first run with a snapshot of its rows'
    else if (String(record.state_table) !== table || String(record.signature) !== signature) d.why = 'its attributes, segments or profile changed since the last run'
    else if (!exists) d.why = `its snapshot ${table} is missing`
    else if (String(record.run_id) !== committed) d.why = 'the last run did not keep its snapshot (a --select run or a failed one came after)'
    else if (profiled.has(e.entity) && !(await conn.tableExists(schema, profileTable(e.entity)))) d.why = 'its profile table is missing'
    else if (Number((await conn.query(st.count(table)))[0]!.n) !== Number(record.state_rows)) d.why = 'its snapshot was changed outside segc'
    else {
      const previous = new Date(iso(record.as_of)!)
      before ??= planAt(previous)
      const prev = before.entities.find((x) => x.entity === e.entity)
      const t = prev ? touchedPlan(e, prev, opts.asOf, previous, opts.lateSeconds) : {global: 'the last run planned it otherwise'}
      if ('global' in t) d.why = t.global
      else {
        d.keys = 'touched'
        d.why = 'keys whose events, entity row or relative-time conditions moved since the last run'
        d.relations = t.relations
        d.crossings = t.crossings
        d.previous = previous.toISOString()
        // a relation empty at the last run recorded no load time: every row it has now is new
        d.loadedAfter = loadedQuery ? (iso(record.loaded_until) ?? new Date(0).toISOString()) : null
      }
    }
  }
  const ts = new TouchedStatements(dialect, schema)
  for (const d of out.decisions) if (!d.exists) await conn.execute(ts.create(d.e))
  return out
}

/** The touched keys of every entity evaluated by them, into their scratch tables; the plan's entities read them from there. */
export async function findTouched(conn: WarehouseConnection, dialect: Dialect, schema: string, run: TouchedRun, asOf: Date): Promise<EvaluationOutcome[]> {
  const ts = new TouchedStatements(dialect, schema)
  const out: EvaluationOutcome[] = []
  for (const d of run.decisions) {
    if (d.keys === 'all') {
      out.push({entity: d.e.entity, keys: 'all', why: d.why})
      continue
    }
    await conn.execute(ts.touched(d.e, d.relations, d.crossings, asOf.toISOString(), d.previous!, d.loadedAfter ?? null))
    const n = Number((await conn.query(ts.count(d.e.entity)))[0]!.n)
    d.e.touched = touchedTable(d.e.entity)
    out.push({entity: d.e.entity, keys: 'touched', why: d.why, touched: n})
  }
  return out
}

/** Every snapshot moved on to this run and registered; after membership and profiles are written, in the transaction. */
export async function writeSnapshots(conn: WarehouseConnection, dialect: Dialect, schema: string, run: TouchedRun, asOf: Date, runId: string): Promise<void> {
  const ts = new TouchedStatements(dialect, schema)
  const st = new StateStatements(dialect, schema)
  for (const d of run.decisions) {
    for (const q of ts.write(d.e, d.keys === 'all')) await conn.execute(q)
    const rows = Number((await conn.query(st.count(d.table)))[0]!.n)
    const at = asOf.toISOString()
    for (const q of st.record({sourceId: sourceId(d.e.entity), source: `the rows of entity ${d.e.entity}`, entity: d.e.entity, table: d.table, signature: d.signature, horizon: null, frozen: at, loadedUntil: d.loadedNow, asOf: at, runId, rows})) await conn.execute(q)
  }
}

/** The event relations of an entity's plan with their loaded_at: what the next run reads by load time. */
function loadedRelations(e: EntityPlan): TouchedRelation[] {
  const seen = new Map<string, TouchedRelation>()
  for (const s of e.sources) if (s.loadedAt && s.timestamp) seen.set(JSON.stringify([s.relation, s.loadedAt]), {relation: s.relation, key: s.key, timestamp: s.timestamp, loadedAt: s.loadedAt, spans: []})
  for (const q of e.sequences) for (const st of q.steps) if (st.loadedAt) seen.set(JSON.stringify([st.relation, st.loadedAt]), {relation: st.relation, key: st.key, timestamp: st.timestamp, loadedAt: st.loadedAt, spans: []})
  return [...seen.values()]
}

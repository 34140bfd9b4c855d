// Incremental runs (SPEC §13) against full runs on the bench warehouse, side by side: the first
// (state-building) run, daily and hourly runs, `--full` runs, rows of event tables read (DuckDB's
// profiler) beside the design's minimum counted from the source, state rows against keys and
// events, and, in the whole bench, the write floor, the naive plan, 10 → 200 segments and
// history doubled. Every run of the incremental project is checked equal to the full project's
// run at the same as_of, table by table.
// `npm run bench:incremental` alone; `npm run bench` includes it.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --quick (100k / 2M)
//        --daily-only  the first runs, 7 daily twins, rows read and state; nothing else
//        --hourly      those, then 24 hourly twins, rows read hourly and `--full` runs (not the extras)
//        --loaded-at   the events land as the runs go, with a `loaded_at` column the project declares
//        --dense       a shop of few customers with many events each (default 10k customers x 500)
import {spawnSync} from 'node:child_process'
import {appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {fileURLToPath} from 'node:url'
import {parse, parseAllDocuments} from 'yaml'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'
import {writeBenchProject} from './project.js'
import {benchWarehouse, DATA_DIR, log, median, withDb} from './shared.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const AS_OF = Date.parse('2026-06-01T00:00:00Z')
/** the steady-state days of the other benches (bench/run.ts): a month before the data's anchor */
const D0 = AS_OF - 30 * DAY
/** the incremental projects' late_arrival */
const LATE = 2 * DAY
const DUCKDB = {threads: cpus().length, memoryLimit: '3GB'}
const here = fileURLToPath(new URL('.', import.meta.url))

type Row = [string, string, string]
type Measured = {ms: number} & Record<string, any>
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const iso = (ms: number) => new Date(ms).toISOString()
const lit = (ms: number) => `TIMESTAMP '${iso(ms).replace('T', ' ').replace('Z', '')}'`
const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`
const n = (v: number) => v.toLocaleString('en')
const dayStart = (ms: number) => Math.floor(ms / DAY) * DAY
const verdict = (met: boolean) => (met ? 'met' : 'not met')

function measure(kind: string, project: string, asOf: number, extra: Record<string, unknown> = {}): Measured {
  const r = spawnSync(process.execPath, [join(here, 'measure.js'), JSON.stringify({kind, project, asOf: iso(asOf), ...extra})], {encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

/**
 * The shop as a warehouse holds events: appended as they land, so in time order. A time-ordered
 * table lets an engine skip the blocks outside a range of time (DuckDB's zone maps, Snowflake's
 * micro-partitions, BigQuery's partitions); the generator writes customer by customer.
 */
export async function timeOrdered(source: string, suffix = 'bytime', doubled = false): Promise<string> {
  const path = source.replace(/\.duckdb$/, `-${suffix}.duckdb`)
  if (existsSync(path)) return path
  log(`${doubled ? 'twice the history of' : 'time-ordered copy of'} ${source} ...`)
  await withDb(`${path}.tmp`, async (c) => {
    await c.execute(`ATTACH '${source}' AS src (READ_ONLY)`)
    await c.execute('CREATE TABLE main.customers AS SELECT * FROM src.main.customers')
    await c.execute('CREATE TABLE main.accounts AS SELECT * FROM src.main.accounts')
    // twice the history at the same rate: each table again, shifted back by its own span
    const orders = doubled ? `SELECT * FROM src.main.orders UNION ALL SELECT * REPLACE (ordered_at - INTERVAL 900 DAY AS ordered_at) FROM src.main.orders` : 'SELECT * FROM src.main.orders'
    const events = doubled ? `SELECT * FROM src.main.events UNION ALL SELECT * REPLACE (ts - INTERVAL 60 DAY AS ts) FROM src.main.events` : 'SELECT * FROM src.main.events'
    await c.execute(`CREATE TABLE main.orders AS SELECT * FROM (${orders}) ORDER BY ordered_at`)
    await c.execute(`CREATE TABLE main.events AS SELECT * FROM (${events}) ORDER BY ts`)
    await c.execute('DETACH src')
    await c.execute('CHECKPOINT')
  }, DUCKDB.threads)
  spawnSync('mv', [`${path}.tmp`, path])
  return path
}

/**
 * A row's landing lag, in whole minutes from the row's id (deterministic): 2 minutes to 4 hours,
 * and 1 row in 100 three to five days late — later than the 2-day band, which only `loaded_at`
 * makes an incremental run read.
 */
const lagMinutes = (id: string) => `CASE WHEN hash(${id}, 'late') % 100 = 0 THEN 4320 + hash(${id}, 'late by') % 2880 ELSE 2 + hash(${id}, 'lag') % 239 END`

/**
 * The shop with a `loaded_at` on each event table, as a loader stamps rows when they land. Every
 * row waits in `landing.*`; `main.orders` and `main.events` start empty and get the rows landed
 * by each run's as_of, appended in landing order (`arrive`), so that a run sees what had landed
 * by its as_of and nothing later — as in a warehouse that a loader fills between runs.
 */
async function landingCopy(source: string): Promise<string> {
  const path = source.replace(/\.duckdb$/, '-loaded.duckdb')
  if (existsSync(path)) return path
  log(`copy of ${source} with loaded_at ...`)
  await withDb(`${path}.tmp`, async (c) => {
    await c.execute(`ATTACH '${source}' AS src (READ_ONLY)`)
    await c.execute('CREATE TABLE main.customers AS SELECT * FROM src.main.customers')
    await c.execute('CREATE TABLE main.accounts AS SELECT * FROM src.main.accounts')
    await c.execute('CREATE SCHEMA landing')
    for (const [t, id, ts] of [['orders', 'order_id', 'ordered_at'], ['events', 'event_id', 'ts']] as const) {
      await c.execute(`CREATE TABLE landing.${t} AS SELECT *, ${ts} + to_microseconds(CAST(60000000 * (${lagMinutes(id)}) AS BIGINT)) AS loaded_at FROM src.main.${t} ORDER BY loaded_at`)
      await c.execute(`CREATE TABLE main.${t} AS SELECT * FROM landing.${t} WHERE FALSE`)
    }
    await c.execute('DETACH src')
    await c.execute('CHECKPOINT')
  }, DUCKDB.threads)
  spawnSync('mv', [`${path}.tmp`, path])
  return path
}

/** A fresh working copy of the landing warehouse, and the step that lands rows up to an instant. */
function landing(prepared: string): {db: string; arrive: (at: number) => Promise<void>} {
  const db = prepared.replace(/\.duckdb$/, '-work.duckdb')
  rmSync(db, {force: true})
  copyFileSync(prepared, db)
  let landed = -Infinity
  const arrive = async (at: number) => {
    if (at <= landed) return
    const after = Number.isFinite(landed) ? `loaded_at > ${lit(landed)} AND ` : ''
    await withDb(db, async (c) => {
      for (const t of ['orders', 'events']) await c.execute(`INSERT INTO main.${t} SELECT * FROM landing.${t} WHERE ${after}loaded_at <= ${lit(at)} ORDER BY loaded_at`)
    }, DUCKDB.threads)
    landed = at
  }
  return {db, arrive}
}

function project(name: string, segments: number, database: string, incremental: boolean, loadedAt = false): string {
  const dir = join(DATA_DIR, `inc-${name}`)
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, segments, database, {...DUCKDB, schema: `bench_${name}`, ...(loadedAt ? {loadedAt: 'loaded_at'} : {})})
  if (incremental) appendFileSync(join(dir, 'segc.yaml'), `incremental:\n  late_arrival: ${LATE / DAY}d\n`)
  return dir
}
const schemaOf = (dir: string) => `bench_${dir.split('inc-').at(-1)}`

const COMPARED: Record<string, {cols: string; at?: string}> = {
  segment_membership: {cols: 'segment, entity, entity_key, entered_at, holdout'},
  segment_membership_history: {cols: 'segment, entity, entity_key, valid_from, valid_to, holdout', at: 'coalesce(valid_to, valid_from)'},
  segment_transitions: {cols: 'transitioned_at, segment, entity, entity_key, change, cause', at: 'transitioned_at'},
  segment_group_transitions: {cols: 'transitioned_at, group_name, entity, entity_key, from_segment, to_segment', at: 'transitioned_at'},
  segment_sizes: {cols: 'as_of, segment, size, holdout_size, entered, exited', at: 'as_of'},
}

/**
 * Rows in one schema's output tables and not the other's (both ways) — the whole membership, and
 * what the run at `asOf` wrote to the others (earlier runs were compared after they ran); 0 when equal.
 */
async function differences(c: WarehouseConnection, a: string, b: string, asOf: number): Promise<number> {
  let d = 0
  for (const [t, {cols, at: when}] of Object.entries(COMPARED)) {
    const where = when ? ` WHERE ${when} >= ${lit(asOf)}` : ''
    const q = (p: string, r: string) => `SELECT count(*) AS n FROM (SELECT ${cols} FROM "${p}"."${t}"${where} EXCEPT ALL SELECT ${cols} FROM "${r}"."${t}"${where})`
    d += Number((await c.query(q(a, b)))[0]!.n) + Number((await c.query(q(b, a)))[0]!.n)
  }
  return d
}

async function checkEqual(db: string, full: string, inc: string, at: number, label: string): Promise<void> {
  const diff = await withDb(db, (c) => differences(c, schemaOf(full), schemaOf(inc), at), DUCKDB.threads)
  if (diff !== 0) throw new Error(`${label} at ${iso(at)}: the incremental run's tables differ from the full run's in ${diff} rows`)
}

/** Per entity, whether the run evaluated touched keys or all of them (`segc run --json`'s `evaluation`). */
const evaluated = (r: Measured) => ((r.evaluation ?? []) as Array<{entity: string; keys: string; why: string; touched?: number}>).map((e) => (e.keys === 'touched' ? `${e.entity}: ${n(e.touched ?? 0)} touched` : `${e.entity}: all (${e.why})`)).join('; ')

/** How each relation was read (`sources[]`). */
const sourcesRead = (r: Measured) => ((r.sources ?? []) as Array<{source: string; how: string}>).map((s) => `${s.source.split(' at ')[0]}: ${s.how}`).join('; ')

interface Twins {
  full: number[]
  inc: number[]
  runs: Measured[]
}

/** Runs the full and the incremental project at each as_of, checks them equal after each; times of each. */
async function twinRuns(w: Warehouse, full: string, inc: string, points: number[], label: string, incExtra: Record<string, unknown> = {}): Promise<Twins> {
  const out: Twins = {full: [], inc: [], runs: []}
  for (const at of points) {
    await w.arrive(at)
    out.full.push(measure('run', full, at).ms)
    const r = measure('run', inc, at, incExtra)
    out.inc.push(r.ms)
    out.runs.push(r)
    await checkEqual(w.db, full, inc, at, label)
    log(`  ${label} ${iso(at)}: full ${fmt(out.full.at(-1)!)}, incremental ${fmt(r.ms)} (${r.mode}; ${evaluated(r)}), equal`)
  }
  return out
}

/** The touched/all evaluation of a series of runs, per entity: how many of them used touched keys, the median keys they evaluated. */
function evaluationSummary(runs: Measured[]): string {
  const per = new Map<string, {touched: number[]; all: Set<string>}>()
  for (const r of runs)
    for (const e of (r.evaluation ?? []) as Array<{entity: string; keys: string; why: string; touched?: number}>) {
      const p = per.get(e.entity) ?? {touched: [], all: new Set<string>()}
      if (e.keys === 'touched') p.touched.push(e.touched ?? 0)
      else p.all.add(e.why)
      per.set(e.entity, p)
    }
  return [...per].map(([entity, p]) => `${entity}: touched keys in ${p.touched.length} of ${runs.length}${p.touched.length ? ` (median ${n(median(p.touched))} keys)` : ''}${p.all.size ? `, all keys otherwise (${[...p.all].join('; ')})` : ''}`).join('; ')
}

const ratios = (t: Twins) => t.inc.map((v, i) => v / t.full[i]!)

/** Time against a target ratio to the full run: the ratio of the medians, and the median of the per-pair ratios. */
function timeRow(label: string, t: Twins, target: number, equalNote: string): Row {
  const [f, i] = [median(t.full), median(t.inc)]
  const r = median(ratios(t))
  return [label, fmt(i), `${x(i, f)} the full run (${fmt(f)}), median of per-pair ratios ${r.toFixed(2)}×; target ≤ ${target}×: ${verdict(i / f <= target && r <= target)}; ${equalNote}; ${evaluationSummary(t.runs)}`]
}

/** Rows as they come: logged at once, so a long bench that stops later has shown what it measured. */
function emit(rows: Row[], row: Row): void {
  rows.push(row)
  log(`  » ${row.join('  ')}`)
}

// ---- the design's minimum, counted from the source (not from segc's plan) ----

/** An event relation of the bench project: its table, key and timestamp, every window bound read on it, and the `where` of each of its events used. */
interface Relation {
  table: string
  key: string
  timestamp: string
  bounds: Set<number>
  wheres: Map<string, Record<string, unknown> | undefined>
}

/** The rows of a relation's used events: the OR of their `where`s (the bench's are equalities), or every row. */
function eventFilter(r: Relation): string {
  const wheres = [...r.wheres.values()]
  if (wheres.some((w) => w === undefined)) return 'TRUE'
  const eq = (col: string, v: unknown) => `"${col}" = ${typeof v === 'string' ? `'${v.replaceAll("'", "''")}'` : String(v)}`
  return wheres.map((w) => `(${Object.entries(w!).map(([c, v]) => eq(c, v)).join(' AND ')})`).join(' OR ')
}

const UNIT: Record<string, number> = {s: 1000, m: 60_000, h: HOUR, d: DAY, w: 7 * DAY}
function duration(d: unknown): number {
  const m = /^(\d+)([smhdw])$/.exec(String(d))
  if (!m) throw new Error(`not a duration: ${String(d)}`)
  return Number(m[1]) * UNIT[m[2]!]!
}

/**
 * The event relations the project's YAML reads and the window bounds on each, read from the
 * YAML itself: every `within`, `between` and `before` of a condition or trait that a segment or
 * profile uses (through traits, derived traits and features), and an `active_periods`' period
 * boundaries, which move with as_of like a window bound. The experiment's `outcome` window is
 * anchored at the experiment, not at as_of, and is left out.
 */
export function benchRelations(dir: string): Relation[] {
  type Node = Record<string, unknown>
  const models = parse(readFileSync(join(dir, 'models/shop.yaml'), 'utf8')) as {entities: Record<string, {profile?: string[]}>; events: Record<string, {table: string; key: string; timestamp: string; where?: Record<string, unknown>}>; traits: Record<string, Node>}
  const relations = new Map<string, Relation>()
  const relationOf = (event: string): Relation => {
    const e = models.events[event]
    if (!e) throw new Error(`unknown event ${event}`)
    const id = `${e.table} by ${e.key}`
    if (!relations.has(id)) relations.set(id, {table: e.table, key: e.key, timestamp: e.timestamp, bounds: new Set(), wheres: new Map()})
    const r = relations.get(id)!
    r.wheres.set(event, e.where)
    return r
  }
  const windows = (node: Node) => {
    const events = typeof node.event === 'string' ? [node.event] : Array.isArray(node.sequence) ? (node.sequence as Node[]).map((s) => String(s.event)) : []
    for (const e of events) relationOf(e)
    const bounds: number[] = []
    if (node.within) {
      const w = duration(node.within)
      bounds.push(w)
      if (node.aggregate === 'active_periods') for (let b = duration(node.period); b < w; b += duration(node.period)) bounds.push(b)
    }
    if (Array.isArray(node.between)) bounds.push(...node.between.map(duration))
    if (node.before) bounds.push(duration(node.before))
    for (const e of events) for (const b of bounds) relationOf(e).bounds.add(b)
  }
  const used = new Set<string>()
  const useTrait = (name: string) => {
    const t = models.traits[name]
    if (!t || used.has(name)) return
    used.add(name)
    visit(t)
    const refs = [...String(t.expr ?? '').matchAll(/\w+/g)].map((m) => m[0]).concat([t.of, t.features, t.model].flat().map(String))
    for (const r of refs) useTrait(r)
  }
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit)
    else if (node && typeof node === 'object') {
      const o = node as Node
      if (typeof o.trait === 'string') useTrait(o.trait)
      windows(o)
      for (const [k, v] of Object.entries(o)) if (k !== 'outcome') visit(v)
    }
  }
  for (const e of Object.values(models.entities)) for (const p of e.profile ?? []) useTrait(p)
  for (const f of readdirSync(join(dir, 'segments')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml')))
    for (const d of parseAllDocuments(readFileSync(join(dir, 'segments', f), 'utf8'))) visit(d.toJS())
  return [...relations.values()]
}

interface Minimum {
  band: number
  froze: number
  slices: number
  landed: number
  /** band ∪ the days that froze ∪ the slices ∪ (with loaded_at) the rows landed since the last run */
  design: number
  /** with loaded_at, what a run must read if state holds every row landed by the last run: the rows landed since, and the slices */
  byLoad: number
  /** the relation up to as_of */
  whole: number
  /**
   * rows of the DuckDB row groups (122,880 rows, its unit of pruning by zone maps) that hold a row
   * of the design's minimum: what a single scan of those ranges reads at the least, in the profiler's count
   */
  blocks: number
}

const ROW_GROUP = 122_880

/**
 * The design's minimum for one relation between two runs (SPEC §13, issue 32): the band (from
 * the UTC day of as_of − late_arrival), the days that froze since the last run, one slice per
 * window bound that moved (bound b: timestamps in (prev − b, as_of − b]), and with `loaded_at`
 * the rows landed since the last run. Counted from the source table, each row once.
 */
async function designMinimum(c: WarehouseConnection, r: Relation, prev: number, asOf: number, loadedAt: boolean): Promise<Minimum> {
  const ts = `"${r.timestamp}"`
  const [frozen, frozenBefore] = [dayStart(asOf - LATE), dayStart(prev - LATE)]
  const band = `${ts} >= ${lit(frozen)} AND ${ts} <= ${lit(asOf)}`
  const froze = `${ts} >= ${lit(frozenBefore)} AND ${ts} < ${lit(frozen)}`
  const slices = [...r.bounds].map((b) => `${ts} > ${lit(prev - b)} AND ${ts} <= ${lit(asOf - b)}`)
  const landed = loadedAt ? `loaded_at > ${lit(prev)} AND loaded_at <= ${lit(asOf)}` : 'FALSE'
  const any = (ps: string[]) => (ps.length ? ps.map((p) => `(${p})`).join(' OR ') : 'FALSE')
  const q = `SELECT count(*) FILTER (WHERE ${band}) AS band, count(*) FILTER (WHERE ${froze}) AS froze, count(*) FILTER (WHERE ${any(slices)}) AS slices,
      count(*) FILTER (WHERE ${landed}) AS landed, count(*) FILTER (WHERE ${any([band, froze, ...slices, landed])}) AS design,
      count(*) FILTER (WHERE ${any([...slices, landed])}) AS by_load, count(*) FILTER (WHERE ${ts} <= ${lit(asOf)}) AS whole,
      count(DISTINCT rowid // ${ROW_GROUP}) FILTER (WHERE ${any([band, froze, ...slices, landed])}) AS blocks
    FROM ${r.table}`
  const row = (await c.query(q))[0]!
  return {band: Number(row.band), froze: Number(row.froze), slices: Number(row.slices), landed: Number(row.landed), design: Number(row.design), byLoad: Number(row.by_load), whole: Number(row.whole), blocks: Number(row.blocks) * ROW_GROUP}
}

/**
 * One profiled full run and one profiled incremental run at `asOf` (the last run at `prev`):
 * rows each read of every event table, beside the design's minimum and the table up to as_of.
 */
async function rowsRead(w: Warehouse, full: string, inc: string, prev: number, asOf: number, label: string, target: string): Promise<Row[]> {
  await w.arrive(asOf)
  const readFull = measure('run-profiled', full, asOf)
  const readInc = measure('run-profiled', inc, asOf)
  await checkEqual(w.db, full, inc, asOf, label)
  const relations = benchRelations(inc)
  const minima = await withDb(w.db, (c) => Promise.all(relations.map(async (r) => ({r, m: await designMinimum(c, r, prev, asOf, w.loadedAt)}))), DUCKDB.threads)
  const out: Row[] = []
  for (const table of [...new Set(relations.map((r) => r.table))]) {
    const short = table.split('.').at(-1)!
    const mine = minima.filter((m) => m.r.table === table)
    const sum = (k: keyof Minimum) => mine.reduce((s, m) => s + m.m[k], 0)
    const whole = mine[0]!.m.whole * mine.length
    const got = Number(readInc.scanned[short] ?? 0)
    const parts = mine.map(({r, m}) => `by ${r.key}: band ${n(m.band)}, froze ${n(m.froze)}, ${r.bounds.size} slices ${n(m.slices)}${w.loadedAt ? `, landed since ${n(m.landed)}` : ''} → ${n(m.design)}`).join('; ')
    const top = (readInc.statements as Array<{rows: Record<string, number>; text: string}>).filter((s) => s.rows[short]).sort((a, b) => b.rows[short]! - a.rows[short]!).slice(0, 4).map((s) => `${n(s.rows[short]!)} «${s.text.slice(0, 60)}»`).join(', ')
    out.push([`rows of ${table} read, ${label}`, n(got), `${x(got, sum('design'))} the design's minimum ${n(sum('design'))} (${parts}), ${x(got, sum('blocks'))} the row groups holding it (${n(sum('blocks'))} rows)${w.loadedAt ? `; by load alone (landed since + slices) ${n(sum('byLoad'))}` : ''}; ${pct(got, whole)} of the relation${mine.length > 1 ? 's' : ''} up to as_of (${n(mine[0]!.m.whole)} rows${mine.length > 1 ? ` × ${mine.length} relations` : ''}); the full run read ${n(Number(readFull.scanned[short] ?? 0))}; target ${target}; largest statements: ${top}`])
  }
  out.push([`evaluation and sources, ${label}`, '', `${evaluated(readInc)} | ${sourcesRead(readInc)}`])
  return out
}

/**
 * State rows per relation against the keys that have events and the events before `frozen` that
 * the relation's events match (the history the state saves reading): rows without a day are values per key (target ≤ 2× the keys),
 * day rows are what the non-subtractable aggregates keep.
 */
async function stateFigures(db: string, project: string): Promise<Row[]> {
  const schema = schemaOf(project)
  const relations = new Map(benchRelations(project).map((r) => [`${r.table} by ${r.key}`, r]))
  return withDb(db, async (c) => {
    const reg = await c.query(`SELECT source_id, state_table, source, frozen FROM "${schema}".segment_state_sources ORDER BY source`)
    const out: Row[] = []
    let [allRows, allKeys, allEvents] = [0, 0, 0]
    for (const r of reg) {
      const t = `"${schema}"."${String(r.state_table)}"`
      const source = String(r.source)
      const m = /^(\S+) by (\S+) at (\S+)/.exec(source)
      if (!m) {
        // not an event relation's: an entity snapshot (touched keys) or lift's first entries
        const lift = String(r.source_id).startsWith('lift:')
        out.push([`state: ${source}${lift ? ' (lift)' : ' (entity snapshot)'}`, n(Number((await c.query(`SELECT count(*) AS n FROM ${t}`))[0]!.n)), lift ? 'rows, one per measured segment and entity that entered it' : 'rows, one per entity row'])
        continue
      }
      const size = (await c.query(`SELECT count(*) AS n, count(*) FILTER (WHERE segc_day IS NULL) AS keyed, count(*) FILTER (WHERE segc_day IS NOT NULL) AS days, sum(segc_events) FILTER (WHERE segc_day IS NOT NULL) AS day_events FROM ${t}`))[0]!
      const [, relation, key, ts] = m
      const used = relations.get(`${relation} by ${key}`)
      const filter = used ? eventFilter(used) : 'TRUE'
      const seen = (await c.query(`SELECT count(DISTINCT "${key}") AS keys, count(*) AS events FROM ${relation} WHERE "${ts}" < ${lit(new Date(String(r.frozen)).getTime())} AND (${filter})`))[0]!
      const [rows, keys, events] = [Number(size.n), Number(seen.keys), Number(seen.events)]
      allRows += rows
      allKeys += keys
      allEvents += events
      out.push([`state: ${source.split(' at ')[0]}`, n(rows), `${n(Number(size.keyed))} rows of values per key (${x(Number(size.keyed), keys)} the ${n(keys)} keys with events before frozen), ${n(Number(size.days))} day rows standing for ${n(Number(size.day_events ?? 0))} events; all rows ${x(rows, events)} the ${n(events)} events before frozen`])
    }
    out.push(['state: event relations, all', n(allRows), `${x(allRows, allKeys)} the keys with events (target ≤ 2× plus the day rows), ${x(allRows, allEvents)} the events before frozen (target ≤ 0.6×: ${verdict(allRows <= 0.6 * allEvents)})`])
    return out
  }, DUCKDB.threads)
}

interface Options {
  customers: number
  events: number
  quick: boolean
  dailyOnly: boolean
  hourly: boolean
  loadedAt: boolean
  dense: boolean
}

interface Warehouse {
  db: string
  loadedAt: boolean
  /** lands the rows loaded by an instant (with loaded_at; otherwise every row is there from the start) */
  arrive: (at: number) => Promise<void>
}

/**
 * The first runs, 7 daily runs and the rows and state after them; with `hourly` (or the whole
 * bench), 24 hourly runs, their rows read and `--full` runs; the whole bench (no flag) goes on to
 * the extras. Every incremental run is checked equal to a full run at the same as_of.
 */
export async function incrementalBench(o: Options): Promise<Row[]> {
  const rows: Row[] = []
  const raw = await benchWarehouse(o.customers, o.events, DUCKDB.threads)
  const w: Warehouse = o.loadedAt ? {...landing(await landingCopy(raw)), loadedAt: true} : {db: await timeOrdered(raw), loadedAt: false, arrive: async () => {}}
  const suffix = `${o.dense ? '_dense' : ''}${o.loadedAt ? '_loaded' : ''}`
  const full = project(`full_45${suffix}`, 45, w.db, false, o.loadedAt)
  const inc = project(`inc_45${suffix}`, 45, w.db, true, o.loadedAt)
  const scale = `${n(o.customers)} customers, ${(o.events / 1e6).toFixed(0)}M events${o.dense ? ' (dense)' : ''}${o.loadedAt ? ', loaded_at' : ''}`

  // the first run builds the state: alternating pairs with a plain full run, both from nothing
  const pairs = o.customers <= 200_000 ? 3 : 1
  log(`incremental (${scale}): ${pairs} first runs of each project ...`)
  await w.arrive(D0)
  const first: Twins = {full: [], inc: [], runs: []}
  for (let i = 0; i < pairs; i++) {
    first.full.push(measure('run', full, D0, {rebuild: true}).ms)
    const r = measure('run', inc, D0, {rebuild: true})
    first.inc.push(r.ms)
    first.runs.push(r)
  }
  await checkEqual(w.db, full, inc, D0, 'first')
  emit(rows, [`incremental run, first (builds state), median of ${pairs}; ${scale}`, fmt(median(first.inc)), `${x(median(first.inc), median(first.full))} a plain full run from nothing (${fmt(median(first.full))}); per pair ${ratios(first).map((r) => r.toFixed(2)).join(', ')}; target ≤ 1.1×: ${verdict(median(first.inc) <= 1.1 * median(first.full))}`])

  log('incremental: 7 daily runs, each beside a full run and checked equal ...')
  const days = Array.from({length: 7}, (_, i) => D0 + (i + 1) * DAY)
  const daily = await twinRuns(w, full, inc, days, 'daily')
  if (daily.runs.some((r) => r.mode !== 'incremental')) throw new Error(`daily runs not incremental: ${daily.runs.map((r) => r.mode)}`)
  emit(rows, timeRow('incremental run, daily (median of 7)', daily, 0.6, '7 of 7 equal to the full run, table by table'))

  log('incremental: rows read, daily (profiled runs) ...')
  const D8 = D0 + 8 * DAY
  for (const r of await rowsRead(w, full, inc, D0 + 7 * DAY, D8, 'daily', '≤ 1.1× the minimum')) emit(rows, r)
  for (const r of await stateFigures(w.db, inc)) emit(rows, r)
  if (o.dailyOnly) return rows

  log('incremental: 24 hourly runs, each beside a full run and checked equal ...')
  const hours = Array.from({length: 24}, (_, i) => D8 + (i + 1) * HOUR)
  const hourly = await twinRuns(w, full, inc, hours, 'hourly')
  emit(rows, timeRow('incremental run, hourly (median of 24)', hourly, o.loadedAt ? 0.2 : 0.4, '24 of 24 equal to the full run, table by table'))

  log('incremental: rows read, hourly (profiled runs) ...')
  const D9 = D8 + DAY
  for (const r of await rowsRead(w, full, inc, D9, D9 + HOUR, 'hourly', o.loadedAt ? '≤ 3% of the relation' : '≤ 1.1× the minimum')) emit(rows, r)

  log('incremental: --full runs of the incremental project beside plain full runs ...')
  const fulls = await twinRuns(w, full, inc, [2, 3, 4].map((h) => D9 + h * HOUR), '--full', {full: true})
  emit(rows, [`incremental project, \`--full\` run (median of 3)`, fmt(median(fulls.inc)), `${x(median(fulls.inc), median(fulls.full))} a plain full run at the same as_of (${fmt(median(fulls.full))}); per pair ${ratios(fulls).map((r) => r.toFixed(2)).join(', ')}; target ≤ 1.1×: ${verdict(median(fulls.inc) <= 1.1 * median(fulls.full))}; 3 of 3 equal`])
  for (const r of await stateFigures(w.db, inc)) emit(rows, r)
  if (o.hourly || o.loadedAt || o.dense) return rows
  rows.push(...(await extras(w.db, full, inc, o)))
  return rows
}

/** The whole bench only: the write floor and the naive plan at the bench's scale; 10 → 200 segments and history doubled at a fifth of it. */
async function extras(db: string, full: string, inc: string, o: Options): Promise<Row[]> {
  const rows: Row[] = []
  // the write floor at a day after the runs above: scans by hand, and the day's changes written by hand
  log('incremental: write floor ...')
  const DX = D0 + 12 * DAY
  const pre = join(DATA_DIR, 'write-floor.duckdb')
  copyFileSync(db, pre)
  const fullDX = measure('run', full, DX)
  measure('run', inc, DX)
  await withDb(pre, async (c) => {
    await c.execute(`ATTACH '${db}' AS post (READ_ONLY)`)
    const s = schemaOf(full)
    await c.execute(`CREATE OR REPLACE TABLE main.bench_changes AS
      SELECT t.segment, t.entity, t.entity_key, t.change, coalesce(m.holdout, FALSE) AS holdout
      FROM post."${s}".segment_transitions AS t LEFT JOIN post."${s}".segment_membership AS m USING (segment, entity, entity_key)
      WHERE t.transitioned_at = ${lit(DX)}`)
    await c.execute('DETACH post')
  }, DUCKDB.threads)
  const floorProject = join(DATA_DIR, 'inc-write-floor')
  rmSync(floorProject, {recursive: true, force: true})
  writeBenchProject(floorProject, 45, pre, {...DUCKDB, schema: schemaOf(full)})
  const writeFloor = measure('write-floor', floorProject, DX, {schema: schemaOf(full)})
  rmSync(pre, {force: true})
  emit(rows, ["write floor: hand-written scans + the day's writes", fmt(writeFloor.ms), `${writeFloor.changes} changes written (transitions, history, membership, sizes); the full run that day ${fmt(fullDX.ms)} = ${x(fullDX.ms, writeFloor.ms)} it`])

  log('incremental: naive plan ...')
  const naive = measure('naive', full, DX)
  emit(rows, ['naive: one query per segment', fmt(naive.ms), `${x(naive.ms, fullDX.ms)} the full run`])

  // a fifth of the scale: segments and history
  const sc = o.quick ? o.customers : Math.round(o.customers / 5)
  const se = o.quick ? o.events : Math.round(o.events / 5)
  const small = `${(sc / 1e3).toFixed(0)}k customers, ${(se / 1e6).toFixed(0)}M events`
  const sdb = await timeOrdered(await benchWarehouse(sc, se, DUCKDB.threads))
  const days = Array.from({length: 3}, (_, i) => D0 + (i + 1) * DAY)
  log(`incremental (${small}): 10 and 200 segments ...`)
  const growth = (segments: number) => {
    const dir = project(`sinc_${segments}`, segments, sdb, true)
    measure('run', dir, D0, {rebuild: true})
    return median(days.map((d) => measure('run', dir, d).ms))
  }
  const g10 = growth(10)
  const g200 = growth(200)
  emit(rows, [`incremental, 10 → 200 segments; ${small}`, `${fmt(g10)} → ${fmt(g200)}`, x(g200, g10)])

  log(`incremental (${small}): history doubled ...`)
  const once = await timeOrdered(await benchWarehouse(sc, Math.round(se / 2), DUCKDB.threads))
  const twice = await timeOrdered(await benchWarehouse(sc, Math.round(se / 2), DUCKDB.threads), 'bytime-doubled', true)
  const history = (database: string, name: string) => {
    const dir = project(name, 45, database, true)
    measure('run', dir, D0, {rebuild: true})
    return median(days.map((d) => measure('run', dir, d).ms))
  }
  const h1 = history(once, 'sinc_hist1')
  const h2 = history(twice, 'sinc_hist2')
  const counts = async (path: string) => withDb(path, async (c) => Number((await c.query('SELECT (SELECT count(*) FROM main.orders) + (SELECT count(*) FROM main.events) AS n'))[0]!.n), DUCKDB.threads)
  const [n1, n2] = [await counts(once), await counts(twice)]
  emit(rows, [`incremental, history ${(n1 / 1e6).toFixed(1)}M → ${(n2 / 1e6).toFixed(1)}M rows; ${sc / 1e3}k customers`, `${fmt(h1)} → ${fmt(h2)}`, `${(((h2 - h1) / h1) * 100).toFixed(1)}% (the same days' events, twice the history behind them)`])
  return rows
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, quick: {type: 'boolean'}, 'daily-only': {type: 'boolean'}, hourly: {type: 'boolean'}, 'loaded-at': {type: 'boolean'}, dense: {type: 'boolean'}}})
  const quick = flags.quick === true
  const dense = flags.dense === true
  const customers = Number(flags.customers ?? (dense ? 10_000 : quick ? 100_000 : 1_000_000))
  const events = Number(flags.events ?? (dense ? customers * 500 : quick ? 2_000_000 : 50_000_000))
  const started = Date.now()
  const rows = await incrementalBench({customers, events, quick, dense, dailyOnly: flags['daily-only'] === true, hourly: flags.hourly === true, loadedAt: flags['loaded-at'] === true})
  console.log(`segc incremental benchmark: ${n(customers)} customers, ~${n(events)} events; ${cpus().length} cores; node ${process.version}\n`)
  for (const [a, b, c] of rows) console.log(`${a}  ${b}  ${c}`)
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)
}

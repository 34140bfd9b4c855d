// Incremental runs (SPEC §13) against full runs on the bench warehouse, side by side: daily and
// hourly runs, rows of events read (DuckDB's profiler), the write floor, history doubled,
// 10 → 200 segments, state size, and the naive plan. Every run of the incremental project is
// checked equal to the full project's run at the same as_of, table by table.
// `npm run bench:incremental` alone; `npm run bench` includes it.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --quick (100k / 2M)
//        --daily-only (the first run and the 7 daily twins, nothing else: a quick look while building)
import {spawnSync} from 'node:child_process'
import {appendFileSync, copyFileSync, existsSync, rmSync, statSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {fileURLToPath} from 'node:url'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'
import {writeBenchProject} from './project.js'
import {benchWarehouse, DATA_DIR, log, median} from './shared.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const AS_OF = Date.parse('2026-06-01T00:00:00Z')
/** the steady-state days of the other benches (bench/run.ts): a month before the data's anchor */
const D0 = AS_OF - 30 * DAY
const DUCKDB = {threads: cpus().length, memoryLimit: '3GB'}
const here = fileURLToPath(new URL('.', import.meta.url))

type Row = [string, string, string]
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const iso = (ms: number) => new Date(ms).toISOString()
const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`

function measure(kind: string, project: string, asOf: number, extra: Record<string, unknown> = {}): {ms: number} & Record<string, any> {
  const r = spawnSync(process.execPath, [join(here, 'measure.js'), JSON.stringify({kind, project, asOf: iso(asOf), ...extra})], {encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

async function withDb<T>(path: string, f: (c: WarehouseConnection) => Promise<T>): Promise<T> {
  const c = await duckdbAdapter.connect({name: 'bench', type: 'duckdb', path, threads: DUCKDB.threads}, DATA_DIR)
  try {
    return await f(c)
  } finally {
    await c.close()
  }
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
  })
  spawnSync('mv', [`${path}.tmp`, path])
  return path
}

function project(name: string, segments: number, database: string, incremental: boolean): string {
  const dir = join(DATA_DIR, `inc-${name}`)
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, segments, database, {...DUCKDB, schema: `bench_${name}`})
  if (incremental) appendFileSync(join(dir, 'segc.yaml'), 'incremental:\n  late_arrival: 2d\n')
  return dir
}

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
  let n = 0
  const at = `TIMESTAMP '${iso(asOf).replace('T', ' ').replace('.000Z', '')}'`
  for (const [t, {cols, at: when}] of Object.entries(COMPARED)) {
    const where = when ? ` WHERE ${when} >= ${at}` : ''
    const q = (x: string, y: string) => `SELECT count(*) AS n FROM (SELECT ${cols} FROM "${x}"."${t}"${where} EXCEPT ALL SELECT ${cols} FROM "${y}"."${t}"${where})`
    n += Number((await c.query(q(a, b)))[0]!.n) + Number((await c.query(q(b, a)))[0]!.n)
  }
  return n
}

/** Runs the full and the incremental project at each as_of, checks them equal after each; times of each. */
async function twinRuns(db: string, full: string, inc: string, points: number[], label: string): Promise<{full: number[]; inc: number[]; modes: string[]}> {
  const out = {full: [] as number[], inc: [] as number[], modes: [] as string[]}
  for (const at of points) {
    out.full.push(measure('run', full, at).ms)
    const r = measure('run', inc, at)
    out.inc.push(r.ms)
    out.modes.push(String(r.mode))
    const diff = await withDb(db, (c) => differences(c, schemaOf(full), schemaOf(inc), at))
    log(`  ${label} ${iso(at)}: full ${fmt(out.full.at(-1)!)}, incremental ${fmt(r.ms)} (${r.mode}), equal: ${diff === 0}`)
    if (diff !== 0) throw new Error(`${label} at ${iso(at)}: the incremental run's tables differ from the full run's in ${diff} rows`)
  }
  return out
}
const schemaOf = (dir: string) => `bench_${dir.split('inc-').at(-1)}`

/** Bytes of a query's rows written as Parquet (zstd): one measure for state and events alike. */
async function parquetBytes(c: WarehouseConnection, query: string): Promise<number> {
  const file = join(DATA_DIR, `size-${process.pid}.parquet`)
  await c.execute(`COPY (${query}) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`)
  const bytes = statSync(file).size
  rmSync(file)
  return bytes
}

/** Rows as they come: logged at once, so a long bench that stops later has shown what it measured. */
function emit(rows: Row[], row: Row): void {
  rows.push(row)
  log(`  » ${row.join('  ')}`)
}

/**
 * At the bench's scale: 7 daily runs beside full runs (equal, table by table), the write floor,
 * rows read, a few hourly runs, state size, naive. Then, at a fifth of the scale (an incremental
 * run at full scale takes about a minute: BENCHMARKS.md), 24 hourly runs beside full runs, 10 →
 * 200 segments, and history doubled.
 */
export async function incrementalBench(customers: number, events: number, quick: boolean, dailyOnly = false): Promise<Row[]> {
  const rows: Row[] = []
  const db = await timeOrdered(await benchWarehouse(customers, events, DUCKDB.threads))
  const full = project('full_45', 45, db, false)
  const inc = project('inc_45', 45, db, true)
  const days = Array.from({length: 7}, (_, i) => D0 + (i + 1) * DAY)
  const scale = `${(customers / 1e6).toLocaleString('en')}M customers, ${(events / 1e6).toFixed(0)}M events`
  log(`incremental (${scale}): first runs (the incremental project builds its state) ...`)
  measure('run', full, D0, {rebuild: true})
  const first = measure('run', inc, D0, {rebuild: true})
  emit(rows, [`incremental run, first (builds state); ${scale}`, fmt(first.ms), 'mode full: reads every source whole and writes its state'])
  log('incremental: 7 daily runs, each beside a full run and checked equal ...')
  const daily = await twinRuns(db, full, inc, days, 'daily')
  if (daily.modes.some((m) => m !== 'incremental')) throw new Error(`daily runs not incremental: ${daily.modes}`)
  const dailyFull = median(daily.full)
  const dailyInc = median(daily.inc)
  emit(rows, ['full run, 45 segments (daily, median of 7)', fmt(dailyFull), `time-ordered warehouse (as it lands); the same data and as_of as the incremental runs`])
  emit(rows, ['incremental run, daily (median of 7)', fmt(dailyInc), `${x(dailyInc, dailyFull)} the full run; 7 of 7 equal to it, table by table`])
  if (dailyOnly) return rows

  // the write floor at the day after: scans by hand, and the day's changes written by hand
  log('incremental: write floor ...')
  const D8 = D0 + 8 * DAY
  const pre = join(DATA_DIR, 'write-floor.duckdb')
  copyFileSync(db, pre)
  const fullD8 = measure('run', full, D8)
  measure('run', inc, D8)
  await withDb(pre, async (c) => {
    await c.execute(`ATTACH '${db}' AS post (READ_ONLY)`)
    const s = schemaOf(full)
    await c.execute(`CREATE OR REPLACE TABLE main.bench_changes AS
      SELECT t.segment, t.entity, t.entity_key, t.change, coalesce(m.holdout, FALSE) AS holdout
      FROM post."${s}".segment_transitions AS t LEFT JOIN post."${s}".segment_membership AS m USING (segment, entity, entity_key)
      WHERE t.transitioned_at = TIMESTAMP '${iso(D8).replace('T', ' ').replace('.000Z', '')}'`)
    await c.execute('DETACH post')
  })
  const floorProject = join(DATA_DIR, 'inc-write-floor')
  rmSync(floorProject, {recursive: true, force: true})
  writeBenchProject(floorProject, 45, pre, {...DUCKDB, schema: schemaOf(full)})
  const writeFloor = measure('write-floor', floorProject, D8, {schema: schemaOf(full)})
  rmSync(pre, {force: true})
  emit(rows, ["write floor: hand-written scans + the day's writes", fmt(writeFloor.ms), `${writeFloor.changes} changes written (transitions, history, membership, sizes); the full run that day ${fmt(fullD8.ms)} = ${x(fullD8.ms, writeFloor.ms)} it`])

  log('incremental: rows read (profiled runs) ...')
  const D9 = D0 + 9 * DAY
  const readFull = measure('run-profiled', full, D9)
  const readInc = measure('run-profiled', inc, D9)
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
  emit(rows, ['rows of events read, full run', sum(readFull.scanned).toLocaleString('en'), JSON.stringify(readFull.scanned)])
  emit(rows, ['rows of events read, incremental run', sum(readInc.scanned).toLocaleString('en'), `${((100 * sum(readInc.scanned)) / sum(readFull.scanned)).toFixed(1)}% of the full run's (state write and scan); ${JSON.stringify(readInc.scanned)}`])

  log('incremental: hourly runs ...')
  const hours = Array.from({length: 6}, (_, i) => D9 + (i + 1) * HOUR)
  const hourly = await twinRuns(db, full, inc, hours, 'hourly')
  emit(rows, [`incremental run, hourly (median of ${hours.length})`, fmt(median(hourly.inc)), `${x(median(hourly.inc), median(hourly.full))} the full run at the same as_of (${fmt(median(hourly.full))}); ${hours.length} of ${hours.length} equal`])

  log('incremental: state size ...')
  const state = await stateSize(db, schemaOf(inc))
  emit(rows, ['state: rows / the events they stand for', `${state.stateRows.toLocaleString('en')} / ${state.stood.toLocaleString('en')}`, `${x(state.stateRows, state.stood)}; distinct (key, day) pairs with events: ${x(state.keyDays, state.stood)} of them (the least day buckets can hold)`])
  emit(rows, ['state: bytes / the events they stand for (Parquet, zstd)', `${(state.stateBytes / 2 ** 20).toFixed(0)} / ${(state.eventBytes / 2 ** 20).toFixed(0)} MB`, x(state.stateBytes, state.eventBytes)])

  log('incremental: naive plan ...')
  const naive = measure('naive', full, D9)
  emit(rows, ['naive: one query per segment', fmt(naive.ms), `${x(naive.ms, median(hourly.inc))} the hourly incremental run, ${x(naive.ms, median(hourly.full))} the full run`])

  // a fifth of the scale: 24 hourly runs, segments and history
  const sc = quick ? customers : Math.round(customers / 5)
  const se = quick ? events : Math.round(events / 5)
  const small = `${(sc / 1e3).toFixed(0)}k customers, ${(se / 1e6).toFixed(0)}M events`
  const sdb = await timeOrdered(await benchWarehouse(sc, se, DUCKDB.threads))
  const sfull = project('sfull_45', 45, sdb, false)
  const sinc = project('sinc_45', 45, sdb, true)
  log(`incremental (${small}): 24 hourly runs beside full runs ...`)
  measure('run', sfull, D9, {rebuild: true})
  measure('run', sinc, D9, {rebuild: true})
  const h24 = await twinRuns(sdb, sfull, sinc, Array.from({length: 24}, (_, i) => D9 + (i + 1) * HOUR), 'hourly')
  emit(rows, [`incremental run, hourly (median of 24); ${small}`, fmt(median(h24.inc)), `${x(median(h24.inc), median(h24.full))} the full run (${fmt(median(h24.full))}); 24 of 24 equal, table by table`])

  log(`incremental (${small}): 10 and 200 segments ...`)
  const growth = (n: number) => {
    const dir = project(`sinc_${n}`, n, sdb, true)
    measure('run', dir, D0, {rebuild: true})
    return median(days.slice(0, 3).map((d) => measure('run', dir, d).ms))
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
    return median(days.slice(0, 3).map((d) => measure('run', dir, d).ms))
  }
  const h1 = history(once, 'sinc_hist1')
  const h2 = history(twice, 'sinc_hist2')
  const counts = async (path: string) => withDb(path, async (c) => Number((await c.query('SELECT (SELECT count(*) FROM main.orders) + (SELECT count(*) FROM main.events) AS n'))[0]!.n))
  const [n1, n2] = [await counts(once), await counts(twice)]
  emit(rows, [`incremental, history ${(n1 / 1e6).toFixed(1)}M → ${(n2 / 1e6).toFixed(1)}M rows; ${sc / 1e3}k customers`, `${fmt(h1)} → ${fmt(h2)}`, `${(((h2 - h1) / h1) * 100).toFixed(1)}% (the same days' events, twice the history behind them)`])
  return rows
}

/** The state's rows and bytes against the events they stand for, and the distinct (key, day) pairs among those events. */
async function stateSize(db: string, schema: string) {
  return withDb(db, async (c) => {
    const reg = await c.query(`SELECT state_table, source, horizon, frozen FROM "${schema}".segment_state_sources`)
    let stateRows = 0
    let stood = 0
    let keyDays = 0
    let stateBytes = 0
    let eventBytes = 0
    for (const r of reg) {
      const t = `"${schema}"."${String(r.state_table)}"`
      const size = (await c.query(`SELECT count(*) AS n, sum(segc_events) AS e, count(*) FILTER (WHERE segc_vslot IS NULL) AS d FROM ${t}`))[0]!
      stateRows += Number(size.n)
      stood += Number(size.e ?? 0)
      keyDays += Number(size.d)
      stateBytes += await parquetBytes(c, `SELECT * FROM ${t}`)
      // the events it stands for, at the source table's own bytes per row
      const rel = String(r.source).split(' ')[0]!
      const all = Number((await c.query(`SELECT count(*) AS n FROM ${rel}`))[0]!.n)
      eventBytes += ((await parquetBytes(c, `SELECT * FROM ${rel}`)) / all) * Number(size.e ?? 0)
    }
    return {stateRows, stood, keyDays, stateBytes, eventBytes}
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, quick: {type: 'boolean'}, 'daily-only': {type: 'boolean'}}})
  const quick = flags.quick === true
  const customers = Number(flags.customers ?? (quick ? 100_000 : 1_000_000))
  const events = Number(flags.events ?? (quick ? 2_000_000 : 50_000_000))
  const started = Date.now()
  const rows = await incrementalBench(customers, events, quick, flags['daily-only'] === true)
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
  console.log(`segc incremental benchmark: ${customers.toLocaleString('en')} customers, ~${events.toLocaleString('en')} events; ${cpus().length} cores; node ${process.version}\n`)
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c}`)
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)
}

// Incremental runs (SPEC §13) against full runs on the bench warehouse, side by side: daily and
// hourly runs, rows of events read (DuckDB's profiler), the write floor, history doubled,
// 10 → 200 segments, state size, and the naive plan. Every run of the incremental project is
// checked equal to the full project's run at the same as_of, table by table.
// `npm run bench:incremental` alone; `npm run bench` includes it.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --quick (100k / 2M)
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
async function timeOrdered(source: string, suffix = 'bytime', doubled = false): Promise<string> {
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

const COMPARED: Record<string, string> = {
  segment_membership: 'segment, entity, entity_key, entered_at, holdout',
  segment_membership_history: 'segment, entity, entity_key, valid_from, valid_to, holdout',
  segment_transitions: 'transitioned_at, segment, entity, entity_key, change, cause',
  segment_group_transitions: 'transitioned_at, group_name, entity, entity_key, from_segment, to_segment',
  segment_sizes: 'as_of, segment, size, holdout_size, entered, exited',
}

/** Rows in one schema's output tables and not the other's (both ways); 0 when the runs wrote the same. */
async function differences(c: WarehouseConnection, a: string, b: string): Promise<number> {
  let n = 0
  for (const [t, cols] of Object.entries(COMPARED)) {
    const q = (x: string, y: string) => `SELECT count(*) AS n FROM (SELECT ${cols} FROM "${x}"."${t}" EXCEPT ALL SELECT ${cols} FROM "${y}"."${t}")`
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
    const diff = await withDb(db, (c) => differences(c, schemaOf(full), schemaOf(inc)))
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

export async function incrementalBench(customers: number, events: number, quick: boolean): Promise<Row[]> {
  const rows: Row[] = []
  const db = await timeOrdered(await benchWarehouse(customers, events, DUCKDB.threads))
  const full = project('full_45', 45, db, false)
  const inc = project('inc_45', 45, db, true)
  const days = Array.from({length: 7}, (_, i) => D0 + (i + 1) * DAY)
  log('incremental: first runs (the incremental project builds its state) ...')
  measure('run', full, D0, {rebuild: true})
  const first = measure('run', inc, D0, {rebuild: true})
  log('incremental: 7 daily runs, each beside a full run and checked equal ...')
  const daily = await twinRuns(db, full, inc, days, 'daily')
  if (daily.modes.some((m) => m !== 'incremental')) throw new Error(`daily runs not incremental: ${daily.modes}`)

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

  log('incremental: rows read (profiled runs) ...')
  const D9 = D0 + 9 * DAY
  const readFull = measure('run-profiled', full, D9)
  const readInc = measure('run-profiled', inc, D9)
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)

  log('incremental: 24 hourly runs, each beside a full run ...')
  const hours = Array.from({length: quick ? 6 : 24}, (_, i) => D9 + (i + 1) * HOUR)
  const hourly = await twinRuns(db, full, inc, hours, 'hourly')

  log('incremental: state size ...')
  const state = await withDb(db, async (c) => {
    const reg = await c.query(`SELECT state_table, source FROM "${schemaOf(inc)}".segment_state_sources`)
    let stateRows = 0
    let stood = 0
    let stateBytes = 0
    let eventBytes = 0
    for (const r of reg) {
      const t = `"${schemaOf(inc)}"."${String(r.state_table)}"`
      const size = (await c.query(`SELECT count(*) AS n, sum(segc_events) AS e FROM ${t}`))[0]!
      stateRows += Number(size.n)
      stood += Number(size.e ?? 0)
      stateBytes += await parquetBytes(c, `SELECT * FROM ${t}`)
      // the events it stands for, at the source table's own bytes per row
      const rel = String(r.source).split(' ')[0]!
      const all = Number((await c.query(`SELECT count(*) AS n FROM ${rel}`))[0]!.n)
      eventBytes += ((await parquetBytes(c, `SELECT * FROM ${rel}`)) / all) * Number(size.e ?? 0)
    }
    return {stateRows, stood, stateBytes, eventBytes}
  })

  log('incremental: 10 and 200 segments ...')
  const growth = (n: number) => {
    const dir = project(`inc_${n}`, n, db, true)
    measure('run', dir, D0, {rebuild: true})
    return median(days.slice(0, 3).map((d) => measure('run', dir, d).ms))
  }
  const g10 = growth(10)
  const g200 = growth(200)

  log('incremental: history doubled ...')
  const halfEvents = Math.round(events / 2)
  const small = await benchWarehouse(customers, halfEvents, DUCKDB.threads)
  const once = await timeOrdered(small)
  const twice = await timeOrdered(small, 'bytime-doubled', true)
  const history = (database: string, name: string) => {
    const dir = project(name, 45, database, true)
    measure('run', dir, D0, {rebuild: true})
    const ms = median(days.slice(0, 3).map((d) => measure('run', dir, d).ms))
    return {ms, events: 0}
  }
  const h1 = history(once, 'inc_hist1')
  const h2 = history(twice, 'inc_hist2')
  const counts = async (path: string) => withDb(path, async (c) => Number((await c.query('SELECT (SELECT count(*) FROM main.orders) + (SELECT count(*) FROM main.events) AS n'))[0]!.n))
  const [n1, n2] = [await counts(once), await counts(twice)]

  log('incremental: naive plan ...')
  const naive = measure('naive', full, D9)

  const dailyFull = median(daily.full)
  const dailyInc = median(daily.inc)
  const hourlyFull = median(hourly.full)
  const hourlyInc = median(hourly.inc)
  const floorMs = writeFloor.ms
  rows.push(['full run, 45 segments (daily, median of 7)', fmt(dailyFull), `time-ordered warehouse; run / write floor = ${x(dailyFull, floorMs)}`])
  rows.push(['write floor: hand-written scans + the day\'s writes', fmt(floorMs), `${writeFloor.changes} changes written (transitions, history, membership, sizes)`])
  rows.push(['incremental run, first (builds state)', fmt(first.ms), 'mode full: reads every source whole and writes its state'])
  rows.push(['incremental run, daily (median of 7)', fmt(dailyInc), `${x(dailyInc, dailyFull)} the full run; 7 of 7 equal to it, table by table`])
  rows.push(['incremental run, hourly (median of ' + hours.length + ')', fmt(hourlyInc), `${x(hourlyInc, hourlyFull)} the full run at the same as_of (${fmt(hourlyFull)}); ${hours.length} of ${hours.length} equal`])
  rows.push(['rows of events read, full run', sum(readFull.scanned).toLocaleString('en'), JSON.stringify(readFull.scanned)])
  rows.push(['rows of events read, incremental run', sum(readInc.scanned).toLocaleString('en'), `${((100 * sum(readInc.scanned)) / sum(readFull.scanned)).toFixed(1)}% of the full run's; ${JSON.stringify(readInc.scanned)}`])
  rows.push([`incremental, history ${(n1 / 1e6).toFixed(0)}M → ${(n2 / 1e6).toFixed(0)}M events`, `${fmt(h1.ms)} → ${fmt(h2.ms)}`, `${(((h2.ms - h1.ms) / h1.ms) * 100).toFixed(1)}% change (the same days' events, twice the history behind them)`])
  rows.push(['incremental, 10 → 200 segments', `${fmt(g10)} → ${fmt(g200)}`, `${x(g200, g10)}`])
  rows.push(['state: rows / the events they stand for', `${state.stateRows.toLocaleString('en')} / ${state.stood.toLocaleString('en')}`, x(state.stateRows, state.stood)])
  rows.push(['state: bytes / the events they stand for (Parquet, zstd)', `${(state.stateBytes / 2 ** 20).toFixed(0)} / ${(state.eventBytes / 2 ** 20).toFixed(0)} MB`, x(state.stateBytes, state.eventBytes)])
  rows.push(['naive: one query per segment', fmt(naive.ms), `${x(naive.ms, hourlyInc)} the hourly incremental run`])
  rows.push(['full run at the write floor\'s day', fmt(fullD8.ms), `${x(fullD8.ms, floorMs)} the write floor`])
  return rows
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, quick: {type: 'boolean'}}})
  const quick = flags.quick === true
  const customers = Number(flags.customers ?? (quick ? 100_000 : 1_000_000))
  const events = Number(flags.events ?? (quick ? 2_000_000 : 50_000_000))
  const started = Date.now()
  const rows = await incrementalBench(customers, events, quick)
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
  console.log(`segc incremental benchmark: ${customers.toLocaleString('en')} customers, ~${events.toLocaleString('en')} events; ${cpus().length} cores; node ${process.version}\n`)
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c}`)
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)
}

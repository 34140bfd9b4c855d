// The lift statement, whole against kept state (issue 32): daily runs of a measured segment at the
// same as_of on two projects, one full and one incremental, over generated events; prints each
// run's time in the lift statements (the kept state's and the whole history's) and the outcome
// rows each reads. Not a timed test: `npm run build && node dist/bench/lift.js [CUSTOMERS] [EVENTS]`.
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {runProject} from '../src/run/run-project.js'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'

const customers = Number(process.argv[2] ?? 200_000)
const events = Number(process.argv[3] ?? 10_000_000)
const DAY = 86_400_000
const START = Date.parse('2026-01-01T00:00:00Z')
const FIRST = START + 60 * DAY

function project(incremental: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'segc-lift-bench-'))
  mkdirSync(join(dir, 'models'))
  mkdirSync(join(dir, 'segments'))
  writeFileSync(join(dir, 'segc.yaml'), `name: b\ntargets:\n  local: {type: duckdb, path: ":memory:"}\n${incremental ? 'incremental: {late_arrival: 2d}\n' : ''}`)
  writeFileSync(join(dir, 'models/m.yaml'), `entities:\n  customer: {table: main.customers, key: customer_id}\nevents:\n  view: {entity: customer, table: main.events, key: customer_id, timestamp: ts}\n  order: {entity: customer, table: main.orders, key: customer_id, timestamp: ordered_at}\n`)
  writeFileSync(join(dir, 'segments/s.yaml'), `segment: buyer\nentity: customer\nrule: {event: order, within: 14d}\nholdout: {percent: 10, salt: b}\nmeasure: {outcome: {event: view, within: 7d}}\n`)
  return dir
}

async function open(dir: string): Promise<WarehouseConnection> {
  const c = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
  await c.execute(`CREATE TABLE main.customers AS SELECT 'c' || i AS customer_id FROM range(${customers}) t(i)`)
  // views spread over 90 days, orders a twentieth of them
  await c.execute(`CREATE TABLE main.events AS SELECT 'c' || (hash(i) % ${customers}) AS customer_id, TIMESTAMP '2026-01-01' + to_seconds(CAST(hash(i * 7) % (90 * 86400) AS BIGINT)) AS ts FROM range(${events}) t(i) ORDER BY ts`)
  await c.execute(`CREATE TABLE main.orders AS SELECT 'c' || (hash(i + 1) % ${customers}) AS customer_id, TIMESTAMP '2026-01-01' + to_seconds(CAST(hash(i * 11) % (90 * 86400) AS BIGINT)) AS ordered_at FROM range(${events / 20}) t(i) ORDER BY ordered_at`)
  return c
}

/** the connection, with the time of statements on lift counted */
function timed(c: WarehouseConnection, sink: {ms: number}): WarehouseConnection {
  const lift = (s: string) => /segment_state_lift|segc_lift_|members_converted/.test(s)
  const wrap = <T>(s: string, f: () => Promise<T>) => {
    if (!lift(s)) return f()
    const t = performance.now()
    return f().finally(() => (sink.ms += performance.now() - t))
  }
  return {...c, execute: (s) => wrap(s, () => c.execute(s)), query: (s) => wrap(s, () => c.query(s)), tableExists: c.tableExists.bind(c), close: c.close.bind(c)}
}

const full = project(false)
const inc = project(true)
const a = await open(full)
const b = await open(inc)
console.log(`${customers} customers, ${events} views, ${events / 20} orders; daily runs; lift statements' time (ms)`)
console.log('as_of       full   incremental  lift rows equal')
for (let d = 0; d < 8; d++) {
  const at = new Date(FIRST + d * DAY).toISOString()
  const ta = {ms: 0}
  const tb = {ms: 0}
  await runProject({project: full, asOf: at, connection: timed(a, ta)})
  const r = await runProject({project: inc, asOf: at, connection: timed(b, tb)})
  const q = `SELECT members, members_converted, holdout, holdout_converted FROM segments.segment_lift ORDER BY run_id DESC LIMIT 1`
  const same = JSON.stringify(await a.query(q), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) === JSON.stringify(await b.query(q), (_k, v) => (typeof v === 'bigint' ? Number(v) : v))
  console.log(`${at.slice(0, 10)}  ${ta.ms.toFixed(0).padStart(5)}  ${tb.ms.toFixed(0).padStart(6)} (${r.lift?.[0]?.how})  ${same}`)
}
const whole = Number((await b.query(`SELECT COUNT(*) AS n FROM main.events WHERE ts <= TIMESTAMP '2026-03-09'`))[0]!.n)
const slice = Number((await b.query(`SELECT COUNT(*) AS n FROM main.events WHERE ts > TIMESTAMP '2026-03-06' AND ts <= TIMESTAMP '2026-03-09'`))[0]!.n)
console.log(`outcome rows read by the last run: whole ${whole}, kept state ${slice} (the band and the day since the last run)`)
await a.close()
await b.close()

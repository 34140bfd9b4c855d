// `npm run bench:fit`: `segc fit` and a run with fitted traits at scale, on the demo generator
// (default 1M customers, 5 product events each: with ~4.8M orders about 10M events).
// Counts what crossed from the warehouse into Node during the fit (rows and their size as
// JSON), per model. Prints one table.
// Flags: --customers N (1,000,000)  --events-per-customer N (5)  --reps N (3, for the runs)
import {cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {DuckDBWarehouse} from '../adapters/duckdb/connection.js'
import {DEMO_AS_OF, demoStatements} from '../src/demo/demo-data.js'
import {fitProject} from '../src/models/fit-project.js'
import {runProject} from '../src/run/run-project.js'
import {FITTED_SEGMENTS} from './project.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const dataDir = join(repo, 'bench', '.data')
const {values: flags} = parseArgs({options: {customers: {type: 'string'}, 'events-per-customer': {type: 'string'}, reps: {type: 'string'}}})
const customers = Number(flags.customers ?? 1_000_000)
const eventsPerCustomer = Number(flags['events-per-customer'] ?? 5)
const reps = Number(flags.reps ?? 3)
const log = (s: string) => process.stderr.write(`${s}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)

// Every row a query hands to Node, counted at the one place rows cross the boundary.
const crossed = {rows: 0, bytes: 0, queries: 0}
const query = DuckDBWarehouse.prototype.query
DuckDBWarehouse.prototype.query = async function (this: DuckDBWarehouse, sql: string) {
  const rows = await query.call(this, sql)
  crossed.queries++
  crossed.rows += rows.length
  crossed.bytes += Buffer.byteLength(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
  return rows
}

mkdirSync(dataDir, {recursive: true})
const database = join(dataDir, `fit-shop-${customers}.duckdb`)
for (const f of [database, `${database}.wal`]) rmSync(f, {force: true})

/** The example project (models and segments, value segments included) pointed at the bench warehouse. */
function project(name: string, withValue: boolean, schema: string): string {
  const dir = join(dataDir, name)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true})
  cpSync(join(repo, 'models'), join(dir, 'models'), {recursive: true})
  cpSync(join(repo, 'segments'), join(dir, 'segments'), {recursive: true, filter: (src) => !src.endsWith('.test.yaml') && (withValue || !FITTED_SEGMENTS.some((f) => src.endsWith(f)))})
  writeFileSync(join(dir, 'segc.yaml'), `name: fitbench\noutput: {schema: ${schema}}\ndefault_target: bench\ntargets:\n  bench: {type: duckdb, path: ${JSON.stringify(database)}, threads: ${cpus().length}}\n`)
  return dir
}

log(`generating ${customers.toLocaleString('en-US')} customers…`)
const counts: Record<string, number> = {}
{
  const conn = await duckdbAdapter.connect({name: 'gen', type: 'duckdb', path: database}, dataDir)
  for (const s of demoStatements(customers, {seed: 1, eventsPerCustomer})) await conn.execute(s)
  for (const t of ['orders', 'events']) counts[t] = Number((await conn.query(`SELECT count(*) AS n FROM main.${t}`))[0]!.n)
  await conn.execute('CHECKPOINT')
  await conn.close()
}
const withValue = project('fit-project', true, 'segments')
const rows: Array<[string, string, string]> = []
rows.push(['data', `${customers.toLocaleString('en-US')} customers, ${counts.orders!.toLocaleString('en-US')} orders, ${counts.events!.toLocaleString('en-US')} product events`, `${(counts.orders! + counts.events!).toLocaleString('en-US')} events in all`])

for (const model of ['purchase_model', 'spend_model', 'value_cluster', 'will_order_30d']) {
  log(`fitting ${model}…`)
  Object.assign(crossed, {rows: 0, bytes: 0, queries: 0})
  const t = performance.now()
  const fit = await fitProject({project: withValue, asOf: DEMO_AS_OF, traits: [model]})
  const ms = performance.now() - t
  const m = fit.models[0]!
  const detail =
    m.kind === 'kmeans'
      ? `${String(m.detail.iterations)} Lloyd iterations`
      : m.kind === 'propensity'
        ? `${String(m.detail.iterations)} + ${String(m.detail.iterations_validation)} Newton iterations, AUC ${Number(m.params.auc).toFixed(3)}`
        : `${String(m.detail.groups)} summary groups, LL ${m.log_likelihood!.toFixed(1)}`
  rows.push([`segc fit ${model} (${m.kind})`, fmt(ms), `${m.n.toLocaleString('en-US')} entities; ${detail}; crossed to Node: ${crossed.rows.toLocaleString('en-US')} rows, ${(crossed.bytes / 1e6).toFixed(2)} MB in ${crossed.queries} queries`])
  log(`  ${fmt(ms)} ${JSON.stringify(m.params).slice(0, 200)}`)
}

/** Median of full runs (each a fresh output schema, so every run computes and writes everything). */
async function runs(dir: string, label: string) {
  const times: number[] = []
  let size = 0
  for (let i = 0; i < reps; i++) {
    const t = performance.now()
    const r = await runProject({project: dir, asOf: DEMO_AS_OF, rebuild: true})
    times.push(performance.now() - t)
    size = r.segments.length
    log(`  ${label} run ${i + 1}: ${fmt(times.at(-1)!)}`)
  }
  return {ms: median(times), segments: size}
}
const plain = project('fit-project-rules', false, 'segments_rules')
const a = await runs(plain, 'rules only')
rows.push([`segc run, rules only`, fmt(a.ms), `${a.segments} segments, median of ${reps}`])
const b = await runs(withValue, 'with fitted traits')
rows.push([`segc run with fitted traits`, fmt(b.ms), `${b.segments} segments (adds p_alive, expected purchases, CLV + decile, 4 clusters, order propensity percentile), median of ${reps}`])

const width = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`)
for (const r of rows) console.log(`${r[0].padEnd(width[0]!)}  ${r[1].padStart(width[1]!)}  ${r[2]}`)

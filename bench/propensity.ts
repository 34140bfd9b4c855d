// `npm run bench:propensity`: one propensity trait (SPEC §17; goal `order` within 30d, 10
// features from the bench project's traits and attributes, one a string) fitted on the bench
// warehouse, and what scoring it (probability and percentile) adds to a full run of the
// 45-segment bench project. The warehouse is the incremental section's time-ordered copy, so the
// full runs are comparable with BENCHMARKS.md's baseline there.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --reps N (3)
import {spawnSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {DuckDBWarehouse} from '../adapters/duckdb/connection.js'
import {fitProject} from '../src/models/fit-project.js'
import {timeOrdered} from './incremental.js'
import {writeBenchProject} from './project.js'
import {benchWarehouse, DATA_DIR, log, median} from './shared.js'

const DAY = 86_400_000
/** the incremental section's days: a month before the data's anchor, then daily */
const AS_OF = Date.parse('2026-06-01T00:00:00Z')
const D0 = AS_OF - 30 * DAY
const DUCKDB = {threads: cpus().length, memoryLimit: '3GB'}
const here = fileURLToPath(new URL('.', import.meta.url))
const iso = (ms: number) => new Date(ms).toISOString()
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`)

const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, reps: {type: 'string'}}})
const customers = Number(flags.customers ?? 1_000_000)
const events = Number(flags.events ?? 50_000_000)
const reps = Number(flags.reps ?? 3)

/** The trait the target names: 9 numbers and booleans and a string (country). */
const FEATURES = ['orders_total', 'orders_365d', 'revenue_365d', 'lifetime_revenue', 'days_since_last_order', 'avg_order_value', 'pricing_views_7d', 'email_opt_in', 'do_not_contact', 'country']
const MODELS = `traits:
  bench_will_order: { fit: propensity, goal: { event: order }, horizon: 30d, features: [${FEATURES.join(', ')}], label: order propensity (bench) }
  bench_order_probability: { predict: probability, model: bench_will_order, label: probability of ordering in 30 days }
  bench_order_percentile: { predict: percentile, model: bench_will_order, label: order propensity percentile }
`
const SEGMENTS = `segment: bench_likely_buyers
entity: customer
description: The tenth most likely to order in 30 days
owner: bench@acme.example
rule: { trait: bench_order_percentile, gte: 0.9 }
---
segment: bench_probable_buyers
entity: customer
description: At least an even chance of ordering in 30 days
owner: bench@acme.example
rule: { trait: bench_order_probability, gte: 0.5 }
`

function measure(project: string, asOf: number, rebuild = false): {ms: number; segments: number} {
  const r = spawnSync(process.execPath, [join(here, 'measure.js'), JSON.stringify({kind: 'run', project, asOf: iso(asOf), rebuild})], {encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

function project(name: string, db: string, scored: boolean): string {
  const dir = join(DATA_DIR, `prop-${name}-${customers}`)
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, 45, db, {...DUCKDB, schema: `bench_prop_${name}`})
  if (scored) {
    writeFileSync(join(dir, 'models', 'propensity.yaml'), MODELS)
    writeFileSync(join(dir, 'segments', 'propensity.yaml'), SEGMENTS)
  }
  return dir
}

// where the fit's time goes: each statement timed by what it builds
const spent = {snapshots: 0, newton: 0, other: 0, newtonStatements: 0}
const classify = (text: string) => (/CREATE[\s\S]*segc_prop_s[01]\b/.test(text) ? 'snapshots' : /AS loss\b/.test(text) ? 'newton' : 'other')
for (const m of ['query', 'execute'] as const) {
  const f = DuckDBWarehouse.prototype[m] as (this: DuckDBWarehouse, sql: string) => Promise<unknown>
  ;(DuckDBWarehouse.prototype as unknown as Record<string, unknown>)[m] = async function (this: DuckDBWarehouse, text: string) {
    const t = performance.now()
    try {
      return await f.call(this, text)
    } finally {
      const k = classify(text)
      spent[k] += performance.now() - t
      if (k === 'newton') spent.newtonStatements++
    }
  }
}

const started = Date.now()
const db = await timeOrdered(await benchWarehouse(customers, events, DUCKDB.threads))
const base = project('base', db, false)
const scored = project('scored', db, true)
const rows: Array<[string, string, string]> = []
const emit = (r: [string, string, string]) => {
  rows.push(r)
  log(`  » ${r.join('  ')}`)
}

log('propensity: fitting bench_will_order ...')
const t = performance.now()
const fit = await fitProject({project: scored, asOf: iso(AS_OF), traits: ['bench_will_order']}).catch((error: unknown) => {
  // say why, not just where: a bench that fails should leave its reason in the log
  log(`fit failed: ${error instanceof Error ? error.message : String(error)}`)
  throw error
})
const fitMs = performance.now() - t
const m = fit.models[0]!
const detail = m.detail as Record<string, number>
emit([
  `segc fit bench_will_order (10 features, ${(m.params.columns as unknown[]).length} design columns)`,
  fmt(fitMs),
  `snapshots ${fmt(spent.snapshots)}, Newton ${fmt(spent.newton)} (${spent.newtonStatements} statements), the rest ${fmt(fitMs - spent.snapshots - spent.newton)}; iterations ${detail.iterations} (refit) + ${detail.iterations_validation} (c0 model); n ${m.n.toLocaleString('en')}, base rate ${Number(m.params.base_rate).toFixed(4)}, out-of-time AUC ${Number(m.params.auc).toFixed(4)}`,
])
if (m.warnings?.length) log(`  warnings: ${m.warnings.join('; ')}`)

log('propensity: full runs, 45 segments alone and with the two scored segments, interleaved ...')
measure(base, D0, true)
measure(scored, D0, true)
const times = {base: [] as number[], scored: [] as number[]}
let segments = {base: 0, scored: 0}
for (let i = 1; i <= reps; i++) {
  const a = measure(base, D0 + i * DAY)
  const b = measure(scored, D0 + i * DAY)
  times.base.push(a.ms)
  times.scored.push(b.ms)
  segments = {base: a.segments, scored: b.segments}
  log(`  day ${i}: 45 segments ${fmt(a.ms)}, with propensity ${fmt(b.ms)}`)
}
const [a, b] = [median(times.base), median(times.scored)]
emit([`full run, ${segments.base} segments (daily, median of ${reps})`, fmt(a), 'the baseline: time-ordered warehouse, as in the incremental section'])
// on a shared machine a day's pair runs under one load: the median of the pairs' ratios is the figure to read
const pairs = times.scored.map((x, i) => x / times.base[i]!)
const pct = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`
emit([
  `full run, + probability and percentile (${segments.scored} segments)`,
  fmt(b),
  `pairs' ratios median ${pct(median(pairs))} (${pairs.map(pct).join(', ')}), medians ${pct(b / a)} (two segments on bench_order_probability and bench_order_percentile; their writes included)`,
])

const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
console.log(`segc propensity benchmark: ${customers.toLocaleString('en')} customers, ~${events.toLocaleString('en')} events; ${cpus().length} cores; node ${process.version}\n`)
for (const [x, y, z] of rows) console.log(`${x.padEnd(w[0]!)}  ${y.padStart(w[1]!)}  ${z}`)
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)

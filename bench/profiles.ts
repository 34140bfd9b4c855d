// `npm run bench:profiles` (SPEC §19): what publishing a profile of 10 of the bench project's
// traits adds to a full run of the 45-segment bench project and to an incremental daily run
// (baseline: the same project without `profile:`), and a daily sync of every customer to the
// file destination with three trait fields (one rounded) against a membership-only sync: that
// the daily one sends only the keys whose sent values changed, and how long each plans.
// The warehouse is the incremental section's time-ordered copy (bench/incremental.ts), so the
// full runs compare with BENCHMARKS.md's baseline there. Baseline and profile runs alternate
// (A B A B ...) and medians are taken, because the machine is shared.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --reps N (3)
//        --only full|incremental (that section alone)
//        --only sync (the sync section alone, over the projects and sync state a whole bench left)
import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {DuckDBWarehouse} from '../adapters/duckdb/connection.js'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {fitProject} from '../src/models/fit-project.js'
import {syncProject, type SyncReport} from '../src/sync/run-sync.js'
import {SyncStatements} from '../src/generate/sync-sql.js'
import {prepare} from '../src/project/session.js'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'
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
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const pct = (b: number, a: number) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`

const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, reps: {type: 'string'}, only: {type: 'string'}}})
const section = (name: 'full' | 'incremental' | 'sync') => flags.only === undefined || flags.only === name
const customers = Number(flags.customers ?? 1_000_000)
const events = Number(flags.events ?? 50_000_000)
const reps = Number(flags.reps ?? 3)

/**
 * The 10 traits: two counts, two sums, a timestamp, a days_since, the three RFM NTILEs and a
 * fitted value (the example's propensity probability, scored with the stored model version).
 */
const PROFILE = ['orders_total', 'orders_365d', 'revenue_365d', 'lifetime_revenue', 'last_order_at', 'days_since_last_order', 'r_score', 'f_score', 'm_score', 'order_probability']
const FITTED = 'will_order_30d'

function measure(project: string, asOf: number, rebuild = false): {ms: number; segments: number; mode: string} {
  const r = spawnSync(process.execPath, [join(here, 'measure.js'), JSON.stringify({kind: 'run', project, asOf: iso(asOf), rebuild})], {encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`)
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

/** The bench project with the example's profile replaced: none (the baseline) or PROFILE. */
function project(name: string, db: string, profiled: boolean, incremental: boolean): {dir: string; schema: string} {
  const dir = join(DATA_DIR, `prof-${name}-${customers}`)
  const schema = `bench_prof_${name}`
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, 45, db, {...DUCKDB, schema})
  const models = join(dir, 'models/shop.yaml')
  const text = readFileSync(models, 'utf8')
  const line = /^ {4}profile: \[.*\]$/m
  if (!line.test(text)) throw new Error('the example shop no longer has a profile: line to replace')
  writeFileSync(models, text.replace(line, profiled ? `    profile: [${PROFILE.join(', ')}]` : ''))
  if (incremental) appendFileSync(join(dir, 'segc.yaml'), 'incremental:\n  late_arrival: 2d\n')
  return {dir, schema}
}

async function fit(dir: string): Promise<void> {
  const t = performance.now()
  await fitProject({project: dir, asOf: iso(AS_OF), traits: [FITTED]})
  log(`  fitted ${FITTED} for ${dir} in ${fmt(performance.now() - t)}`)
}

const rows: Array<[string, string, string]> = []
const emit = (r: [string, string, string]) => {
  rows.push(r)
  log(`  » ${r.join('  ')}`)
}

/** Baseline and profiled runs alternating day by day after a first (rebuild) run of each. */
function alternate(label: string, base: string, profiled: string, days: number[]): {base: number; profiled: number; ratio: number} {
  measure(base, D0, true)
  measure(profiled, D0, true)
  const t = {base: [] as number[], profiled: [] as number[]}
  for (const d of days) {
    const a = measure(base, d)
    const b = measure(profiled, d)
    if (a.mode !== b.mode) throw new Error(`${label}: the two projects ran in different modes (${a.mode}, ${b.mode})`)
    t.base.push(a.ms)
    t.profiled.push(b.ms)
    log(`  ${label} ${iso(d)} (${a.mode}): without profile ${fmt(a.ms)}, with ${fmt(b.ms)}`)
  }
  // each pair ran back to back, under the same load: the median of the pairs' ratios is the
  // steadier figure when other work on the machine swings the runs' times
  return {base: median(t.base), profiled: median(t.profiled), ratio: median(t.base.map((a, i) => t.profiled[i]! / a))}
}

const started = Date.now()
const db = await timeOrdered(await benchWarehouse(customers, events, DUCKDB.threads))
const days = Array.from({length: reps}, (_, i) => D0 + (i + 1) * DAY)

const fullProf = {dir: join(DATA_DIR, `prof-full_prof-${customers}`), schema: 'bench_prof_full_prof'}
if (section('full')) {
  log('profiles: full runs, 45 segments without and with a 10-trait profile, alternating ...')
  const fullBase = project('full_base', db, false, false)
  Object.assign(fullProf, project('full_prof', db, true, false))
  await fit(fullProf.dir)
  const full = alternate('full', fullBase.dir, fullProf.dir, days)
  emit([`full run, 45 segments, no profile (median of ${reps})`, fmt(full.base), 'the baseline: time-ordered warehouse, as in the incremental section'])
  emit([`full run, + profile of ${PROFILE.length} traits`, fmt(full.profiled), `${pct(full.profiled, full.base)} of the medians; median of the ${reps} pairs' ratios ${pct(full.ratio, 1)} (${PROFILE.join(', ')})`])
}

if (section('incremental')) {
  log('profiles: incremental daily runs without and with the profile, alternating ...')
  const incBase = project('inc_base', db, false, true)
  const incProf = project('inc_prof', db, true, true)
  await fit(incProf.dir)
  const inc = alternate('incremental', incBase.dir, incProf.dir, days)
  emit([`incremental run, daily, no profile (median of ${reps})`, fmt(inc.base), "the incremental section's daily runs (late_arrival 2d)"])
  emit([`incremental run, daily, + profile of ${PROFILE.length} traits`, fmt(inc.profiled), `${pct(inc.profiled, inc.base)} of the medians; median of the ${reps} pairs' ratios ${pct(inc.ratio, 1)} (global traits — days_since, NTILEs, the fitted value — rewrite every row they change)`])
}

if (section('sync')) {
  // The sync: every customer (a segment all of them meet), to the file destination, after the
  // profiled full project's runs above. Planning is the plan query (the sendable set joined to
  // the sync's state, and for trait fields to the profile), rows brought to Node included; the
  // rest of a sync is writing the file and the state.
  log('profiles: daily sync of every customer to a file, with three trait fields and without ...')
  const S = fullProf.dir
  // --only sync: the whole bench ran before and left the project, its syncs and their state
  const again = flags.only === 'sync'
  if (again && !existsSync(join(S, 'syncs/traits.yaml'))) throw new Error(`--only sync needs the project a whole bench left in ${S}`)
  writeFileSync(join(S, 'segments/everyone.yaml'), 'segment: bench_everyone\nentity: customer\ndescription: Every customer (the sync bench sends them all)\nowner: bench@acme.example\nrule: { trait: orders_total, gte: 0 }\n')
  if (!again) appendFileSync(join(S, 'segc.yaml'), `destinations:\n  traits_file: {type: file, path: exports/traits.parquet, format: parquet}\n  members_file: {type: file, path: exports/members.parquet, format: parquet}\n`)
  const syncYaml = (name: string, dest: string, fields: string) => `sync: ${name}\ndestination: ${dest}\nsegments: [bench_everyone]\nmode: upsert\n${fields}`
  mkdirSync(join(S, 'syncs'), {recursive: true})
  writeFileSync(join(S, 'syncs/traits.yaml'), syncYaml('bench_traits', 'traits_file', 'fields: {orders: orders_total, revenue: {trait: revenue_365d, round: 0}, last_order: last_order_at}\n'))
  writeFileSync(join(S, 'syncs/members.yaml'), syncYaml('bench_members', 'members_file', ''))

  let planMs = 0
  for (const m of ['query', 'execute'] as const) {
    const f = DuckDBWarehouse.prototype[m] as (this: DuckDBWarehouse, sql: string) => Promise<unknown>
    ;(DuckDBWarehouse.prototype as unknown as Record<string, unknown>)[m] = async function (this: DuckDBWarehouse, text: string) {
      const t = performance.now()
      try {
        return await f.call(this, text)
      } finally {
        if (/FULL OUTER JOIN/.test(text) && /segment_sync_state/.test(text)) planMs += performance.now() - t
      }
    }
  }
  const syncOne = async (name: string): Promise<{report: SyncReport; ms: number; planMs: number}> => {
    planMs = 0
    const t = performance.now()
    const r = await syncProject({project: S, syncs: [name]})
    const ms = performance.now() - t
    const report = r.syncs[0]!
    if (r.exit_code !== 0) throw new Error(`sync ${name}: ${JSON.stringify(report)}`)
    return {report, ms, planMs}
  }

  /** What the traits sync sends each member, as a query of its own over the profile table. */
  const ORACLE = 'bench_prof_oracle'
  const sentValues = (schema: string, table: string) => `CREATE OR REPLACE TABLE ${ORACLE}.${table} AS
    SELECT p.entity_key, p.orders_total AS orders, ROUND(p.revenue_365d, 0) AS revenue, p.last_order_at AS last_order
    FROM "${schema}".segment_profiles_customer AS p JOIN "${schema}".segment_membership AS m ON m.entity_key = p.entity_key AND m.segment = 'bench_everyone' AND NOT m.holdout`

  // again: the days after the last run the whole bench made
  const last = again ? await withDb(db, async (c) => Date.parse(String((await c.query(`SELECT strftime(max(as_of), '%Y-%m-%dT%H:%M:%SZ') AS t FROM ${fullProf.schema}.segment_runs WHERE status = 'success'`))[0]!.t))) : 0
  const dayA = again ? last + DAY : D0 + (reps + 1) * DAY
  const dayB = dayA + DAY
  measure(S, dayA)
  await withDb(db, async (c) => {
    await c.execute(`CREATE SCHEMA IF NOT EXISTS ${ORACLE}`)
    await c.execute(sentValues(fullProf.schema, 'bench_sent_a'))
  })
  const firstTraits = await syncOne('bench_traits')
  const firstMembers = await syncOne('bench_members')
  if (!again) emit([`first sync, ${firstTraits.report.planned.add.toLocaleString('en')} members, 3 trait fields: planning`, fmt(firstTraits.planMs), `whole sync ${fmt(firstTraits.ms)} (all adds)`])
  if (!again) emit([`first sync, membership only: planning`, fmt(firstMembers.planMs), `whole sync ${fmt(firstMembers.ms)}; trait fields plan in ${(firstTraits.planMs / firstMembers.planMs).toFixed(2)}× the time`])

  const daily = {traits: [] as number[], members: [] as number[]}
  const planPairs: number[] = []
  let dailyTraits: Awaited<ReturnType<typeof syncOne>> | undefined
  let expected = {changed: 0, entered: 0, left: 0}
  for (const [i, day] of [dayB, dayB + DAY, dayB + 2 * DAY].entries()) {
    measure(S, day)
    const before = i === 0 ? 'bench_sent_a' : `bench_sent_${i}`
    await withDb(db, (c) => c.execute(sentValues(fullProf.schema, `bench_sent_${i + 1}`)))
    // the keys whose sent (rounded) values differ between the two runs, and who came and went
    expected = await withDb(db, async (c) => {
      const s = ORACLE
      const r = (await c.query(`SELECT
          (SELECT count(*) FROM ${s}.${before} AS a JOIN ${s}.bench_sent_${i + 1} AS b USING (entity_key) WHERE a.orders IS DISTINCT FROM b.orders OR a.revenue IS DISTINCT FROM b.revenue OR a.last_order IS DISTINCT FROM b.last_order) AS changed,
          (SELECT count(*) FROM ${s}.bench_sent_${i + 1} AS b WHERE b.entity_key NOT IN (SELECT entity_key FROM ${s}.${before})) AS entered,
          (SELECT count(*) FROM ${s}.${before} AS a WHERE a.entity_key NOT IN (SELECT entity_key FROM ${s}.bench_sent_${i + 1})) AS "left"`))[0]!
      return {changed: Number(r.changed), entered: Number(r.entered), left: Number(r.left)}
    })
    // the two plan queries alone, alternating in one connection before either sync sends: each
    // pair meets the same load, so the pairs' ratios hold where whole syncs swing
    const pairs = await withDb(db, async (c) => {
      const pr = prepare({project: S})
      const st = new SyncStatements(pr.adapter.dialect, fullProf.schema)
      const planOf = (name: string) => {
        const def = pr.v.syncs.get(name)!
        return st.plan(def, pr.v.project.entities.get(def.entity)!, iso(day))
      }
      const [qt, qm] = [planOf('bench_traits'), planOf('bench_members')]
      const time = async (q: string) => {
        const t = performance.now()
        await c.query(q)
        return performance.now() - t
      }
      await time(qt)
      await time(qm)
      const out: Array<[number, number]> = []
      for (let k = 0; k < 5; k++) out.push([await time(qt), await time(qm)])
      return out
    })
    const ratio = median(pairs.map(([t, m]) => t / m))
    planPairs.push(ratio)
    log(`  plan queries alternating, ${iso(day)}: traits ${fmt(median(pairs.map((x) => x[0])))}, membership only ${fmt(median(pairs.map((x) => x[1])))}, median of 5 pairs' ratios ${ratio.toFixed(2)}×`)
    const tr = await syncOne('bench_traits')
    const mb = await syncOne('bench_members')
    const p = tr.report.planned
    if (p.update !== expected.changed || p.add !== expected.entered || p.remove !== expected.left) {
      throw new Error(`daily traits sync ${iso(day)}: planned ${JSON.stringify(p)}, but ${expected.changed} keys' sent values changed, ${expected.entered} entered, ${expected.left} left`)
    }
    log(`  daily sync ${iso(day)}: traits planning ${fmt(tr.planMs)} (sync ${fmt(tr.ms)}; ${p.update} updates = the ${expected.changed} keys whose sent values changed), membership only ${fmt(mb.planMs)} (sync ${fmt(mb.ms)})`)
    daily.traits.push(tr.planMs)
    daily.members.push(mb.planMs)
    dailyTraits = tr
  }
  const [dt, dm] = [median(daily.traits), median(daily.members)]
  const p = dailyTraits!.report.planned
  emit([`daily sync, 3 trait fields (one rounded): planning (median of ${daily.traits.length})`, fmt(dt), `the last day: ${p.update.toLocaleString('en')} updates, ${p.add} adds, ${p.remove} removes${again ? '' : ` of ${firstTraits.report.planned.add.toLocaleString('en')} members`} — exactly the keys whose sent values changed, every day; whole sync ${fmt(dailyTraits!.ms)}`])
  emit([`daily sync, membership only: planning (median of ${daily.members.length})`, fmt(dm), `trait fields plan in ${(dt / dm).toFixed(2)}× the time`])
  emit([`daily plan queries alternating (5 pairs a day)`, `${median(planPairs).toFixed(2)}×`, `trait fields against membership only, the median of the days' medians (${planPairs.map((r) => r.toFixed(2)).join(', ')})`])
}

const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
console.log(`segc profiles benchmark: ${customers.toLocaleString('en')} customers, ~${events.toLocaleString('en')} events; ${cpus().length} cores; node ${process.version}\n`)
for (const [x, y, z] of rows) console.log(`${x.padEnd(w[0]!)}  ${y.padStart(w[1]!)}  ${z}`)
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all)`)

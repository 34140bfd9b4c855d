// `npm run bench:identity [-- CUSTOMERS EVENTS]` (default 1,000,000 and 50,000,000): SPEC §20's
// target — a full run with identity against the same run where events already carry the
// customer key. The shop: CUSTOMERS customers, 3 × CUSTOMERS anonymous ids (two thirds of them
// identified: 6 × CUSTOMERS identify rows), EVENTS page views keyed half by user id and half by
// anonymous id. The baseline's events carry the key the identity run attributed, so both runs
// compute the same segments from the same rows.
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {runProject} from '../src/run/run-project.js'
import {DATA_DIR, log} from './shared.js'

const customers = Number(process.argv[2] ?? 1_000_000)
const events = Number(process.argv[3] ?? 50_000_000)
const anonIds = 3 * customers
const AS_OF = '2026-06-01T00:00:00Z'
const ts = (salt: number, n: string) => `TIMESTAMP '2026-06-01' - to_microseconds(CAST((hash(${n}, ${salt}) % 31536000000) AS BIGINT) * 1000)`

mkdirSync(DATA_DIR, {recursive: true})
const path = join(DATA_DIR, `identity-${customers}-${events}.duckdb`)
const conn = await duckdbAdapter.connect({name: 'bench', type: 'duckdb', path}, DATA_DIR)
// made once and reused (CREATE TABLE IF NOT EXISTS)
log(`generating (unless there) ${customers} customers, ${anonIds} anonymous ids, ${6 * customers} identify rows, ${events} events into ${path} ...`)
for (const s of [
  `CREATE TABLE IF NOT EXISTS main.customers AS SELECT 'c' || i AS customer_id, CASE WHEN hash(i, 1) % 4 = 0 THEN 'pro' ELSE 'free' END AS plan FROM range(${customers}) t(i)`,
  // anonymous id a is identified as customer a % CUSTOMERS when a < 2 × CUSTOMERS; every id twice
  `CREATE TABLE IF NOT EXISTS main.identifies AS SELECT CASE WHEN a < ${2 * customers} THEN 'c' || (a % ${customers}) END AS user_id, 'v' || a AS anonymous_id, ${ts(2, 'r')} AS ts FROM (SELECT r, r % ${anonIds} AS a FROM range(${6 * customers}) t(r)) x`,
  `CREATE TABLE IF NOT EXISTS main.web_events AS SELECT CASE WHEN e % 2 = 0 THEN 'c' || (hash(e, 3) % ${customers}) END AS user_id, CASE WHEN e % 2 = 1 THEN 'v' || (hash(e, 4) % ${anonIds}) END AS anonymous_id, ${ts(5, 'e')} AS ts, CASE WHEN hash(e, 6) % 5 = 0 THEN '/pricing' ELSE '/' END AS path FROM range(${events}) t(e)`,
  'CHECKPOINT',
])
  await conn.execute(s)

const TRAITS = `traits:
  views: { event: web_view }
  pricing_30d: { event: web_view, where: { path: /pricing }, within: 30d }
  last_view: { event: web_view, aggregate: max, of: timestamp }
`
const SEGMENTS = `segment: pricing_heavy
entity: customer
rule: {trait: pricing_30d, gte: 2}
---
segment: active_pro
entity: customer
rule: {all: [{attribute: plan, eq: pro}, {trait: views, gte: 20}]}
---
segment: lapsed
entity: customer
rule: {not: {event: web_view, within: 60d}}
`
const project = (models: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'segc-bench-identity-'))
  mkdirSync(join(dir, 'models'))
  mkdirSync(join(dir, 'segments'))
  writeFileSync(join(dir, 'segc.yaml'), `name: bench\ntargets:\n  local: {type: duckdb, path: '${path}'}\noutput: {schema: SCHEMA}\n`)
  writeFileSync(join(dir, 'models/m.yaml'), models)
  writeFileSync(join(dir, 'segments/s.yaml'), SEGMENTS)
  return dir
}
const stitched = project(`entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { plan: string }
    identity:
      ids: { anonymous_id: { exclude: [''] } }
      edges:
        - { table: main.identifies, timestamp: ts, ids: { key: user_id, anonymous_id: anonymous_id } }
events:
  web_view:
    entity: customer
    table: main.web_events
    timestamp: ts
    ids: { key: user_id, anonymous_id: anonymous_id }
    properties: { path: string }
${TRAITS}`)
const keyed = project(`entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { plan: string }
events:
  web_view:
    entity: customer
    table: main.web_events_keyed
    timestamp: ts
    key: customer_key
    properties: { path: string }
${TRAITS}`)
for (const [dir, schema] of [[stitched, 'seg_identity'], [keyed, 'seg_keyed']] as const) {
  const f = join(dir, 'segc.yaml')
  writeFileSync(f, (await import('node:fs')).readFileSync(f, 'utf8').replace('SCHEMA', schema))
}
await conn.close()

// CPU seconds besides wall time: the machine is shared, and CPU (DuckDB's threads included, all
// in this process) moves much less with other people's load than wall time does
const run = async (dir: string) => {
  const t = performance.now()
  const c = process.cpuUsage()
  const r = await runProject({project: dir, asOf: AS_OF, rebuild: true})
  const used = process.cpuUsage(c)
  return {ms: performance.now() - t, cpu: (used.user + used.system) / 1e6, r}
}
const withIdentity = await run(stitched)
log(`identity run: ${(withIdentity.ms / 1000).toFixed(1)} s; labelling ${JSON.stringify(withIdentity.r.identity)}`)
// the baseline's events carry their customer: the generator's own attribution (a user id is its
// customer; anonymous id a is customer a % CUSTOMERS when a < 2 × CUSTOMERS, else nobody's),
// a projection rather than a join with the map; equal segment sizes below check it agrees
const c2 = await duckdbAdapter.connect({name: 'bench', type: 'duckdb', path}, DATA_DIR)
await c2.execute(`CREATE TABLE IF NOT EXISTS main.web_events_keyed AS SELECT e.*, CASE WHEN e.user_id IS NOT NULL THEN e.user_id WHEN CAST(substr(e.anonymous_id, 2) AS BIGINT) < ${2 * customers} THEN 'c' || (CAST(substr(e.anonymous_id, 2) AS BIGINT) % ${customers}) END AS customer_key FROM main.web_events e`)
await c2.execute('CHECKPOINT')
await c2.close()
const baseline = await run(keyed)
const sizes = (r: typeof baseline.r) => r.segments.map((s) => `${s.segment} ${s.size}`).join(', ')
log(`keyed run: ${(baseline.ms / 1000).toFixed(1)} s`)
console.log(
  JSON.stringify(
    {customers, anonymous_ids: anonIds, identify_rows: 6 * customers, events, identity_run_s: withIdentity.ms / 1000, keyed_run_s: baseline.ms / 1000, ratio: withIdentity.ms / baseline.ms, target: 1.4, identity_cpu_s: withIdentity.cpu, keyed_cpu_s: baseline.cpu, cpu_ratio: withIdentity.cpu / baseline.cpu, load_average: loadavg()[0], labelling: withIdentity.r.identity, sizes_identity: sizes(withIdentity.r), sizes_keyed: sizes(baseline.r)},
    null,
    2,
  ),
)

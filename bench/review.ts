// `npm run bench:review`: segc plan --impact and segc why on the bench warehouse (SPEC §14),
// beside the membership query of a run they are compared with. Reuses the warehouse `npm run
// bench` generates (bench/.data), making it when missing.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --reps N (3)
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {demoStatements} from '../src/demo/demo-data.js'
import {writeBenchProject} from './project.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const dataDir = join(repo, 'bench', '.data')
const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, reps: {type: 'string'}}})
const customers = Number(flags.customers ?? 1_000_000)
const events = Number(flags.events ?? 50_000_000)
const reps = Number(flags.reps ?? 3)
const AS_OF = '2026-06-01T00:00:00Z'
const log = (s: string) => process.stderr.write(`${s}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)

async function warehouse(): Promise<string> {
  mkdirSync(dataDir, {recursive: true})
  const path = join(dataDir, `shop-${customers}-${events}.duckdb`)
  if (existsSync(path)) return path
  log(`generating ${customers} customers and ~${events} events into ${path} ...`)
  const conn = await duckdbAdapter.connect({name: 'gen', type: 'duckdb', path: `${path}.tmp`, threads: cpus().length}, dataDir)
  for (const s of demoStatements(customers, {seed: 1, eventsPerCustomer: events / customers})) await conn.execute(s)
  await conn.execute('CHECKPOINT')
  await conn.close()
  spawnSync('mv', [`${path}.tmp`, path])
  return path
}

const segc = (dir: string, args: string[]) => {
  const t = performance.now()
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'run.js'), ...args], {cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`segc ${args.join(' ')}: ${r.stderr}`)
  return {ms: performance.now() - t, stdout: r.stdout}
}

const db = await warehouse()
const dir = join(dataDir, 'project-review')
rmSync(dir, {recursive: true, force: true})
writeBenchProject(dir, 45, db, {threads: cpus().length, memoryLimit: '3GB', schema: 'bench_review'})
log('a run, so the target holds a membership ...')
const run = segc(dir, ['run', '--as-of', AS_OF, '--rebuild', '--json'])
// the membership query of that run, alone (segc compile --membership, counted in the warehouse)
const membership = median(
  Array.from({length: reps}, () => {
    const sql = segc(dir, ['compile', '--membership', '--as-of', AS_OF]).stdout
    const file = join(dir, 'membership.sql')
    writeFileSync(file, `SELECT count(*) FROM (${sql.replace(/;\s*$/, '')}) AS m`)
    const t = spawnSync(process.execPath, [join(here, 'measure-sql.js'), db, file], {encoding: 'utf8'})
    if (t.status !== 0) throw new Error(t.stderr)
    return Number(t.stdout.trim())
  }),
)
// one segment changed: high_value_at_risk's revenue threshold
const growth = join(dir, 'segments/growth.yaml')
writeFileSync(growth, readFileSync(growth, 'utf8').replace('gte: 500', 'gte: 300'))
const impact = Array.from({length: reps}, () => segc(dir, ['plan', '--impact', '--json']))
const affected = (JSON.parse(impact[0]!.stdout) as {segments: unknown[]}).segments.length
const key = 'c00000042'
const why = Array.from({length: reps}, () => segc(dir, ['why', key, '--entity', 'customer', '--json']))
// a segment nothing in which ranks customers against each other: the key alone is read
const whyOne = Array.from({length: reps}, () => segc(dir, ['why', key, '--entity', 'customer', '--segment', 'high_value_at_risk', '--json']))
const rows = [
  ['run, 45 segments (first run, whole)', fmt(run.ms)],
  ['membership query of the run, alone', fmt(membership)],
  [`segc plan --impact, one segment changed (${affected} segments evaluated), whole command`, `${fmt(median(impact.map((r) => r.ms)))} (${(median(impact.map((r) => r.ms)) / membership).toFixed(2)}× the membership query)`],
  ['segc why KEY, every segment of the customer (RFM scores rank every customer), whole command', fmt(median(why.map((r) => r.ms)))],
  ['segc why KEY --segment high_value_at_risk (no ranking: the key alone), whole command', fmt(median(whyOne.map((r) => r.ms)))],
]
process.stdout.write(`${customers} customers, ~${events} events, ${cpus().length} cores, median of ${reps}\n${rows.map(([a, b]) => `${a.padEnd(80)} ${b}`).join('\n')}\n`)

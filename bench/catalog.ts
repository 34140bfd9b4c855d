// `npm run bench:catalog`: what the catalog costs. (1) The overlap statement every run writes,
// for 40 segments over 200,000 customers, beside that run's whole time. (2) `segc docs` for a
// project of 200 segments with 100 runs of history. Prints one table.
// Flags: --customers N (200,000)  --runs N (100)  --segments N (200)  --reps N (5)
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, rmSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {demoStatements} from '../src/demo/demo-data.js'
import {RunStatements} from '../src/generate/run-statements.js'
import {backfill, runProject} from '../src/run/run-project.js'
import {prepare} from '../src/project/session.js'
import {writeBenchProject} from './project.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const dataDir = join(repo, 'bench', '.data')
const {values: flags} = parseArgs({options: {customers: {type: 'string'}, runs: {type: 'string'}, segments: {type: 'string'}, reps: {type: 'string'}}})
const customers = Number(flags.customers ?? 200_000)
const runs = Number(flags.runs ?? 100)
const siteSegments = Number(flags.segments ?? 200)
const reps = Number(flags.reps ?? 5)
const log = (s: string) => process.stderr.write(`${s}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const rows: Array<[string, string, string]> = []

async function warehouse(n: number): Promise<string> {
  mkdirSync(dataDir, {recursive: true})
  const path = join(dataDir, `catalog-shop-${n}.duckdb`)
  rmSync(path, {force: true})
  rmSync(`${path}.wal`, {force: true})
  const conn = await duckdbAdapter.connect({name: 'gen', type: 'duckdb', path}, dataDir)
  for (const s of demoStatements(n, {seed: 1})) await conn.execute(s)
  await conn.execute('CHECKPOINT')
  await conn.close()
  return path
}

// (1) overlap at 40 segments × 200k customers
{
  const db = await warehouse(customers)
  const dir = join(dataDir, `catalog-overlap-${customers}`)
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, 40, db, {threads: cpus().length, schema: 'catalog_overlap'})
  const t = performance.now()
  const run = await runProject({project: dir, asOf: '2026-06-01T00:00:00Z'})
  const runMs = performance.now() - t
  const members = run.segments.reduce((n, s) => n + s.size, 0)
  const p = prepare({project: dir})
  const conn = await duckdbAdapter.connect(p.target, p.v.root)
  const st = new RunStatements(p.adapter.dialect, p.v.project.outputSchema)
  // the full pairing of a first run (a daily run pairs only the entities that moved)
  const [statement] = st.overlap({runId: 'bench', asOf: run.as_of, schema: p.v.project.outputSchema, target: 'bench', version: '', startedAt: run.as_of, segments: [], groups: [], definitions: []}) as [string]
  const times: number[] = []
  for (let i = 0; i < reps; i++) {
    await conn.execute('BEGIN TRANSACTION')
    const s = performance.now()
    await conn.execute(statement)
    times.push(performance.now() - s)
    await conn.execute('ROLLBACK')
  }
  const pairs = Number((await conn.query(`SELECT count(*) AS n FROM ${p.v.project.outputSchema}.segment_overlap`))[0]!.n)
  await conn.close()
  rows.push([`segc run, 40 segments, ${customers.toLocaleString('en')} customers (first run)`, fmt(runMs), `${members.toLocaleString('en')} memberships`])
  rows.push(['  of which: segment_overlap, one statement', fmt(median(times)), `${pairs} pairs; median of ${reps}`])
}

// (2) segc docs at 200 segments × 100 runs
{
  const n = 5_000
  const db = await warehouse(n)
  const dir = join(dataDir, `catalog-site-${siteSegments}`)
  rmSync(dir, {recursive: true, force: true})
  writeBenchProject(dir, siteSegments, db, {threads: cpus().length, schema: 'catalog_site'})
  log(`${runs} daily runs of ${siteSegments} segments over ${n} customers ...`)
  const t = performance.now()
  const done = await backfill({project: dir, from: new Date(Date.parse('2026-06-01T00:00:00Z') - (runs - 1) * 86_400_000).toISOString(), to: '2026-06-01T00:00:00Z', every: '1d'})
  const historyMs = performance.now() - t
  const times: number[] = []
  let pages = 0
  for (let i = 0; i < 3; i++) {
    const s = performance.now()
    const r = spawnSync(process.execPath, [join(repo, 'bin', 'run.js'), 'docs', '--json', '--out', 'site'], {cwd: dir, encoding: 'utf8'})
    times.push(performance.now() - s)
    if (r.status !== 0) throw new Error(`segc docs failed: ${r.stderr}`)
    pages = (JSON.parse(r.stdout) as {pages: number}).pages
  }
  if (!existsSync(join(dir, 'site', 'index.html'))) throw new Error('no site')
  rows.push([`${done.length} runs of ${siteSegments} segments (to have a history)`, fmt(historyMs), `${n.toLocaleString('en')} customers; ${fmt(historyMs / done.length)} a run`])
  rows.push([`segc docs, ${siteSegments} segments × ${done.length} runs`, fmt(median(times)), `${pages} pages; a new process, median of 3`])
}

console.log(`segc catalog benchmark; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`)
console.log('')
const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))]
console.log(`| ${'measure'.padEnd(w[0]!)} | ${'time'.padStart(w[1]!)} | note |`)
console.log(`|${'-'.repeat(w[0]! + 2)}|${'-'.repeat(w[1]! + 2)}|---|`)
for (const r of rows) console.log(`| ${r[0].padEnd(w[0]!)} | ${r[1].padStart(w[1]!)} | ${r[2]} |`)

// `npm run bench:review`: segc plan --impact and segc why on the bench warehouse (SPEC §14),
// beside the membership query of a run they are compared with. Reuses the warehouse `npm run
// bench` generates (bench/.data), making it when missing.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --reps N (3)
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {writeBenchProject} from './project.js'
import {benchWarehouse, DATA_DIR, log, median, timedSegc} from './shared.js'

const here = dirname(fileURLToPath(import.meta.url))
const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, reps: {type: 'string'}}})
const customers = Number(flags.customers ?? 1_000_000)
const events = Number(flags.events ?? 50_000_000)
const reps = Number(flags.reps ?? 3)
const AS_OF = '2026-06-01T00:00:00Z'
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)

const segc = timedSegc

const db = await benchWarehouse(customers, events)
const dir = join(DATA_DIR, 'project-review')
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

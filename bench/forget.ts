// `npm run bench:forget`: segc forget of 10,000 keys on the bench warehouse (SPEC §15), beside
// one daily run of the same project. The target first gets --days daily runs of history and a
// file sync of two segments (so the keys have sync state and a destination to be erased from).
// Reuses the warehouse `npm run bench` generates (bench/.data), making it when missing.
// Flags: --customers N (1,000,000)  --events N (50,000,000)  --days N (30)  --keys N (10,000)
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {writeBenchProject} from './project.js'
import {benchWarehouse, DATA_DIR, log, timedSegc} from './shared.js'

const {values: flags} = parseArgs({options: {customers: {type: 'string'}, events: {type: 'string'}, days: {type: 'string'}, keys: {type: 'string'}}})
const customers = Number(flags.customers ?? 1_000_000)
const events = Number(flags.events ?? 50_000_000)
const days = Number(flags.days ?? 30)
const keyCount = Number(flags.keys ?? 10_000)
const END = '2026-06-01T00:00:00Z'
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)

const segc = timedSegc

const db = await benchWarehouse(customers, events)
const dir = join(DATA_DIR, 'project-forget')
rmSync(dir, {recursive: true, force: true})
const schema = 'bench_forget'
writeBenchProject(dir, 45, db, {threads: cpus().length, memoryLimit: '3GB', schema})
writeFileSync(join(dir, 'segc.yaml'), readFileSync(join(dir, 'segc.yaml'), 'utf8') + 'destinations:\n  export: {type: file, path: export/members.parquet}\n')
mkdirSync(join(dir, 'syncs'), {recursive: true})
writeFileSync(join(dir, 'syncs/export.yaml'), 'sync: export\ndestination: export\nsegments: [win_back, at_risk]\nmode: audience\n')
const day = (i: number) => new Date(Date.parse(END) - (days - i) * 86_400_000).toISOString()
log(`${days} daily runs of history (the first rebuilds the target) ...`)
const t0 = performance.now()
segc(dir, ['run', '--from', day(0), '--to', day(days - 1), '--every', '1d', '--rebuild', '--json'])
const backfill = performance.now() - t0
const sync = segc(dir, ['sync', '--json'])
log('one daily run ...')
const daily = segc(dir, ['run', '--as-of', day(days), '--json'])

// keys to forget: members of the synced segments first (each has sync state and a file row), then others
const conn = await duckdbAdapter.connect({name: 'keys', type: 'duckdb', path: db}, dir)
const picked = await conn.query(`SELECT entity_key FROM (
    SELECT entity_key, MIN(CASE WHEN segment IN ('win_back', 'at_risk') THEN 0 ELSE 1 END) AS synced, hash(entity_key) AS h
    FROM ${schema}.segment_membership WHERE entity = 'customer' GROUP BY entity_key) ORDER BY synced, h LIMIT ${keyCount}`)
const stateRows = Number((await conn.query(`SELECT count(*) AS n FROM ${schema}.segment_sync_state`))[0]!.n)
const historyRows = Number((await conn.query(`SELECT count(*) AS n FROM ${schema}.segment_membership_history`))[0]!.n)
await conn.close()
writeFileSync(join(dir, 'keys.txt'), picked.map((r) => String(r.entity_key)).join('\n') + '\n')
log(`segc forget of ${picked.length} keys ...`)
const dry = segc(dir, ['forget', '--keys-file', 'keys.txt', '--entity', 'customer', '--dry-run', '--json'])
const forget = segc(dir, ['forget', '--keys-file', 'keys.txt', '--entity', 'customer', '--json'])
const result = JSON.parse(forget.stdout) as {tables: Record<string, number>; deliveries: Array<{sent: number; succeeded: number}>; status: string}
const removed = Object.values(result.tables).reduce((a, b) => a + b, 0)
log('the daily run after it (erased keys excluded by hash) ...')
const after = segc(dir, ['run', '--as-of', day(days + 1), '--json'])

const rows = [
  [`${days} daily runs (backfill, one command)`, fmt(backfill)],
  ['segc sync (file, 2 segments, first sync)', fmt(sync.ms)],
  ['one daily run, 45 segments, whole command', fmt(daily.ms)],
  [`segc forget --dry-run, ${picked.length} keys`, fmt(dry.ms)],
  [`segc forget, ${picked.length} keys: ${removed} rows from ${historyRows} history rows' tables, ${result.deliveries.reduce((n, d) => n + d.succeeded, 0)} deletions sent, whole command`, `${fmt(forget.ms)} (${(forget.ms / daily.ms).toFixed(2)}× the daily run; target ≤ 2×)`],
  ['the next daily run, with the erased keys excluded', `${fmt(after.ms)} (${(after.ms / daily.ms).toFixed(2)}× the daily run before)`],
]
process.stdout.write(`${customers} customers, ~${events} events, ${cpus().length} cores, sync state ${stateRows} rows, status ${result.status}\n${rows.map(([a, b]) => `${a.padEnd(100)} ${b}`).join('\n')}\n`)

// What the benchmarks share: the generated shop warehouse in bench/.data (made once, reused by
// every bench) and a timed `segc` command.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {cpus} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'
import {demoStatements} from '../src/demo/demo-data.js'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DATA_DIR = join(REPO, 'bench', '.data')

export const log = (s: string) => process.stderr.write(`${s}\n`)
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** The synthetic shop with this many customers and events, generated on first use. */
export async function benchWarehouse(customers: number, events: number, threads = cpus().length): Promise<string> {
  mkdirSync(DATA_DIR, {recursive: true})
  const path = join(DATA_DIR, `shop-${customers}-${events}.duckdb`)
  if (existsSync(path)) return path
  log(`generating ${customers} customers and ~${events} events into ${path} ...`)
  const conn = await duckdbAdapter.connect({name: 'gen', type: 'duckdb', path: `${path}.tmp`, threads}, DATA_DIR)
  for (const s of demoStatements(customers, {seed: 1, eventsPerCustomer: events / customers})) await conn.execute(s)
  await conn.execute('CHECKPOINT')
  await conn.close()
  spawnSync('mv', [`${path}.tmp`, path])
  return path
}

/** Runs the built CLI in `dir`; the wall-clock time of the whole command and its stdout. */
export function timedSegc(dir: string, args: string[]): {ms: number; stdout: string} {
  const t = performance.now()
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), ...args], {cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28})
  if (r.status !== 0) throw new Error(`segc ${args.join(' ')}: ${r.stderr}`)
  return {ms: performance.now() - t, stdout: r.stdout}
}

/** A connection to a bench database for the length of `f`. */
export async function withDb<T>(path: string, f: (c: WarehouseConnection) => Promise<T>, threads = cpus().length): Promise<T> {
  const c = await duckdbAdapter.connect({name: 'bench', type: 'duckdb', path, threads}, DATA_DIR)
  try {
    return await f(c)
  } finally {
    await c.close()
  }
}

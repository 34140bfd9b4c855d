import {existsSync, rmSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {findProjectRoot} from '../load/load-project.js'
import {fitProject, type FittedVersion} from '../models/fit-project.js'
import {modelsReached} from '../plan/build-plan.js'
import {validateProject} from '../validate/validate-project.js'
import {backfill, runProject, type RunResult} from '../run/run-project.js'
import {DEMO_AS_OF, demoStatements} from './demo-data.js'

/** The example project shipped with segc (the package root holds segc.yaml, models/, segments/). */
export function exampleProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(resolve(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

export interface DemoResult {
  project: string
  database: string
  customers: number
  rows: Record<string, number>
  /** the run at the demo's as_of (the last one) */
  run: RunResult
  /** runs made: one a week over the history, then the demo's as_of */
  runs: number
  /** the models fitted before the first run */
  fitted: FittedVersion[]
  /** the project's DuckDB target on the demo's database, if it has one (for the catalog commands) */
  target?: string
}

/** Builds the synthetic warehouse in a fresh DuckDB file and runs the project on it. */
export async function runDemo(opts: {project?: string; cwd?: string; customers: number; path?: string; weeks?: number; identity?: boolean}): Promise<DemoResult> {
  const project = opts.project ?? findProjectRoot(opts.cwd ?? process.cwd()) ?? exampleProjectRoot()
  const database = resolve(project, opts.path ?? '.segc/demo.duckdb')
  for (const f of [database, `${database}.wal`]) rmSync(f, {force: true})
  const target = demoTarget(project, database)
  const conn = await duckdbAdapter.connect({name: 'demo', type: 'duckdb', path: database}, project)
  try {
    for (const s of demoStatements(opts.customers, opts.identity ? {identity: true} : {})) await conn.execute(s)
    const rows: Record<string, number> = {}
    for (const t of ['customers', 'accounts', 'orders', 'events', ...(opts.identity ? ['identifies', 'web_sessions'] : [])]) {
      rows[t] = Number((await conn.query(`SELECT count(*) AS n FROM main.${t}`))[0]!.n)
    }
    // a weekly history before the demo's as_of gives sizes over time, flows and lift something to show
    const weeks = opts.weeks ?? 8
    const found = target ? {target} : {}
    // fitted traits learn from the history before the first run, never from its future
    const first = new Date(Date.parse(DEMO_AS_OF) - weeks * 7 * 86400_000).toISOString()
    const needed = modelsNeeded(project)
    const fitted = needed.length ? (await fitProject({project, connection: conn, asOf: first, traits: needed})).models : []
    if (weeks === 0) return {project, database, customers: opts.customers, rows, run: await runProject({project, asOf: DEMO_AS_OF, connection: conn}), runs: 1, fitted, ...found}
    const from = new Date(Date.parse(DEMO_AS_OF) - weeks * 7 * 86400_000).toISOString()
    const runs = await backfill({project, connection: conn, from, to: DEMO_AS_OF, every: '7d'})
    return {project, database, customers: opts.customers, rows, run: runs.at(-1)!, runs: runs.length, fitted, ...found}
  } finally {
    await conn.close()
  }
}

/** The fitted models the project's segments read. */
function modelsNeeded(project: string): string[] {
  return modelsReached(validateProject({project}).project)
}

/** A DuckDB target of the project whose file is the demo database. */
function demoTarget(project: string, database: string): string | undefined {
  const v = validateProject({project})
  const targets = (v.config.targets ?? {}) as Record<string, {type?: string; path?: string}>
  return Object.entries(targets).find(([, t]) => t.type === 'duckdb' && typeof t.path === 'string' && resolve(project, t.path) === database)?.[0]
}

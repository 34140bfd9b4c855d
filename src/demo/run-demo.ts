import {existsSync, rmSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {findProjectRoot} from '../load/load-project.js'
import {runProject, type RunResult} from '../run/run-project.js'
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
  run: RunResult
}

/** Builds the synthetic warehouse in a fresh DuckDB file and runs the project on it. */
export async function runDemo(opts: {project?: string; cwd?: string; customers: number; path?: string}): Promise<DemoResult> {
  const project = opts.project ?? findProjectRoot(opts.cwd ?? process.cwd()) ?? exampleProjectRoot()
  const database = resolve(project, opts.path ?? '.segc/demo.duckdb')
  for (const f of [database, `${database}.wal`]) rmSync(f, {force: true})
  const conn = await duckdbAdapter.connect({name: 'demo', type: 'duckdb', path: database}, project)
  try {
    for (const s of demoStatements(opts.customers)) await conn.execute(s)
    const rows: Record<string, number> = {}
    for (const t of ['customers', 'accounts', 'orders', 'events']) {
      rows[t] = Number((await conn.query(`SELECT count(*) AS n FROM main.${t}`))[0]!.n)
    }
    const run = await runProject({project, asOf: DEMO_AS_OF, connection: conn})
    return {project, database, customers: opts.customers, rows, run}
  } finally {
    await conn.close()
  }
}

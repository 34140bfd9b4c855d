import {spawnSync} from 'node:child_process'
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements, relationColumns} from '../../src/fixtures/fixture-tables.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'
import {OUTPUT_TABLES, RUNS} from '../../src/warehouse/tables.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {AS_OF} from '../language/fixture-shop.js'
import {languageDocsProject, languageDocsRows, MASK_SEGMENTS} from '../helpers/language-docs.js'
import {validOrThrow} from '../helpers/project.js'
import {invariantViolations} from '../helpers/state.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'

// A whole run in BigQuery's SQL on ZetaSQL's reference implementation of BigQuery: `segc run`
// with a BigQuery target, its DDL read for the tables' columns, its queries and temp tables
// evaluated by EvaluateQuery, and its INSERT, UPDATE … FROM and DELETE … WHERE EXISTS
// statements by EvaluateModify (no translator in between). Three runs must leave every output
// table as the DuckDB dialect's three runs leave it.

const TARGETS = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  bq: {type: bigquery, project: acme-test, dataset: segments, location: US}
# the third run (an hour after the second) deletes what the second closed: retention's DML runs too
retention: {history: 30min, transitions: 30min}
`
const DAYS = [new Date(Date.parse(AS_OF) - 7 * 86400_000).toISOString(), AS_OF, new Date(Date.parse(AS_OF) + 3600_000).toISOString()]
const VOLATILE = new Set(['run_id', 'started_at', 'finished_at', 'first_run_id', 'changed_run_id', 'removed_run_id', 'segc_version', 'target', 'request_id', 'requested_at'])

const RANGES = fileURLToPath(new URL('./tools/sqlglot-ranges.py', import.meta.url))

/** sqlglot's reading of where statements filter event tables by their timestamp (tools/sqlglot-ranges.py) */
function ranges(statements: string[], tables: Record<string, string>): {ranges: number; violations: string[]} {
  const r = spawnSync('/usr/bin/python3', [RANGES], {input: JSON.stringify({dialect: 'bigquery', statements, tables}), encoding: 'utf8', maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`sqlglot failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as {ranges: number; violations: string[]}
}

useZetaSQL()

function project(incremental = false): string {
  const dir = languageDocsProject('')
  writeFileSync(join(dir, 'segc.yaml'), TARGETS + (incremental ? INCREMENTAL : ''))
  appendFileSync(join(dir, 'segments/s.yaml'), MASK_SEGMENTS)
  return dir
}

/** the second and third runs read kept state (SPEC §13): a day of late arrival */
const INCREMENTAL = 'incremental: {late_arrival: 1d}\n'

/** doc_stage_a changes its rule; doc_static leaves the project */
function change(dir: string): void {
  const path = join(dir, 'segments/s.yaml')
  writeFileSync(path, readFileSync(path, 'utf8').replace('rule: {attribute: age, gte: 40}', 'rule: {attribute: age, gte: 60}').replace(/segment: doc_static\n[^-]*---\n/, ''))
}

const value = (x: unknown): unknown => (x instanceof Date ? x.toISOString() : typeof x === 'bigint' ? Number(x) : typeof x === 'string' && /^\d{4}-\d\d-\d\dT/.test(x) ? new Date(x).toISOString() : x)

/** every output table's rows, volatile columns left out, values made comparable, sorted */
async function tables(read: (table: string, columns: string[]) => Promise<Array<Record<string, unknown>>>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const t of OUTPUT_TABLES) {
    const columns = t.columns.map((c) => c.name).filter((c) => !VOLATILE.has(c))
    out[t.name] = (await read(t.name, columns)).map((r) => JSON.stringify(columns.map((c) => value(r[c])))).sort()
  }
  return out
}

/**
 * segc forget of the two smallest member keys (one with a quote in it where the fixtures have
 * one), between the second and third runs: the third run then keeps them out by their hashes.
 */
const forgotten: string[][] = []

async function forgetTwo(dir: string, target: string, conn: WarehouseConnection, membership: string): Promise<void> {
  const keys = (await conn.query(`SELECT DISTINCT entity_key FROM ${membership} WHERE entity = 'customer' ORDER BY entity_key LIMIT 2`)).map((r) => String(r.entity_key))
  expect(keys).toHaveLength(2)
  const r = await forget({project: dir, target, keys, entity: 'customer', connection: conn})
  expect(r.exit_code).toBe(0)
  expect(r.tables.segment_membership).toBeGreaterThan(1)
  forgotten.push(keys)
}

async function onDuckDB(dir: string): Promise<{tables: Record<string, string[]>; violations: string[]}> {
  const v = validOrThrow(dir)
  const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, languageDocsRows(AS_OF, ''))) await duck.execute(s)
    for (const [i, asOf] of DAYS.entries()) {
      if (i === 2) change(dir)
      await runProject({project: dir, target: 'local', asOf, connection: duck})
      if (i === 1) await forgetTwo(dir, 'local', duck, 'segments."segment_membership"')
    }
    return {
      tables: await tables(async (t, cols) => ((await duck.tableExists('segments', t)) ? duck.query(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM segments."${t}"`) : [])),
      violations: await invariantViolations(duck),
    }
  } finally {
    await duck.close()
  }
}

async function onZetaSQL(dir: string): Promise<{tables: Record<string, string[]>; statements: string[]; hourly: string[]}> {
  const v = validOrThrow(dir)
  const rows = languageDocsRows(AS_OF, '')
  const given = [...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: rows[name] ?? []}))
  const bq = new ZetaWarehouse('segments', given)
  const conn: WarehouseConnection = bq
  let third = 0
  for (const [i, asOf] of DAYS.entries()) {
    if (i === 2) change(dir)
    if (i === 2) third = bq.statements.length
    await runProject({project: dir, target: 'bq', asOf, connection: conn})
    if (i === 1) await forgetTwo(dir, 'bq', conn, '`segments`.`segment_membership`')
  }
  return {tables: await tables(async (t, cols) => ((await bq.tableExists('segments', t)) ? bq.query(`SELECT ${cols.map((c) => `\`${c}\``).join(', ')} FROM \`segments\`.\`${t}\``) : [])), statements: bq.statements, hourly: bq.statements.slice(third)}
}


/** segment_runs.mode's place in a row: how a run read its sources, which only incremental twins differ in */
const MODE = RUNS.columns.map((c) => c.name).filter((c) => !VOLATILE.has(c)).indexOf('mode')
describe("BigQuery's run statements, executed on ZetaSQL's reference evaluator", () => {
  it('three runs leave every output table as the DuckDB runs do', {timeout: 600_000}, async () => {
    const duck = await onDuckDB(project())
    const bq = await onZetaSQL(project())
    expect(duck.violations).toEqual([])
    expect(bq.statements.filter((s) => /^(UPDATE|DELETE)/.test(s)).length).toBeGreaterThan(6)
    expect(duck.tables.segment_transitions!.length).toBeGreaterThan(50)
    expect(duck.tables.segment_runs).toHaveLength(3)
    for (const [name, rows] of Object.entries(duck.tables)) expect(bq.tables[name], name).toEqual(rows)
    // segc forget ran between the runs, and the run after it kept the keys out by their hashes
    expect(forgotten[1]).toEqual(forgotten[0])
    expect(duck.tables.segment_erasures).toHaveLength(2)
    expect(bq.statements.some((s) => s.includes('TO_HEX(SHA256('))).toBe(true)
    for (const k of forgotten[0]!) for (const t of ['segment_membership', 'segment_membership_history', 'segment_transitions']) expect(duck.tables[t]!.filter((r) => r.includes(JSON.stringify(k))), t).toEqual([])
  })

  it('incremental: the same three runs read kept state, leave every table as DuckDB does, and equal full runs', {timeout: 600_000}, async () => {
    const full = await onDuckDB(project())
    const duck = await onDuckDB(project(true))
    const bq = await onZetaSQL(project(true))
    expect(duck.violations).toEqual([])
    // the runs after the first read state on both: state tables written, state read back by the scans
    expect(bq.statements.some((s) => /^INSERT INTO `segments`\.`segment_state_\w+`/.test(s))).toBe(true)
    expect(bq.statements.some((s) => /FROM `segments`\.`segment_state_\w+` AS st/.test(s))).toBe(true)
    expect(duck.tables.segment_runs!.map((r) => JSON.parse(r)[MODE])).toEqual(['full', 'incremental', 'incremental'])
    expect(duck.tables.segment_state_sources!.length).toBeGreaterThan(0)
    for (const [name, rows] of Object.entries(duck.tables)) expect(bq.tables[name], name).toEqual(rows)
    // and what they wrote is what full runs write (how each run read its sources aside)
    // the third run, an hour after the second: every predicate on an event table's timestamp is
    // a plain range on the bare column (sqlglot reads the statements), what partition pruning needs
    const events = Object.fromEntries([...validOrThrow(project(true)).project.events.values()].flatMap((e) => (e.relation.kind === 'table' ? [[e.relation.path.join('.'), e.timestamp]] : [])))
    const checked = ranges(bq.hourly, events)
    expect(checked.violations).toEqual([])
    expect(checked.ranges).toBeGreaterThan(10)
    const unmoded = (t: Record<string, string[]>) => ({...t, segment_state_sources: [], segment_runs: t.segment_runs!.map((r) => JSON.stringify((JSON.parse(r) as unknown[]).filter((_, i) => i !== MODE)))})
    expect(unmoded(duck.tables)).toEqual(unmoded(full.tables))
  })
})

import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {AS_OF} from '../language/fixture-shop.js'
import {languageDocsProject, languageDocsRows, MASK_SEGMENTS} from '../helpers/language-docs.js'
import {validOrThrow} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {invariantViolations, snapshot} from '../helpers/state.js'

// A whole run in Snowflake's SQL — the DDL, the transaction, the scratch tables, the diff and
// every UPDATE, DELETE and INSERT into the output tables — translated statement by statement
// by an independent translator (@polyglot-sql/sdk) and executed on DuckDB, over a sequence of
// runs, must leave every output table as the DuckDB dialect's own runs leave it.

const TARGETS = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}
# the third run (an hour after the second) deletes what the second closed: retention's DML runs too
retention: {history: 30min, transitions: 30min}
`

// a week apart, so windows slide past events and people move for data alone
const DAYS = [new Date(Date.parse(AS_OF) - 7 * 86400_000).toISOString(), AS_OF]

async function sequence(dir: string, target: 'local' | 'sf', edit: () => void): Promise<{tables: Record<string, unknown[]>; violations: string[]; translated: number}> {
  const v = validOrThrow(dir)
  const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, languageDocsRows(AS_OF))) await duck.execute(s)
    const conn: WarehouseConnection & {translated?: string[]} = target === 'sf' ? await snowflakeOnDuckDB(duck) : duck
    for (const asOf of DAYS) await runProject({project: dir, target, asOf, connection: conn})
    // segc forget of the two smallest member keys: its DELETEs, the sizes recount, the queue;
    // the third run then keeps them out by their SHA2 hashes
    const keys = (await duck.query(`SELECT DISTINCT entity_key FROM segments.segment_membership WHERE entity = 'customer' ORDER BY entity_key LIMIT 2`)).map((r) => String(Object.values(r)[0]))
    expect(new Set(keys).size).toBe(2)
    const erased = await forget({project: dir, target, keys, entity: 'customer', connection: conn})
    expect(erased.exit_code).toBe(0)
    expect(erased.tables.segment_membership, JSON.stringify(erased)).toBeGreaterThan(1)
    // a third run after a definition change: causes definition and segment_removed, a removed segment's members exit
    edit()
    await runProject({project: dir, target, asOf: new Date(Date.parse(AS_OF) + 3600_000).toISOString(), connection: conn})
    // read back in DuckDB's SQL; Snowflake's tables were created under upper-case names
    const reader: WarehouseConnection = {...conn, query: async (sql) => (await duck.query(sql)).map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x]))), execute: (sql) => duck.execute(sql), tableExists: (schema, table) => conn.tableExists(schema, table)}
    const tables = await snapshot(reader, 'segments', true)
    expect(tables.segment_runs).toHaveLength(3)
    expect(tables.segment_erasures).toHaveLength(2)
    for (const t of ['segment_membership', 'segment_membership_history', 'segment_transitions']) expect((tables[t] as Array<{entity_key: string}>).filter((r) => keys.includes(r.entity_key)), t).toEqual([])
    return {tables, violations: await invariantViolations(duck), translated: conn.translated?.length ?? 0}
  } finally {
    await duck.close()
  }
}

function project(incremental = false): string {
  const dir = languageDocsProject()
  // with incremental, the second and third runs read kept state (SPEC §13)
  writeFileSync(join(dir, 'segc.yaml'), TARGETS + (incremental ? 'incremental: {late_arrival: 1d}\n' : ''))
  appendFileSync(join(dir, 'segments/s.yaml'), MASK_SEGMENTS)
  return dir
}

const change = (dir: string) => () => {
  const path = join(dir, 'segments/s.yaml')
  const text = readFileSync(path, 'utf8')
  // doc_stage_a changes its rule; doc_static leaves the project
  writeFileSync(path, text.replace('rule: {attribute: age, gte: 40}', 'rule: {attribute: age, gte: 60}').replace(/segment: doc_static\n[^-]*---\n/, ''))
}

describe("Snowflake's run statements, translated and executed", () => {
  it('three runs leave every output table as the DuckDB runs do', async () => {
    const a = project()
    const b = project()
    const duck = await sequence(a, 'local', change(a))
    const sf = await sequence(b, 'sf', change(b))
    expect(sf.translated).toBeGreaterThan(100)
    expect(duck.violations).toEqual([])
    expect(sf.violations).toEqual([])
    // the sequence moved people: entries, exits, a definition change and a removed segment
    const causes = new Set((duck.tables.segment_transitions as Array<{cause: string}>).map((t) => t.cause))
    expect([...causes].sort()).toEqual(['data', 'definition', 'segment_added', 'segment_removed'])
    // the runs name their targets
    const runs = (t: Record<string, unknown[]>) => (t.segment_runs as Array<Record<string, unknown>>).map(({target, ...r}) => ({...r, target: target === 'sf' ? 'local' : target}))
    expect(runs(sf.tables)).toEqual(runs(duck.tables))
    for (const [name, rows] of Object.entries(duck.tables)) if (name !== 'segment_runs') expect(sf.tables[name], name).toEqual(rows)
  })

  it('incremental: the same runs read kept state, leave every table as DuckDB does, and equal full runs', async () => {
    const [f, a, b] = [project(), project(true), project(true)]
    const full = await sequence(f, 'local', change(f))
    const duck = await sequence(a, 'local', change(a))
    const sf = await sequence(b, 'sf', change(b))
    expect(sf.violations).toEqual([])
    const modes = (t: Record<string, unknown[]>) => (t.segment_runs as Array<{as_of: Date; mode: string}>).map((r) => r.mode)
    expect(modes(sf.tables)).toEqual(['full', 'incremental', 'incremental'])
    expect(sf.tables.segment_state_sources!.length).toBeGreaterThan(0)
    expect(sf.tables.segment_state_sources).toEqual(duck.tables.segment_state_sources)
    for (const [name, rows] of Object.entries(duck.tables)) if (name !== 'segment_runs') expect(sf.tables[name], name).toEqual(rows)
    // what incremental runs wrote is what full runs write (how each run read its sources aside)
    const unmoded = (t: Record<string, unknown[]>) => ({...t, segment_state_sources: [], segment_runs: (t.segment_runs as Array<Record<string, unknown>>).map(({mode: _, ...r}) => r)})
    expect(unmoded(duck.tables)).toEqual(unmoded(full.tables))
  })
})

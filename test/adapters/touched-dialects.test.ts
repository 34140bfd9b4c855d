import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {relationColumns} from '../../src/fixtures/fixture-tables.js'
import {runProject, type RunResult} from '../../src/run/run-project.js'
import {OUTPUT_TABLES} from '../../src/warehouse/tables.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {MODELS, SOURCE_DDL, writeSegments, type SegmentDoc} from '../helpers/incremental.js'
import {validOrThrow} from '../helpers/project.js'
import {writeProject} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'

// Touched keys (SPEC §13) in the other two dialects: the entity snapshot, the touched-keys
// table, the runs restricted to those keys and the profile rows left alone — as BigQuery SQL
// executed by ZetaSQL's reference evaluator and as Snowflake SQL translated to DuckDB by an
// independent translator. Every output table after every run equals the DuckDB dialect's
// incremental run and a full DuckDB run at the same as_of; which keys were evaluated is
// hand-derived.

const TARGETS = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}
  bq: {type: bigquery, project: acme-test, dataset: segments, location: US}
`

const SEGMENTS: SegmentDoc[] = [
  {segment: 'ordered_3d', entity: 'customer', rule: {event: 'order', within: '3d'}},
  {segment: 'new_signup', entity: 'customer', rule: {attribute: 'signup_at', gte: '-20d'}},
  {segment: 'in_us', entity: 'customer', rule: {attribute: 'country', eq: 'US'}},
  {segment: 'spender_7d', entity: 'customer', rule: {event: 'order', within: '7d', aggregate: 'sum', of: 'amount', gte: 3}},
  {segment: 'viewer_14d', entity: 'customer', rule: {event: 'page_view', within: '14d', aggregate: 'count', gte: 2}},
]

const models = MODELS.replace('LOADED_ORDERS', '').replace(/LOADED_EVENTS/g, '').replace(/ {2}m_score:.*\n/, '').replace(/ {2}value_cluster:.*\n/, '')
  // root-level tables: ZetaSQL's local service holds no datasets of sources
  .replace(/table: main\./g, 'table: ')

function project(incremental: boolean): string {
  const dir = writeProject({'segc.yaml': TARGETS + (incremental ? 'incremental:\n  late_arrival: 1d\n  read_whole: never\n' : ''), 'models/shop.yaml': models, 'segments/all.yaml': ''})
  writeSegments(dir, SEGMENTS)
  return dir
}

const d = (s: string) => new Date(s)
const old = d('2026-01-01T00:00:00Z')

/** What the shop holds before each run: the first run's rows, then what lands before the second and the third. */
const STEPS: Array<{asOf: string; sql: string[]}> = [
  {
    asOf: '2026-06-10T12:00:00Z',
    sql: [
      row('main.customers', ['c0', 'US', old], ['c1', 'DE', old], ['c2', 'DE', old], ['c3', 'DE', d('2026-05-22T00:00:00Z')], ['c4', 'US', old], ['c5', 'DE', old], ['c6', 'DE', old]),
      row('main.orders', ['c0', d('2026-05-01T10:00:00Z'), 1, 'a'], ['c2', d('2026-06-08T00:00:00Z'), 2.5, 'a'], ['c6', d('2026-05-20T10:00:00Z'), 1, 'a']),
      row('main.events', ['c0', d('2026-06-01T09:00:00Z'), 'page_view', '/docs'], ['c0', d('2026-06-02T09:00:00Z'), 'page_view', '/docs'], ['c6', d('2026-05-25T09:00:00Z'), 'page_view', '/pricing'], ['c6', d('2026-06-09T09:00:00Z'), 'page_view', '/pricing']),
    ],
  },
  {
    // c1 orders (new); c2's order leaves 3d; c3's signup leaves -20d; c4 removed; c5 DE → US
    asOf: '2026-06-11T12:00:00Z',
    sql: [row('main.orders', ['c1', d('2026-06-10T13:00:00Z'), 4, 'b']), `DELETE FROM main.customers WHERE customer_id = 'c4'`, `UPDATE main.customers SET country = 'US' WHERE customer_id = 'c5'`],
  },
  {
    // six hours on: c6 views again (late, inside the band); c0's first view leaves 14d; nothing else moves
    asOf: '2026-06-15T18:00:00Z',
    sql: [row('main.events', ['c6', d('2026-06-15T08:00:00Z'), 'page_view', '/pricing'])],
  },
]

/** hand-derived: the keys each incremental run after the first evaluates */
const TOUCHED = [undefined, ['c1', 'c2', 'c3', 'c4', 'c5'], ['c0', 'c1', 'c2', 'c6']]

function row(table: string, ...rows: unknown[][]): string {
  const lit = (v: unknown) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : v instanceof Date ? `TIMESTAMP '${v.toISOString().replace('T', ' ').replace('Z', '')}'` : `'${String(v).replace(/'/g, "''")}'`)
  const columns = table === 'main.customers' ? 'customer_id, country, signup_at' : table === 'main.orders' ? 'customer_id, ordered_at, amount, category' : 'customer_id, ts, event_type, path'
  return `INSERT INTO ${table} (${columns}) VALUES ${rows.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`
}

const VOLATILE = new Set(['run_id', 'started_at', 'finished_at', 'first_run_id', 'changed_run_id', 'removed_run_id', 'segc_version', 'target', 'request_id', 'requested_at', 'mode'])
const value = (x: unknown): unknown => (x instanceof Date ? x.toISOString() : typeof x === 'bigint' ? Number(x) : typeof x === 'string' && /^\d{4}-\d\d-\d\d[T ]\d/.test(x) ? new Date(x.replace(' ', 'T').replace(/(\+00(:00)?)?$/, 'Z').replace('ZZ', 'Z')).toISOString() : x)

type Read = (table: string, columns: string[]) => Promise<Array<Record<string, unknown>>>
async function tables(read: Read, exists: (t: string) => Promise<boolean>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const t of OUTPUT_TABLES) {
    if (t.name.startsWith('segment_state') || !(await exists(t.name))) continue
    const columns = t.columns.map((c) => c.name).filter((c) => !VOLATILE.has(c))
    out[t.name] = (await read(t.name, columns)).map((r) => JSON.stringify(columns.map((c) => value(r[c] ?? r[c.toUpperCase()] ?? null)))).sort()
  }
  return out
}

interface Trace {
  after: Array<Record<string, string[]>>
  results: RunResult[]
  statements: string[]
  /** the keys in the touched-keys table after each run (where the dialect's scratch table can be read back) */
  touched: string[][]
}

async function onDuckDB(dir: string, target: 'local' | 'sf'): Promise<Trace> {
  const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of SOURCE_DDL) await duck.execute(s)
    const conn = target === 'sf' ? await snowflakeOnDuckDB(duck) : duck
    const trace: Trace = {after: [], results: [], statements: [], touched: []}
    for (const step of STEPS) {
      for (const s of step.sql) await duck.execute(s)
      trace.results.push(await runProject({project: dir, target, asOf: step.asOf, connection: conn}))
      if (target === 'local' && trace.results.at(-1)!.evaluation?.[0]?.keys === 'touched') trace.touched.push((await duck.query('SELECT k FROM segc_touched__customer ORDER BY 1')).map((r) => String(r.k)))
      // Snowflake's tables are created under upper-case names; read back in DuckDB's SQL
      const schema = target === 'sf' ? 'SEGMENTS' : 'segments'
      trace.after.push(await tables((t, cols) => duck.query(`SELECT ${cols.map((c) => `"${target === 'sf' ? c.toUpperCase() : c}"`).join(', ')} FROM "${schema}"."${target === 'sf' ? t.toUpperCase() : t}"`), (t) => conn.tableExists('segments', t)))
    }
    trace.statements = (conn as {translated?: string[]}).translated ?? []
    return trace
  } finally {
    await duck.close()
  }
}

async function onZetaSQL(dir: string): Promise<Trace> {
  const v = validOrThrow(dir)
  const bq = new ZetaWarehouse('segments', [...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: []})))
  const trace: Trace = {after: [], results: [], statements: bq.statements, touched: []}
  for (const step of STEPS) {
    // ZetaSQL reads a timestamp literal without a zone in America/Los_Angeles, BigQuery in UTC
    for (const s of step.sql) await bq.execute(s.replace(/\bmain\./, '').replace(/TIMESTAMP '([^']*)'/g, "TIMESTAMP '$1+00'"))
    trace.results.push(await runProject({project: dir, target: 'bq', asOf: step.asOf, connection: bq as WarehouseConnection}))
    if (trace.results.length > 1) trace.touched.push((await bq.query('SELECT k FROM `segc_touched__customer`')).map((r) => String(r.k)).sort())
    trace.after.push(await tables((t, cols) => bq.query(`SELECT ${cols.map((c) => `\`${c}\``).join(', ')} FROM \`segments\`.\`${t}\``), (t) => bq.tableExists('segments', t)))
  }
  return trace
}

useZetaSQL()

describe('touched keys in BigQuery (ZetaSQL) and Snowflake (translated) SQL', () => {
  it('after the first run only the hand-derived keys are evaluated, and every output table equals DuckDB incremental and full runs', {timeout: 600_000}, async () => {
    const full = await onDuckDB(project(false), 'local')
    const duck = await onDuckDB(project(true), 'local')
    const sf = await onDuckDB(project(true), 'sf')
    const bq = await onZetaSQL(project(true))
    for (const [name, t] of [['duckdb', duck], ['snowflake', sf], ['bigquery', bq]] as const) {
      const evaluated = t.results.map((r) => r.evaluation?.find((e) => e.entity === 'customer'))
      expect(evaluated[0]?.keys, name).toBe('all')
      for (const i of [1, 2]) expect(evaluated[i], `${name}, run ${i + 1}: ${evaluated[i]?.why}`).toMatchObject({keys: 'touched', touched: TOUCHED[i]!.length})
      t.after.forEach((tablesAfter, i) => expect(tablesAfter, `${name} after run ${i + 1}`).toEqual(full.after[i]))
    }
    expect(duck.touched).toEqual(TOUCHED.slice(1))
    expect(bq.touched).toEqual(TOUCHED.slice(1))
    // the touched keys and the snapshot went through each dialect's own statements
    expect(bq.statements.some((s) => /segment_state_entity_customer_\w+/.test(s))).toBe(true)
    expect(sf.statements.some((s) => /segc_touched__customer/i.test(s))).toBe(true)
    // a run that evaluated five keys still wrote the same membership as the full run: c1 ordered, c5 moved to US
    const membership = full.after[1]!.segment_membership!.map((r) => JSON.parse(r) as unknown[])
    expect(membership.filter((r) => r.includes('ordered_3d')).map((r) => r.find((x) => typeof x === 'string' && /^c\d$/.test(x)))).toEqual(['c1'])
  })
})

import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements, relationColumns} from '../../src/fixtures/fixture-tables.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {AS_OF, FULL_PROFILE, ORACLE, PROFILE_MODELS, PROFILE_SEGMENTS, profileRows} from '../helpers/profile-fixture.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'

// The profile statements in the three dialects (SPEC §19): the same three runs — a first run,
// a day later (days_since moves for every buyer: the UPDATE path), then a profile change at
// that as_of (the rebuild: copy, drop, create, carry over) — on DuckDB, in BigQuery's SQL on
// ZetaSQL's reference evaluator, and in Snowflake's SQL translated by an independent translator
// and run on DuckDB, must leave the same segment_profiles_customer; the DuckDB one equals the
// hand-written oracle.

const TARGETS = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  bq: {type: bigquery, project: acme-test, dataset: segments, location: US}
  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}
`
const DAY2 = new Date(Date.parse(AS_OF) + 86400_000).toISOString()
// a sample of customers: ZetaSQL's evaluator holds each relation in 1 MB
const ROWS = profileRows(11, 24)

/** `bare`: tables without a schema, as ZetaSQL's catalog names them */
function project(bare = false): string {
  const models = PROFILE_MODELS(FULL_PROFILE)
  const dir = writeProject({'models/m.yaml': bare ? models.replaceAll('main.', '') : models, 'segments/s.yaml': PROFILE_SEGMENTS})
  writeFileSync(join(dir, 'segc.yaml'), TARGETS)
  return dir
}

/** the third run's profile: one trait dropped, one kept, the rest as they were */
function changeProfile(dir: string): void {
  const path = join(dir, 'models/m.yaml')
  writeFileSync(path, readFileSync(path, 'utf8').replace(FULL_PROFILE, '[orders_total, revenue_365d, avg_amount, last_order_at, days_since_last, fav_category]'))
}

/** rows made comparable across dialects: numbers as numbers (rounded past float noise), timestamps ISO, keys lower-case */
function normal(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows
    .map((r) =>
      Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => k.toLowerCase() !== 'changed_run_id')
          .map(([k, v]) => {
            const x = typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v
            if (typeof x === 'number') return [k.toLowerCase(), Math.round(x * 1e6) / 1e6]
            if (typeof x === 'string' && /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d/.test(x)) return [k.toLowerCase(), new Date(x.replace(' ', 'T') + (/Z|[+-]\d\d(:?\d\d)?$/.test(x) ? '' : 'Z')).toISOString()]
            return [k.toLowerCase(), x ?? null]
          }),
      ),
    )
    .sort((a, b) => String(a.entity_key).localeCompare(String(b.entity_key)))
}

interface Outcome {
  /** the profile after each run */
  after: Array<Array<Record<string, unknown>>>
  statements: string[]
}

async function onDuckDB(target: 'local' | 'sf'): Promise<Outcome & {oracle: Array<Record<string, unknown>>}> {
  const dir = project()
  const v = validOrThrow(dir)
  const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, ROWS)) await duck.execute(s)
    const conn: WarehouseConnection & {translated?: string[]} = target === 'sf' ? await snowflakeOnDuckDB(duck) : duck
    const after: Outcome['after'] = []
    const read = async () => after.push(normal(await duck.query('SELECT * FROM segments.segment_profiles_customer')))
    await runProject({project: dir, target, asOf: AS_OF, connection: conn})
    await read()
    await runProject({project: dir, target, asOf: DAY2, connection: conn})
    await read()
    changeProfile(dir)
    const r = await runProject({project: dir, target, asOf: DAY2, connection: conn})
    expect(r.status).toBe('success')
    await read()
    const oracle = normal((await duck.query(ORACLE(DAY2))).map(({id, f_score: _, ...x}) => ({entity_key: id, ...x})))
    return {after, statements: conn.translated ?? [], oracle}
  } finally {
    await duck.close()
  }
}

async function onZetaSQL(): Promise<Outcome> {
  const dir = project(true)
  const v = validOrThrow(dir)
  const given = [...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: ROWS[`main.${name}`] ?? []}))
  const bq = new ZetaWarehouse('segments', given)
  const after: Outcome['after'] = []
  const read = async () => after.push(normal(await bq.query('SELECT * FROM `segments`.`segment_profiles_customer`')))
  await runProject({project: dir, target: 'bq', asOf: AS_OF, connection: bq})
  await read()
  await runProject({project: dir, target: 'bq', asOf: DAY2, connection: bq})
  await read()
  changeProfile(dir)
  await runProject({project: dir, target: 'bq', asOf: DAY2, connection: bq})
  await read()
  return {after, statements: bq.statements}
}

useZetaSQL()

describe('profile statements in three dialects', () => {
  it('DuckDB, BigQuery on ZetaSQL and Snowflake translated leave the same profile after each of three runs', {timeout: 600_000}, async () => {
    const duck = await onDuckDB('local')
    // the DuckDB dialect against the oracle first: the reference the others are held to
    const last = duck.after[2]!
    expect(last.map((r) => r.entity_key)).toEqual(duck.oracle.map((r) => r.entity_key))
    last.forEach((r, i) => {
      const o = duck.oracle[i]!
      for (const k of ['orders_total', 'revenue_365d', 'avg_amount', 'last_order_at', 'days_since_last', 'fav_category']) expect(r[k], `${String(r.entity_key)} ${k}`).toEqual(o[k])
    })
    expect(Object.keys(last[0]!)).not.toContain('f_score')
    expect(Object.keys(duck.after[0]![0]!)).toContain('f_score')
    const bq = await onZetaSQL()
    // the statements took the paths under test: UPDATE of changed rows, the rebuild's DROP
    expect(bq.statements.some((s) => /^UPDATE `segments`\.`segment_profiles_customer`/.test(s))).toBe(true)
    expect(bq.statements.some((s) => /^DROP TABLE `segments`\.`segment_profiles_customer`/.test(s))).toBe(true)
    expect(bq.statements.some((s) => /NUMERIC OPTIONS/.test(s))).toBe(true)
    for (let i = 0; i < 3; i++) expect(bq.after[i], `BigQuery after run ${i + 1}`).toEqual(duck.after[i])
    const sf = await onDuckDB('sf')
    expect(sf.statements.length).toBeGreaterThan(50)
    for (let i = 0; i < 3; i++) expect(sf.after[i], `Snowflake after run ${i + 1}`).toEqual(duck.after[i])
  })
})

import {describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {impactQuery} from '../../src/generate/impact-sql.js'
import {fixtureStatements, relationColumns} from '../../src/fixtures/fixture-tables.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import {AS_OF} from '../language/fixture-shop.js'
import {languageDocsProject, languageDocsRows} from '../helpers/language-docs.js'
import {membership, validOrThrow} from '../helpers/project.js'
import {SNOWFLAKE_MACROS, snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'

// The impact statement of `segc plan --impact` means the same on every warehouse: BigQuery's on
// ZetaSQL's reference evaluator, Snowflake's translated and run, each against DuckDB's rows.
// The target's membership is the project's own 60 days earlier, so segments gain and lose people.

useZetaSQL()

const EARLIER = new Date(Date.parse(AS_OF) - 60 * 86400_000).toISOString()

async function setup() {
  const dir = languageDocsProject('')
  const v = validOrThrow(dir)
  const rows = languageDocsRows(AS_OF, '')
  const before = await membership(dir, EARLIER, rows)
  // as if the group's stages were cut differently before: some of doc_stage_a's members were in doc_stage_b
  const moved = new Set(before.members.doc_stage_a!.slice(0, 3))
  expect(moved.size).toBe(3)
  const current = Object.entries(before.members).flatMap(([segment, keys]) =>
    keys.map((k) => ({segment: segment === 'doc_stage_a' && moved.has(k) ? 'doc_stage_b' : segment, entity: 'customer', entity_key: k, holdout: before.holdout[segment]!.includes(k)})),
  )
  const plan = buildPlan(v.project, new Date(AS_OF))
  const segments = [...v.project.segments.keys()]
  const groups = [...v.project.groups.values()].flatMap((g) => g.segments.map((segment) => ({group: g.name, segment})))
  return {dir, v, rows, current, query: (d: Dialect) => impactQuery(d, plan, 'segments', {segments, groups}, true)}
}

const normalize = (rows: Array<Record<string, unknown>>) =>
  rows
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x === null ? null : typeof x === 'string' ? x : Number(x)])))
    .map((r) => JSON.stringify([r.kind, r.a, r.b, r.c, r.size_before, r.size_after, r.entering, r.exiting]))
    .sort()

async function onDuckDB(s: Awaited<ReturnType<typeof setup>>, sql: string, extra: string[] = []) {
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, s.dir)
  try {
    for (const x of [...fixtureStatements(duckdbAdapter.dialect, s.v.project, s.rows), ...extra]) await conn.execute(x)
    await conn.execute('CREATE SCHEMA segments')
    await conn.execute('CREATE TABLE segments.segment_membership (segment VARCHAR, entity VARCHAR, entity_key VARCHAR, holdout BOOLEAN)')
    const text = (x: string) => `'${x.replaceAll("'", "''")}'`
    await conn.execute(`INSERT INTO segments.segment_membership VALUES ${s.current.map((r) => `(${text(r.segment)}, 'customer', ${text(r.entity_key)}, ${r.holdout})`).join(', ')}`)
    return await conn.query(sql)
  } finally {
    await conn.close()
  }
}

describe('the impact statement in every dialect', () => {
  it('BigQuery (ZetaSQL) and Snowflake (translated) count what DuckDB counts', async () => {
    const s = await setup()
    const duck = normalize(await onDuckDB(s, s.query(duckdbAdapter.dialect)))
    // people moved in both directions, and between the group's stages
    const parsed = duck.map((x) => JSON.parse(x) as unknown[])
    expect(parsed.filter((r) => r[0] === 'segment' && (r[6] as number) > 0).length).toBeGreaterThan(3)
    expect(parsed.filter((r) => r[0] === 'segment' && (r[7] as number) > 0).length).toBeGreaterThan(3)
    expect(parsed.filter((r) => r[0] === 'group')).toEqual([['group', 'doc_stages', 'doc_stage_b', 'doc_stage_a', null, 3, null, null]])
    const given = [...relationColumns(s.v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: s.rows[name] ?? []}))
    const bq = new ZetaWarehouse('segments', [...given, {name: 'segment_membership', columns: [['segment', 'string'], ['entity', 'string'], ['entity_key', 'string'], ['holdout', 'boolean']], rows: s.current}])
    expect(normalize(await bq.query(s.query(bigqueryDialect)))).toEqual(duck)
    const sf = normalize(await onDuckDB(s, await snowflakeToDuckDB(s.query(snowflakeDialect)), SNOWFLAKE_MACROS))
    expect(sf).toEqual(duck)
  })
})

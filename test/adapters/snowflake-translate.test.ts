import {readFileSync} from 'node:fs'
import {sql} from 'kysely'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {changesQuery} from '../../src/generate/diff-sql.js'
import {compilerFor, render} from '../../src/generate/generate-sql.js'
import {membershipSelect} from '../../src/generate/run-statements.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import * as aggregates from '../language/aggregate-cases.js'
import {CASES} from '../language/condition-cases.js'
import {AS_OF, MODELS, ROWS} from '../language/fixture-shop.js'
import {groupMembership, membership, validOrThrow, writeProject} from '../helpers/project.js'
import {changeKey, diffFixture} from '../helpers/diff-fixture.js'
import {SNOWFLAKE_MACROS, snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'
import {languageDocsProject, languageDocsRows} from '../helpers/language-docs.js'

// Snowflake's meaning, checked offline: segc's Snowflake SQL is translated to DuckDB by an
// independent translator (@polyglot-sql/sdk), run on the conformance fixtures, and must give
// exactly the DuckDB dialect's membership. The constructs the translator gets wrong are
// bridged by macros written from Snowflake's documentation, each checked below against the
// documentation's own examples (see test/helpers/snowflake-duckdb.ts and docs/warehouses.md).

async function withDuckDB<T>(dir: string, rows: Record<string, Array<Record<string, unknown>>>, f: (q: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
  const v = validOrThrow(dir)
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of [...fixtureStatements(duckdbAdapter.dialect, v.project, rows), ...SNOWFLAKE_MACROS]) await conn.execute(s)
    return await f((sql) => conn.query(sql))
  } finally {
    await conn.close()
  }
}

/** Membership from segc's Snowflake SQL, translated and run on DuckDB, beside the DuckDB dialect's own. */
async function crossCheck(dir: string, asOf: string, rows: Record<string, Array<Record<string, unknown>>>, dialect: Dialect = snowflakeDialect) {
  const v = validOrThrow(dir)
  const duck = await membership(dir, asOf, rows)
  const snowflake = membershipSelect(dialect, buildPlan(v.project, new Date(asOf)))!
  const translated = await snowflakeToDuckDB(snowflake)
  const result = await withDuckDB(dir, rows, (q) => q(translated))
  const lowered = result.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x])))
  return {duck, snowflake: groupMembership(lowered, Object.keys(duck.members)), rows: result.length, translated}
}

// the condition cases (78 segments: two of the run diff's 63-bit masks), a holdout and a group
const CONFORMANCE =
  CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n') +
  '---\nsegment: held\nentity: customer\nrule: {attribute: age, is_null: false}\nholdout: {percent: 50, salt: q4}\n' +
  '---\ngroup: band\nentity: customer\nsegments: [older, adult]\n---\nsegment: older\nentity: customer\nrule: {attribute: age, gte: 40}\n---\nsegment: adult\nentity: customer\nrule: {attribute: age, gte: 18}\n'

describe('the bridging macros follow Snowflake documentation examples', () => {
  it('DATEDIFF counts whole units, fractions truncated, not rounded', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    // docs example: DATEDIFF(milliseconds, '2024-02-20 21:18:41.0000', '2024-02-20 21:18:42.1239') = 1123
    const [r] = await withDuckDB(dir, {}, (q) =>
      q(`SELECT sf_datediff_microsecond(TIMESTAMP '2024-02-20 21:18:41.0000', TIMESTAMP '2024-02-20 21:18:42.1239') AS us,
                sf_datediff_microsecond(TIMESTAMP '2026-06-01 00:00:00', TIMESTAMP '2026-05-31 23:59:59.5') AS neg`),
    )
    expect(Number(r!.us)).toBe(1123900) // at microseconds, the same instants differ by 1.1239 s
    expect(Number(r!.neg)).toBe(-500000) // "output values can be negative"
  })

  it('TO_NUMBER with an X format model reads hexadecimal; DATEADD subtracts a negative count; STARTSWITH is a literal, case-sensitive prefix', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    const [r] = await withDuckDB(dir, {}, (q) =>
      q(`SELECT sf_to_number_hex('ff', 'XX') AS ff, sf_to_number_hex('90015098', 'XXXXXXXX') AS md5abc,
                sf_dateadd_second(-86400, TIMESTAMP '2026-06-01 00:00:00') AS back, sf_dateadd_second(1.5, TIMESTAMP '2026-06-01 00:00:00') AS fwd,
                sf_startswith('Snowflake', 'Snow') AS yes, sf_startswith('Snowflake', 'snow') AS no, sf_startswith('a%b', '%') AS wild`),
    )
    expect(Number(r!.ff)).toBe(255)
    expect(Number(r!.md5abc)).toBe(parseInt('90015098', 16)) // md5('abc') starts 90015098
    expect([r!.yes, r!.no, r!.wild]).toEqual([true, false, false])
    expect([String(r!.back), String(r!.fwd)]).toEqual(['2026-05-31T00:00:00.000Z', '2026-06-01T00:00:01.500Z'])
  })

  it('SHA2 at 256 bits is the hex SHA-256 digest', async () => {
    const dir = writeProject({'models/m.yaml': MODELS})
    // docs example (Snowpark sha2): sha2('a', 256), sha2('b', 256)
    const [r] = await withDuckDB(dir, {}, (q) => q(`SELECT sf_sha2('a', 256) AS a, sf_sha2('b', 256) AS b`))
    expect([r!.a, r!.b]).toEqual(['ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb', '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d'])
  })
})

describe('Snowflake means what DuckDB means (translated by polyglot, run on the fixtures)', () => {
  it('every condition conformance case, with holdouts and groups', async () => {
    const c = await crossCheck(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': CONFORMANCE}), AS_OF, ROWS)
    expect(c.rows).toBeGreaterThan(100)
    expect(c.snowflake.members).toEqual(c.duck.members)
    expect(c.snowflake.holdout).toEqual(c.duck.holdout)
    expect(c.duck.holdout.held!.length).toBeGreaterThan(0)
  })

  it('every aggregate: first and last, most_frequent and active_periods with min_count included', async () => {
    const segments = aggregates.CASES.map(([, rule], i) => `segment: agg_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    const c = await crossCheck(writeProject({'models/m.yaml': aggregates.MODELS, 'segments/s.yaml': segments}), AS_OF, aggregates.ROWS)
    expect(Object.keys(c.duck.members)).toHaveLength(aggregates.CASES.length)
    // the two constructs Snowflake computes through a per-row window count are in the SQL that ran
    expect(c.translated).toMatch(/COUNT_IF\(.*?\) OVER \(PARTITION BY "CID", /)
    expect(c.snowflake.members).toEqual(c.duck.members)
    // and each case's hand-derived membership, not only DuckDB's
    aggregates.CASES.forEach(([, , expected], i) => expect(c.snowflake.members[`agg_${i}`]).toEqual(expected))
  })

  it('every construct of docs/language.md, over rows that reach them', async () => {
    const c = await crossCheck(languageDocsProject(), AS_OF, languageDocsRows(AS_OF))
    expect(Object.keys(c.duck.members).length).toBeGreaterThan(40)
    expect(c.duck.members.doc_aggregate_most_frequent!.length).toBeGreaterThan(0)
    expect(c.snowflake.members).toEqual(c.duck.members)
    expect(c.snowflake.holdout).toEqual(c.duck.holdout)
  })

  it('the behavioural recipes', async () => {
    const root = new URL('../conformance/recipes/', import.meta.url)
    const fixture = parse(readFileSync(new URL('segments/cohorts.test.yaml', root), 'utf8').split('\n---\n')[0]!) as {as_of: string; given: Record<string, Array<Record<string, unknown>>>; expect: Record<string, string[]>}
    const dir = writeProject({'models/m.yaml': readFileSync(new URL('models/app.yaml', root), 'utf8'), 'segments/s.yaml': readFileSync(new URL('segments/cohorts.yaml', root), 'utf8')})
    const c = await crossCheck(dir, fixture.as_of, fixture.given)
    expect(c.duck.members).toMatchObject(Object.fromEntries(Object.entries(fixture.expect).filter(([k]) => k in c.duck.members)))
    expect(c.snowflake.members).toEqual(c.duck.members)
  })

  it("a run's diff against a current membership: entries, exits, holdout flips, a removed segment (two masks)", async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': CONFORMANCE})
    const v = validOrThrow(dir)
    const plan = buildPlan(v.project, new Date(AS_OF))
    const segments = plan.entities.flatMap((e) => e.segments.map((x) => x.segment))
    expect(segments.length).toBeGreaterThan(63)
    const {current, runSegments, want} = diffFixture(await membership(dir, AS_OF, ROWS), segments)
    const db = compilerFor(snowflakeDialect)
    const translated = await snowflakeToDuckDB(render(db, changesQuery(db, snowflakeDialect, plan, sql.id('membership'), sql.id('run_segments'))))
    const rows = await withDuckDB(dir, ROWS, async (q) => {
      const text = (x: string) => `'${x.replaceAll("'", "''")}'`
      await q('CREATE TABLE membership (segment VARCHAR, entity VARCHAR, entity_key VARCHAR, holdout BOOLEAN)')
      await q(`INSERT INTO membership VALUES ${current.map((r) => `(${text(r.segment)}, ${text(r.entity)}, ${text(r.entity_key)}, ${r.holdout})`).join(', ')}`)
      await q('CREATE TABLE run_segments (segment VARCHAR, entity VARCHAR, cause VARCHAR)')
      await q(`INSERT INTO run_segments VALUES ${runSegments.map((r) => `(${text(r.segment)}, ${text(r.entity)}, ${text(r.cause)})`).join(', ')}`)
      return q(translated)
    })
    const got = rows.map((r) => changeKey(Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x]))))
    expect(got.sort()).toEqual(want.sort())
  })

  it('a wrong Snowflake formula is caught (the check can fail)', async () => {
    // the bucket read from the wrong eight hex digits
    const broken: Dialect = {...snowflakeDialect, holdoutBucket: (text) => sql`MOD(TO_NUMBER(SUBSTR(MD5(${text}), 9, 8), 'XXXXXXXX'), 10000)`}
    const segments = 'segment: held\nentity: customer\nrule: {attribute: age, is_null: false}\nholdout: {percent: 50, salt: q4}\n'
    const c = await crossCheck(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': segments}), AS_OF, ROWS, broken)
    expect(c.snowflake.holdout).not.toEqual(c.duck.holdout)
  })
})

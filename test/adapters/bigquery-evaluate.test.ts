import {describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {sql} from 'kysely'
import {changesQuery} from '../../src/generate/diff-sql.js'
import {compilerFor, render} from '../../src/generate/generate-sql.js'
import {membershipSelect} from '../../src/generate/run-statements.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import * as aggregates from '../language/aggregate-cases.js'
import {CASES} from '../language/condition-cases.js'
import {AS_OF, MODELS as SHOP_MODELS, ROWS as SHOP_ROWS} from '../language/fixture-shop.js'
import {groupMembership, membership, validOrThrow, writeProject} from '../helpers/project.js'
import {changeKey, diffFixture} from '../helpers/diff-fixture.js'
import {evaluateBigQuery, evaluateTables, type FixtureTable, useZetaSQL} from '../helpers/zetasql.js'
import {relationColumns} from '../../src/fixtures/fixture-tables.js'
import {languageDocsProject, languageDocsRows} from '../helpers/language-docs.js'

// The BigQuery SQL segc generates, executed by ZetaSQL's reference implementation of
// BigQuery's semantics on the conformance fixtures, must give exactly DuckDB's membership:
// no translator in between, each engine reading its own dialect.
// root-level table names (see evaluateBigQuery)
const MODELS = SHOP_MODELS.replaceAll('table: main.', 'table: ')
const ROWS = Object.fromEntries(Object.entries(SHOP_ROWS).map(([k, v]) => [k.replace('main.', ''), v]))

// the condition cases (78 segments: two of the diff's 63-bit masks), a holdout and a group
const CONFORMANCE =
  CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n') +
  '---\nsegment: held\nentity: customer\nrule: {attribute: age, is_null: false}\nholdout: {percent: 50, salt: q4}\n' +
  '---\ngroup: band\nentity: customer\nsegments: [older, adult]\n---\nsegment: older\nentity: customer\nrule: {attribute: age, gte: 40}\n---\nsegment: adult\nentity: customer\nrule: {attribute: age, gte: 18}\n'

useZetaSQL()

describe('BigQuery means what DuckDB means (ZetaSQL reference evaluation)', () => {
  it('every condition conformance case, with holdouts and groups', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': CONFORMANCE})
    const duck = await membership(dir, AS_OF, ROWS)
    const v = validOrThrow(dir)
    const sql = membershipSelect(bigqueryDialect, buildPlan(v.project, new Date(AS_OF)))!
    const rows = await evaluateBigQuery(v.project, ROWS, sql)
    const bq = groupMembership(rows, Object.keys(duck.members))
    expect(rows.length).toBeGreaterThan(100)
    expect(bq.members).toEqual(duck.members)
    expect(bq.holdout).toEqual(duck.holdout)
  })

  it("a run's diff against a current membership: entries, exits, holdout flips, a removed segment (two masks)", async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': CONFORMANCE})
    const duck = await membership(dir, AS_OF, ROWS)
    const v = validOrThrow(dir)
    const plan = buildPlan(v.project, new Date(AS_OF))
    const segments = plan.entities.flatMap((e) => e.segments.map((s) => s.segment))
    expect(segments.length).toBeGreaterThan(63)
    const {current, runSegments, want} = diffFixture(duck, segments)
    const tables: FixtureTable[] = [
      ...[...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: ROWS[name] ?? []})),
      {name: 'membership', columns: [['segment', 'string'], ['entity', 'string'], ['entity_key', 'string'], ['holdout', 'boolean']], rows: current},
      {name: 'run_segments', columns: [['segment', 'string'], ['entity', 'string'], ['cause', 'string']], rows: runSegments},
    ]
    const db = compilerFor(bigqueryDialect)
    const rows = await evaluateTables(tables, render(db, changesQuery(db, bigqueryDialect, plan, sql.id('membership'), sql.id('run_segments'))))
    const got = rows.map(changeKey)
    expect(want.some((w) => w.includes('|holdout|'))).toBe(true)
    expect(got.sort()).toEqual(want.sort())
  })
})

describe('BigQuery aggregates (first, last, most_frequent, active_periods with min_count)', () => {
  it('give the hand-derived members, as on DuckDB', async () => {
    const segments = aggregates.CASES.map(([, rule], i) => `segment: agg_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    const models = aggregates.MODELS.replaceAll('table: main.', 'table: ')
    const rows = Object.fromEntries(Object.entries(aggregates.ROWS).map(([k, v]) => [k.replace('main.', ''), v]))
    const dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': segments})
    const v = validOrThrow(dir)
    const result = await evaluateBigQuery(v.project, rows, membershipSelect(bigqueryDialect, buildPlan(v.project, new Date(AS_OF)))!)
    const bq = groupMembership(result, aggregates.CASES.map((_, i) => `agg_${i}`))
    aggregates.CASES.forEach(([, , expected], i) => expect(bq.members[`agg_${i}`], aggregates.CASES[i]![0]).toEqual(expected))
  })
})

describe('BigQuery on every construct of docs/language.md', () => {
  it('gives the same members as DuckDB over rows that reach them', async () => {
    const dir = languageDocsProject('')
    const rows = languageDocsRows(AS_OF, '')
    const duck = await membership(dir, AS_OF, rows)
    expect(duck.members.doc_aggregate_active_periods!.length).toBeGreaterThan(0)
    const v = validOrThrow(dir)
    const result = await evaluateBigQuery(v.project, rows, membershipSelect(bigqueryDialect, buildPlan(v.project, new Date(AS_OF)))!)
    const bq = groupMembership(result, Object.keys(duck.members))
    expect(bq.members).toEqual(duck.members)
    expect(bq.holdout).toEqual(duck.holdout)
  })
})

describe('BigQuery behavioural recipes (sequences, active periods, first times)', () => {
  it('give the same members as DuckDB on the recipe fixtures', async () => {
    const {readFileSync} = await import('node:fs')
    const {parse} = await import('yaml')
    const root = new URL('../conformance/recipes/', import.meta.url)
    const models = readFileSync(new URL('models/app.yaml', root), 'utf8').replaceAll('table: main.', 'table: ')
    const segments = readFileSync(new URL('segments/cohorts.yaml', root), 'utf8')
    const fixture = parse(readFileSync(new URL('segments/cohorts.test.yaml', root), 'utf8').split('\n---\n')[0]!) as {
      as_of: string
      given: Record<string, Array<Record<string, unknown>>>
      expect: Record<string, string[]>
    }
    const rows = Object.fromEntries(Object.entries(fixture.given).map(([k, v]) => [k.replace('main.', ''), v]))
    const dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': segments})
    const duck = await membership(dir, fixture.as_of, rows)
    expect(duck.members).toMatchObject(fixture.expect)
    const v = validOrThrow(dir)
    const result = await evaluateBigQuery(v.project, rows, membershipSelect(bigqueryDialect, buildPlan(v.project, new Date(fixture.as_of)))!)
    const bq = groupMembership(result, Object.keys(duck.members))
    expect(bq.members).toEqual(duck.members)
  })
})

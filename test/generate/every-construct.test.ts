import {describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {duckdbDialect} from '../../adapters/duckdb/dialect.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {buildPlan, placeholderModels} from '../../src/plan/build-plan.js'
import {compileRun} from '../../src/run/compile-run.js'
import {AS_OF} from '../language/fixture-shop.js'
import {documented, languageDocsProject, languageDocsRows} from '../helpers/language-docs.js'
import {membership, validOrThrow} from '../helpers/project.js'
import {suiteProjects} from '../helpers/suite-projects.js'

// SPEC §8: a project means the same on every warehouse, so no dialect may refuse a construct of
// the language. Every construct docs/language.md teaches, and every suite project (the example,
// the recipes, the condition and aggregate conformance cases), compiles for all three.

describe('every construct of docs/language.md compiles for every dialect', () => {
  it('reads the constructs from the page', () => {
    const d = documented()
    expect(d.aggregates).toEqual(['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'first', 'last', 'most_frequent', 'active_periods'])
    expect(d.comparisons).toHaveLength(13)
    expect(d.functions).toEqual(['coalesce', 'nullif', 'least', 'greatest', 'abs', 'round', 'floor', 'ceil', 'days_since', 'hours_since'])
    expect(d.conditions.length).toBeGreaterThanOrEqual(10)
    expect(suiteProjects().map((p) => p.name)).toContain('language docs')
  })

  it('the docs project holds each documented aggregate in its plan', () => {
    const v = validOrThrow(languageDocsProject())
    const plan = buildPlan(v.project, new Date(AS_OF))
    const kinds = new Set(plan.entities.flatMap((e) => e.sources.flatMap((s) => s.aggregates.map((a) => a.kind))))
    for (const a of documented().aggregates) expect(kinds).toContain(a)
    // min_count above 1 is in it too (the construct Snowflake used to refuse)
    expect(plan.entities.flatMap((e) => e.sources.flatMap((s) => s.aggregates)).some((a) => a.kind === 'active_periods' && (a.minCount ?? 1) > 1)).toBe(true)
  })

  const projects = suiteProjects()
  for (const dialect of [duckdbDialect, snowflakeDialect, bigqueryDialect]) {
    for (const project of projects) {
      it(`${project.name} on ${dialect.name}: every segment, no refusal`, () => {
        const v = validOrThrow(project.dir)
        const plan = buildPlan(v.project, new Date(AS_OF), undefined, {models: placeholderModels(v.project)})
        expect(plan.entities.flatMap((e) => e.segments).length).toBe(v.project.segments.size)
        const {run, membership: select} = compileRun(v, dialect, plan)
        expect(run.length).toBeGreaterThan(10)
        expect(select).toBeDefined()
      })
    }
  }

  it('the docs project runs on DuckDB over rows that reach every construct', async () => {
    const m = await membership(languageDocsProject(), AS_OF, languageDocsRows(AS_OF))
    const sizes = Object.values(m.members).map((k) => k.length)
    expect(sizes.length).toBeGreaterThan(40)
    // the rows are not degenerate: most segments hold someone and none holds everyone
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(sizes.length * 0.6)
    expect(m.members.doc_aggregate_most_frequent!.length).toBeGreaterThan(0)
    expect(m.members.doc_aggregate_active_periods!.length).toBeGreaterThan(0)
  })
})

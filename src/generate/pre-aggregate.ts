// SPEC §20's attribution at a tenth of the probes (issue 36). A scan of an attributed event
// relation (src/identity/attribute.ts) would join every event row to the identity map, one
// probe per identifier kind, and then group by the profile each row gets. Where every aggregate
// of the scan decomposes exactly, the rows are grouped first by their identifier columns, whose
// distinct tuples are far fewer than the events; only those tuples are joined to the map, and
// their partial aggregates are added up by profile. A row's profile depends on its identifiers
// alone, so every row of one tuple lands in the same profile, and the regrouping is exact: counts
// add up, sums are fixed-point DECIMAL (docs/incremental.md) whose sums do not round, min and max
// of mins and maxes, avg as its exact sum over its count. count_distinct, first/last,
// most_frequent and active_periods do not decompose this way; a scan with any of them, or one
// whose filter reads the profile key (`segc why`), stays on the per-event path.
import {sql} from 'kysely'
import {columnsOf, KEY_COLUMN} from '../plan/build-plan.js'
import type {AggregatePlan, SourcePlan} from '../plan/plan-types.js'
import type {Attribution} from '../resolve/model.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {exact, relationSql, type ExprWriter} from './expr-writer.js'

const DECOMPOSABLE = new Set<AggregatePlan['kind']>(['count', 'sum', 'avg', 'min', 'max'])

/** The attribution of a scan that may be grouped by identifiers first; undefined where it must read events one by one. */
export function preAggregable(s: SourcePlan): Attribution | undefined {
  const attribution = s.relation.kind === 'sql' ? s.relation.attribution : undefined
  if (!attribution || s.incremental) return undefined
  if (!s.aggregates.every((a) => DECOMPOSABLE.has(a.kind))) return undefined
  // the grouped rows are the base relation's: the profile key is not among their columns
  const read = [s.filter, ...s.aggregates.flatMap((a) => [a.when, a.timestamp, ...(a.value ? [a.value] : [])])].flatMap(columnsOf)
  return read.includes(s.key) ? undefined : attribution
}

/** Partial aggregates per identifier tuple (`inner`) and how partials of one profile combine (`outer`). */
function parts(dialect: Dialect, w: ExprWriter, a: AggregatePlan, partial: (suffix: string) => string): {inner: Array<{name: string; sql: Sql}>; outer: Sql} {
  const when = w.writeCondition(a.when)
  const gated = sql`CASE WHEN ${when} THEN ${a.value ? w.write(a.value) : sql`1`} END`
  const p = (suffix: string) => sql.id('src', partial(suffix))
  // count's partials are summed; cast back, or DuckDB's sum of BIGINT is a HUGEINT where the per-event count is not
  const total = (suffix: string) => sql`CAST(sum(${p(suffix)}) AS ${sql.raw(dialect.integerType)})`
  switch (a.kind) {
    case 'count':
      return {inner: [{name: partial('n'), sql: a.value ? sql`count(${gated})` : dialect.countIf(when)}], outer: total('n')}
    case 'sum':
      return {inner: [{name: partial('s'), sql: sql`sum(${exact(dialect, gated, a.valueType)})`}], outer: sql`sum(${p('s')})`}
    case 'avg':
      return {
        inner: [
          {name: partial('s'), sql: sql`sum(${exact(dialect, gated, a.valueType)})`},
          {name: partial('n'), sql: sql`count(${gated})`},
        ],
        outer: dialect.divide(sql`sum(${p('s')})`, total('n')),
      }
    case 'min':
    case 'max':
      return {inner: [{name: partial('m'), sql: sql`${sql.raw(a.kind)}(${gated})`}], outer: sql`${sql.raw(a.kind)}(${p('m')})`}
    default:
      throw new Error(`internal: ${a.kind} does not decompose`)
  }
}

/**
 * The scan of `s` as the per-event path computes it (`segc_key` and one column per aggregate),
 * grouped by identifiers first. Only for a scan `preAggregable` accepted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function preAggregatedScan(db: any, dialect: Dialect, w: ExprWriter, s: SourcePlan, attribution: Attribution): any {
  const all = s.aggregates.map((a) => ({a, ...parts(dialect, w, a, (suffix) => `${a.id}__${suffix}`)}))
  const ids = attribution.columns.map((c) => sql.id(c))
  const grouped = sql`SELECT ${sql.join([...ids, ...all.flatMap((x) => x.inner.map((i) => sql`${i.sql} AS ${sql.id(i.name)}`))])} FROM ${relationSql(attribution.base)} AS ev WHERE ${w.writeCondition(s.filter)} GROUP BY ${sql.join(ids)}`
  const profile = sql.raw(attribution.profile)
  return db
    .selectFrom(sql`(${grouped}) AS src${sql.raw(attribution.joins)}`)
    .select(profile.as(KEY_COLUMN))
    .select(all.map((x) => x.outer.as(x.a.id)))
    .groupBy(profile)
}

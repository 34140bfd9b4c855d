// A fitted model's transaction days per key (SPEC §12) and how summaries of disjoint sets of
// them combine: shared by the model summary (model-sql.ts) and its kept state (state-sql.ts).
import {sql} from 'kysely'
import type {PlanExpr} from '../plan/plan-types.js'
import type {Relation} from '../resolve/model.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {exact, ExprWriter, relationSql} from './expr-writer.js'

/** What a model's transaction days are read from: one relation by key and timestamp, under a filter, a value summed per day. */
export interface TransactionSource {
  relation: Relation
  key: string
  timestamp: string
  filter: PlanExpr
  value?: PlanExpr
}

/**
 * One row per key and transaction day (a UTC day with at least one matching event) of the
 * events `where` takes, in the columns of a kept transaction summary: k, f and l (first and
 * last day: the day), c (days: 1), s (the day's value, a fixed-point sum so that any grouping
 * of days adds up to the same bits) and r (the value of the days after the first: none yet).
 * A day whose values are all NULL holds 0.
 */
export function transactionDays(dialect: Dialect, asOf: string, t: TransactionSource, where: Sql[]): Sql {
  const w = new ExprWriter(dialect, asOf)
  const ts = sql.id(t.timestamp)
  const key = sql.id(t.key)
  const zero = sql`CAST(0 AS ${sql.raw(dialect.exactType)})`
  const v = t.value ? sql`COALESCE(SUM(${exact(dialect, w.write(t.value), 'number')}), ${zero})` : zero
  const day = dialect.utcDay(ts)
  return sql`SELECT ${key} AS k, ${day} AS f, ${day} AS l, 1 AS c, ${v} AS s, ${zero} AS r
    FROM ${relationSql(t.relation)} AS ev
    WHERE ${w.write(t.filter)} AND ${key} IS NOT NULL${sql.join(
      where.map((x) => sql` AND ${x}`),
      sql``,
    )}
    GROUP BY ${key}, ${day}`
}

/**
 * Summaries of disjoint sets of days of the same keys (rows k, f, l, c, s, r) combined into one
 * per key: the earliest day, the latest, the days added up, the values added up, and the
 * values after the first day — the set holding the earliest day gives its own r, every later
 * set all of its s. Fixed-point sums, so the result does not depend on how days were grouped:
 * a kept summary plus the band equals the summary of every day read at once.
 */
export function combineTransactions(dialect: Dialect, rows: Sql): Sql {
  return sql`SELECT k, MIN(f) AS f, MAX(l) AS l, CAST(SUM(c) AS ${sql.raw(dialect.integerType)}) AS c, SUM(s) AS s, SUM(CASE WHEN f = first_f THEN r ELSE s END) AS r
    FROM (SELECT k, f, l, c, s, r, MIN(f) OVER (PARTITION BY k) AS first_f FROM (${rows}) AS u) AS t
    GROUP BY k`
}

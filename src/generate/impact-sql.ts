// `segc plan --impact` (SPEC §14): the working tree's membership of the affected segments,
// evaluated read-only at as_of, against the membership the target holds: per segment the sizes
// before and after and who enters and exits, and per group the moves between stages. One
// statement, every entity's membership query inside it; it writes nothing.
import {sql} from 'kysely'
import type {Plan} from '../plan/plan-types.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {compilerFor, membershipQuery, render} from './generate-sql.js'
import {table} from './output-sql.js'

export interface ImpactQuery {
  /** the project's affected segments (evaluated) and the removed ones (only before) */
  segments: string[]
  /** group → its segments, for the groups whose moves are counted */
  groups: Array<{group: string; segment: string}>
}

/**
 * Rows of (kind, a, b, before, after, entering, exiting): kind 'segment' per segment (a = the
 * segment), kind 'group' per move (a = group, b = from, c = to, n = entities). `plan` must plan at
 * least the evaluated segments; `membership` names the target's membership table, or is undefined
 * when the target holds none yet (everyone enters).
 */
export function impactQuery(dialect: Dialect, plan: Plan, schema: string, q: ImpactQuery, hasMembership: boolean): string {
  const db = compilerFor(dialect)
  const str = sql.raw(dialect.stringType)
  const names = sql.join(q.segments.map((s) => sql.lit(s)))
  const fresh = membershipQuery(db, dialect, plan)
  const after: Sql = fresh
    ? sql`SELECT n.segment AS segment, n.entity_key AS entity_key FROM ${fresh} AS n WHERE n.segment IN (${names})`
    : sql`SELECT CAST(NULL AS ${str}) AS segment, CAST(NULL AS ${str}) AS entity_key FROM (SELECT 1 AS x) AS e WHERE 1 = 0`
  const before: Sql = hasMembership
    ? sql`SELECT m.segment AS segment, m.entity_key AS entity_key FROM ${table(schema, 'segment_membership')} AS m WHERE m.segment IN (${names})`
    : sql`SELECT CAST(NULL AS ${str}) AS segment, CAST(NULL AS ${str}) AS entity_key FROM (SELECT 1 AS x) AS e WHERE 1 = 0`
  const perSegment = sql`SELECT 'segment' AS kind, COALESCE(n.segment, o.segment) AS a, CAST(NULL AS ${str}) AS b, CAST(NULL AS ${str}) AS c,
      COUNT(o.entity_key) AS size_before, COUNT(n.entity_key) AS size_after,
      COUNT(CASE WHEN o.entity_key IS NULL THEN 1 END) AS entering, COUNT(CASE WHEN n.entity_key IS NULL THEN 1 END) AS exiting
    FROM segc_after AS n FULL OUTER JOIN segc_before AS o ON o.segment = n.segment AND o.entity_key = n.entity_key
    GROUP BY COALESCE(n.segment, o.segment)`
  const parts = [perSegment]
  if (q.groups.length) {
    const map = dialect.values(['group_name', 'segment'], q.groups.map((g) => [sql.lit(g.group), sql.lit(g.segment)]))
    // an entity's stage in a group before and after: at most one segment each (groups are exclusive)
    const stages = sql`SELECT x.entity_key AS entity_key, g.group_name AS group_name,
        MAX(CASE WHEN x.side = 'before' THEN x.segment END) AS from_stage, MAX(CASE WHEN x.side = 'after' THEN x.segment END) AS to_stage
      FROM (SELECT 'before' AS side, segment, entity_key FROM segc_before UNION ALL SELECT 'after' AS side, segment, entity_key FROM segc_after) AS x
      JOIN (SELECT * FROM ${map}) AS g ON g.segment = x.segment
      GROUP BY x.entity_key, g.group_name`
    parts.push(sql`SELECT 'group' AS kind, s.group_name AS a, s.from_stage AS b, s.to_stage AS c, CAST(NULL AS ${sql.raw(dialect.integerType)}) AS size_before, COUNT(*) AS size_after, CAST(NULL AS ${sql.raw(dialect.integerType)}) AS entering, CAST(NULL AS ${sql.raw(dialect.integerType)}) AS exiting
      FROM (${stages}) AS s WHERE s.from_stage IS DISTINCT FROM s.to_stage
      GROUP BY s.group_name, s.from_stage, s.to_stage`)
  }
  return render(db, sql`WITH segc_after AS (${after}), segc_before AS (${before}) ${sql.join(parts, sql` UNION ALL `)}`)
}

import {sql} from 'kysely'
import type {Plan} from '../plan/plan-types.js'
import {MEMBERSHIP, OUTPUT_TABLES, RUNS} from '../run/tables.js'
import type {Dialect, Sql} from './dialect.js'
import {compilerFor, membershipQuery, render} from './generate-sql.js'
import {createSchema, createTable, table} from './output-sql.js'

export const NEW_MEMBERS = 'segc_new_membership'
const NEXT_MEMBERS = 'segc_next_membership'

export interface RunContext {
  runId: string
  asOf: string
  schema: string
  target: string
  version: string
  startedAt: string
  /** every segment this run writes (the plan's segments) */
  segments: string[]
}

/** The statements of one run, in order, as SQL text for the dialect. Executed in one transaction by run/. */
export function runStatements(dialect: Dialect, plan: Plan, ctx: RunContext) {
  const db = compilerFor(dialect)
  const r = (s: Sql) => render(db, s)
  const ts = (iso: string) => dialect.timestamp(iso)
  const membership = table(ctx.schema, MEMBERSHIP.name)
  const query = membershipQuery(db, dialect, plan)
  const segmentList = sql.join(ctx.segments.map((s) => sql.lit(s)))

  const setup = [r(createSchema(ctx.schema)), ...OUTPUT_TABLES.map((t) => r(createTable(dialect, ctx.schema, t)))]
  const compute = query ? [r(dialect.createTempTable(NEW_MEMBERS, sql`${query}`))] : []
  const summary = query
    ? r(sql`
      SELECT s.segment AS segment,
        COUNT(n.entity_key) AS size,
        COUNT(CASE WHEN n.holdout THEN 1 END) AS holdout_size,
        COUNT(CASE WHEN n.entity_key IS NOT NULL AND o.entity_key IS NULL THEN 1 END) AS entered,
        COUNT(CASE WHEN n.entity_key IS NULL AND o.entity_key IS NOT NULL THEN 1 END) AS exited
      FROM (SELECT segment, entity, entity_key FROM ${sql.id(NEW_MEMBERS)}
            UNION ALL SELECT segment, entity, entity_key FROM ${membership} WHERE segment IN (${segmentList})) AS s
      LEFT JOIN ${sql.id(NEW_MEMBERS)} AS n ON n.segment = s.segment AND n.entity = s.entity AND n.entity_key = s.entity_key
      LEFT JOIN ${membership} AS o ON o.segment = s.segment AND o.entity = s.entity AND o.entity_key = s.entity_key
      GROUP BY s.segment`)
    : undefined
  // Continuing members keep the entered_at of the run in which they entered.
  const write = query
    ? [
        r(
          dialect.createTempTable(
            NEXT_MEMBERS,
            sql`SELECT n.segment, n.entity, n.entity_key, COALESCE(o.entered_at, ${ts(ctx.asOf)}) AS entered_at, n.holdout, ${sql.lit(ctx.runId)} AS run_id
              FROM ${sql.id(NEW_MEMBERS)} AS n
              LEFT JOIN ${membership} AS o ON o.segment = n.segment AND o.entity = n.entity AND o.entity_key = n.entity_key`,
          ),
        ),
        r(sql`DELETE FROM ${membership} WHERE segment IN (${segmentList})`),
        r(sql`INSERT INTO ${membership} (segment, entity, entity_key, entered_at, holdout, run_id) SELECT segment, entity, entity_key, entered_at, holdout, run_id FROM ${sql.id(NEXT_MEMBERS)}`),
      ]
    : []
  const record = (status: 'success' | 'failed', error: string | null) =>
    r(sql`INSERT INTO ${table(ctx.schema, RUNS.name)} (run_id, as_of, started_at, finished_at, status, target, segc_version, error)
      VALUES (${sql.lit(ctx.runId)}, ${ts(ctx.asOf)}, ${ts(ctx.startedAt)}, ${ts(new Date().toISOString())}, ${sql.lit(status)}, ${sql.lit(ctx.target)}, ${sql.lit(ctx.version)}, ${error === null ? sql`NULL` : sql.lit(error)})`)
  return {setup, compute, summary, write, record}
}

/** The read-only membership SELECT of `segc compile --membership`. */
export function membershipSelect(dialect: Dialect, plan: Plan): string | undefined {
  const db = compilerFor(dialect)
  const q = membershipQuery(db, dialect, plan)
  return q ? render(db, sql`${q}`) : undefined
}

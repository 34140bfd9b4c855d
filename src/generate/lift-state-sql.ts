// The lift statement's kept state (SPEC §13), the statements: per entity's measured segments, a
// table holding each (segment, entity_key)'s first entry, its holdout flag and whether the
// outcome happened in the window after it. A run folds in only the history rows written since
// the state's run, and reads only the outcome events that can still change an entry whose
// window has not settled: those after the last run's frozen point (as_of − late_arrival).
// Entries whose window closed before that point are final and never read again. Shaped like a
// state table's key rows (segc_key, segc_day and segc_events NULL), registered in
// segment_state_sources, so `segc stats --state` and `segc forget` cover it.
import {createHash} from 'node:crypto'
import {sql} from 'kysely'
import {KEY_COLUMN} from '../plan/build-plan.js'
import type {MeasurePlan} from '../plan/plan-types.js'
import {HISTORY} from '../warehouse/tables.js'
import type {Sql} from '../warehouse/dialect.js'
import {ExprWriter, relationSql} from './expr-writer.js'
import {DAY_COLUMN, EVENTS_COLUMN} from './state-sql.js'
import {Statements} from './statements.js'

/** scratch tables of the lift step: the first entries the new history rows give, and the unsettled entries recomputed */
const LIFT_NEW = 'segc_lift_new'
const LIFT_MOVED = 'segc_lift_moved'

/** What a measure's kept entries depend on: another outcome, filter or window is another table, rebuilt from the whole history and events. */
export function liftSignature(measures: MeasurePlan[]): string {
  const shape = [...measures].sort((a, b) => (a.segment < b.segment ? -1 : 1)).map((m) => [m.segment, m.relation, m.key, m.timestamp, m.filter, m.withinSeconds])
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex')
}

export const liftTable = (entity: string, measures: MeasurePlan[]) => `segment_state_lift_${entity}_${liftSignature(measures).slice(0, 12)}`

const COLUMNS = ['segment', KEY_COLUMN, DAY_COLUMN, EVENTS_COLUMN, 'entered_at', 'holdout', 'entries', 'converted', 'converted_frozen'] as const

/** A run's bounds on the state of one entity: `previous` undefined rebuilds it from the whole history and events. */
export interface LiftBounds {
  asOf: string
  /** as_of − late_arrival: outcome events at or before it are final (SPEC §13's promise) */
  frozen: string
  /** the state's run: its as_of and its frozen point */
  previous?: {asOf: string; frozen: string}
}

const shift = (iso: string, seconds: number) => new Date(Date.parse(iso) - seconds * 1000).toISOString()

export class LiftStatements extends Statements {

  /** the state's rows with every column typed as the table keeps it */
  private typed(rows: {segment: Sql; key: Sql; enteredAt: Sql; holdout: Sql; entries: Sql; converted: Sql; frozen: Sql}, from: Sql): Sql {
    const d = this.dialect
    const int = sql.raw(d.integerType)
    return sql`SELECT CAST(${rows.segment} AS ${sql.raw(d.stringType)}) AS segment, CAST(${rows.key} AS ${sql.raw(d.stringType)}) AS ${sql.id(KEY_COLUMN)},
        CAST(NULL AS DATE) AS ${sql.id(DAY_COLUMN)}, CAST(NULL AS ${int}) AS ${sql.id(EVENTS_COLUMN)},
        CAST(${rows.enteredAt} AS ${sql.raw(d.timestampType)}) AS entered_at, CAST(${rows.holdout} AS ${sql.raw(d.booleanType)}) AS holdout,
        CAST(${rows.entries} AS ${int}) AS entries, CAST(${rows.converted} AS ${int}) AS converted, CAST(${rows.frozen} AS ${int}) AS converted_frozen ${from}`
  }

  /** the table, empty */
  create(table: string): string {
    const none = sql`FROM (SELECT 1 AS one) AS z WHERE 1 = 0`
    const n = sql`NULL`
    return this.r(sql`CREATE TABLE IF NOT EXISTS ${this.t(table)} AS ${this.typed({segment: n, key: n, enteredAt: n, holdout: n, entries: n, converted: n, frozen: n}, none)}`)
  }

  private insert(table: string, select: Sql): string {
    return this.r(sql`INSERT INTO ${this.t(table)} (${sql.join(COLUMNS.map((c) => sql.id(c)))}) SELECT ${sql.join(COLUMNS.map((c) => sql.id(c)))} FROM (${select}) AS r`)
  }

  /**
   * The statements that bring the state of `measures` to this run, after the run wrote its
   * history: the first entries the history gives (all of it on a rebuild, else only the rows
   * since the state's as_of), then the conversions of the entries not yet settled.
   */
  update(table: string, measures: MeasurePlan[], b: LiftBounds): string[] {
    const out: string[] = b.previous ? [] : [this.r(sql`DELETE FROM ${this.t(table)} WHERE TRUE`)]
    for (const m of measures) out.push(...this.entries(table, m, b), ...this.conversions(table, m, b))
    return out
  }

  /**
   * First entries. History rows are written at a run's as_of, never earlier than the last run's,
   * so a key whose kept first entry is older than the state's as_of keeps it; any other key in
   * the new rows (a new one, or one whose first entry that as_of wrote, a retry at the same
   * as_of may add to it) takes the first of its new rows. `entries` counts the history rows at
   * that instant and holdout, which the statement over the whole history counts one by one.
   */
  private entries(table: string, m: MeasurePlan, b: LiftBounds): string[] {
    const seg = sql.lit(m.segment)
    const history = this.t(HISTORY.name)
    const since = b.previous ? sql` AND valid_from >= ${this.ts(b.previous.asOf)}` : sql``
    const rows = sql`(SELECT entity_key, valid_from, holdout FROM ${history} WHERE segment = ${seg}${since})`
    const kept = b.previous
      ? sql` LEFT JOIN (SELECT DISTINCT ${sql.id(KEY_COLUMN)} AS k FROM ${this.t(table)} WHERE segment = ${seg} AND entered_at < ${this.ts(b.previous.asOf)}) AS o ON o.k = n.entity_key WHERE o.k IS NULL`
      : sql``
    const first = sql`SELECT n.entity_key AS entity_key, n.valid_from AS valid_from, n.holdout AS holdout, COUNT(*) AS entries
      FROM ${rows} AS n
      JOIN (SELECT entity_key, MIN(valid_from) AS first_at FROM ${rows} AS f GROUP BY entity_key) AS fe ON fe.entity_key = n.entity_key AND fe.first_at = n.valid_from${kept}
      GROUP BY n.entity_key, n.valid_from, n.holdout`
    const fresh = this.typed({segment: seg, key: sql`x.entity_key`, enteredAt: sql`x.valid_from`, holdout: sql`x.holdout`, entries: sql`x.entries`, converted: sql`0`, frozen: sql`0`}, sql`FROM ${sql.id(LIFT_NEW)} AS x`)
    return [
      this.r(this.dialect.createTempTable(LIFT_NEW, first)),
      ...(b.previous ? [this.r(sql`DELETE FROM ${this.t(table)} WHERE segment = ${seg} AND ${sql.id(KEY_COLUMN)} IN (SELECT entity_key FROM ${sql.id(LIFT_NEW)})`)] : []),
      this.insert(table, fresh),
    ]
  }

  /**
   * Conversions of the entries whose window had not settled at the state's run (it ended after
   * that run's frozen point), from the outcome events after that point: a window's events up to
   * it were read by the runs before and are final, which `converted_frozen` holds. Each entry
   * is recomputed whole (the band's events may still change) and written back.
   */
  private conversions(table: string, m: MeasurePlan, b: LiftBounds): string[] {
    const d = this.dialect
    const seg = sql.lit(m.segment)
    const w = new ExprWriter(d, b.asOf)
    const t = sql.id(m.timestamp)
    // plain ranges on the event's own column: what partition and micro-partition pruning need
    const range = b.previous ? sql`${t} > ${this.ts(b.previous.frozen)} AND ${t} <= ${this.ts(b.asOf)}` : sql`${t} <= ${this.ts(b.asOf)}`
    const events = sql`(SELECT CAST(${sql.id(m.key)} AS ${sql.raw(d.stringType)}) AS k, ${t} AS t FROM ${relationSql(m.relation)} AS ev WHERE ${w.write(m.filter)} AND ${range})`
    const open = b.previous ? sql` AND entered_at > ${this.ts(shift(b.previous.frozen, m.withinSeconds))}` : sql``
    const k = sql.id(KEY_COLUMN)
    const recomputed = this.typed(
      {
        segment: sql`u.segment`,
        key: sql`u.${k}`,
        enteredAt: sql`u.entered_at`,
        holdout: sql`u.holdout`,
        entries: sql`u.entries`,
        converted: sql`CASE WHEN u.converted_frozen = 1 OR COUNT(e.k) > 0 THEN 1 ELSE 0 END`,
        frozen: sql`CASE WHEN u.converted_frozen = 1 OR COUNT(CASE WHEN e.t <= ${this.ts(b.frozen)} THEN 1 END) > 0 THEN 1 ELSE 0 END`,
      },
      sql`FROM (SELECT * FROM ${this.t(table)} WHERE segment = ${seg}${open}) AS u
        LEFT JOIN ${events} AS e ON e.k = u.${k} AND e.t > u.entered_at AND ${d.minusSeconds(sql`e.t`, m.withinSeconds)} <= u.entered_at
        GROUP BY u.segment, u.${k}, u.entered_at, u.holdout, u.entries, u.converted_frozen`,
    )
    return [
      this.r(d.createTempTable(LIFT_MOVED, recomputed)),
      this.r(sql`DELETE FROM ${this.t(table)} WHERE segment = ${seg}${open}`),
      this.insert(table, sql`SELECT * FROM ${sql.id(LIFT_MOVED)}`),
    ]
  }

  /**
   * Per measured segment, the entries whose window has closed by as_of, in and out of the
   * holdout, and those converted: the counts the statement over the whole history gives.
   */
  counts(table: string, measures: MeasurePlan[], asOf: string): string | undefined {
    if (!measures.length) return undefined
    const parts = measures.map((m) => {
      // qualified: the result's column names are the table's too
      const closed = sql`s.entered_at <= ${this.ts(shift(asOf, m.withinSeconds))}`
      const sum = (when: Sql) => sql`COALESCE(SUM(CASE WHEN ${closed} AND ${when} THEN s.entries END), 0)`
      return sql`SELECT ${sql.lit(m.segment)} AS segment,
          ${sum(sql`NOT s.holdout`)} AS members, ${sum(sql`NOT s.holdout AND s.converted = 1`)} AS members_converted,
          ${sum(sql`s.holdout`)} AS holdout, ${sum(sql`s.holdout AND s.converted = 1`)} AS holdout_converted
        FROM ${this.t(table)} AS s WHERE s.segment = ${sql.lit(m.segment)}`
    })
    return this.r(sql.join(parts, sql` UNION ALL `))
  }
}

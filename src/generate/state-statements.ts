// Statements on incremental runs' kept state and its registry (segment_state_sources). Apart
// from state-sql.ts, which the scan generator imports: this one builds on Statements.
import {sql} from 'kysely'
import {KEY_COLUMN} from '../plan/build-plan.js'
import type {StateSlot} from '../plan/plan-types.js'
import {STATE_SOURCES} from '../warehouse/tables.js'
import type {Sql} from '../warehouse/dialect.js'
import {relationSql} from './expr-writer.js'
import {DAY_COLUMN, EVENTS_COLUMN, stateColumns, VSLOT_COLUMN, type StateRelation} from './state-sql.js'
import {Statements} from './statements.js'

/** Statements on the kept state and its registry (segment_state_sources), as SQL text for one dialect. */
export class StateStatements extends Statements {
  registry(): string {
    return this.r(sql`SELECT * FROM ${this.t(STATE_SOURCES.name)}`)
  }

  /** The state table of a shape, empty, with the column types of what stateRows writes. */
  create(table: string, rows: Sql): string {
    return this.r(sql`CREATE TABLE IF NOT EXISTS ${this.t(table)} AS SELECT * FROM (${rows}) AS r WHERE 1 = 0`)
  }

  clear(table: string): string {
    // BigQuery refuses a DELETE without WHERE
    return this.r(sql`DELETE FROM ${this.t(table)} WHERE TRUE`)
  }

  /**
   * Day rows (stateRows) or values per key (keyedRows): only their own slots' columns are
   * written, the others left NULL — a NULL the rows carry for them has no type a warehouse
   * could insert (BigQuery takes it for INT64).
   */
  insert(table: string, slots: StateSlot[], rows: Sql, kind: 'days' | 'keys'): string {
    const cols = stateColumns(slots, kind).map((c) => sql.id(c))
    return this.r(sql`INSERT INTO ${this.t(table)} (${sql.join(cols)}) SELECT ${sql.join(cols)} FROM (${rows}) AS r`)
  }

  /** the values per key of the keys a run touched, once it wrote their successors under `mark` */
  dropTouched(table: string, touched: Sql, mark: number): string {
    return this.r(sql`DELETE FROM ${this.t(table)} WHERE ${sql.id(DAY_COLUMN)} IS NULL AND ${sql.id(VSLOT_COLUMN)} <> ${sql.lit(mark)} AND ${sql.id(KEY_COLUMN)} IN (${touched})`)
  }

  /** the successors written under a run's `from` mark, marked as every kept value per key (`to`) */
  settle(table: string, from: number, to: number): string {
    return this.r(sql`UPDATE ${this.t(table)} SET ${sql.id(VSLOT_COLUMN)} = ${sql.lit(to)} WHERE ${sql.id(DAY_COLUMN)} IS NULL AND ${sql.id(VSLOT_COLUMN)} = ${sql.lit(from)}`)
  }

  /** days before the horizon: no window reaches them any more */
  prune(table: string, horizon: string): string {
    return this.r(sql`DELETE FROM ${this.t(table)} WHERE ${sql.id(DAY_COLUMN)} < ${this.dialect.date(horizon.slice(0, 10))}`)
  }

  /** rows an incremental run would read of a source against the relation whole (readEstimate) */
  estimate(query: Sql): string {
    return this.r(query)
  }

  count(table: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(table)}`)
  }

  /** rows and the events they stand for (segc stats --state) */
  size(table: string): string {
    return this.r(
      sql`SELECT COUNT(*) AS state_rows, SUM(${sql.id(EVENTS_COLUMN)}) AS events, MIN(${sql.id(DAY_COLUMN)}) AS first_day, MAX(${sql.id(DAY_COLUMN)}) AS last_day,
        COUNT(DISTINCT ${sql.id(KEY_COLUMN)}) AS state_keys, SUM(CASE WHEN ${sql.id(DAY_COLUMN)} IS NULL THEN 1 ELSE 0 END) AS key_rows FROM ${this.t(table)}`,
    )
  }

  /** the latest load time of a source (loaded_at): rows at or before it go into state */
  lastLoaded(source: StateRelation): string {
    return this.r(sql`SELECT MAX(${sql.id(source.loadedAt!)}) AS loaded FROM ${relationSql(source.relation)} AS ev`)
  }

  record(row: {sourceId: string; source: string; entity: string; table: string; signature: string; horizon: string | null; frozen: string; loadedUntil: string | null; asOf: string; runId: string; rows: number}): string[] {
    const ts = (v: string | null) => (v === null ? sql`CAST(NULL AS ${sql.raw(this.dialect.timestampType)})` : this.dialect.timestamp(v))
    return [
      this.r(sql`DELETE FROM ${this.t(STATE_SOURCES.name)} WHERE source_id = ${sql.lit(row.sourceId)}`),
      this.r(sql`INSERT INTO ${this.t(STATE_SOURCES.name)} (source_id, source, entity, state_table, signature, horizon, frozen, loaded_until, as_of, run_id, state_rows)
        VALUES (${sql.lit(row.sourceId)}, ${sql.lit(row.source)}, ${sql.lit(row.entity)}, ${sql.lit(row.table)}, ${sql.lit(row.signature)}, ${ts(row.horizon)}, ${ts(row.frozen)}, ${ts(row.loadedUntil)}, ${ts(row.asOf)}, ${sql.lit(row.runId)}, ${this.int(row.rows)})`),
    ]
  }

  /** segc forget: the state tables holding an entity's keys */
  ofEntity(entity: string): string {
    return this.r(sql`SELECT source_id, state_table FROM ${this.t(STATE_SOURCES.name)} WHERE entity = ${sql.lit(entity)}`)
  }

  /** rows of the keys in `keys` (a table of entity_key strings) */
  keyRows(table: string, keys: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(table)} WHERE CAST(${sql.id(KEY_COLUMN)} AS ${sql.raw(this.dialect.stringType)}) IN (SELECT entity_key FROM ${sql.id(keys)})`)
  }

  eraseKeys(table: string, keys: string): string {
    return this.r(sql`DELETE FROM ${this.t(table)} WHERE CAST(${sql.id(KEY_COLUMN)} AS ${sql.raw(this.dialect.stringType)}) IN (SELECT entity_key FROM ${sql.id(keys)})`)
  }

  /** the registry's row count follows an erasure, so the next run does not take it for damage */
  erased(sourceId: string, rows: number): string {
    return this.r(sql`UPDATE ${this.t(STATE_SOURCES.name)} SET state_rows = state_rows - ${sql.lit(rows)} WHERE source_id = ${sql.lit(sourceId)}`)
  }

  /** a source that keeps no state any more leaves the registry (its table is dropped after the commit) */
  unregister(sourceId: string): string {
    return this.r(sql`DELETE FROM ${this.t(STATE_SOURCES.name)} WHERE source_id = ${sql.lit(sourceId)}`)
  }

  drop(table: string): string {
    return this.r(sql`DROP TABLE IF EXISTS ${this.t(table)}`)
  }
}

// The SQL of `segc forget` (SPEC §15), for any dialect. The tables it erases from are found
// from the output table definitions, not listed here: every table with an `entity_key`
// column, narrowed to the entity by its `entity` column or, for the sync tables that have
// none, by its `segment` (segment_definitions names every segment's entity). A table added
// later is covered without a change here; one with keys and neither column stops forget
// before anything is written (test/forget/forget.test.ts checks both).
import {createHash} from 'node:crypto'
import {sql} from 'kysely'
import {DEFINITIONS, ERASURE_DELIVERIES, ERASURES, HISTORY, OUTPUT_TABLES, SIZES, SYNC_RUNS, SYNC_STATE, TRANSITIONS, type TableDef} from '../warehouse/tables.js'
import type {Sql} from '../warehouse/dialect.js'
import {ROWS_PER_STATEMENT, Statements} from './statements.js'

/** What segment_erasures stores for a key: lower-case hex SHA-256 of `entity:key` (UTF-8). */
export const keyHash = (entity: string, key: string) => createHash('sha256').update(`${entity}:${key}`, 'utf8').digest('hex')

/** The scratch table of the keys being erased: entity_key, key_hash (session-scoped). */
export const FORGET_KEYS = 'segc_forget_keys'

/** The tables `segc forget` deletes an entity's keys from, and how each is narrowed to the entity. */
export function erasableTables(defs: readonly TableDef[] = OUTPUT_TABLES): Array<{def: TableDef; by: 'entity' | 'segment'}> {
  const out: Array<{def: TableDef; by: 'entity' | 'segment'}> = []
  for (const def of defs) {
    const has = (name: string) => def.columns.some((c) => c.name === name)
    if (!has('entity_key') || def.erasureQueue) continue
    if (has('entity')) out.push({def, by: 'entity'})
    else if (has('segment')) out.push({def, by: 'segment'})
    else throw new Error(`${def.name} holds entity keys but neither an entity nor a segment column: segc forget cannot tell whose they are`)
  }
  return out
}

export interface ErasureRow {
  request_id: string
  requested_at: string
  entity: string
  key_hash: string
  tables_rows: string
  status: 'pending' | 'done'
}

export interface DeliveryUpdate {
  idempotency_key: string
  status: 'succeeded' | 'rejected' | 'pending'
  attempts: number
  http_status: number | null
  reason: string | null
}

export class EraseStatements extends Statements {
  /** The keys being erased, into the scratch table; a few thousand per INSERT. */
  keys(rows: ReadonlyArray<{entity_key: string; key_hash: string}>): string[] {
    const out = [this.r(this.dialect.createTempTable(FORGET_KEYS, sql`SELECT ${this.str(null)} AS entity_key, ${this.str(null)} AS key_hash FROM (SELECT 1 AS one) AS z WHERE 1 = 0`))]
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const values = rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => sql`(${sql.lit(r.entity_key)}, ${sql.lit(r.key_hash)})`)
      out.push(this.r(sql`INSERT INTO ${sql.id(FORGET_KEYS)} (entity_key, key_hash) VALUES ${sql.join(values)}`))
    }
    return out
  }

  /** the segments of an entity, removed ones included (segment_definitions keeps them) */
  private segmentsOf(entity: string): Sql {
    return sql`(SELECT DISTINCT segment FROM ${this.t(DEFINITIONS.name)} WHERE entity = ${sql.lit(entity)})`
  }

  /** each sync's destination: the one its last sync run wrote to */
  private lastDestinations(): Sql {
    return sql`(SELECT sync, destination FROM (
        SELECT sync, destination, ROW_NUMBER() OVER (PARTITION BY sync ORDER BY started_at DESC) AS latest FROM ${this.t(SYNC_RUNS.name)}) AS x
      WHERE latest = 1)`
  }

  /** The keys joined to what narrows a table to the entity: `k.entity_key` (and `k.segment`). */
  private keyRelation(by: 'entity' | 'segment', entity: string): Sql {
    return by === 'entity'
      ? sql`(SELECT entity_key FROM ${sql.id(FORGET_KEYS)})`
      : sql`(SELECT f.entity_key AS entity_key, d.segment AS segment FROM ${sql.id(FORGET_KEYS)} AS f CROSS JOIN ${this.segmentsOf(entity)} AS d)`
  }

  private matches(by: 'entity' | 'segment', entity: string, t: Sql): Sql {
    return by === 'entity' ? sql`${t}.entity_key = k.entity_key AND ${t}.entity = ${sql.lit(entity)}` : sql`${t}.entity_key = k.entity_key AND ${t}.segment = k.segment`
  }

  /** Rows per table and key: `tbl, entity_key, n`. */
  counts(entity: string, defs?: readonly TableDef[]): string {
    const parts = erasableTables(defs).map(
      ({def, by}) => sql`SELECT ${sql.lit(def.name)} AS tbl, k.entity_key AS entity_key, COUNT(*) AS n
        FROM ${this.t(def.name)} AS x JOIN ${this.keyRelation(by, entity)} AS k ON ${this.matches(by, entity, sql`x`)}
        GROUP BY k.entity_key`,
    )
    return this.r(sql.join(parts, sql` UNION ALL `))
  }

  /**
   * segment_sizes as if the keys had never been members: each run's size and holdout size
   * lose the erased members whose history interval covers that run's as_of, and its entered
   * and exited counts their transitions in that run. Runs before forget, history still there.
   */
  recountSizes(entity: string): string {
    const e = sql.lit(entity)
    const deltas = sql`SELECT run_id, segment, SUM(members) AS members, SUM(held) AS held, SUM(entered) AS entered, SUM(exited) AS exited FROM (
        SELECT s.run_id AS run_id, s.segment AS segment, COUNT(*) AS members, COUNT(CASE WHEN h.holdout THEN 1 END) AS held, 0 AS entered, 0 AS exited
        FROM ${this.t(SIZES.name)} AS s
        JOIN ${this.t(HISTORY.name)} AS h ON h.segment = s.segment AND h.valid_from <= s.as_of AND (h.valid_to IS NULL OR h.valid_to > s.as_of)
        JOIN ${sql.id(FORGET_KEYS)} AS k ON k.entity_key = h.entity_key
        WHERE h.entity = ${e}
        GROUP BY s.run_id, s.segment
        UNION ALL
        SELECT t.run_id AS run_id, t.segment AS segment, 0 AS members, 0 AS held,
          COUNT(CASE WHEN t.change = 'entered' THEN 1 END) AS entered, COUNT(CASE WHEN t.change = 'exited' THEN 1 END) AS exited
        FROM ${this.t(TRANSITIONS.name)} AS t JOIN ${sql.id(FORGET_KEYS)} AS k ON k.entity_key = t.entity_key
        WHERE t.entity = ${e}
        GROUP BY t.run_id, t.segment
      ) AS z GROUP BY run_id, segment`
    return this.r(sql`UPDATE ${this.t(SIZES.name)} AS s
      SET size = s.size - d.members, holdout_size = s.holdout_size - d.held, entered = s.entered - d.entered, exited = s.exited - d.exited
      FROM (${deltas}) AS d
      WHERE d.run_id = s.run_id AND d.segment = s.segment`)
  }

  /**
   * One deletion per sync that acknowledged the key (whatever its segments there), queued
   * with the identifier it was sent as; the destination is the one its last sync run wrote to.
   */
  queueDeliveries(requestId: string, entity: string, at: string): string {
    const id = this.dialect.sha256Hex(sql`'erase|' || st.sync || '|' || k.key_hash || '|' || ${sql.lit(requestId)}`)
    return this.r(sql`INSERT INTO ${this.t(ERASURE_DELIVERIES.name)} (${sql.join(ERASURE_DELIVERIES.columns.map((c) => sql.id(c.name)))})
      SELECT ${sql.lit(requestId)}, k.key_hash, st.sync, MAX(r.destination), k.entity_key, MIN(st.dest_key), ${id}, 'pending', 0,
        ${this.int(null)}, ${this.str(null)}, ${this.dialect.timestamp(at)}
      FROM ${this.sentKeys(entity)}
      GROUP BY st.sync, k.key_hash, k.entity_key`)
  }

  /** What a dry run reports: per sync, its destination and the deletions it would queue. */
  previewDeliveries(entity: string): string {
    return this.r(sql`SELECT st.sync AS sync, MAX(r.destination) AS destination, COUNT(DISTINCT st.entity_key) AS n
      FROM ${this.sentKeys(entity)}
      GROUP BY st.sync`)
  }

  /** the sync state rows of the keys being erased (`st`), with the keys (`k`) and each sync's destination (`r`) */
  private sentKeys(entity: string): Sql {
    return sql`${this.t(SYNC_STATE.name)} AS st
      JOIN ${sql.id(FORGET_KEYS)} AS k ON k.entity_key = st.entity_key
      JOIN ${this.segmentsOf(entity)} AS d ON d.segment = st.segment
      LEFT JOIN ${this.lastDestinations()} AS r ON r.sync = st.sync`
  }

  /** The keys leave every erasable table. */
  erase(entity: string, defs?: readonly TableDef[]): string[] {
    return erasableTables(defs).map(({def, by}) => this.r(this.dialect.deleteJoined(this.t(def.name), this.keyRelation(by, entity), 'k', (t) => this.matches(by, entity, t))))
  }

  /** Deletions queued per key of one request: `key_hash, n`. */
  queuedPerKey(requestId: string): string {
    return this.r(sql`SELECT key_hash, COUNT(*) AS n FROM ${this.t(ERASURE_DELIVERIES.name)} WHERE request_id = ${sql.lit(requestId)} GROUP BY key_hash`)
  }

  insertErasures(rows: readonly ErasureRow[]): string[] {
    const out: string[] = []
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const values = rows
        .slice(i, i + ROWS_PER_STATEMENT)
        .map((r) => sql`(${sql.lit(r.request_id)}, ${this.dialect.timestamp(r.requested_at)}, ${sql.lit(r.entity)}, ${sql.lit(r.key_hash)}, ${sql.lit(r.tables_rows)}, ${sql.lit(r.status)})`)
      out.push(this.r(sql`INSERT INTO ${this.t(ERASURES.name)} (${sql.join(ERASURES.columns.map((c) => sql.id(c.name)))}) VALUES ${sql.join(values)}`))
    }
    return out
  }

  /** Every deletion not yet acknowledged, oldest request first. */
  pending(): string {
    return this.r(sql`SELECT request_id, key_hash, sync, destination, entity_key, dest_key, idempotency_key
      FROM ${this.t(ERASURE_DELIVERIES.name)} WHERE status <> 'succeeded' ORDER BY request_id, sync, key_hash`)
  }

  /**
   * The outcome of sent deletions: an acknowledged one forgets the key and the identifier; then
   * every request whose deletions are all acknowledged is done.
   */
  settle(updates: readonly DeliveryUpdate[], at: string): string[] {
    if (!updates.length) return []
    // one UPDATE per distinct outcome: a batch usually has one
    const groups = new Map<string, DeliveryUpdate[]>()
    for (const u of updates) {
      const k = JSON.stringify([u.status, u.attempts, u.http_status, u.reason])
      const group = groups.get(k)
      if (group) group.push(u)
      else groups.set(k, [u])
    }
    const out = [...groups.values()].map((us) => {
      const u = us[0]!
      const done = u.status === 'succeeded'
      return this.r(sql`UPDATE ${this.t(ERASURE_DELIVERIES.name)}
        SET status = ${sql.lit(u.status)}, attempts = attempts + ${sql.lit(u.attempts)}, http_status = ${this.int(u.http_status)},
          reason = ${this.str(u.reason)}, ${sql.id('at')} = ${this.dialect.timestamp(at)}
          ${done ? sql`, entity_key = ${this.str(null)}, dest_key = ${this.str(null)}` : sql``}
        WHERE idempotency_key IN (${sql.join(us.map((x) => sql.lit(x.idempotency_key)))})`)
    })
    out.push(this.markDone())
    return out
  }

  markDone(): string {
    return this.r(sql`UPDATE ${this.t(ERASURES.name)} SET status = 'done'
      WHERE status = 'pending' AND request_id || ':' || key_hash NOT IN (
        SELECT request_id || ':' || key_hash FROM ${this.t(ERASURE_DELIVERIES.name)} WHERE status <> 'succeeded')`)
  }

  /** The erasure requests of one key (`segc why`). */
  erasedKey(entity: string, keyHash: string): string {
    return this.r(sql`SELECT request_id, requested_at, status FROM ${this.t(ERASURES.name)} WHERE entity = ${sql.lit(entity)} AND key_hash = ${sql.lit(keyHash)} ORDER BY requested_at`)
  }
}

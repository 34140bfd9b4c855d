// The SQL of `segc sync` (SPEC §11), for any dialect: the plan (what may be sent, diffed
// against what the destination acknowledged) is one query run in the warehouse, and state and
// log changes are small statements per acknowledged batch. Membership never comes to Node to
// be diffed; only the operations of the diff do.
import {sql} from 'kysely'
import type {Entity} from '../resolve/model.js'
import type {SyncDef, TraitField} from '../resolve/resolve-syncs.js'
import {profileTable} from '../resolve/resolve-profile.js'
import {MEMBERSHIP, RUNS, SIZES, SYNC_LOG, SYNC_RUNS, SYNC_STATE, SYNC_TABLES, TRANSITIONS} from '../warehouse/tables.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {relationSql} from './expr-writer.js'
import {createTables} from './output-sql.js'
import {ROWS_PER_STATEMENT, Statements} from './statements.js'

/** One planned operation as the plan query returns it. */
export interface PlannedOp {
  segment: string
  entity_key: string
  op: 'add' | 'remove' | 'update' | 'skip'
  /** the identifier to send (NULL for a skipped member, the old one for a removal) */
  dest_key: string | null
  payload_hash: string | null
  /** the state's hash for a removal: part of its idempotency key */
  previous_hash: string | null
  entered_at: string | null
  /** field values, in the sync's field order */
  fields: unknown[]
  /** events mode: the transition behind the change */
  cause: string | null
  transitioned_at: string | null
}

export interface SyncRunRow {
  sync_run_id: string
  sync: string
  destination: string
  mode: string
  segment_run_id: string
  started_at: string
  finished_at: string | null
  status: string
  planned_add: number
  planned_remove: number
  planned_update: number
  succeeded: number
  rejected: number
  skipped: number
  pending: number
  error: string | null
}

export interface LogRow {
  segment: string
  entity_key: string
  op: string
  idempotency_key: string
  status: 'succeeded' | 'rejected' | 'skipped' | 'pending'
  attempts: number
  http_status: number | null
  reason: string | null
}

export interface StateRow {
  segment: string
  entity_key: string
  dest_key: string
  payload_hash: string
}

const FIELD = (i: number) => `f_${i}`

/**
 * A rounded number as the payload hash reads it: the count of 10^-round units it rounds to (half
 * away from zero), as text, so equal texts are equal values as sent. Rounding an exact decimal
 * is costly on DuckDB (a 128-bit ROUND was most of a daily plan's hashing: BENCHMARKS.md,
 * "Profiles"), so the value is rounded as a float wherever the float's error cannot reach a
 * rounding boundary: below 10^9 units and more than 10^-6 of a unit from a half. A value near a
 * half (a price of 12.50, to whole units) is rounded exactly, to the same count. Values of 10^9
 * units or more are hashed as their exact rounding's text, marked `=` (a count could overflow).
 */
export function roundedHashText(d: Dialect, column: Sql, round: number): Sql {
  const scale = sql.raw(String(10 ** round))
  const text = (e: Sql) => sql`CAST(CAST(${e} AS ${sql.raw(d.integerType)}) AS ${sql.raw(d.stringType)})`
  const units = sql`(CAST(${column} AS ${sql.raw(d.floatType)}) * ${scale})`
  const exact = sql`ROUND(${column}, ${sql.lit(round)})`
  return sql`CASE WHEN ABS(${units}) >= 1000000000 THEN '=' || CAST(${exact} AS ${sql.raw(d.stringType)})
    WHEN ABS(${units} - FLOOR(${units}) - 0.5) > 0.000001 THEN ${text(sql`SIGN(${units}) * FLOOR(ABS(${units}) + 0.5)`)}
    ELSE ${text(sql`${exact} * ${scale}`)} END`
}

export class SyncStatements extends Statements {

  private text(e: Sql): Sql {
    return sql`CAST(${e} AS ${sql.raw(this.dialect.stringType)})`
  }

  /** The sync tables, created if missing (a project run before syncs existed has none). */
  setup(): string[] {
    return createTables(this.dialect, this.schema, SYNC_TABLES).map((s) => this.r(s))
  }

  /** The latest successful run: the membership a sync sends. */
  latestRun(): string {
    return this.r(sql`SELECT run_id, as_of FROM ${this.t(RUNS.name)} WHERE status = 'success' ORDER BY as_of DESC, finished_at DESC LIMIT 1`)
  }

  /** Sizes written by that run, for the `expect` guard. */
  sizes(runId: string): string {
    return this.r(sql`SELECT segment, size, entered, exited FROM ${this.t(SIZES.name)} WHERE run_id = ${sql.lit(runId)}`)
  }

  /** Rows of one entity's table, for `expect: max_share`. */
  universe(entity: Entity): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${relationSql(entity.relation)} AS e`)
  }

  stateSize(sync: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(SYNC_STATE.name)} WHERE sync = ${sql.lit(sync)}`)
  }

  /** --full-resync: forget what was acknowledged, so everything sendable is sent again as adds. */
  forgetState(sync: string): string {
    return this.r(sql`DELETE FROM ${this.t(SYNC_STATE.name)} WHERE sync = ${sql.lit(sync)}`)
  }

  /**
   * The sendable set (SPEC §11 "What may be sent": members of the sync's segments, not in the
   * holdout, every consent attribute TRUE), full-outer-joined with the sync's state: one row
   * per add, remove, update, and skip (a member without an identifier). Unchanged rows are not
   * returned. In audience and events mode only the identifier decides a change; in upsert and
   * mirror mode the fields do too (their md5 is the payload hash; as_of is left out of it, or
   * every run would update every row).
   *
   * A sync with trait fields reads its members from the entity's profile, whose `in_`/`holdout_`
   * columns are the membership (SPEC §19), instead of joining the membership to the profile:
   * a daily plan hashes every member to find the few whose sent values changed, and that join
   * was a third of its time (BENCHMARKS.md, "Profiles"). Each member's entered_at, which only
   * the membership holds, is read for the returned rows alone. The fields as sent are computed
   * after the diff too, so unchanged members carry raw columns only.
   */
  plan(sync: SyncDef, entity: Entity, asOf: string): string {
    const d = this.dialect
    const key = this.text(sql.id('e', entity.key))
    const fromProfile = sync.fields.some((f) => f.source.kind === 'trait') && !sync.fields.some((f) => f.source.kind === 'builtin' && f.source.name === 'entered_at')
    // the columns a field is computed from, carried through the diff under r_<i>
    const raw = sync.fields.map((f): Sql | undefined => {
      if (f.source.kind === 'attribute') return sql.id('e', f.source.attribute.column)
      if (f.source.kind === 'trait') return sql.id('pr', f.source.trait)
      if (f.source.name === 'entered_at') return sql.id('m', 'entered_at')
      return undefined
    })
    /** A field's value as sent, over `row`'s columns (the sendable row's, or the diff's). */
    const value = (i: number, row: string): Sql => {
      const f = sync.fields[i]!
      const r = sql.id(row, `r_${i}`)
      if (f.source.kind === 'attribute') return r
      if (f.source.kind === 'trait') return this.traitValue(f.source, r)
      switch (f.source.name) {
        case 'in_segment':
          return sql`TRUE`
        case 'segment':
          return sql.id(row, 'segment')
        case 'entered_at':
          return r
        case 'as_of':
          return d.timestamp(asOf)
        case 'entity_key':
          return sql.id(row, 'entity_key')
      }
    }
    const identify = this.text(sql.id('e', sync.identifyBy?.column ?? entity.key))
    const hashed = sync.mode === 'upsert' || sync.mode === 'mirror' ? sync.fields.map((f, i) => ({f, i})).filter(({f}) => !(f.source.kind === 'builtin' && f.source.name === 'as_of')) : []
    const hashText = (i: number): Sql => {
      const f = sync.fields[i]!
      if (f.source.kind === 'trait' && f.source.round !== undefined) return roundedHashText(this.dialect, sql.id('c', `r_${i}`), f.source.round)
      return this.text(value(i, 'c'))
    }
    const parts = [sql`COALESCE(c.dest_key, '')`, ...hashed.map(({i}) => sql`COALESCE(${hashText(i)}, ${sql.lit('<null>')})`)]
    const hash = d.md5Hex(sql.join(parts, sql` || '|' || `))
    const consent = sync.consent.map((a) => sql` AND ${sql.id('e', a.column)} = TRUE`)
    const segments = sql.join(sync.segments.map((s) => sql.lit(s)))
    const carried = sql.join(
      raw.flatMap((r, i) => (r === undefined ? [] : [sql`, ${r} AS ${sql.id(`r_${i}`)}`])),
      sql``,
    )
    const profile = sync.fields.some((f) => f.source.kind === 'trait') ? sql`
        LEFT JOIN ${this.t(profileTable(entity.name))} AS pr ON pr.entity_key = m.entity_key` : sql``
    // members with the columns they are sent from; `c` is this row inside the hash's scope
    const members = fromProfile
      ? sql`SELECT pr.segment AS segment, pr.entity_key AS entity_key, CAST(NULL AS ${sql.raw(d.timestampType)}) AS entered_at,
          ${identify} AS dest_key${carried}
        FROM (${sql.join(
          sync.segments.map((s) => {
            const holdout = sync.holdouts.includes(s) ? sql` AND ${sql.id('p', `holdout_${s}`)} = FALSE` : sql``
            return sql`SELECT ${sql.lit(s)} AS segment, p.* FROM ${this.t(profileTable(entity.name))} AS p WHERE ${sql.id('p', `in_${s}`)} = TRUE${holdout}`
          }),
          sql` UNION ALL `,
        )}) AS pr
        JOIN ${relationSql(entity.relation)} AS e ON ${key} = pr.entity_key${sql.join(consent, sql``)}`
      : sql`SELECT m.segment AS segment, m.entity_key AS entity_key, m.entered_at AS entered_at,
          ${identify} AS dest_key${carried}
        FROM ${this.t(MEMBERSHIP.name)} AS m
        JOIN ${relationSql(entity.relation)} AS e ON ${key} = m.entity_key${profile}
        WHERE m.segment IN (${segments}) AND m.holdout = FALSE${sql.join(consent, sql``)}`
    const sendable = sql`SELECT c.*, ${hash} AS payload_hash FROM (${members}) AS c`
    const state = sql`SELECT segment, entity_key, dest_key, payload_hash, synced_at FROM ${this.t(SYNC_STATE.name)} WHERE sync = ${sql.lit(sync.name)}`
    const op = sql`CASE WHEN st.entity_key IS NULL THEN CASE WHEN s.dest_key IS NULL THEN 'skip' ELSE 'add' END
        WHEN s.entity_key IS NULL OR s.dest_key IS NULL THEN 'remove' ELSE 'update' END`
    const changed =
      sync.mode === 'events'
        ? sql`st.entity_key IS NULL OR s.entity_key IS NULL OR s.dest_key IS NULL`
        : sql`st.entity_key IS NULL OR s.entity_key IS NULL OR s.dest_key IS NULL OR s.payload_hash <> st.payload_hash OR s.dest_key <> st.dest_key`
    const diff = sql`SELECT COALESCE(s.segment, st.segment) AS segment, COALESCE(s.entity_key, st.entity_key) AS entity_key, ${op} AS op,
        CASE WHEN s.entity_key IS NULL OR s.dest_key IS NULL THEN st.dest_key ELSE s.dest_key END AS dest_key,
        s.payload_hash AS payload_hash, st.payload_hash AS previous_hash, st.synced_at AS synced_at, s.entered_at AS entered_at
        ${sql.join(
          sync.fields.map((_, i) => sql`, ${value(i, 's')} AS ${sql.id(FIELD(i))}`),
          sql``,
        )}
      FROM (${sendable}) AS s FULL OUTER JOIN (${state}) AS st ON st.segment = s.segment AND st.entity_key = s.entity_key
      WHERE ${changed}`
    if (fromProfile) {
      // entered_at of the rows returned: the membership's, for a member sent (SPEC §11's idempotency key)
      const fields = sql.join(sync.fields.map((_, i) => sql`, p.${sql.id(FIELD(i))}`), sql``)
      return this.r(sql`SELECT p.segment, p.entity_key, p.op, p.dest_key, p.payload_hash, p.previous_hash, p.synced_at,
          CASE WHEN p.op = 'remove' THEN NULL ELSE m.entered_at END AS entered_at${fields}
        FROM (${diff}) AS p
        LEFT JOIN ${this.t(MEMBERSHIP.name)} AS m ON m.segment = p.segment AND m.entity_key = p.entity_key
        ORDER BY p.segment, p.entity_key`)
    }
    if (sync.mode !== 'events') return this.r(sql`SELECT * FROM (${diff}) AS p ORDER BY segment, entity_key`)
    // events: the transition behind each net change. A member now (an add) entered at its
    // latest entry; a non-member (a remove) left at its latest exit; a member removed for
    // the holdout or consent has no exit, and says so.
    const transitions = sql`SELECT segment, entity_key, change, cause, transitioned_at,
        ROW_NUMBER() OVER (PARTITION BY segment, entity_key, change ORDER BY transitioned_at DESC) AS rn
      FROM ${this.t(TRANSITIONS.name)} WHERE segment IN (${segments})`
    return this.r(sql`SELECT p.*,
        CASE WHEN cur.entity_key IS NOT NULL AND p.op = 'remove' THEN CASE WHEN cur.holdout THEN 'holdout' ELSE 'not_sendable' END ELSE t.cause END AS cause,
        CASE WHEN cur.entity_key IS NOT NULL AND p.op = 'remove' THEN ${d.timestamp(asOf)} ELSE t.transitioned_at END AS transitioned_at
      FROM (${diff}) AS p
      LEFT JOIN ${this.t(MEMBERSHIP.name)} AS cur ON cur.segment = p.segment AND cur.entity_key = p.entity_key
      LEFT JOIN (${transitions}) AS t ON t.segment = p.segment AND t.entity_key = p.entity_key AND t.rn = 1
        AND t.change = CASE WHEN p.op = 'remove' THEN 'exited' ELSE 'entered' END
      ORDER BY p.segment, p.entity_key`)
  }

  /**
   * A trait field's value as sent, so that the payload hash compares what the destination
   * receives: a rounded number rounded in the warehouse (ROUND is half away from zero on every
   * dialect segc targets, and exact on decimals), exact decimals as floats (JSON numbers).
   */
  private traitValue(f: TraitField, column: Sql): Sql {
    if (f.round !== undefined) return sql`CAST(ROUND(${column}, ${sql.lit(f.round)}) AS ${sql.raw(this.dialect.floatType)})`
    if (f.type === 'exact') return sql`CAST(${column} AS ${sql.raw(this.dialect.floatType)})`
    return column
  }

  insertRun(row: SyncRunRow): string {
    const cols = Object.keys(row) as Array<keyof SyncRunRow>
    const value = (k: keyof SyncRunRow): Sql => {
      const v = row[k]
      if (k === 'started_at' || k === 'finished_at') return v === null ? sql`CAST(NULL AS ${sql.raw(this.dialect.timestampType)})` : this.dialect.timestamp(String(v))
      return typeof v === 'number' ? this.int(v) : this.str(v as string | null)
    }
    return this.r(sql`INSERT INTO ${this.t(SYNC_RUNS.name)} (${sql.join(cols.map((c) => sql.id(c)))}) VALUES (${sql.join(cols.map(value))})`)
  }

  finishRun(row: SyncRunRow): string {
    const set = (['status', 'planned_add', 'planned_remove', 'planned_update', 'succeeded', 'rejected', 'skipped', 'pending', 'error'] as const).map(
      (k) => sql`${sql.id(k)} = ${typeof row[k] === 'number' ? this.int(row[k]) : this.str(row[k] as string | null)}`,
    )
    return this.r(sql`UPDATE ${this.t(SYNC_RUNS.name)} SET ${sql.join(set)}, finished_at = ${this.dialect.timestamp(row.finished_at ?? new Date().toISOString())} WHERE sync_run_id = ${sql.lit(row.sync_run_id)}`)
  }

  /** State after acknowledged operations: removals deleted, adds and updates replaced. */
  applyState(sync: string, upserts: readonly StateRow[], removals: ReadonlyArray<{segment: string; entity_key: string}>, at: string): string[] {
    const out: string[] = []
    const touched = [...upserts, ...removals]
    for (let i = 0; i < touched.length; i += ROWS_PER_STATEMENT) {
      const bySegment = new Map<string, string[]>()
      for (const r of touched.slice(i, i + ROWS_PER_STATEMENT)) {
        const keys = bySegment.get(r.segment)
        if (keys) keys.push(r.entity_key)
        else bySegment.set(r.segment, [r.entity_key])
      }
      const which = sql.join(
        [...bySegment].map(([segment, keys]) => sql`(segment = ${sql.lit(segment)} AND entity_key IN (${sql.join(keys.map((k) => sql.lit(k)))}))`),
        sql` OR `,
      )
      out.push(this.r(sql`DELETE FROM ${this.t(SYNC_STATE.name)} WHERE sync = ${sql.lit(sync)} AND (${which})`))
    }
    for (let i = 0; i < upserts.length; i += ROWS_PER_STATEMENT) {
      const rows = upserts.slice(i, i + ROWS_PER_STATEMENT).map((u) => sql`(${sql.lit(sync)}, ${sql.lit(u.segment)}, ${sql.lit(u.entity_key)}, ${sql.lit(u.dest_key)}, ${sql.lit(u.payload_hash)}, ${this.dialect.timestamp(at)})`)
      out.push(this.r(sql`INSERT INTO ${this.t(SYNC_STATE.name)} (${sql.join(SYNC_STATE.columns.map((c) => sql.id(c.name)))}) VALUES ${sql.join(rows)}`))
    }
    return out
  }

  insertLog(syncRunId: string, sync: string, rows: readonly LogRow[], at: string): string[] {
    const out: string[] = []
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const values = rows.slice(i, i + ROWS_PER_STATEMENT).map(
        (l) =>
          sql`(${sql.lit(syncRunId)}, ${sql.lit(sync)}, ${sql.lit(l.segment)}, ${sql.lit(l.entity_key)}, ${sql.lit(l.op)}, ${sql.lit(l.idempotency_key)}, ${sql.lit(l.status)}, ${this.int(l.attempts)}, ${this.int(l.http_status)}, ${this.str(l.reason)}, ${this.dialect.timestamp(at)})`,
      )
      out.push(this.r(sql`INSERT INTO ${this.t(SYNC_LOG.name)} (${sql.join(SYNC_LOG.columns.map((c) => sql.id(c.name)))}) VALUES ${sql.join(values)}`))
    }
    return out
  }

  /** A run that died with its row still `running`: closed as failed by the next sync. */
  closeAbandoned(sync: string, at: string): string {
    return this.r(sql`UPDATE ${this.t(SYNC_RUNS.name)} SET status = 'failed', error = 'the sync process ended before it finished', finished_at = ${this.dialect.timestamp(at)} WHERE sync = ${sql.lit(sync)} AND status = 'running'`)
  }
}

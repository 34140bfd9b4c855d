import {sql} from 'kysely'
import type {CatalogRow} from '../catalog/catalog.js'
import type {LiftCounts, LiftStatistics} from '../catalog/lift.js'
import type {Plan} from '../plan/plan-types.js'
import {CATALOG, DEFINITIONS, ERASURES, GROUP_TRANSITIONS, HISTORY, LIFT, MEMBERSHIP, OUTPUT_TABLES, OVERLAP, RUNS, SIZES, STATE_TABLES, SYNC_LOG, TRANSITIONS} from '../warehouse/tables.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import type {Relation} from '../resolve/model.js'
import {compilerFor, membershipQuery, render} from './generate-sql.js'
import {ExprWriter, relationSql} from './expr-writer.js'
import {changesQuery} from './diff-sql.js'
import {createTables} from './output-sql.js'
import {Statements} from './statements.js'

// Scratch tables of one run (session-scoped, dropped with the connection).
const RUN_SEGMENTS = 'segc_run_segments'
const GROUP_SEGMENTS = 'segc_group_segments'
const CHANGES = 'segc_changes'
const RUN_SIZES = 'segc_run_sizes'
const MOVES = 'segc_moves'
const ORDINALS = 'segc_overlap_segments'

export type Cause = 'data' | 'definition' | 'segment_added' | 'segment_removed'

export interface RunSegment {
  segment: string
  entity: string
  cause: Cause
}

export interface DefinitionRow {
  segment: string
  entity: string
  definition_hash: string
  description: string | null
  owner: string | null
  tags: string
  first_run_id: string
  changed_run_id: string
  removed_run_id: string | null
}

export interface RunContext {
  runId: string
  asOf: string
  schema: string
  target: string
  version: string
  startedAt: string
  /** every segment this run writes, removed ones included, with the cause of its transitions */
  segments: RunSegment[]
  /** group → its segments, for the groups this run evaluates */
  groups: Array<{group: string; segment: string}>
  /** the segment_definitions rows of the run's segments after it */
  definitions: DefinitionRow[]
  /** full or incremental (SPEC §13); unknown until the run has decided */
  mode?: 'full' | 'incremental'
  /**
   * SPEC §20: per entity, a table of the profiles (entity_key) that merged into another since
   * the last run; their exits have cause `merged` where the segment's cause is `data`
   */
  merged?: Array<{entity: string; table: string}>
  /** SPEC §20: per entity with identity, identityHash of what its map was labelled from (segment_runs.identity_hashes) */
  identityHashes?: Record<string, string>
}

/**
 * The statements of runs, in order, as SQL text for one dialect. run/ executes them in one
 * transaction; nothing here knows which warehouse it is.
 */
export class RunStatements extends Statements {
  /** A transition's cause: the segment's, except `merged` for the exit of a profile that merged (precedence of SPEC §20). */
  private cause(ctx: RunContext): Sql {
    if (!ctx.merged?.length) return sql`s.cause`
    const merged = sql.join(ctx.merged.map((m) => sql`SELECT ${sql.lit(m.entity)} AS entity, entity_key FROM ${sql.id(m.table)}`), sql` UNION ALL `)
    return sql`CASE WHEN s.cause = 'data' AND c.change = 'exited' AND EXISTS (SELECT 1 FROM (${merged}) AS mg WHERE mg.entity = c.entity AND mg.entity_key = c.entity_key) THEN 'merged' ELSE s.cause END`
  }


  /** Schema, tables and their comments; idempotent. */
  setup(): string[] {
    // segment_runs.mode came later (SPEC §13): a target made by an earlier segc gets the column
    const upgrade = sql`ALTER TABLE ${this.t(RUNS.name)} ADD COLUMN IF NOT EXISTS ${sql.id('mode')} ${sql.raw(this.dialect.stringType)}`
    // and segment_runs.identity_hashes later still (SPEC §20's read-only commands)
    const hashes = sql`ALTER TABLE ${this.t(RUNS.name)} ADD COLUMN IF NOT EXISTS ${sql.id('identity_hashes')} ${sql.raw(this.dialect.stringType)}`
    return createTables(this.dialect, this.schema, OUTPUT_TABLES, new Map([[RUNS.name, [upgrade, hashes]]])).map((s) => this.r(s))
  }

  /**
   * The as_of history has reached: read from segment_sizes, which every committed run writes
   * and --rebuild empties (segment_runs keeps runs from before a rebuild).
   */
  lastSuccessfulAsOf(): string {
    return this.r(sql`SELECT max(as_of) AS as_of FROM ${this.t(SIZES.name)}`)
  }

  /** entities with an erased key: their plans exclude erased keys */
  erasedEntities(): string {
    return this.r(sql`SELECT DISTINCT entity FROM ${this.t(ERASURES.name)}`)
  }

  definitions(): string {
    return this.r(sql`SELECT * FROM ${this.t(DEFINITIONS.name)}`)
  }

  /** --rebuild: history starts again from an empty state (the run log stays). */
  rebuild(): string[] {
    return STATE_TABLES.map((def) => this.r(sql`DELETE FROM ${this.t(def.name)}`))
  }

  /**
   * The diff of the new membership against the current one, and sizes: into scratch tables.
   * `layers`: entities whose last layer is already materialized (profile-sql.ts), read from it.
   */
  compute(plan: Plan, ctx: RunContext, layers?: ReadonlySet<string>): string[] {
    const {dialect} = this
    const membership = this.t(MEMBERSHIP.name)
    const lit = (v: string) => sql.lit(v)
    // a FROM keeps the WHERE legal everywhere (BigQuery refuses WHERE without FROM)
    const none = sql`FROM (SELECT 1 AS one) AS z WHERE 1 = 0`
    const segRows = ctx.segments.map((s) => [lit(s.segment), lit(s.entity), lit(s.cause)])
    const groupRows = ctx.groups.map((g) => [lit(g.group), lit(g.segment)])
    const noRows = (cols: string[]) => sql`SELECT ${sql.join(cols.map((c) => sql`CAST(NULL AS ${sql.raw(dialect.stringType)}) AS ${sql.id(c)}`))} ${none}`
    const current = sql`(SELECT m.* FROM ${membership} AS m JOIN ${sql.id(RUN_SEGMENTS)} AS s ON s.segment = m.segment)`
    return [
      this.r(dialect.createTempTable(RUN_SEGMENTS, segRows.length ? sql`SELECT * FROM ${dialect.values(['segment', 'entity', 'cause'], segRows)}` : noRows(['segment', 'entity', 'cause']))),
      this.r(dialect.createTempTable(GROUP_SEGMENTS, groupRows.length ? sql`SELECT * FROM ${dialect.values(['group_name', 'segment'], groupRows)}` : noRows(['group_name', 'segment']))),
      // entered / exited, and 'holdout' where a continuing member's holdout flag flipped. The
      // new membership is diffed as it is computed, never stored (diff-sql.ts); sizes follow
      // from the diff.
      this.r(dialect.createTempTable(CHANGES, changesQuery(this.db, dialect, plan, membership, sql.id(RUN_SEGMENTS), {sweep: ctx.segments.some((s) => s.cause !== 'data'), ...(layers ? {layers} : {})}))),
      // new size = current size + entered − exited; the holdout count moves with entries,
      // exits and flips of holdout members
      this.r(
        dialect.createTempTable(
          RUN_SIZES,
          sql`SELECT s.segment AS segment, s.entity AS entity, s.cause AS cause,
                COALESCE(p.size, 0) + COALESCE(c.entered, 0) - COALESCE(c.exited, 0) AS size,
                COALESCE(p.holdout_size, 0) + COALESCE(c.holdout_delta, 0) AS holdout_size,
                COALESCE(c.entered, 0) AS entered, COALESCE(c.exited, 0) AS exited
              FROM ${sql.id(RUN_SEGMENTS)} AS s
              LEFT JOIN (SELECT segment, COUNT(*) AS size, COUNT(CASE WHEN holdout THEN 1 END) AS holdout_size FROM ${current} AS m GROUP BY segment) AS p ON p.segment = s.segment
              LEFT JOIN (SELECT segment, COUNT(CASE WHEN change = 'entered' THEN 1 END) AS entered, COUNT(CASE WHEN change = 'exited' THEN 1 END) AS exited,
                           SUM(CASE WHEN change = 'exited' THEN CASE WHEN was_holdout THEN -1 ELSE 0 END WHEN holdout THEN 1 WHEN change = 'holdout' THEN -1 ELSE 0 END) AS holdout_delta
                         FROM ${sql.id(CHANGES)} GROUP BY segment) AS c ON c.segment = s.segment`,
        ),
      ),
    ]
  }

  /** rows of an entity relation (the universe max_share divides by) */
  universe(relation: Relation): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${relationSql(relation)} AS e`)
  }

  /** segment, entity, cause, size, holdout_size, entered, exited of every run segment */
  sizes(): string {
    return this.r(sql`SELECT * FROM ${sql.id(RUN_SIZES)} ORDER BY segment`)
  }

  /** members whose holdout flag this run flips (they stay members; their rows change) */
  holdoutFlips(): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${sql.id(CHANGES)} WHERE change = 'holdout'`)
  }

  /**
   * Retention (SPEC §15): history intervals closed before `historyBefore`, and transitions, group
   * transitions and sync log rows before `transitionsBefore`, deleted in the run's transaction.
   * A membership's transitions go only in whole: up to its last exit before the bound, so what
   * remains still starts with an entry and replays to the membership (SPEC §5's invariants); a
   * current member's entry is kept however old.
   */
  retention(historyBefore: string | undefined, transitionsBefore: string | undefined): string[] {
    const out: string[] = []
    if (historyBefore) out.push(this.r(sql`DELETE FROM ${this.t(HISTORY.name)} WHERE valid_to IS NOT NULL AND valid_to < ${this.ts(historyBefore)}`))
    if (transitionsBefore) {
      const bound = this.ts(transitionsBefore)
      const cuts = sql`(SELECT segment, entity, entity_key, MAX(transitioned_at) AS cut FROM ${this.t(TRANSITIONS.name)}
        WHERE change = 'exited' AND transitioned_at < ${bound} GROUP BY segment, entity, entity_key)`
      out.push(
        this.r(
          this.dialect.deleteJoined(this.t(TRANSITIONS.name), cuts, 'c', (t) => sql`${t}.segment = c.segment AND ${t}.entity = c.entity AND ${t}.entity_key = c.entity_key AND ${t}.transitioned_at <= c.cut`),
        ),
        this.r(sql`DELETE FROM ${this.t(GROUP_TRANSITIONS.name)} WHERE transitioned_at < ${bound}`),
        this.r(sql`DELETE FROM ${this.t(SYNC_LOG.name)} WHERE ${sql.id('at')} < ${bound}`),
      )
    }
    return out
  }

  /** Appends transitions and history, replaces membership, records sizes and definitions. */
  write(ctx: RunContext): string[] {
    const {dialect} = this
    const at = this.ts(ctx.asOf)
    const run = sql.lit(ctx.runId)
    const membership = this.t(MEMBERSHIP.name)
    const history = this.t(HISTORY.name)
    const inRun = sql`SELECT segment FROM ${sql.id(RUN_SEGMENTS)}`
    const defs = ctx.definitions.map((d) => [
      sql.lit(d.segment),
      sql.lit(d.entity),
      sql.lit(d.definition_hash),
      d.description === null ? sql`NULL` : sql.lit(d.description),
      d.owner === null ? sql`NULL` : sql.lit(d.owner),
      sql.lit(d.tags),
      sql.lit(d.first_run_id),
      sql.lit(d.changed_run_id),
      d.removed_run_id === null ? sql`NULL` : sql.lit(d.removed_run_id),
    ])
    const defColumns = DEFINITIONS.columns.map((c) => c.name)
    return [
      this.r(sql`INSERT INTO ${this.t(TRANSITIONS.name)} (run_id, transitioned_at, segment, entity, entity_key, change, cause)
        SELECT ${run}, ${at}, c.segment, c.entity, c.entity_key, c.change, ${this.cause(ctx)}
        FROM ${sql.id(CHANGES)} AS c JOIN ${sql.id(RUN_SEGMENTS)} AS s ON s.segment = c.segment
        WHERE c.change <> 'holdout'`),
      // Within a group an entity is in at most one segment before and after, so its move is
      // its exit from one group segment and its entry into another: read off the changes.
      this.r(sql`INSERT INTO ${this.t(GROUP_TRANSITIONS.name)} (run_id, transitioned_at, group_name, entity, entity_key, from_segment, to_segment)
        SELECT ${run}, ${at}, g.group_name, c.entity, c.entity_key,
          MAX(CASE WHEN c.change = 'exited' THEN c.segment END), MAX(CASE WHEN c.change = 'entered' THEN c.segment END)
        FROM ${sql.id(CHANGES)} AS c JOIN ${sql.id(GROUP_SEGMENTS)} AS g ON g.segment = c.segment
        WHERE c.change <> 'holdout'
        GROUP BY g.group_name, c.entity, c.entity_key`),
      // SCD2: close the open interval of whoever exited or changed holdout, open one for whoever entered or changed
      this.r(sql`UPDATE ${history} AS h SET valid_to = ${at}
        FROM ${sql.id(CHANGES)} AS c
        WHERE h.valid_to IS NULL AND c.change <> 'entered'
          AND c.segment = h.segment AND c.entity = h.entity AND c.entity_key = h.entity_key`),
      this.r(sql`INSERT INTO ${history} (segment, entity, entity_key, valid_from, valid_to, holdout)
        SELECT segment, entity, entity_key, ${at}, NULL, holdout FROM ${sql.id(CHANGES)} WHERE change <> 'exited'`),
      // Membership changes in place: only the rows that moved are touched, so a daily run
      // costs what changed, not the size of every segment. Continuing members keep
      // entered_at and the run_id of the run that last wrote them.
      this.r(
        dialect.deleteJoined(membership, sql.id(CHANGES), 'c', (m) => sql`c.change = 'exited' AND c.segment = ${m}.segment AND c.entity = ${m}.entity AND c.entity_key = ${m}.entity_key`),
      ),
      this.r(sql`UPDATE ${membership} AS m SET holdout = c.holdout, run_id = ${run}
        FROM ${sql.id(CHANGES)} AS c
        WHERE c.change = 'holdout' AND c.segment = m.segment AND c.entity = m.entity AND c.entity_key = m.entity_key`),
      this.r(sql`INSERT INTO ${membership} (segment, entity, entity_key, entered_at, holdout, run_id)
        SELECT segment, entity, entity_key, ${at}, holdout, ${run} FROM ${sql.id(CHANGES)} WHERE change = 'entered'`),
      this.r(sql`INSERT INTO ${this.t(SIZES.name)} (run_id, as_of, segment, size, holdout_size, entered, exited)
        SELECT ${run}, ${at}, segment, size, holdout_size, entered, exited FROM ${sql.id(RUN_SIZES)}`),
      this.r(sql`DELETE FROM ${this.t(DEFINITIONS.name)} WHERE segment IN (${inRun})`),
      ...(defs.length
        ? [this.r(sql`INSERT INTO ${this.t(DEFINITIONS.name)} (${sql.join(defColumns.map((c) => sql.id(c)))}) SELECT * FROM ${dialect.values(defColumns, defs)}`)]
        : []),
    ]
  }

  /** The catalog holds exactly the project's current segments: rewritten whole. */
  catalog(rows: CatalogRow[]): string[] {
    const t = this.t(CATALOG.name)
    const value = (v: string | number | null) => (v === null ? sql`NULL` : sql.lit(v))
    const columns = CATALOG.columns.map((c) => c.name as keyof CatalogRow)
    return [
      this.r(sql`DELETE FROM ${t} WHERE 1 = 1`),
      ...(rows.length
        ? [this.r(sql`INSERT INTO ${t} (${sql.join(columns.map((c) => sql.id(c)))}) VALUES ${sql.join(rows.map((r) => sql`(${sql.join(columns.map((c) => value(r[c])))})`))}`)]
        : []),
    ]
  }

  /**
   * Every pair of segments of one entity, from the membership just written, in one statement:
   * a self-join of membership on the entity key counts `both`; sizes give the rest. Segments
   * come from the catalog, so a pair of empty segments still gets its row.
   */
  /** The run whose writes the membership table holds now: the last one committed. */
  lastCommittedRun(): string {
    return this.r(sql`SELECT run_id FROM ${this.t(RUNS.name)} WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1`)
  }

  overlapRows(runId: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(OVERLAP.name)} WHERE run_id = ${sql.lit(runId)}`)
  }

  /**
   * Overlap of every pair of segments of one entity, after the run's membership changes. With
   * `previous` (the last committed run, whose overlap rows describe the membership before this
   * run), the previous counts are corrected by what moved: a daily run then costs the moves
   * times the memberships of who moved, not memberships per entity squared over everyone.
   * Without it (a first run, after --rebuild, or a target written before overlap existed) every
   * membership is paired.
   */
  overlap(ctx: RunContext, previous?: string): string[] {
    const {dialect} = this
    const membership = this.t(MEMBERSHIP.name)
    const sizes = sql`(SELECT c.segment AS segment, c.entity AS entity, COALESCE(n.size, 0) AS size
      FROM ${this.t(CATALOG.name)} AS c
      LEFT JOIN (SELECT segment, COUNT(*) AS size FROM ${membership} GROUP BY segment) AS n ON n.segment = c.segment)`
    const out: string[] = []
    let counts: Sql
    if (previous === undefined) {
      counts = sql`SELECT x.segment AS segment_a, y.segment AS segment_b, COUNT(*) AS n
        FROM ${membership} AS x JOIN ${membership} AS y ON y.entity = x.entity AND y.entity_key = x.entity_key AND x.segment < y.segment
        GROUP BY x.segment, y.segment`
    } else {
      // pairs(now) − pairs(before) for an entity that moved, with N its memberships now, E its
      // entries, X its exits and K = N − E the ones it kept, is
      //   pairs(K,E) + pairs(E) − pairs(K,X) − pairs(X).
      // Each move paired with every other membership of N, weighted by the move's sign (+1 in,
      // −1 out), gives pairs(K,E) + 2·pairs(E) − pairs(K,X) − cross(X,E); the rest is one
      // −sign·sign per pair of moves. So membership is read once, never split into kept and
      // entered. Segments are paired by their ordinal in the catalog's order (integers group
      // faster than pairs of names: 7.9M pair rows at 200 segments) and named once per pair.
      // An entry also pairs with itself (oa = ob); that row matches no pair below, which keeps
      // it out. Filtering it here instead (s.o <> c.o) let DuckDB join the moves with every
      // segment before membership: 158M rows and 27 s at 200 segments instead of 0.8 s.
      const changes = sql.id(CHANGES)
      const ordinals = sql.id(ORDINALS)
      const moves = sql.id(MOVES)
      out.push(
        this.r(dialect.createTempTable(ORDINALS, sql`SELECT segment, ROW_NUMBER() OVER (ORDER BY segment) AS o FROM ${this.t(CATALOG.name)}`)),
        this.r(
          dialect.createTempTable(
            MOVES,
            sql`SELECT s.o AS o, c.entity AS entity, c.entity_key AS entity_key, CASE WHEN c.change = 'entered' THEN 1 ELSE -1 END AS sign
              FROM ${changes} AS c JOIN ${ordinals} AS s ON s.segment = c.segment WHERE c.change <> 'holdout'`,
          ),
        ),
      )
      const delta = sql`SELECT LEAST(c.o, s.o) AS oa, GREATEST(c.o, s.o) AS ob, SUM(c.sign) AS n
            FROM ${moves} AS c
            JOIN ${membership} AS m ON m.entity = c.entity AND m.entity_key = c.entity_key
            JOIN ${ordinals} AS s ON s.segment = m.segment
            GROUP BY LEAST(c.o, s.o), GREATEST(c.o, s.o)
          UNION ALL
          SELECT x.o AS oa, y.o AS ob, -SUM(x.sign * y.sign) AS n
            FROM ${moves} AS x JOIN ${moves} AS y ON y.entity = x.entity AND y.entity_key = x.entity_key AND x.o < y.o
            GROUP BY x.o, y.o`
      counts = sql`SELECT segment_a, segment_b, SUM(n) AS n FROM (
          SELECT segment_a, segment_b, ${sql.id('both')} AS n FROM ${this.t(OVERLAP.name)} WHERE run_id = ${sql.lit(previous)}
          UNION ALL
          SELECT a.segment AS segment_a, b.segment AS segment_b, d.n AS n
            FROM (${delta}) AS d JOIN ${ordinals} AS a ON a.o = d.oa JOIN ${ordinals} AS b ON b.o = d.ob
        ) AS d GROUP BY segment_a, segment_b`
    }
    out.push(
      this.r(sql`INSERT INTO ${this.t(OVERLAP.name)} (run_id, segment_a, segment_b, ${sql.id('both')}, only_a, only_b)
      SELECT ${sql.lit(ctx.runId)}, a.segment, b.segment, COALESCE(p.n, 0), a.size - COALESCE(p.n, 0), b.size - COALESCE(p.n, 0)
      FROM ${sizes} AS a
      JOIN ${sizes} AS b ON b.entity = a.entity AND a.segment < b.segment
      LEFT JOIN (${counts}) AS p
        ON p.segment_a = a.segment AND p.segment_b = b.segment`),
    )
    return out
  }

  /**
   * Per measured segment, every entity that ever entered it, once, from its first entry (so
   * those the outcome moved out of the segment still count), among those whose window has
   * closed by as_of: how many, in and out of the holdout, had the outcome event within the
   * window after entering. One small row per segment comes back; the caller computes the
   * statistics.
   */
  liftCounts(plan: Plan): string | undefined {
    if (!plan.measures?.length) return undefined
    const history = this.t(HISTORY.name)
    const asOf = this.ts(plan.asOf)
    const parts = plan.measures.map((m) => {
      const w = new ExprWriter(this.dialect, plan.asOf)
      const seg = sql.lit(m.segment)
      const closed = this.ts(new Date(Date.parse(plan.asOf) - m.withinSeconds * 1000).toISOString())
      const entries = sql`(SELECT h.entity_key AS entity_key, h.valid_from AS entered_at, h.holdout AS holdout
          FROM ${history} AS h
          JOIN (SELECT entity_key, MIN(valid_from) AS first_at FROM ${history} WHERE segment = ${seg} GROUP BY entity_key) AS fe
            ON fe.entity_key = h.entity_key AND fe.first_at = h.valid_from
          WHERE h.segment = ${seg} AND h.valid_from <= ${closed})`
      // the event's columns are read in their own subquery, so none can clash with segc's
      const outcomes = sql`(SELECT CAST(${sql.id(m.key)} AS ${sql.raw(this.dialect.stringType)}) AS k, ${sql.id(m.timestamp)} AS t FROM ${relationSql(m.relation)} AS ev WHERE ${w.write(m.filter)} AND ${sql.id(m.timestamp)} <= ${asOf})`
      const converted = sql`(SELECT DISTINCT x.entity_key AS entity_key
          FROM ${entries} AS x JOIN ${outcomes} AS e ON e.k = x.entity_key
          WHERE e.t > x.entered_at AND ${this.dialect.minusSeconds(sql`e.t`, m.withinSeconds)} <= x.entered_at)`
      return sql`SELECT ${seg} AS segment,
          COUNT(CASE WHEN NOT f.holdout THEN 1 END) AS members,
          COUNT(CASE WHEN NOT f.holdout AND o.entity_key IS NOT NULL THEN 1 END) AS members_converted,
          COUNT(CASE WHEN f.holdout THEN 1 END) AS holdout,
          COUNT(CASE WHEN f.holdout AND o.entity_key IS NOT NULL THEN 1 END) AS holdout_converted
        FROM ${entries} AS f LEFT JOIN ${converted} AS o ON o.entity_key = f.entity_key`
    })
    return this.r(sql.join(parts, sql` UNION ALL `))
  }

  lift(ctx: RunContext, rows: Array<{segment: string} & LiftCounts & LiftStatistics>): string | undefined {
    if (!rows.length) return undefined
    const columns = LIFT.columns.map((c) => c.name).filter((c) => c !== 'run_id') as Array<keyof (typeof rows)[number]>
    const value = (v: unknown) => (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? sql`NULL` : sql.lit(v as string | number))
    return this.r(sql`INSERT INTO ${this.t(LIFT.name)} (run_id, ${sql.join(columns.map((c) => sql.id(c)))})
      VALUES ${sql.join(rows.map((r) => sql`(${sql.lit(ctx.runId)}, ${sql.join(columns.map((c) => value(r[c])))})`))}`)
  }

  record(ctx: RunContext, status: 'success' | 'failed', error: string | null): string {
    const hashes = ctx.identityHashes ? JSON.stringify(Object.fromEntries([...Object.entries(ctx.identityHashes)].sort())) : null
    return this.r(sql`INSERT INTO ${this.t(RUNS.name)} (run_id, as_of, started_at, finished_at, status, target, segc_version, error, mode, identity_hashes)
      VALUES (${sql.lit(ctx.runId)}, ${this.ts(ctx.asOf)}, ${this.ts(ctx.startedAt)}, ${this.ts(new Date().toISOString())}, ${sql.lit(status)}, ${sql.lit(ctx.target)}, ${sql.lit(ctx.version)}, ${error === null ? sql`NULL` : sql.lit(error)}, ${this.str(ctx.mode ?? null)}, ${this.str(hashes)})`)
  }

  /**
   * The as_of and identity hashes of the run that wrote the identity maps: the last one that
   * committed (a backfill can commit an earlier as_of after a later one, so not max(as_of)).
   * Every column: a target an earlier segc made has no identity_hashes, and read-only
   * commands may not add it.
   */
  lastMapRun(): string {
    return this.r(sql`SELECT * FROM ${this.t(RUNS.name)} WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1`)
  }
}

/** The read-only membership SELECT of `segc compile --membership`. */
export function membershipSelect(dialect: Dialect, plan: Plan): string | undefined {
  const db = compilerFor(dialect)
  const q = membershipQuery(db, dialect, plan)
  return q ? render(db, sql`${q}`) : undefined
}

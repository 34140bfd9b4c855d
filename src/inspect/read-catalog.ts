// What the catalog commands (stats, overlap, measure, docs) read from a target's tables.
// Queries go through kysely in the target's dialect; the connection is opened read-only.
import {sql} from 'kysely'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {compilerFor, render} from '../generate/generate-sql.js'
import {table} from '../generate/output-sql.js'
import {prepare, type Prepared, type SessionOptions} from '../project/session.js'
import {StateStatements} from '../generate/state-statements.js'
import {CATALOG, GROUP_TRANSITIONS, LIFT, OVERLAP, RUNS, SIZES, STATE_SOURCES} from '../warehouse/tables.js'
import type {Row, WarehouseConnection} from '../warehouse/warehouse.js'

export interface SizeRow {
  as_of: string
  segment: string
  size: number
  holdout_size: number
  entered: number
  exited: number
  /** the segment's first run on the target: its entries are the segment being created, not churn */
  first: boolean
}

export interface OverlapRow {
  segment_a: string
  segment_b: string
  both: number
  only_a: number
  only_b: number
}

export interface FlowRow {
  group_name: string
  from_segment: string | null
  to_segment: string | null
  entities: number
}

const iso = (v: unknown): string => new Date(String(v)).toISOString()
const num = (v: unknown): number => Number(v ?? 0)
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

export interface StateRow {
  source: string
  entity: string
  state_table: string
  /** rows of the state table; null when the table is missing (the next run rebuilds it) */
  state_rows: number | null
  /** rows of the source the state's day buckets stand for (values per key stand for a window each, not counted here) */
  events: number | null
  rows_per_event: number | null
  /** keys with a state row, rows holding values per key (one per key), and state rows per key */
  keys: number | null
  key_rows: number | null
  rows_per_key: number | null
  first_day: string | null
  frozen: string
  loaded_until: string | null
  as_of: string
}

export class CatalogReader {
  private readonly db
  constructor(
    readonly conn: WarehouseConnection,
    private readonly dialect: Dialect,
    private readonly schema: string,
  ) {
    this.db = compilerFor(dialect)
  }

  private q(s: Sql): Promise<Row[]> {
    return this.conn.query(render(this.db, s))
  }

  private t(name: string): Sql {
    return table(this.schema, name)
  }

  /** Successful runs, oldest first; empty when no run has written the target. */
  async runs(): Promise<Array<{run_id: string; as_of: string; finished_at: string}>> {
    if (!(await this.conn.tableExists(this.schema, RUNS.name))) return []
    const rows = await this.q(sql`SELECT run_id, as_of, finished_at FROM ${this.t(RUNS.name)} WHERE status = 'success' ORDER BY as_of, finished_at`)
    return rows.map((r) => ({run_id: String(r.run_id), as_of: iso(r.as_of), finished_at: iso(r.finished_at)}))
  }

  async catalog(): Promise<Row[]> {
    return this.q(sql`SELECT * FROM ${this.t(CATALOG.name)} ORDER BY segment`)
  }

  /** Sizes at the last `runs` as_of points (all of them when undefined), oldest first. */
  async sizes(runs?: number): Promise<SizeRow[]> {
    const points = runs === undefined ? sql`` : sql`WHERE as_of IN (SELECT as_of FROM (SELECT DISTINCT as_of FROM ${this.t(SIZES.name)}) AS p ORDER BY as_of DESC LIMIT ${sql.lit(runs)})`
    const rows = await this.q(sql`SELECT s.as_of, s.segment, s.size, s.holdout_size, s.entered, s.exited, CASE WHEN s.as_of = f.first_as_of THEN 1 ELSE 0 END AS is_first
      FROM (SELECT * FROM ${this.t(SIZES.name)} ${points}) AS s
      JOIN (SELECT segment, MIN(as_of) AS first_as_of FROM ${this.t(SIZES.name)} GROUP BY segment) AS f ON f.segment = s.segment
      ORDER BY s.as_of, s.segment`)
    return rows.map((r) => ({as_of: iso(r.as_of), segment: String(r.segment), size: num(r.size), holdout_size: num(r.holdout_size), entered: num(r.entered), exited: num(r.exited), first: num(r.is_first) === 1}))
  }

  /** The overlap rows of the latest run that wrote them. */
  async overlap(): Promise<OverlapRow[]> {
    const latest = sql`(SELECT o.run_id FROM ${this.t(OVERLAP.name)} AS o JOIN ${this.t(RUNS.name)} AS r ON r.run_id = o.run_id ORDER BY r.as_of DESC, r.finished_at DESC LIMIT 1)`
    const rows = await this.q(sql`SELECT segment_a, segment_b, ${sql.id('both')} AS n_both, only_a, only_b FROM ${this.t(OVERLAP.name)} WHERE run_id IN ${latest}`)
    return rows.map((r) => ({segment_a: String(r.segment_a), segment_b: String(r.segment_b), both: num(r.n_both), only_a: num(r.only_a), only_b: num(r.only_b)}))
  }

  /** Lift rows with their run's as_of, oldest first. */
  async lift(): Promise<Array<Row & {as_of: string}>> {
    const rows = await this.q(sql`SELECT r.as_of AS as_of, l.* FROM ${this.t(LIFT.name)} AS l JOIN ${this.t(RUNS.name)} AS r ON r.run_id = l.run_id ORDER BY r.as_of, l.segment`)
    return rows.map((r) => ({...r, as_of: iso(r.as_of)}))
  }

  /**
   * The state incremental runs keep (SPEC §13), per event source: its table's rows, the source
   * rows they stand for, and the days and loads covered. Empty for a project without `incremental:`.
   */
  async state(): Promise<StateRow[]> {
    if (!(await this.conn.tableExists(this.schema, STATE_SOURCES.name))) return []
    const st = new StateStatements(this.dialect, this.schema)
    const out: StateRow[] = []
    for (const r of await this.q(sql`SELECT * FROM ${this.t(STATE_SOURCES.name)} ORDER BY source`)) {
      const table = String(r.state_table)
      const size = (await this.conn.tableExists(this.schema, table)) ? (await this.conn.query(st.size(table)))[0]! : undefined
      const rows = size ? num(size.state_rows) : null
      const events = size ? num(size.events) : null
      out.push({
        source: String(r.source),
        entity: String(r.entity),
        state_table: table,
        state_rows: rows,
        events,
        rows_per_event: rows !== null && events ? rows / events : null,
        keys: size ? num(size.state_keys) : null,
        key_rows: size ? num(size.key_rows) : null,
        rows_per_key: rows !== null && size && num(size.state_keys) ? rows / num(size.state_keys)! : null,
        first_day: size?.first_day ? iso(size.first_day).slice(0, 10) : null,
        frozen: iso(r.frozen),
        loaded_until: r.loaded_until === null ? null : iso(r.loaded_until),
        as_of: iso(r.as_of),
      })
    }
    return out
  }

  /** Moves between the segments of each group, summed over all runs. */
  async flows(): Promise<FlowRow[]> {
    const rows = await this.q(sql`SELECT group_name, from_segment, to_segment, COUNT(*) AS n FROM ${this.t(GROUP_TRANSITIONS.name)} GROUP BY group_name, from_segment, to_segment ORDER BY group_name, n DESC`)
    return rows.map((r) => ({group_name: String(r.group_name), from_segment: str(r.from_segment), to_segment: str(r.to_segment), entities: num(r.n)}))
  }
}

/**
 * Opens the target read-only and hands a reader over; refuses (exit 1) when no run has
 * written the target yet, since there is nothing to show.
 */
export async function withCatalog<T>(opts: SessionOptions, f: (r: CatalogReader, p: Prepared) => Promise<T>): Promise<T> {
  const p = prepare(opts)
  const conn = opts.connection ?? (await p.adapter.connect(p.target, p.v.root, {readOnly: true}))
  try {
    const reader = new CatalogReader(conn, p.adapter.dialect, p.v.project.outputSchema)
    if ((await reader.runs()).length === 0 || !(await conn.tableExists(p.v.project.outputSchema, CATALOG.name))) {
      throw new DiagnosticsError([
        diag('no_runs', {file: 'segc.yaml', line: 1, col: 1}, `target '${p.target.name}' has no successful run with catalog tables yet: run \`segc run${opts.target ? ` --target ${opts.target}` : ''}\` first`),
      ])
    }
    return await f(reader, p)
  } finally {
    if (!opts.connection) await conn.close()
  }
}

/** Segment names given on the command line must exist in the project. */
export function checkSegmentArgs(p: Prepared, names: readonly string[]): void {
  const problems = names
    .filter((n) => !p.v.project.segments.has(n))
    .map((n) => diag('unknown_segment', {file: 'SEGMENT', line: 1, col: names.indexOf(n) + 1}, `no segment '${n}' in the project${didYouMean(n, p.v.project.segments.keys())}`))
  if (problems.length) throw new DiagnosticsError(problems)
}

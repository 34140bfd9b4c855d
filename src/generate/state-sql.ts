// SQL of incremental runs (SPEC §13): the rows of a source's state (a value per key, and day
// buckets for what cannot be subtracted), and the scan that combines kept state with the rows a
// run reads from the source. The plan decides which days and slices come from where
// (src/plan/incremental.ts); this file only writes it down.
import {sql} from 'kysely'
import type {AggregatePlan, KeyedDelta, SequencePlan, SourcePlan, Span, StateSlot} from '../plan/plan-types.js'
import type {Relation} from '../resolve/model.js'
import {KEY_COLUMN} from '../plan/build-plan.js'
import type {Dialect, Sql, TwoStep, Windowed} from '../warehouse/dialect.js'
import {exact, ExprWriter, relationSql} from './expr-writer.js'
import {combineTransactions, transactionDays} from './transaction-sql.js'

export const DAY_COLUMN = 'segc_day'
export const VSLOT_COLUMN = 'segc_vslot'
export const EVENTS_COLUMN = 'segc_events'

/** The parts a slot keeps per key and day: n count, s sum, m min/max, t time, v value. */
export function slotParts(slot: StateSlot): string[] {
  switch (slot.kind) {
    case 'count':
      return ['n']
    case 'sum':
      return ['s']
    case 'avg':
      return ['s', 'n']
    case 'min':
    case 'max':
      return ['m']
    case 'first':
    case 'last':
      return ['t', 'v']
    case 'distinct':
      return ['v']
    case 'frequent':
      return ['v', 'n']
    case 'times':
      return ['t']
    case 'mask':
      return ['b', 'r']
    case 'txn':
      return ['f', 'l', 'c', 's', 'r']
  }
}

const DAY_MS = 86_400_000
/** A UTC day as its number since 1970-01-01 (how a mask's row says which day it was written before). */
const epochDay = (iso: string) => Math.floor(Date.parse(iso) / DAY_MS)

/** A mask's field p: the count (capped) of the day it holds. */
const field = (dialect: Dialect, mask: Sql, ring: NonNullable<StateSlot['ring']>, p: number): Sql =>
  dialect.bitAnd(p === 0 ? mask : dialect.shiftRight(mask, ring.bits * p), sql.lit((1 << ring.bits) - 1))


export const partColumn = (slot: number, part: string) => `p${slot + 1}_${part}`
/** distinct values and value counts are kept as rows of their own: one per key, day and value */
const valueSlot = (s: StateSlot) => s.kind === 'distinct' || s.kind === 'frequent' || s.kind === 'times'

const typedNull = (type: string) => sql`CAST(NULL AS ${sql.raw(type)})`
const or = (items: Sql[]) => (items.length === 1 ? items[0]! : sql`(${sql.join(items, sql` OR `)})`)
const and = (items: Sql[]) => (items.length === 1 ? items[0]! : sql`(${sql.join(items, sql` AND `)})`)

/** The relation a state table is kept for: read by one key and timestamp (and loaded_at). */
export interface StateRelation {
  relation: Relation
  key: string
  timestamp: string | null
  loadedAt: string | null
}

/** Which rows of the source a state write reads: timestamps in [from, to), with loaded_at, by load time too. */
export interface StateRange {
  /** the state's first day (null: from the beginning) */
  horizon: string | null
  /** the first day not frozen (exclusive end) */
  to: string
  /** extending kept state: rows at or after this day, or (with loaded_at) landed after `loadedAfter` */
  from?: string
  loadedAfter?: string
  /** with loaded_at: rows landed at or before this (or with no load time) */
  loadedUntil?: string
  /** erased keys (segc forget) are kept out of state: the table of their hashes, and the entity */
  erased?: {table: string[]; entity: string}
}

/** Keeps erased keys (segc forget) out of rows with a key column. */
function withoutErased(dialect: Dialect, rows: Sql, erased: StateRange['erased']): Sql {
  if (!erased) return rows
  const hashed = dialect.sha256Hex(sql`${sql.lit(`${erased.entity}:`)} || CAST(${sql.id(KEY_COLUMN)} AS ${sql.raw(dialect.stringType)})`)
  return sql`SELECT * FROM (${rows}) AS u WHERE ${hashed} NOT IN (SELECT key_hash FROM ${sql.id(...erased.table)} WHERE entity = ${sql.lit(erased.entity)})`
}

/** Whether a source's state keeps day buckets (some slot is not a value per key). */
export const hasDays = (slots: StateSlot[]) => slots.some((s) => !s.window)

/**
 * The state rows of a source's days in `range`: one row per key and day with every scalar
 * day slot's partial aggregate, and one row per key, day and value for each kept value set.
 * Slots kept as a value per key are NULL here (keyedRows writes them).
 */
export function stateRows(dialect: Dialect, source: StateRelation, allSlots: StateSlot[], asOf: string, range: StateRange): Sql {
  const slots = allSlots.map((s) => (s.window ? undefined : s))
  const w = new ExprWriter(dialect, asOf)
  const ts = sql.id(source.timestamp!)
  const loaded = source.loadedAt ? sql.id(source.loadedAt) : undefined
  const where: Sql[] = [sql`${sql.id(source.key)} IS NOT NULL`, sql`${ts} < ${dialect.timestamp(range.to)}`]
  if (range.horizon !== null) where.push(sql`${ts} >= ${dialect.timestamp(range.horizon)}`)
  if (loaded && range.loadedUntil) where.push(sql`(${loaded} <= ${dialect.timestamp(range.loadedUntil)} OR ${loaded} IS NULL)`)
  // new days, and rows landed late on older days, as disjoint selects (blocks outside a plain range are skipped)
  const fresh = range.from === undefined ? [sql`TRUE`] : [sql`${ts} >= ${dialect.timestamp(range.from)}`]
  if (range.from !== undefined && loaded && range.loadedAfter) fresh.push(sql`${loaded} > ${dialect.timestamp(range.loadedAfter)} AND ${ts} < ${dialect.timestamp(range.from)}`)
  const filters = [...new Map(slots.flatMap((s) => (s ? [[JSON.stringify(s.filter), s.filter] as const] : []))).values()]
  const anyFilter = !filters.length ? sql`FALSE` : filters.some((f) => f.k === 'lit' && f.value === true) ? undefined : or(filters.map((f) => w.writeCondition(f)))
  const base = and(anyFilter ? [...where, anyFilter] : where)
  const day = dialect.utcDay(ts)
  const scalar = (s: StateSlot, part: string): Sql => {
    const f = w.writeCondition(s.filter)
    const v = s.value ? w.write(s.value) : sql`1`
    const gated = sql`CASE WHEN ${f} THEN ${v} END`
    if (s.kind === 'count') return s.value ? sql`count(${gated})` : dialect.countIf(f)
    if (s.kind === 'sum' || (s.kind === 'avg' && part === 's')) return sql`sum(${exact(dialect, gated, s.valueType)})`
    if (s.kind === 'avg') return sql`count(${gated})`
    if (s.kind === 'min' || s.kind === 'max') return sql`${sql.raw(s.kind)}(${gated})`
    // first / last: the day's earliest (latest) time with a value, and among its events the smallest value
    const which = s.kind as 'first' | 'last'
    if (part === 't') return sql`${sql.raw(which === 'first' ? 'min' : 'max')}(CASE WHEN ${f} AND ${v} IS NOT NULL THEN ${ts} END)`
    return dialect.firstLast(which, v, ts, f, s.valueType ?? 'string')
  }
  const columns = (fill: (s: StateSlot, i: number, part: string) => Sql) => allSlots.flatMap((s, i) => slotParts(s).map((p) => sql`${slots[i] ? fill(s, i, p) : sql`NULL`} AS ${sql.id(partColumn(i, p))}`))
  const rel = fresh.length === 1 ? sql`${relationSql(source.relation)} AS ev WHERE ${fresh[0]!} AND` : sql`(${sql.join(fresh.map((f) => sql`SELECT * FROM ${relationSql(source.relation)} AS r WHERE ${f}`), sql` UNION ALL `)}) AS ev WHERE`
  // A part missing from a branch is an untyped NULL: the union takes the type of the branch that
  // computes it (a sum of DECIMAL stays DECIMAL, and exact, as in a full run's scan).
  const selects: Sql[] = [
    sql`SELECT ${sql.id(source.key)} AS ${sql.id(KEY_COLUMN)}, ${day} AS ${sql.id(DAY_COLUMN)}, ${typedNull(dialect.integerType)} AS ${sql.id(VSLOT_COLUMN)}, COUNT(*) AS ${sql.id(EVENTS_COLUMN)},
      ${sql.join(columns((s, _i, p) => (valueSlot(s) ? sql`NULL` : scalar(s, p))))}
      FROM ${rel} ${base} GROUP BY ${sql.id(source.key)}, ${day}`,
  ]
  slots.forEach((vs, j) => {
    if (!vs || !valueSlot(vs)) return
    // a sequence step keeps its events' distinct times; the others their values
    const v = vs.kind === 'times' ? ts : w.write(vs.value!)
    selects.push(sql`SELECT ${sql.id(source.key)} AS ${sql.id(KEY_COLUMN)}, ${day} AS ${sql.id(DAY_COLUMN)}, ${sql.lit(j + 1)} AS ${sql.id(VSLOT_COLUMN)}, ${typedNull(dialect.integerType)} AS ${sql.id(EVENTS_COLUMN)},
      ${sql.join(columns((s, i, p) => (i !== j ? sql`NULL` : p === 'n' ? sql`COUNT(*)` : v)))}
      FROM ${rel} ${base} AND ${w.writeCondition(vs.filter)} AND ${v} IS NOT NULL GROUP BY ${sql.id(source.key)}, ${day}, ${v}`)
  })
  return withoutErased(dialect, sql.join(selects, sql` UNION ALL `), range.erased)
}

/** A span of the timestamp as plain comparisons on the column (partition pruning applies). */
export function spanSql(dialect: Dialect, ts: Sql, s: Span): Sql {
  const c: Sql[] = []
  if (s.after) c.push(sql`${ts} ${sql.raw(s.after.incl ? '>=' : '>')} ${dialect.timestamp(s.after.at)}`)
  if (s.before) c.push(sql`${ts} ${sql.raw(s.before.incl ? '<=' : '<')} ${dialect.timestamp(s.before.at)}`)
  return c.length ? and(c) : sql`TRUE`
}

/**
 * Marks (in the value slot column) of the rows that hold values per key, day NULL: `rest` on
 * every kept row, `fresh` on the successors a run writes for the keys it touched until their
 * old rows are deleted. (−1 is a mark earlier versions alternated with 0: such rows are at rest.)
 */
export const KEYED_MARKS = {rest: 0, fresh: -2} as const

/**
 * The values per key after a run: the kept ones (`touched`: those of the keys the slices hold,
 * the only ones that move; else built from nothing) moved by `delta` — the rows of the slices each slot adds,
 * minus those it subtracts (count, sum, avg), or combined with them (min, max, first, last
 * with no lower bound) — one row per key under `mark`. Keys whose every value went back to
 * nothing are left out. With loaded_at, a row counts only once landed: at or before
 * `loadedUntil` (this run's) to be added, at or before `loadedAfter` (the last run's) to be
 * subtracted, and rows of the kept span landed between the two are added.
 */
export function keyedRows(
  dialect: Dialect,
  source: StateRelation,
  slots: StateSlot[],
  asOf: string,
  delta: KeyedDelta,
  opts: {table: string[]; touched?: boolean; mark: number; loadedUntil?: string; loadedAfter?: string; erased?: StateRange['erased']},
): Sql {
  const w = new ExprWriter(dialect, asOf)
  // with `touched`, only the keys the slices hold are merged (the others' rows stay as they are)
  const keptOf = sql`${sql.id(DAY_COLUMN)} IS NULL AND ${sql.id(KEY_COLUMN)} IN (${touchedKeys(dialect, source, slots, asOf, delta, opts)})`
  const kept = opts.touched === true
  const ts = sql.id(source.timestamp!)
  const loaded = source.loadedAt && opts.loadedUntil ? sql.id(source.loadedAt) : undefined
  const landedBy = (until: string | undefined) => (loaded && until ? sql`(${loaded} <= ${dialect.timestamp(until)} OR ${loaded} IS NULL)` : undefined)
  const nowLanded = landedBy(opts.loadedUntil)
  const thenLanded = landedBy(opts.loadedAfter)
  const typed = (v: Sql, type: string) => sql`CAST(${v} AS ${sql.raw(type)})`
  // per row and slot: 1 where the slot adds the row, -1 where it subtracts it, else NULL
  const sign = (i: number): Sql => {
    const d = delta.slots.find((x) => x.slot === i)
    if (!d) return typed(sql`NULL`, dialect.integerType)
    const add = d.add.map((sp) => (nowLanded ? and([spanSql(dialect, ts, sp), nowLanded]) : spanSql(dialect, ts, sp)))
    if (d.landed && loaded && opts.loadedAfter) add.push(and([spanSql(dialect, ts, d.landed), sql`${loaded} > ${dialect.timestamp(opts.loadedAfter)}`, sql`${loaded} <= ${dialect.timestamp(opts.loadedUntil!)}`]))
    const sub = d.subtract.map((sp) => (thenLanded ? and([spanSql(dialect, ts, sp), thenLanded]) : spanSql(dialect, ts, sp)))
    const cases = [...(add.length ? [sql`WHEN ${or(add)} THEN 1`] : []), ...(sub.length ? [sql`WHEN ${or(sub)} THEN -1`] : [])]
    return cases.length ? sql`CASE ${sql.join(cases, sql` `)} END` : typed(sql`NULL`, dialect.integerType)
  }
  const rawCols: Sql[] = []
  const keptCols: Sql[] = []
  const merged: Sql[] = []
  const frozenDay = epochDay(delta.frozen)
  // active_periods: the kept row's mask, its fields for days it does not hold (r at or before
  // them) cleared, and the source's rows of the days the run adds, counted per key and day
  // (capped) and packed into fields by a branch of their own (maskRows); the group keeps the
  // first in the mask's column and the second in its r column, and the outer select adds them
  // field by field, capped (cols)
  const masks: Array<{s: StateSlot; i: number}> = []
  const maskParts = (s: StateSlot, i: number, p: string) => {
    const col = sql.id(partColumn(i, p))
    const [b, r] = [sql.id(partColumn(i, 'b')), sql.id(partColumn(i, 'r'))]
    rawCols.push(sql`${typed(sql`NULL`, dialect.integerType)} AS ${col}`)
    if (p === 'r') {
      merged.push(sql`COALESCE(MAX(CASE WHEN ${r} IS NULL THEN ${b} END), 0) AS ${col}`)
      return
    }
    masks.push({s, i})
    merged.push(sql`${dialect.bitAnd(sql`COALESCE(MAX(CASE WHEN ${r} IS NOT NULL THEN ${b} END), 0)`, heldFields(s.ring!, sql`MAX(${r})`))} AS ${col}`)
  }
  /** the fields of a row written before day `r` that hold days of the ring before this run's frozen: those of days before r */
  const heldFields = (ring: NonNullable<StateSlot['ring']>, r: Sql): Sql => {
    const upTo = (n: number) => {
      let m = 0n
      for (let k = 0; k < n; k++) m |= BigInt((1 << ring.bits) - 1) << BigInt(ring.bits * ((((frozenDay - ring.days + k) % ring.days) + ring.days) % ring.days))
      return sql.raw(m.toString())
    }
    const cases = Array.from({length: ring.days - 1}, (_, k) => sql`WHEN ${r} = ${sql.lit(frozenDay - ring.days + k + 1)} THEN ${upTo(k + 1)}`)
    return sql`CASE WHEN ${r} >= ${sql.lit(frozenDay)} THEN ${upTo(ring.days)} ${sql.join(cases, sql` `)} ELSE 0 END`
  }
  /** the kept mask (k) and the days added (a), field by field, each capped at min_count */
  const combine = (ring: NonNullable<StateSlot['ring']>, k: Sql, a: Sql): Sql => {
    // one bit a field: the capped sum is the OR, k + a − (k AND a)
    if (ring.bits === 1) return sql`(${k} + ${a} - ${dialect.bitAnd(k, a)})`
    const fields = Array.from({length: ring.days}, (_, q) => {
      const capped = sql`LEAST(${sql.lit(ring.min)}, ${field(dialect, k, ring, q)} + ${field(dialect, a, ring, q)})`
      // parenthesized: a translated BITSHIFTLEFT is a bare `<<`, which binds looser than `+`
      return q === 0 ? capped : sql`(${dialect.shiftLeft(capped, ring.bits * q)})`
    })
    return typed(sql.join(fields, sql` + `), dialect.integerType)
  }
  /**
   * The rows a mask adds, one per key: per day of its add (and landed) spans the key's rows
   * that day, capped at min_count, shifted into the day's field. The day is found with plain
   * comparisons on the timestamp, each field's unit a constant: no day arithmetic, no
   * shift by a column.
   */
  const maskRows = (s: StateSlot, i: number, columns: string[]): Sql | undefined => {
    const ring = s.ring!
    const d = delta.slots.find((x) => x.slot === i)
    const spans = [...(d?.add ?? []), ...(d?.landed && opts.loadedAfter ? [d.landed] : [])]
    if (!spans.length) return undefined
    const days = new Set<number>()
    for (const sp of spans) for (let day = epochDay(sp.after!.at); day < Math.ceil(Date.parse(sp.before!.at) / DAY_MS); day++) days.add(day)
    const unit = sql`CASE ${sql.join(
      [...days].map((day) => {
        const at = (x: number) => dialect.timestamp(new Date(x * DAY_MS).toISOString())
        return sql`WHEN ${ts} >= ${at(day)} AND ${ts} < ${at(day + 1)} THEN ${sql.raw((1n << BigInt(ring.bits * ((((day % ring.days) + ring.days) % ring.days)))).toString())}`
      }),
      sql` `,
    )} END`
    const reads = spans.map((sp) => sql`SELECT ${sql.id(source.key)} AS ${sql.id(KEY_COLUMN)}, ${unit} AS u FROM ${relationSql(source.relation)} AS ev WHERE ${sql.id(source.key)} IS NOT NULL AND ${spanSql(dialect, ts, sp)} AND ${w.writeCondition(s.filter)} AND ${sign(i)} = 1`)
    const perDay = sql`SELECT ${sql.id(KEY_COLUMN)}, u, LEAST(${sql.lit(ring.min)}, COUNT(*)) AS c FROM (${withoutErased(dialect, sql.join(reads, sql` UNION ALL `), opts.erased)}) AS e GROUP BY ${sql.id(KEY_COLUMN)}, u`
    const b = partColumn(i, 'b')
    const cols = columns.map((c) => (c === b ? sql`${typed(sql`SUM(c * u)`, dialect.integerType)} AS ${sql.id(c)}` : sql`NULL AS ${sql.id(c)}`))
    return sql`SELECT ${sql.join([sql.id(KEY_COLUMN), ...cols])} FROM (${perDay}) AS p GROUP BY ${sql.id(KEY_COLUMN)}`
  }
  slots.forEach((s, i) => {
    for (const p of slotParts(s)) {
      const col = sql.id(partColumn(i, p))
      // the other slots' parts are bare NULLs of the outer select only: through a subquery
      // BigQuery types a NULL INT64, which no longer unions with the day rows' types; value
      // counts per key are rows of their own (below)
      if (!s.window || s.kind === 'frequent') continue
      if (s.kind === 'txn') {
        // combined with the kept summary in a branch of its own (txnRows): one row per key there
        const type = p === 'f' || p === 'l' ? 'DATE' : p === 'c' ? dialect.integerType : dialect.exactType
        keptCols.push(sql`${typed(sql`NULL`, type)} AS ${col}`)
        rawCols.push(sql`${typed(sql`NULL`, type)} AS ${col}`)
        merged.push(sql`MAX(${col}) AS ${col}`)
        continue
      }
      keptCols.push(sql`${col}`)
      if (s.kind === 'mask') {
        maskParts(s, i, p)
        continue
      }
      const f = w.writeCondition(s.filter)
      const v = s.value ? w.write(s.value) : sql`1`
      const valued = s.value ? sql`${f} AND ${v} IS NOT NULL` : f
      const sg = sign(i)
      if (p === 'n') {
        rawCols.push(sql`CASE WHEN ${valued} THEN ${sg} END AS ${col}`)
        merged.push(sql`${typed(sql`SUM(${col})`, dialect.integerType)} AS ${col}`)
      } else if (p === 's') {
        // no product with the sign: the sum keeps the exact type of its values
        const x = exact(dialect, v, s.valueType)
        rawCols.push(sql`CASE WHEN ${f} AND ${sg} = 1 THEN ${x} WHEN ${f} AND ${sg} = -1 THEN -${x} END AS ${col}`)
        merged.push(sql`SUM(${col}) AS ${col}`)
      } else if (p === 'm') {
        rawCols.push(sql`CASE WHEN ${f} AND ${sg} = 1 THEN ${v} END AS ${col}`)
        merged.push(sql`${sql.raw(s.kind)}(${col}) AS ${col}`)
      } else if (p === 't') {
        rawCols.push(sql`CASE WHEN ${valued} AND ${sg} = 1 THEN ${ts} END AS ${col}`)
        merged.push(sql`${sql.raw(s.kind === 'first' ? 'min' : 'max')}(${col}) AS ${col}`)
      } else {
        // first / last: the value at the earliest (latest) time, the smallest among equals
        rawCols.push(sql`CASE WHEN ${valued} AND ${sg} = 1 THEN ${v} END AS ${col}`)
        const t = sql.id(partColumn(i, 't'))
        merged.push(sql`${dialect.firstLast(s.kind as 'first' | 'last', col, t, sql`${t} IS NOT NULL`, s.valueType ?? 'string')} AS ${col}`)
      }
    }
  })
  const key = sql.id(source.key)
  const scalarSlot = (s: StateSlot) => s.window !== undefined && s.kind !== 'frequent'
  const {reads, anyFilter} = sliceReads(dialect, source, slots, asOf, delta, opts)
  // nothing to read and nothing kept: no rows, with their types (the state table is made from it)
  if (!reads.length && !kept) reads.push(sql`1 = 0`)
  const raw = reads.map((r) => sql`SELECT ${sql.join([sql`${key} AS ${sql.id(KEY_COLUMN)}`, ...rawCols])} FROM ${relationSql(source.relation)} AS ev WHERE ${key} IS NOT NULL AND ${r}${anyFilter ? sql` AND ${anyFilter}` : sql``}`)
  const parts: Sql[] = []
  if (kept) parts.push(sql`SELECT ${sql.join([sql.id(KEY_COLUMN), ...keptCols])} FROM ${sql.id(...opts.table)} AS st WHERE ${keptOf}`)
  if (raw.length) parts.push(withoutErased(dialect, sql.join(raw, sql` UNION ALL `), opts.erased))
  // the columns of the union, in order (keptCols' names)
  const unionColumns = slots.flatMap((s, i) => (!s.window || s.kind === 'frequent' ? [] : slotParts(s).map((p) => partColumn(i, p))))
  for (const m of masks) {
    const rows = maskRows(m.s, m.i, unionColumns)
    if (rows) parts.push(rows)
  }
  /**
   * A model's transaction summary per key: the kept one (of a touched key) and the days the
   * slot adds (those that froze since the last run: every one of them later than any kept day),
   * combined as the run's summary combines kept state and the band.
   */
  const txnRows = (s: StateSlot, i: number): Sql | undefined => {
    const spans = delta.slots.find((x) => x.slot === i)?.add ?? []
    if (!spans.length && !kept) return undefined
    const rows: Sql[] = []
    const p = (part: string) => sql.id(partColumn(i, part))
    if (kept) rows.push(sql`SELECT ${sql.id(KEY_COLUMN)} AS k, ${p('f')} AS f, ${p('l')} AS l, ${p('c')} AS c, ${p('s')} AS s, ${p('r')} AS r FROM ${sql.id(...opts.table)} AS st WHERE ${keptOf} AND ${p('c')} IS NOT NULL`)
    if (spans.length) {
      const days = transactionDays(dialect, asOf, {relation: source.relation, key: source.key, timestamp: source.timestamp!, filter: s.filter, ...(s.value ? {value: s.value} : {})}, [or(spans.map((sp) => spanSql(dialect, ts, sp)))])
      const kept = withoutErased(dialect, sql`SELECT k AS ${sql.id(KEY_COLUMN)}, f, l, c, s, r FROM (${days}) AS d`, opts.erased)
      rows.push(sql`SELECT ${sql.id(KEY_COLUMN)} AS k, f, l, c, s, r FROM (${kept}) AS e`)
    }
    const mine = new Map(slotParts(s).map((part) => [partColumn(i, part), part]))
    const cols = unionColumns.map((c) => (mine.has(c) ? sql`${sql.id(mine.get(c)!)} AS ${sql.id(c)}` : sql`NULL AS ${sql.id(c)}`))
    return sql`SELECT ${sql.join([sql`k AS ${sql.id(KEY_COLUMN)}`, ...cols])} FROM (${combineTransactions(dialect, sql.join(rows, sql` UNION ALL `))}) AS x`
  }
  slots.forEach((s, i) => {
    if (s.kind !== 'txn') return
    const rows = txnRows(s, i)
    if (rows) parts.push(rows)
  })
  // keys with nothing left: every count and sum back to 0 and nothing combined
  const alive = slots.flatMap((s, i) =>
    !scalarSlot(s) ? [] : slotParts(s).flatMap((p) => (s.kind === 'txn' ? (p === 'c' ? [sql`${sql.id(partColumn(i, p))} IS NOT NULL`] : []) : s.kind === 'mask' ? [sql`${sql.id(partColumn(i, p))} <> 0`] : p === 'n' || p === 's' ? [sql`${sql.id(partColumn(i, p))} <> 0`] : [sql`${sql.id(partColumn(i, p))} IS NOT NULL`])),
  )
  const cols = slots.flatMap((s, i) =>
    slotParts(s).map((p) => {
      if (s.kind === 'mask') return p === 'b' ? sql`${combine(s.ring!, sql.id(partColumn(i, 'b')), sql.id(partColumn(i, 'r')))} AS ${sql.id(partColumn(i, p))}` : sql`${typed(sql.lit(frozenDay), dialect.integerType)} AS ${sql.id(partColumn(i, p))}`
      return scalarSlot(s) ? sql.id(partColumn(i, p)) : sql`NULL AS ${sql.id(partColumn(i, p))}`
    }),
  )
  const head = sql`SELECT ${sql.id(KEY_COLUMN)}, ${typed(sql`NULL`, 'DATE')} AS ${sql.id(DAY_COLUMN)}, ${typed(sql.lit(opts.mark), dialect.integerType)} AS ${sql.id(VSLOT_COLUMN)}, ${typed(sql`NULL`, dialect.integerType)} AS ${sql.id(EVENTS_COLUMN)}`
  const selects: Sql[] = []
  // (with no value per key at all, still one select: the state table's template takes its types)
  if (slots.some(scalarSlot) || !slots.some((s) => s.window && s.kind === 'frequent')) {
    selects.push(sql`${head}, ${sql.join(cols)}
    FROM (SELECT ${sql.join([sql.id(KEY_COLUMN), ...merged])} FROM (${sql.join(parts, sql` UNION ALL `)}) AS d GROUP BY ${sql.id(KEY_COLUMN)}) AS m
    WHERE ${alive.length ? or(alive) : sql`FALSE`}`)
  }
  // most_frequent with no lower bound: one row per key and value holding the value's count,
  // the kept counts plus the rows the slices add (nothing leaves an unbounded window)
  slots.forEach((s, i) => {
    if (!s.window || s.kind !== 'frequent') return
    const f = w.writeCondition(s.filter)
    const v = w.write(s.value!)
    const [pv, pn] = [partColumn(i, 'v'), partColumn(i, 'n')]
    const counted: Sql[] = []
    if (kept) counted.push(sql`SELECT ${sql.id(KEY_COLUMN)}, ${sql.id(pv)} AS v, ${sql.id(pn)} AS n FROM ${sql.id(...opts.table)} AS st WHERE ${keptOf} AND ${sql.id(pv)} IS NOT NULL`)
    const fresh = reads.map((r) => sql`SELECT ${key} AS ${sql.id(KEY_COLUMN)}, ${v} AS v, 1 AS n FROM ${relationSql(source.relation)} AS ev WHERE ${key} IS NOT NULL AND ${r} AND ${f} AND ${v} IS NOT NULL AND ${sign(i)} = 1`)
    if (fresh.length) counted.push(withoutErased(dialect, sql.join(fresh, sql` UNION ALL `), opts.erased))
    const valueCols = slots.flatMap((x, j) => slotParts(x).map((p) => (j !== i ? sql`NULL AS ${sql.id(partColumn(j, p))}` : p === 'v' ? sql`v AS ${sql.id(pv)}` : sql`${typed(sql`n`, dialect.integerType)} AS ${sql.id(pn)}`)))
    selects.push(sql`${head}, ${sql.join(valueCols)}
    FROM (SELECT ${sql.id(KEY_COLUMN)}, v, SUM(n) AS n FROM (${sql.join(counted, sql` UNION ALL `)}) AS d GROUP BY ${sql.id(KEY_COLUMN)}, v) AS m`)
  })
  return sql.join(selects, sql` UNION ALL `)
}

/**
 * The rows of the source that move values per key: the slices as disjoint plain ranges of time
 * (each its own select), and with loaded_at the rows of the kept span that landed since the
 * last run, outside every slice; only rows some keyed slot's filter takes.
 */
function sliceReads(dialect: Dialect, source: StateRelation, slots: StateSlot[], asOf: string, delta: KeyedDelta, opts: {loadedUntil?: string; loadedAfter?: string}): {reads: Sql[]; anyFilter: Sql | undefined} {
  const w = new ExprWriter(dialect, asOf)
  const ts = sql.id(source.timestamp!)
  const loaded = source.loadedAt && opts.loadedUntil ? sql.id(source.loadedAt) : undefined
  const filters = [...new Map(slots.filter((s) => s.window).map((s) => [JSON.stringify(s.filter), s.filter])).values()]
  const anyFilter = !filters.length ? sql`FALSE` : filters.some((f) => f.k === 'lit' && f.value === true) ? undefined : or(filters.map((f) => w.writeCondition(f)))
  const reads = delta.slices.map((sp) => spanSql(dialect, ts, sp))
  if (delta.landed && loaded && opts.loadedAfter) {
    reads.push(and([spanSql(dialect, ts, delta.landed), sql`${loaded} > ${dialect.timestamp(opts.loadedAfter)}`, sql`${loaded} <= ${dialect.timestamp(opts.loadedUntil!)}`, ...delta.slices.map((sp) => sql`NOT (${spanSql(dialect, ts, sp)})`)]))
  }
  return {reads, anyFilter}
}

/**
 * The keys whose values per key a run moves: those with a row in the slices. Every other key's
 * values are the same at this run as at the last, so their rows are neither read nor written
 * (a run's state write is O(keys touched), not O(keys)).
 */
export function touchedKeys(dialect: Dialect, source: StateRelation, slots: StateSlot[], asOf: string, delta: KeyedDelta, opts: {loadedUntil?: string; loadedAfter?: string}): Sql {
  const {reads, anyFilter} = sliceReads(dialect, source, slots, asOf, delta, opts)
  const key = sql.id(source.key)
  const selects = (reads.length ? reads : [sql`1 = 0`]).map((r) => sql`SELECT ${key} AS ${sql.id(KEY_COLUMN)} FROM ${relationSql(source.relation)} AS ev WHERE ${key} IS NOT NULL AND ${r}${anyFilter ? sql` AND ${anyFilter}` : sql``}`)
  return sql.join(selects, sql` UNION ALL `)
}

/**
 * The rows an incremental run would read of a source (`read`: the rows of each span, counted
 * as the run reads them, one select each) and the rows of the whole relation (`whole`): plain
 * ranges of the timestamp, so a warehouse answers from its zone maps or partition metadata.
 */
export function readEstimate(dialect: Dialect, source: StateRelation, spans: Span[], asOf: string): Sql {
  const ts = sql.id(source.timestamp!)
  const rel = relationSql(source.relation)
  // no read of either kind takes a row after as_of (each scan's filter says ts ≤ as_of): rows
  // a backfill's as_of leaves in the future are counted by neither
  const upTo = {before: {at: asOf, incl: true}}
  const counts = spans.map((sp) => sql`(SELECT COUNT(*) FROM ${rel} AS ev WHERE ${spanSql(dialect, ts, {...sp, ...(sp.before ? {} : upTo)})})`)
  return sql`SELECT (SELECT COUNT(*) FROM ${rel} AS ev WHERE ${spanSql(dialect, ts, upTo)}) AS whole, ${counts.length ? sql.join(counts, sql` + `) : sql`0`} AS ${sql.id('read')}`
}

/** Rows with the column types of both kinds of state row: the state table is created from it, empty. */
export function stateTemplate(dialect: Dialect, source: StateRelation, slots: StateSlot[], asOf: string, table: string[]): Sql {
  return sql`${stateRows(dialect, source, slots, asOf, {horizon: null, to: asOf})} UNION ALL ${keyedRows(dialect, source, slots, asOf, {frozen: asOf, slices: [], slots: []}, {table, mark: KEYED_MARKS.rest})}`
}

/** The state table's columns, in the order stateRows writes them; `kind`: those of day rows or of values per key only. */
export function stateColumns(slots: StateSlot[], kind?: 'days' | 'keys'): string[] {
  const wanted = (s: StateSlot) => kind === undefined || (kind === 'keys') === (s.window !== undefined)
  return [KEY_COLUMN, DAY_COLUMN, VSLOT_COLUMN, EVENTS_COLUMN, ...slots.flatMap((s, i) => (wanted(s) ? slotParts(s).map((p) => partColumn(i, p)) : []))]
}

type Part = {id: string; sql: Sql | TwoStep | Windowed}

/**
 * The rows an incremental scan aggregates: kept state (each aggregate's days strictly inside its
 * window) and the source's rows from `frozen` on, on its edge days and loaded late (each under
 * its aggregate's exact condition), as one column set. A column per aggregate part.
 */
export function incrementalRows(dialect: Dialect, asOf: string, s: SourcePlan): Sql {
  const inc = s.incremental!
  const w = new ExprWriter(dialect, asOf)
  const ts = sql.id(s.timestamp ?? '')
  const loaded = s.loadedAt && inc.loadedUntil ? sql.id(s.loadedAt) : undefined
  const day = (d: string) => dialect.date(d)
  const stateCols: Sql[] = []
  const rawCols: Sql[] = []
  const col = (a: AggregatePlan, part: string) => `${a.id}__${part}`
  for (const a of s.aggregates) {
    const meta = inc.aggregates.find((x) => x.id === a.id)!
    const when = w.writeCondition(a.when)
    const value = a.value ? w.write(a.value) : sql`1`
    if (meta.slot === undefined) {
      // an active_periods kept in no state (no lower bound, or over 64 periods): the source's rows of its window
      stateCols.push(sql`${typedNull(dialect.timestampType)} AS ${sql.id(col(a, 't'))}`)
      rawCols.push(sql`CASE WHEN ${when} THEN ${w.write(a.timestamp)} END AS ${sql.id(col(a, 't'))}`)
      continue
    }
    const slot = inc.slots[meta.slot]!
    const days: Sql[] = []
    // a value per key (a kept count per value too) is in rows no day condition applies to
    if (valueSlot(slot) && !slot.window) days.push(sql`${sql.id(VSLOT_COLUMN)} = ${sql.lit(meta.slot + 1)}`)
    if (meta.after) days.push(sql`${sql.id(DAY_COLUMN)} > ${day(meta.after)}`)
    if (meta.before) days.push(sql`${sql.id(DAY_COLUMN)} < ${day(meta.before)}`)
    if (meta.skip) days.push(sql`${sql.id(DAY_COLUMN)} NOT IN (${sql.join(meta.skip.map(day))})`)
    const kept = (part: string) => (days.length ? sql`CASE WHEN ${and(days)} THEN ${sql.id(partColumn(meta.slot!, part))} END` : sql.id(partColumn(meta.slot!, part)))
    const fresh = [sql`${ts} >= ${dialect.timestamp(inc.frozen)}`, ...meta.edges.map((e) => sql`(${ts} >= ${dialect.timestamp(e)} AND ${ts} < ${dialect.timestamp(new Date(Date.parse(e) + 86_400_000).toISOString())})`)]
    if (loaded) fresh.push(sql`${loaded} > ${dialect.timestamp(inc.loadedUntil!)}`)
    const cond = sql`${when} AND ${or(fresh)}`
    const valued = a.value ? sql`${cond} AND ${value} IS NOT NULL` : cond
    const raw: Record<string, Sql> = {
      n: sql`CASE WHEN ${valued} THEN 1 END`,
      s: exact(dialect, sql`CASE WHEN ${cond} THEN ${value} END`, a.valueType),
      m: sql`CASE WHEN ${cond} THEN ${value} END`,
      v: sql`CASE WHEN ${cond} THEN ${value} END`,
      t: sql`CASE WHEN ${valued} THEN ${ts} END`,
    }
    if (a.kind === 'active_periods') {
      // kept: the key's mask and the day it was written before (countedCombine reads the days
      // inside the window from it); a source row: its period's index from its time
      const index = sql`CAST(floor(${dialect.secondsUntil(ts, asOf)} / ${sql.lit(a.periodSeconds!)}) AS ${sql.raw(dialect.integerType)})`
      const int = typedNull(dialect.integerType)
      stateCols.push(sql`${int} AS ${sql.id(col(a, 'i'))}`, sql`${int} AS ${sql.id(col(a, 'n'))}`, sql`${sql.id(partColumn(meta.slot, 'b'))} AS ${sql.id(col(a, 'b'))}`, sql`${sql.id(partColumn(meta.slot, 'r'))} AS ${sql.id(col(a, 'r'))}`)
      rawCols.push(sql`CASE WHEN ${cond} THEN ${index} END AS ${sql.id(col(a, 'i'))}`, sql`CASE WHEN ${cond} THEN 1 END AS ${sql.id(col(a, 'n'))}`, sql`${int} AS ${sql.id(col(a, 'b'))}`, sql`${int} AS ${sql.id(col(a, 'r'))}`)
      continue
    }
    // a frequency's row counts once from the source; kept rows carry their count
    const parts = slot.kind === 'frequent' ? ['v', 'n'] : slotParts(slot)
    for (const p of parts) {
      stateCols.push(sql`${kept(p)} AS ${sql.id(col(a, p))}`)
      rawCols.push(sql`${raw[p]!} AS ${sql.id(col(a, p))}`)
    }
  }
  // The rows read, as disjoint ranges of time, each its own select: an engine skips the blocks
  // outside a plain range (DuckDB's zone maps, Snowflake's partition pruning), not outside an OR.
  const ranges: Sql[] = []
  const edges = inc.edges.map((e) => sql`${ts} >= ${dialect.timestamp(e)} AND ${ts} < ${dialect.timestamp(new Date(Date.parse(e) + 86_400_000).toISOString())}`)
  if (inc.readFrom === null) ranges.push(sql`TRUE`)
  else {
    ranges.push(sql`${ts} >= ${dialect.timestamp(inc.readFrom)}`, ...edges)
    if (loaded) ranges.push(sql`${loaded} > ${dialect.timestamp(inc.loadedUntil!)} AND ${ts} < ${dialect.timestamp(inc.readFrom)}${sql.join(edges.map((e) => sql` AND NOT (${e})`), sql``)}`)
  }
  const filter = w.writeCondition(s.filter)
  const raw = ranges.map((r) => sql`SELECT ${sql.id(s.key)} AS ${sql.id(KEY_COLUMN)}, ${sql.join(rawCols)} FROM ${relationSql(s.relation)} AS ev WHERE ${filter} AND ${r}`)
  return sql`SELECT ${sql.id(KEY_COLUMN)}, ${sql.join(stateCols)} FROM ${sql.id(...inc.table)} AS st
    UNION ALL
    ${sql.join(raw, sql` UNION ALL `)}`
}

/** Each aggregate of an incremental scan as an aggregate over incrementalRows' columns (most_frequent apart: frequencyCombine). */
export function incrementalParts(dialect: Dialect, asOf: string, s: SourcePlan): Part[] {
  const inc = s.incremental!
  const out: Part[] = []
  for (const a of s.aggregates) {
    const meta = inc.aggregates.find((x) => x.id === a.id)!
    const c = (part: string) => sql.id(`${a.id}__${part}`)
    if (meta.slot === undefined) {
      // active_periods over the source's rows, exactly as a full scan computes it
      const index = sql`floor(${dialect.secondsUntil(c('t'), asOf)} / ${sql.lit(a.periodSeconds!)})`
      out.push({id: a.id, sql: dialect.activePeriods(index, sql`${c('t')} IS NOT NULL`, a.minCount ?? 1, a.maxPeriodIndex)})
      continue
    }
    const slot = inc.slots[meta.slot]!
    if (a.kind === 'active_periods') continue
    switch (slot.kind) {
      case 'count':
      case 'sum':
        out.push({id: a.id, sql: sql`sum(${c(slot.kind === 'count' ? 'n' : 's')})`})
        break
      case 'avg':
        out.push({id: a.id, sql: dialect.divide(sql`sum(${c('s')})`, sql`sum(${c('n')})`)})
        break
      case 'min':
      case 'max':
        out.push({id: a.id, sql: sql`${sql.raw(slot.kind)}(${c('m')})`})
        break
      case 'first':
      case 'last':
        out.push({id: a.id, sql: dialect.firstLast(slot.kind, c('v'), c('t'), sql`${c('t')} IS NOT NULL`, a.valueType ?? 'string')})
        break
      case 'distinct':
        out.push({id: a.id, sql: sql`count(DISTINCT ${c('v')})`})
        break
      case 'frequent':
      case 'times':
        break
    }
  }
  return out
}

/**
 * The aggregates an incremental scan finishes over counts per key and value: most_frequent
 * over kept counts per value, and active_periods over kept counts per day. Counts add up
 * across days and the source's rows; then most_frequent takes the value with the largest
 * total, the smallest among equals — the first/last rule with −count in place of the time, so
 * the dialect's firstLast picks it — and active_periods counts the periods holding min_count.
 */
export function countedCombine(dialect: Dialect, rows: string, a: AggregatePlan, asOf: string, s: SourcePlan): Sql {
  const key = sql.id(KEY_COLUMN)
  if (a.kind === 'active_periods') {
    const i = sql.id(`${a.id}__i`)
    const n = sql.id(`${a.id}__n`)
    const inc = s.incremental!
    const meta = inc.aggregates.find((x) => x.id === a.id)!
    const ring = inc.slots[meta.slot!]!.ring!
    const [b, r] = [sql.id(`${a.id}__b`), sql.id(`${a.id}__r`)]
    // the kept days strictly inside the window, each inside one period (the days a boundary
    // falls in, and the window's edge days, are read from the source), by period
    const frozenDay = epochDay(inc.frozen)
    const skip = new Set((meta.skip ?? []).map((x) => epochDay(`${x}T00:00:00Z`)))
    const last = Math.min(frozenDay, meta.before ? epochDay(`${meta.before}T00:00:00Z`) : Infinity)
    const byPeriod = new Map<number, number[]>()
    for (let d = epochDay(`${meta.after!}T00:00:00Z`) + 1; d < last; d++) {
      if (skip.has(d)) continue
      if (d < frozenDay - ring.days) throw new Error(`internal: day ${d} of ${a.id} is outside its ring`)
      const k = Math.floor((Date.parse(asOf) - d * DAY_MS) / 1000 / a.periodSeconds!)
      byPeriod.set(k, [...(byPeriod.get(k) ?? []), d])
    }
    // a kept row holds day d where it was written after it (r > d); a later day's events made
    // the key touched, so a row written earlier holds none on the days since
    const kept = [...byPeriod].map(([k, ds]) => {
      const c = sql.join(ds.map((d) => sql`CASE WHEN ${r} > ${sql.lit(d)} THEN ${field(dialect, b, ring, ((d % ring.days) + ring.days) % ring.days)} ELSE 0 END`), sql` + `)
      return sql`SELECT ${key}, ${sql.lit(k)} AS i, ${c} AS n FROM ${sql.id(rows)} WHERE ${b} IS NOT NULL`
    })
    const all = [sql`SELECT ${key}, ${i} AS i, ${n} AS n FROM ${sql.id(rows)} WHERE ${i} IS NOT NULL`, ...kept]
    const per = sql`SELECT ${key}, i, SUM(n) AS c FROM (${sql.join(all, sql` UNION ALL `)}) AS u GROUP BY ${key}, i`
    return sql`SELECT ${key}, COUNT(*) AS ${sql.id(a.id)} FROM (${per}) AS p WHERE c >= ${sql.lit(a.minCount ?? 1)} GROUP BY ${key}`
  }
  const v = sql.id(`${a.id}__v`)
  const n = sql.id(`${a.id}__n`)
  const counted = sql`SELECT ${key}, ${v} AS v, -SUM(${n}) AS c FROM ${sql.id(rows)} WHERE ${v} IS NOT NULL GROUP BY ${key}, ${v}`
  return sql`SELECT ${key}, ${dialect.firstLast('first', sql.id('v'), sql.id('c'), sql`TRUE`, a.valueType ?? 'string')} AS ${sql.id(a.id)} FROM (${counted}) AS f GROUP BY ${key}`
}

/** The aggregates an incremental scan computes with countedCombine. */
export function counted(s: SourcePlan): AggregatePlan[] {
  const inc = s.incremental!
  return s.aggregates.filter((a) => {
    const slot = inc.aggregates.find((x) => x.id === a.id)!.slot
    return slot !== undefined && (a.kind === 'active_periods' || inc.slots[slot]!.kind === 'frequent')
  })
}

/**
 * A sequence step's events in an incremental run, as the columns the step reads (its key and
 * timestamp): kept times inside the window, and the source's rows from `frozen` on (or landed
 * after `loadedUntil`) under the step's filter. Times are exact, so no edge day is read.
 */
export function incrementalStepRows(dialect: Dialect, asOf: string, step: SequencePlan['steps'][number]): Sql {
  const inc = step.incremental!
  const w = new ExprWriter(dialect, asOf)
  const t = sql.id(partColumn(inc.slot, 't'))
  const at = Date.parse(asOf)
  const window = [sql`${t} <= ${dialect.timestamp(new Date(at - step.window.to * 1000).toISOString())}`]
  if (step.window.from !== null) window.push(sql`${t} > ${dialect.timestamp(new Date(at - step.window.from * 1000).toISOString())}`)
  const ts = sql.id(step.timestamp)
  const fresh = [sql`${ts} >= ${dialect.timestamp(inc.frozen)}`]
  if (step.loadedAt && inc.loadedUntil) fresh.push(sql`${sql.id(step.loadedAt)} > ${dialect.timestamp(inc.loadedUntil)} AND ${ts} < ${dialect.timestamp(inc.frozen)}`)
  const raw = fresh.map((f) => sql`SELECT ${sql.id(step.key)}, ${ts} FROM ${relationSql(step.relation)} AS ev WHERE ${w.writeCondition(step.filter)} AND ${f}`)
  return sql`SELECT ${sql.id(KEY_COLUMN)} AS ${sql.id(step.key)}, ${t} AS ${ts} FROM ${sql.id(...inc.table)} AS st WHERE ${sql.id(VSLOT_COLUMN)} = ${sql.lit(inc.slot + 1)} AND ${and(window)}
    UNION ALL
    ${sql.join(raw, sql` UNION ALL `)}`
}


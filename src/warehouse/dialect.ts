import type {QueryCompiler, RawBuilder} from 'kysely'

/**
 * The types of values segc reads, compares and stores. The language (src/resolve/model.ts) names
 * its values with this type, so the interface owns it: it imports no stage.
 */
export type ValueType = 'string' | 'number' | 'integer' | 'boolean' | 'timestamp' | 'date'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Sql = RawBuilder<any>

/**
 * What the generator asks a warehouse. Each answer is a small kysely expression; the
 * generator never names a warehouse, and every difference between them lives in an
 * implementation of this interface under adapters/<warehouse>/.
 */
export interface Dialect {
  readonly name: 'duckdb' | 'snowflake' | 'bigquery'
  /** language name for sql-formatter, used only to lay out `segc compile` output */
  readonly formatterLanguage: 'duckdb' | 'snowflake' | 'bigquery'
  createQueryCompiler(): QueryCompiler

  /** the warehouse's variable-length string type, for keys stored as strings */
  readonly stringType: string
  readonly timestampType: string
  readonly booleanType: string
  readonly integerType: string
  readonly floatType: string
  /**
   * a fixed-point type with 9 decimals (BigQuery's NUMERIC): sums of `number` values add in it,
   * so a sum is exact and the same whatever order or grouping the rows are added in — a full
   * scan's, another warehouse's, or an incremental run's day by day
   */
  readonly exactType: string

  /** an instant (ISO 8601, UTC) as a timestamp literal without zone, in UTC */
  timestamp(iso: string): Sql
  /** a calendar date (YYYY-MM-DD) */
  date(ymd: string): Sql
  /** elapsed seconds from `value` (a timestamp or date column) to the instant `iso`, as a number */
  secondsUntil(value: Sql, iso: string): Sql
  /** a timestamp `seconds` earlier than `value` */
  minusSeconds(value: Sql, seconds: number): Sql
  /** real-valued division; NULL when the divisor is 0 */
  divide(numerator: Sql, denominator: Sql): Sql
  /** case-sensitive literal substring tests: % and _ are ordinary characters */
  match(mode: 'contains' | 'starts_with' | 'ends_with', value: Sql, pattern: string): Sql
  /** the UTC calendar day of a timestamp, and the instant a day starts (UTC) */
  utcDay(ts: Sql): Sql
  dayStart(day: Sql): Sql
  /** md5 of the text as 32 lower-case hex digits */
  md5Hex(text: Sql): Sql
  /** SHA-256 of the text's UTF-8 bytes as 64 lower-case hex digits (erased keys' hashes) */
  sha256Hex(text: Sql): Sql
  /**
   * a 64-bit integer hash of a string, fast: for ids inside one run's working tables only, so it
   * need not be stable across versions, and it may collide (callers check and fall back)
   */
  hashId(text: Sql): Sql
  /** int(first 8 hex digits of md5(text), 16) % 10000 */
  holdoutBucket(text: Sql): Sql
  /** the value at the earliest (first) or latest (last) event, ties broken by the smallest value */
  firstLast(which: 'first' | 'last', value: Sql, timestamp: Sql, when: Sql, type: ValueType): Sql
  /** the most frequent value, ties broken by the smallest value */
  mostFrequent(value: Sql, when: Sql, type: ValueType): Sql | TwoStep | Windowed
  /** a constant relation with named columns: one row per entry of `rows` */
  values(columns: string[], rows: Sql[][]): Sql
  /**
   * DELETE the rows of `table` that match a row of `source` (aliased `sourceAlias`) under
   * `on(target)`, where `target` is how the statement names the table's rows; dialects
   * differ (DELETE ... USING vs a semi-join in WHERE, with or without a target alias).
   */
  deleteJoined(table: Sql, source: Sql, sourceAlias: string, on: (target: Sql) => Sql): Sql
  /** CREATE TABLE IF NOT EXISTS with the table's and columns' comments, in as many statements as the dialect needs */
  createTable(table: Sql, comment: string, columns: Array<{name: string; type: string; comment: string}>): Sql[]
  /** a session-scoped scratch table filled from a query (dropped at the end of the session) */
  createTempTable(name: string, query: Sql): Sql
  /**
   * A join giving each row the integers 0 ≤ k < n (n an expression of the row): what follows
   * a FROM item, and how to read k.
   */
  series(n: Sql, name: string): {join: Sql; k: Sql}
  /**
   * number of distinct period indexes holding at least minCount matching events; `maxIndex`,
   * when known, bounds every index the counted events can have (indexes are never negative)
   */
  activePeriods(periodIndex: Sql, when: Sql, minCount: number, maxIndex?: number): Sql | TwoStep | Windowed
  /** bitwise AND of two non-negative 64-bit integers */
  bitAnd(a: Sql, b: Sql): Sql
  /** a non-negative 64-bit integer shifted left (right) by a constant number of bits; results stay below 2^63 */
  shiftLeft(a: Sql, bits: number): Sql
  shiftRight(a: Sql, bits: number): Sql
  /** the number of rows where `when` is true (not NULL, not false) */
  countIf(when: Sql): Sql
}

/**
 * An aggregate some warehouses can only finish outside the GROUP BY: BigQuery allows no
 * aggregate inside UNNEST, so the group's values are collected by `aggregate` and reduced
 * by `finish`, applied to that column in a select over the scan (still one scan).
 */
export interface TwoStep {
  aggregate: Sql
  finish(column: Sql): Sql
}

/**
 * An aggregate that needs a count per entity and value (or period) first. Snowflake runs a
 * correlated subquery only when it is statically one row, so BigQuery's subquery over the
 * collected array is not open to it; instead `window` counts, on each event row, the matching
 * rows that share its entity and value (a window function in a select between the relation
 * and the GROUP BY, over the scan's filtered rows: still one read of the source), and
 * `aggregate` reads that count in the GROUP BY.
 */
export interface Windowed {
  window(key: Sql): Sql
  aggregate(count: Sql): Sql
}

export const isTwoStep = (x: Sql | TwoStep | Windowed): x is TwoStep => typeof (x as TwoStep).finish === 'function'
export const isWindowed = (x: Sql | TwoStep | Windowed): x is Windowed => typeof (x as Windowed).window === 'function'

import {sql} from 'kysely'
import type {Dialect, Sql} from '../../src/warehouse/dialect.js'
import {DuckDBQueryCompiler} from './query-compiler.js'

const isoToLiteral = (iso: string) => iso.replace('T', ' ').replace(/Z$/, '')

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  formatterLanguage: 'duckdb',
  createQueryCompiler: () => new DuckDBQueryCompiler(),
  stringType: 'VARCHAR',
  timestampType: 'TIMESTAMP',
  booleanType: 'BOOLEAN',
  integerType: 'BIGINT',
  floatType: 'DOUBLE',
  exactType: 'DECIMAL(38, 9)',

  timestamp: (iso) => sql`TIMESTAMP ${sql.lit(isoToLiteral(iso))}`,
  date: (ymd) => sql`DATE ${sql.lit(ymd)}`,
  // epoch_us counts microseconds since 1970 for TIMESTAMP and DATE alike; the difference is
  // exact elapsed time, unlike date_diff, which counts calendar boundaries.
  secondsUntil: (value, iso) => sql`((epoch_us(${sql.lit(isoToLiteral(iso))}::TIMESTAMP) - epoch_us(CAST(${value} AS TIMESTAMP))) / 1000000.0)`,
  minusSeconds: (value, seconds) => sql`(${value} - to_seconds(CAST(${sql.lit(seconds)} AS BIGINT)))`,
  divide: (a, b) => sql`(CAST(${a} AS DOUBLE) / NULLIF(${b}, 0))`,
  // strpos / starts_with / suffix compare literally; LIKE would treat % and _ as wildcards.
  match: (mode, value, pattern) =>
    mode === 'contains'
      ? sql`(strpos(${value}, ${sql.lit(pattern)}) > 0)`
      : mode === 'starts_with'
        ? sql`starts_with(${value}, ${sql.lit(pattern)})`
        : sql`suffix(${value}, ${sql.lit(pattern)})`,
  // the session time zone is UTC (connection.ts)
  utcDay: (ts) => sql`CAST(${ts} AS DATE)`,
  dayStart: (day) => sql`CAST(${day} AS TIMESTAMP)`,
  md5Hex: (text) => sql`md5(${text})`,
  sha256Hex: (text) => sql`sha256(${text})`,
  // hash() is a UBIGINT: one bit fewer fits a BIGINT
  hashId: (text) => sql`CAST(hash(${text}) >> 1 AS BIGINT)`,
  holdoutBucket: (text) => sql`(CAST(('0x' || substr(md5(${text}), 1, 8)) AS BIGINT) % 10000)`,
  // min over a struct orders by its fields in turn: the earliest timestamp, then the smallest value.
  firstLast: (which, value, ts, when) =>
    which === 'first'
      ? sql`(min({'t': ${ts}, 'v': ${value}}) FILTER (WHERE ${when} AND ${value} IS NOT NULL)).v`
      : sql`(min({'t': -epoch_us(CAST(${ts} AS TIMESTAMP)), 'v': ${value}}) FILTER (WHERE ${when} AND ${value} IS NOT NULL)).v`,
  mostFrequent: (value, when) =>
    // sorting {-count, value} structs puts the most frequent first, the smallest value among equals
    sql`(list_sort(list_transform(map_entries(histogram(${value}) FILTER (WHERE ${when} AND ${value} IS NOT NULL)), e -> {'c': -e.value, 'v': e.key}))[1]).v`,
  // a list of n integers, unnested in a lateral subquery
  series: (n, name) => ({join: sql`CROSS JOIN LATERAL (SELECT UNNEST(range(0, CAST(${n} AS BIGINT))) AS ${sql.id(name)}) AS ${sql.id(`${name}_series`)}`, k: sql.id(`${name}_series`, name)}),
  values: (columns, rows) => sql`(VALUES ${sql.join(rows.map((r) => sql`(${sql.join(r)})`))}) AS ${sql.id('v')}(${sql.join(columns.map((c) => sql.id(c)))})`,
  // comments go on with COMMENT ON (https://duckdb.org/docs/sql/statements/comment_on)
  createTable: (table, comment, columns) => [
    sql`CREATE TABLE IF NOT EXISTS ${table} (${sql.join(columns.map((c) => sql`${sql.id(c.name)} ${sql.raw(c.type)}`))})`,
    sql`COMMENT ON TABLE ${table} IS ${sql.lit(comment)}`,
    ...columns.map((c) => sql`COMMENT ON COLUMN ${table}.${sql.id(c.name)} IS ${sql.lit(c.comment)}`),
  ],
  // DELETE ... USING joins once; a correlated EXISTS here was 8× slower on 5M members
  deleteJoined: (table, source, alias, on) => sql`DELETE FROM ${table} AS t USING ${source} AS ${sql.id(alias)} WHERE ${on(sql`t`)}`,
  createTempTable: (name, query) => sql`CREATE OR REPLACE TEMP TABLE ${sql.id(name)} AS ${query}`,
  // With at most 63 possible periods, a bit per period OR-ed together and counted is the
  // distinct count without DISTINCT's per-group hash set: 1.4 s → 0.4 s over 50M events.
  activePeriods: (index, when, minCount, maxIndex) =>
    minCount > 1
      ? sql`coalesce(length(list_filter(map_values(histogram(${index}) FILTER (WHERE ${when})), c -> c >= ${sql.lit(minCount)})), 0)`
      : maxIndex !== undefined && maxIndex <= 62
        ? sql`coalesce(bit_count(bit_or(CASE WHEN ${when} THEN (CAST(1 AS BIGINT) << CAST(${index} AS INTEGER)) END)), 0)`
        : sql`count(DISTINCT CASE WHEN ${when} THEN ${index} END)`,
  bitAnd: (a, b) => sql`(${a} & ${b})`,
  shiftLeft: (a, bits) => sql`(${a} << ${sql.lit(bits)})`,
  shiftRight: (a, bits) => sql`(${a} >> ${sql.lit(bits)})`,
  // count_if reads the condition once; count(CASE …) builds a column first (~0.1 s per aggregate over 50M rows)
  countIf: (when) => sql`count_if(${when})`,
} satisfies Dialect as Dialect

export type {Sql}

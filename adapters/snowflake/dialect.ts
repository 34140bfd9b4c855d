import {sql} from 'kysely'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {SnowflakeQueryCompiler} from './query-compiler.js'

const literal = (iso: string) => iso.replace('T', ' ').replace(/Z$/, '')
const TYPES = {string: 'VARCHAR', number: 'DOUBLE', integer: 'BIGINT', boolean: 'BOOLEAN', timestamp: 'TIMESTAMP_NTZ', date: 'DATE'} as const

export const snowflakeDialect: Dialect = {
  name: 'snowflake',
  formatterLanguage: 'snowflake',
  createQueryCompiler: () => new SnowflakeQueryCompiler(),
  stringType: 'VARCHAR',
  // segc's own timestamps are UTC instants without a zone; the session runs in UTC (connection.ts)
  timestampType: 'TIMESTAMP_NTZ',
  booleanType: 'BOOLEAN',
  integerType: 'BIGINT',
  floatType: 'DOUBLE',
  exactType: 'NUMBER(38, 9)',

  timestamp: (iso) => sql`CAST(${sql.lit(literal(iso))} AS TIMESTAMP_NTZ)`,
  date: (ymd) => sql`CAST(${sql.lit(ymd)} AS DATE)`,
  // DATEDIFF counts unit boundaries; at microseconds that is the exact elapsed time
  // (https://docs.snowflake.com/en/sql-reference/functions/datediff)
  secondsUntil: (value, iso) => sql`(DATEDIFF('microsecond', ${value}, CAST(${sql.lit(literal(iso))} AS TIMESTAMP_NTZ)) / 1000000.0)`,
  minusSeconds: (value, seconds) => sql`DATEADD('second', ${sql.lit(-seconds)}, ${value})`,
  divide: (a, b) => sql`(CAST(${a} AS DOUBLE) / NULLIF(${b}, 0))`,
  // CONTAINS/STARTSWITH/ENDSWITH compare literally (no wildcards), case-sensitively under the default collation
  match: (mode, value, pattern) =>
    mode === 'contains' ? sql`CONTAINS(${value}, ${sql.lit(pattern)})` : mode === 'starts_with' ? sql`STARTSWITH(${value}, ${sql.lit(pattern)})` : sql`ENDSWITH(${value}, ${sql.lit(pattern)})`,
  // TIMESTAMP_NTZ holds UTC wall time (the session runs in UTC)
  utcDay: (ts) => sql`CAST(${ts} AS DATE)`,
  dayStart: (day) => sql`CAST(${day} AS TIMESTAMP_NTZ)`,
  md5Hex: (text) => sql`MD5(${text})`,
  sha256Hex: (text) => sql`SHA2(${text}, 256)`,
  hashId: (text) => sql`HASH(${text})`,
  holdoutBucket: (text) => sql`MOD(TO_NUMBER(SUBSTR(MD5(${text}), 1, 8), 'XXXXXXXX'), 10000)`,
  // ARRAY_AGG skips NULLs; WITHIN GROUP orders by time, then value, so ties take the smallest value
  firstLast: (which, value, ts, when, type) =>
    sql`CAST(GET(ARRAY_AGG(CASE WHEN ${when} THEN ${value} END) WITHIN GROUP (ORDER BY ${ts} ${sql.raw(which === 'first' ? 'ASC' : 'DESC')}, ${value} ASC), 0) AS ${sql.raw(TYPES[type])})`,
  // A correlated subquery over the collected values is not open to Snowflake (it runs one only
  // when it is statically a single row: https://docs.snowflake.com/en/user-guide/querying-subqueries),
  // so each matching row carries the count of matching rows with its entity and value (COUNT_IF as
  // a window function, https://docs.snowflake.com/en/sql-reference/functions/count_if), and the
  // group takes the value of its first row ordered by that count, descending, then by value.
  mostFrequent: (value, when, type) => ({
    window: (key) => sql`COUNT_IF(${when}) OVER (PARTITION BY ${key}, ${value})`,
    aggregate: (n) => sql`CAST(GET(ARRAY_AGG(CASE WHEN ${when} THEN ${value} END) WITHIN GROUP (ORDER BY ${n} DESC, ${value} ASC), 0) AS ${sql.raw(TYPES[type])})`,
  }),
  // periods holding at least min_count matching events: the same per-row count, by period
  activePeriods: (index, when, minCount) =>
    minCount <= 1
      ? sql`COUNT(DISTINCT CASE WHEN ${when} THEN ${index} END)`
      : {
          window: (key) => sql`COUNT_IF(${when}) OVER (PARTITION BY ${key}, ${index})`,
          aggregate: (n) => sql`COUNT(DISTINCT CASE WHEN ${when} AND ${n} >= ${sql.lit(minCount)} THEN ${index} END)`,
        },
  // https://docs.snowflake.com/en/sql-reference/functions/bitand
  bitAnd: (a, b) => sql`BITAND(${a}, ${b})`,
  // https://docs.snowflake.com/en/sql-reference/functions/bitshiftleft
  shiftLeft: (a, bits) => sql`BITSHIFTLEFT(${a}, ${sql.lit(bits)})`,
  // https://docs.snowflake.com/en/sql-reference/functions/bitshiftright
  shiftRight: (a, bits) => sql`BITSHIFTRIGHT(${a}, ${sql.lit(bits)})`,
  // https://docs.snowflake.com/en/sql-reference/functions/count_if
  countIf: (when) => sql`COUNT_IF(${when})`,
  // FLATTEN of a generated array: GENERATOR needs a constant row count
  series: (n, name) => ({join: sql`CROSS JOIN LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, ${n})) AS ${sql.id(`${name}_series`)}`, k: sql`CAST(${sql.id(`${name}_series`, 'value')} AS BIGINT)`}),
  values: (columns, rows) => sql`(VALUES ${sql.join(rows.map((r) => sql`(${sql.join(r)})`))}) AS ${sql.id('v')}(${sql.join(columns.map((c) => sql.id(c)))})`,
  // comments inline in the DDL: one statement per table (https://docs.snowflake.com/en/sql-reference/sql/create-table)
  createTable: (table, comment, columns) => [
    sql`CREATE TABLE IF NOT EXISTS ${table} (${sql.join(columns.map((c) => sql`${sql.id(c.name)} ${sql.raw(c.type)} COMMENT ${sql.lit(c.comment)}`))}) COMMENT = ${sql.lit(comment)}`,
  ],
  // the target is named in full rather than aliased (https://docs.snowflake.com/en/sql-reference/sql/delete)
  deleteJoined: (table, source, alias, on) => sql`DELETE FROM ${table} USING ${source} AS ${sql.id(alias)} WHERE ${on(table)}`,
  createTempTable: (name, query) => sql`CREATE OR REPLACE TEMPORARY TABLE ${sql.id(name)} AS ${query}`,
}

import {sql} from 'kysely'
import type {Dialect} from '../../src/generate/dialect.js'
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
  unsupported: new Set(['most_frequent', 'active_periods_min_count']),

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
  holdoutBucket: (text) => sql`MOD(TO_NUMBER(SUBSTR(MD5(${text}), 1, 8), 'XXXXXXXX'), 10000)`,
  // ARRAY_AGG skips NULLs; WITHIN GROUP orders by time, then value, so ties take the smallest value
  firstLast: (which, value, ts, when, type) =>
    sql`CAST(GET(ARRAY_AGG(CASE WHEN ${when} THEN ${value} END) WITHIN GROUP (ORDER BY ${ts} ${sql.raw(which === 'first' ? 'ASC' : 'DESC')}, ${value} ASC), 0) AS ${sql.raw(TYPES[type])})`,
  mostFrequent: () => {
    throw new Error('most_frequent is not available for Snowflake')
  },
  activePeriods: (index, when) => sql`COUNT(DISTINCT CASE WHEN ${when} THEN ${index} END)`,
  values: (columns, rows) => sql`(VALUES ${sql.join(rows.map((r) => sql`(${sql.join(r)})`))}) AS ${sql.id('v')}(${sql.join(columns.map((c) => sql.id(c)))})`,
  // https://docs.snowflake.com/en/sql-reference/sql/comment
  comments: (table, comment, columns) => [
    sql`COMMENT ON TABLE ${table} IS ${sql.lit(comment)}`,
    ...columns.map((c) => sql`COMMENT ON COLUMN ${table}.${sql.id(c.name)} IS ${sql.lit(c.comment)}`),
  ],
  deleteJoined: (table, alias, source, sourceAlias, on) => sql`DELETE FROM ${table} AS ${sql.id(alias)} USING ${source} AS ${sql.id(sourceAlias)} WHERE ${on}`,
  createTempTable: (name, query) => sql`CREATE OR REPLACE TEMPORARY TABLE ${sql.id(name)} AS ${query}`,
}

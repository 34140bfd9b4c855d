import {sql} from 'kysely'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {BigQueryQueryCompiler} from './query-compiler.js'

const literal = (iso: string) => iso.replace('T', ' ').replace(/Z$/, '+00')
const TYPES = {string: 'STRING', number: 'FLOAT64', integer: 'INT64', boolean: 'BOOL', timestamp: 'TIMESTAMP', date: 'DATE'} as const

export const bigqueryDialect: Dialect = {
  name: 'bigquery',
  formatterLanguage: 'bigquery',
  createQueryCompiler: () => new BigQueryQueryCompiler(),
  stringType: 'STRING',
  timestampType: 'TIMESTAMP',
  booleanType: 'BOOL',
  integerType: 'INT64',
  floatType: 'FLOAT64',
  exactType: 'NUMERIC',

  timestamp: (iso) => sql`TIMESTAMP ${sql.lit(literal(iso))}`,
  date: (ymd) => sql`DATE ${sql.lit(ymd)}`,
  // https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp_diff
  secondsUntil: (value, iso) => sql`(TIMESTAMP_DIFF(TIMESTAMP ${sql.lit(literal(iso))}, CAST(${value} AS TIMESTAMP), MICROSECOND) / 1000000)`,
  minusSeconds: (value, seconds) => sql`TIMESTAMP_SUB(${value}, INTERVAL ${sql.lit(seconds)} SECOND)`,
  divide: (a, b) => sql`SAFE_DIVIDE(${a}, ${b})`,
  match: (mode, value, pattern) =>
    mode === 'contains' ? sql`(STRPOS(${value}, ${sql.lit(pattern)}) > 0)` : mode === 'starts_with' ? sql`STARTS_WITH(${value}, ${sql.lit(pattern)})` : sql`ENDS_WITH(${value}, ${sql.lit(pattern)})`,
  // explicit UTC: DATE(ts) and TIMESTAMP(date) otherwise follow a default time zone
  utcDay: (ts) => sql`DATE(${ts}, 'UTC')`,
  dayStart: (day) => sql`TIMESTAMP(${day}, 'UTC')`,
  md5Hex: (text) => sql`TO_HEX(MD5(${text}))`,
  sha256Hex: (text) => sql`TO_HEX(SHA256(${text}))`,
  hashId: (text) => sql`FARM_FINGERPRINT(${text})`,
  holdoutBucket: (text) => sql`MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(${text})), 1, 8)) AS INT64), 10000)`,
  firstLast: (which, value, ts, when) =>
    sql`ARRAY_AGG(IF(${when}, ${value}, NULL) IGNORE NULLS ORDER BY ${ts} ${sql.raw(which === 'first' ? 'ASC' : 'DESC')}, ${value} ASC LIMIT 1)[SAFE_OFFSET(0)]`,
  // the group's values collected, then counted by a scalar subquery over the array (no
  // aggregate may sit inside UNNEST): most frequent first, the smallest among equals
  mostFrequent: (value, when) => ({
    aggregate: sql`ARRAY_AGG(IF(${when}, ${value}, NULL) IGNORE NULLS)`,
    finish: (values) => sql`(SELECT v FROM UNNEST(${values}) AS v GROUP BY v ORDER BY COUNT(*) DESC, v ASC LIMIT 1)`,
  }),
  activePeriods: (index, when, minCount) =>
    minCount <= 1
      ? sql`COUNT(DISTINCT CASE WHEN ${when} THEN ${index} END)`
      : {
          aggregate: sql`ARRAY_AGG(IF(${when}, ${index}, NULL) IGNORE NULLS)`,
          finish: (periods) => sql`(SELECT COUNT(*) FROM (SELECT p FROM UNNEST(${periods}) AS p GROUP BY p HAVING COUNT(*) >= ${sql.lit(minCount)}))`,
        },
  bitAnd: (a, b) => sql`(${a} & ${b})`,
  shiftLeft: (a, bits) => sql`(${a} << ${sql.lit(bits)})`,
  shiftRight: (a, bits) => sql`(${a} >> ${sql.lit(bits)})`,
  // https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#countif
  countIf: (when) => sql`COUNTIF(${when})`,
  // BigQuery has no VALUES list in FROM; an array of structs is its constant relation
  series: (n, name) => ({join: sql`CROSS JOIN UNNEST(GENERATE_ARRAY(0, ${n} - 1)) AS ${sql.id(name)}`, k: sql.id(name)}),
  values: (columns, rows) =>
    sql`UNNEST([${sql.join(rows.map((r) => sql`STRUCT<${sql.join(columns.map((c) => sql`${sql.id(c)} STRING`))}>(${sql.join(r)})`))}])`,
  // descriptions inline in the DDL (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#create_table_statement)
  createTable: (table, comment, columns) => [
    sql`CREATE TABLE IF NOT EXISTS ${table} (${sql.join(columns.map((c) => sql`${sql.id(c.name)} ${sql.raw(c.type)} OPTIONS (description = ${sql.lit(c.comment)})`))}) OPTIONS (description = ${sql.lit(comment)})`,
  ],
  // no DELETE ... USING in BigQuery: a semi-join in WHERE
  deleteJoined: (table, source, alias, on) => sql`DELETE FROM ${table} AS t WHERE EXISTS (SELECT 1 FROM ${source} AS ${sql.id(alias)} WHERE ${on(sql`t`)})`,
  createTempTable: (name, query) => sql`CREATE OR REPLACE TEMP TABLE ${sql.id(name)} AS ${query}`,
}
export {TYPES as BIGQUERY_TYPES}

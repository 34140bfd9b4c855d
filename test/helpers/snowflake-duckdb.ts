import {init, transpile} from '@polyglot-sql/sdk'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'

// Snowflake SQL → DuckDB SQL by an independent translator (@polyglot-sql/sdk, a port of
// sqlglot), for running segc's Snowflake SQL on the conformance fixtures.
//
// The translator is wrong or silent on four constructs segc uses. Those are rewritten, before
// translation, to calls of DuckDB macros (SNOWFLAKE_MACROS) that implement Snowflake's
// documented behaviour; snowflake-translate.test.ts checks each macro against the examples
// in Snowflake's documentation, so the translated run never leans on segc's own reading.
//   DATEDIFF('microsecond', a, b): translated with both sides cast to DATE (loses the time)
//   TO_NUMBER(s, 'XXXXXXXX'): no DuckDB counterpart emitted (hex format model)
//   STARTSWITH(a, b): passed through, DuckDB names it starts_with
//   DATEADD('second', n, ts): translated to `ts + INTERVAL -n SECOND`, which DuckDB cannot parse
//   SHA2(msg, 256): passed through, DuckDB names it sha256 (and has no digest size argument)
// and it spells TIMESTAMP_NTZ as TIMESTAMPNTZ inside aggregate filters (a name only: an alias type).
// One more is corrected after translation: FLATTEN of an array becomes UNNEST aliased with all six
// FLATTEN columns (SEQ, KEY, PATH, INDEX, VALUE, THIS), but UNNEST yields one column, the
// element, so the element would be named SEQ; FLATTEN's docs call the element VALUE.
export const UNTRUSTED = [
  {snowflake: "DATEDIFF('microsecond',", macro: 'sf_datediff_microsecond', doc: 'https://docs.snowflake.com/en/sql-reference/functions/datediff'},
  {snowflake: 'TO_NUMBER(', macro: 'sf_to_number_hex', doc: 'https://docs.snowflake.com/en/sql-reference/sql-format-models'},
  {snowflake: 'STARTSWITH(', macro: 'sf_startswith', doc: 'https://docs.snowflake.com/en/sql-reference/functions/startswith'},
  {snowflake: "DATEADD('second',", macro: 'sf_dateadd_second', doc: 'https://docs.snowflake.com/en/sql-reference/functions/dateadd'},
  {snowflake: 'SHA2(', macro: 'sf_sha2', doc: 'https://docs.snowflake.com/en/sql-reference/functions/sha2'},
] as const

export const SNOWFLAKE_MACROS = [
  // "microsecond uses hour, minute, second and the first six digits of the fractional seconds;
  // fractional seconds are not rounded": for microsecond timestamps, the exact difference
  `CREATE OR REPLACE MACRO sf_datediff_microsecond(a, b) AS date_diff('microsecond', CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP))`,
  // format model of X digits: the string read as hexadecimal, as many digits as Xs at most
  `CREATE OR REPLACE MACRO sf_to_number_hex(s, fmt) AS CASE WHEN regexp_full_match(fmt, 'X+') AND length(s) <= length(fmt) AND regexp_full_match(s, '[0-9a-fA-F]+') THEN CAST('0x' || s AS UBIGINT) ELSE error('sf_to_number_hex: unsupported ' || fmt) END`,
  `CREATE OR REPLACE MACRO sf_startswith(a, b) AS starts_with(a, b)`,
  // "value: the number of units to add; negative to subtract"
  `CREATE OR REPLACE MACRO sf_dateadd_second(n, ts) AS CAST(ts AS TIMESTAMP) + to_microseconds(CAST(round(CAST(n AS DOUBLE) * 1000000) AS BIGINT))`,
  // "a hex-encoded string containing the N-bit SHA-2 message digest"; segc asks for 256 bits only
  `CREATE OR REPLACE MACRO sf_sha2(msg, bits) AS CASE WHEN bits = 256 THEN sha256(msg) ELSE error('sf_sha2: unsupported digest size ' || bits) END`,
  `CREATE TYPE IF NOT EXISTS timestampntz AS TIMESTAMP`,
]

let ready: Promise<void> | undefined

/** Skips a Snowflake string literal ('' and backslash escapes) starting at i; returns the index after it. */
function skipString(sql: string, i: number): number {
  for (let j = i + 1; j < sql.length; j++) {
    if (sql[j] === '\\') j++
    else if (sql[j] === "'") {
      if (sql[j + 1] === "'") j++
      else return j + 1
    }
  }
  throw new Error('unterminated string literal')
}

/** Replaces each call `PREFIX args)` by `macro(args)`, where the prefix's own leading arguments are dropped. */
function rewriteCalls(sql: string, prefix: string, macro: string): string {
  let out = ''
  let i = 0
  while (i < sql.length) {
    const c = sql[i]!
    if (c === "'") {
      const end = skipString(sql, i)
      out += sql.slice(i, end)
      i = end
    } else if (sql.startsWith(prefix, i) && !/[\w"]/.test(sql[i - 1] ?? ' ')) {
      out += `${macro}(`
      i += prefix.length
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Translates one Snowflake statement to DuckDB; the statement must be run where SNOWFLAKE_MACROS exist. */
export async function snowflakeToDuckDB(snowflake: string): Promise<string> {
  ready ??= init()
  await ready
  let sql = snowflake
  for (const u of UNTRUSTED) sql = rewriteCalls(sql, u.snowflake, u.macro)
  const r = transpile(sql, 'snowflake', 'duckdb')
  if (!r.success || !r.sql) throw new Error(`polyglot could not translate: ${r.error}`)
  return r.sql.join(';\n').replaceAll(FLATTEN_ALIASES, '(VALUE)')
}

export const FLATTEN_ALIASES = '(SEQ, KEY, PATH, INDEX, VALUE, THIS)'

/**
 * Snowflake's inline `COMMENT '…'` (a column's) and `COMMENT = '…'` (the table's) in CREATE
 * TABLE, dropped: DuckDB has no inline comments and the translator passes them through. Only the
 * comments go; segc's table and column comments are checked by parsing (sqlglot), not by running.
 */
export function withoutInlineComments(sql: string): string {
  if (!/^\s*CREATE\s+TABLE/i.test(sql)) return sql
  let out = ''
  let i = 0
  while (i < sql.length) {
    if (sql[i] === "'") {
      const end = skipString(sql, i)
      out += sql.slice(i, end)
      i = end
      continue
    }
    const m = /^\s+COMMENT\s*(=\s*)?'/i.exec(sql.slice(i, i + 20))
    if (m) {
      i = skipString(sql, i + m[0].length - 1)
      continue
    }
    out += sql[i]
    i++
  }
  return out
}

/**
 * A warehouse connection that speaks Snowflake: each statement segc sends is translated to
 * DuckDB and run on an in-memory DuckDB holding SNOWFLAKE_MACROS, with result columns
 * lower-cased and table look-ups upper-cased as the Snowflake adapter's connection does. A whole
 * run (DDL, transaction, temp tables, MERGE/UPDATE/DELETE) goes through it unchanged.
 */
export async function snowflakeOnDuckDB(inner: WarehouseConnection): Promise<WarehouseConnection & {translated: string[]}> {
  for (const m of SNOWFLAKE_MACROS) await inner.execute(m)
  const translated: string[] = []
  const to = async (sql: string) => {
    const t = await snowflakeToDuckDB(withoutInlineComments(sql))
    translated.push(t)
    return t
  }
  return {
    translated,
    execute: async (sql) => inner.execute(await to(sql)),
    query: async (sql) => (await inner.query(await to(sql))).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]))),
    tableExists: (schema, table) => inner.tableExists(schema.toUpperCase(), table.toUpperCase()),
    close: () => inner.close(),
  }
}

import {createServer} from 'node:net'
import {afterAll, beforeAll} from 'vitest'
import {promisify} from 'node:util'
import {runServer, terminateServer, ZetaSQLClient} from '@fivetrandevelopers/zetasql'
import type {Project, ValueType} from '../../src/resolve/model.js'
import {relationColumns} from '../../src/fixtures/fixture-tables.js'
import {parseTime} from '../../src/resolve/time.js'

/** ZetaSQL's local service for the tests of one file (or describe block): started before them, stopped after. */
export function useZetaSQL(): void {
  let stop: (() => void) | undefined
  beforeAll(async () => {
    stop = (await startZetaSQL()).stop
  })
  afterAll(() => stop?.())
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => resolve(port))
    })
  })
}

/** Starts Google's ZetaSQL local service (BigQuery's SQL frontend and reference evaluator). */
export async function startZetaSQL(): Promise<{client: ZetaSQLClient; stop: () => void}> {
  const port = await freePort()
  void runServer(port)
  ZetaSQLClient.init(port)
  const client = ZetaSQLClient.getInstance()
  for (let i = 0; i < 100; i++) {
    if (await client.formatSql({sql: 'SELECT 1'}).then(() => true, () => false)) return {client, stop: () => terminateServer()}
    await client.delay(100)
  }
  throw new Error('the ZetaSQL server did not start')
}

const KIND: Record<ValueType, number> = {string: 8, number: 7, integer: 2, boolean: 5, timestamp: 19, date: 10}

function cell(type: ValueType, v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {}
  switch (type) {
    case 'string':
      return {stringValue: String(v)}
    case 'number':
      return {doubleValue: Number(v)}
    case 'integer':
      return {int64Value: String(v)}
    case 'boolean':
      return {boolValue: Boolean(v)}
    case 'date':
      return {dateValue: Math.round(Date.parse(`${String(v)}T00:00:00Z`) / 86_400_000)}
    case 'timestamp': {
      const t = parseTime(String(v))
      if (t?.kind !== 'absolute') throw new Error(`bad timestamp ${String(v)}`)
      const ms = Date.parse(t.iso)
      return {timestampValue: {seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6}}
    }
  }
}

/**
 * ZetaSQL's NUMERIC value (zetasql/public/numeric_value.h): the value times 10^9 as a
 * little-endian two's-complement integer of as few bytes as hold it.
 */
function numeric(raw: Uint8Array | string): number {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : Buffer.from(raw)
  if (!bytes.length) return 0
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(8 * bytes.length)
  return Number(n) / 1e9
}

function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue
  if ('boolValue' in value) return value.boolValue
  if ('int64Value' in value) return Number(String(value.int64Value))
  if ('doubleValue' in value) return Number(value.doubleValue)
  if ('numericValue' in value) return numeric(value.numericValue as Uint8Array | string)
  if ('timestampValue' in value) {
    const t = value.timestampValue as {seconds?: string; nanos?: number}
    return new Date(Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6)).toISOString()
  }
  return null
}

/**
 * Runs a BigQuery query on ZetaSQL's reference implementation over fixture rows, the tables
 * typed from the models as `segc test` types them for DuckDB. Returns rows as plain objects.
 */
export async function evaluateBigQuery(project: Project, given: Record<string, Array<Record<string, unknown>>>, sql: string): Promise<Array<Record<string, unknown>>> {
  // ZetaSQL's local service takes table contents for root-level tables only, so the models
  // used here name their relations without a dataset.
  const tables: FixtureTable[] = []
  for (const [relation, columns] of relationColumns(project)) {
    if (relation.includes('.')) throw new Error(`evaluateBigQuery needs root-level tables, not ${relation}`)
    tables.push({name: relation, columns: [...columns], rows: given[relation] ?? []})
  }
  return evaluateTables(tables, sql)
}

export interface FixtureTable {
  name: string
  columns: Array<[string, ValueType]>
  rows: Array<Record<string, unknown>>
}

/** Runs a BigQuery query on ZetaSQL's reference implementation over the given root-level tables. */
export async function evaluateTables(tables: readonly FixtureTable[], sql: string): Promise<Array<Record<string, unknown>>> {
  const api = ZetaSQLClient.API as unknown as Record<string, (req: unknown, cb: (e: Error | null, r: unknown) => void) => void>
  const languageOptions = await ZetaSQLClient.getInstance().getLanguageOptions({maximumFeatures: true})
  const tableContent: Record<string, unknown> = {}
  for (const t of tables) tableContent[t.name] = {tableData: {row: t.rows.map((r) => ({cell: t.columns.map(([c, type]) => cell(type, r[c]))}))}}
  const request = {
    sql,
    options: {languageOptions},
    simpleCatalog: {
      name: 'fixtures',
      builtinFunctionOptions: {languageOptions},
      table: tables.map((t) => ({name: t.name, column: t.columns.map(([c, type]) => ({name: c, type: {typeKind: KIND[type]}}))})),
    },
    tableContent,
  }
  const response = (await promisify(api.evaluateQuery!.bind(api))(request)) as {content: {tableData: {row: Array<{cell: Array<Record<string, unknown>>}>}}; prepared: {columns: Array<{name: string}>}}
  const names = response.prepared.columns.map((c) => c.name)
  return (response.content.tableData.row ?? []).map((r) => Object.fromEntries(r.cell.map((c, i) => [names[i], plain(c)])))
}

// ---------------------------------------------------------------------------------------------
// A BigQuery warehouse on ZetaSQL's reference evaluator: tables held here as ZetaSQL values,
// queries run by EvaluateQuery, INSERT/UPDATE/DELETE by EvaluateModify. Enough of a warehouse
// for `segc run` to run on it unchanged.

type TypeProto = {typeKind: number}
type ValueProto = Record<string, unknown>
interface ZTable {
  columns: Array<{name: string; type: TypeProto}>
  rows: ValueProto[][]
}

// NUMERIC (TYPE_NUMERIC, 23): the exact sums and averages of profile tables (SPEC §19)
const DDL_TYPES: Record<string, number> = {STRING: 8, INT64: 2, FLOAT64: 7, BOOL: 5, TIMESTAMP: 19, DATE: 10, NUMERIC: 23}
/** a hidden row id, the primary key UPDATE and DELETE report the rows they touched by */
const ROW_ID = 'segc_zeta_row'

/** Replaces `schema`.`name` by `name` outside string literals: the local service holds root-level tables only. */
function unqualified(sql: string, schema: string): string {
  const prefix = `\`${schema}\`.`
  let out = ''
  for (let i = 0; i < sql.length; ) {
    const c = sql[i]!
    if (c === "'" || c === '"') {
      let j = i + 1
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1
      out += sql.slice(i, j + 1)
      i = j + 1
    } else if (sql.startsWith(prefix, i)) i += prefix.length
    else {
      out += c
      i++
    }
  }
  return out
}

export class ZetaWarehouse {
  private tables = new Map<string, ZTable>()
  private saved: Map<string, ZTable> | undefined
  readonly statements: string[] = []

  constructor(
    private readonly schema: string,
    given: readonly FixtureTable[] = [],
  ) {
    for (const t of given) this.tables.set(t.name, {columns: t.columns.map(([name, type]) => ({name, type: {typeKind: KIND[type]}})), rows: t.rows.map((r) => t.columns.map(([c, type]) => cell(type, r[c])))})
  }

  private async call(method: 'evaluateQuery' | 'evaluateModify', sql: string, withRowIds: boolean): Promise<any> {
    const api = ZetaSQLClient.API as unknown as Record<string, (req: unknown, cb: (e: Error | null, r: unknown) => void) => void>
    const base = await ZetaSQLClient.getInstance().getLanguageOptions({maximumFeatures: true})
    const languageOptions = {...base, supportedStatementKinds: ['RESOLVED_QUERY_STMT', 'RESOLVED_INSERT_STMT', 'RESOLVED_DELETE_STMT', 'RESOLVED_UPDATE_STMT']}
    const tables = [...this.tables.entries()]
    const request = {
      sql,
      options: {languageOptions},
      simpleCatalog: {
        name: 'warehouse',
        builtinFunctionOptions: {languageOptions},
        table: tables.map(([name, t]) => ({
          name,
          column: [...t.columns, ...(withRowIds ? [{name: ROW_ID, type: {typeKind: 2}}] : [])],
          ...(withRowIds ? {primaryKeyColumnIndex: [t.columns.length]} : {}),
        })),
      },
      tableContent: Object.fromEntries(tables.map(([name, t]) => [name, {tableData: {row: t.rows.map((r, i) => ({cell: withRowIds ? [...r, {int64Value: String(i)}] : r}))}}])),
    }
    return promisify(api[method]!.bind(api))(request)
  }

  async execute(text: string): Promise<void> {
    this.statements.push(text)
    const sql = unqualified(text, this.schema).trim()
    if (/^BEGIN TRANSACTION$/i.test(sql)) this.saved = new Map([...this.tables].map(([k, t]) => [k, {columns: t.columns, rows: [...t.rows]}]))
    else if (/^COMMIT TRANSACTION$/i.test(sql)) this.saved = undefined
    else if (/^ROLLBACK TRANSACTION$/i.test(sql)) {
      if (this.saved) this.tables = this.saved
      this.saved = undefined
    } else if (/^CREATE SCHEMA /i.test(sql)) return
    else if (/^CREATE TABLE IF NOT EXISTS `\w+` AS /i.test(sql)) {
      // a table made from a query (incremental state): its columns are the query's
      const m = /^CREATE TABLE IF NOT EXISTS `(\w+)` AS ([\s\S]*)$/i.exec(sql)!
      if (this.tables.has(m[1]!)) return
      const r = await this.call('evaluateQuery', m[2]!, false)
      this.tables.set(m[1]!, {columns: r.prepared.columns.map((c: {name: string; type: TypeProto}) => ({name: c.name, type: c.type})), rows: (r.content.tableData.row ?? []).map((x: {cell: ValueProto[]}) => x.cell)})
    } else if (/^CREATE TABLE IF NOT EXISTS /i.test(sql)) {
      const name = /^CREATE TABLE IF NOT EXISTS `(\w+)`/i.exec(sql)![1]!
      if (this.tables.has(name)) return
      const columns = [...sql.matchAll(/[(,]\s*`(\w+)` (STRING|INT64|FLOAT64|BOOL|TIMESTAMP|DATE|NUMERIC) OPTIONS/g)].map((m) => ({name: m[1]!, type: {typeKind: DDL_TYPES[m[2]!]!}}))
      this.tables.set(name, {columns, rows: []})
    } else if (/^CREATE OR REPLACE TEMP TABLE /i.test(sql)) {
      const m = /^CREATE OR REPLACE TEMP TABLE `(\w+)` AS ([\s\S]*)$/i.exec(sql)!
      const r = await this.call('evaluateQuery', m[2]!, false)
      this.tables.set(m[1]!, {columns: r.prepared.columns.map((c: {name: string; type: TypeProto}) => ({name: c.name, type: c.type})), rows: (r.content.tableData.row ?? []).map((x: {cell: ValueProto[]}) => x.cell)})
    } else if (/^INSERT /i.test(sql)) {
      const r = await this.call('evaluateModify', sql, false)
      const t = this.tables.get(r.tableName)!
      t.rows.push(...r.content.map((x: {cell: ValueProto[]}) => x.cell))
    } else if (/^(UPDATE|DELETE) /i.test(sql)) {
      const r = await this.call('evaluateModify', sql, true)
      const t = this.tables.get(r.tableName)!
      const id = (row: {oldPrimaryKey: ValueProto[]}) => Number(String((row.oldPrimaryKey[0] as {int64Value: unknown}).int64Value))
      const updated = new Map<number, ValueProto[]>(r.content.filter((x: {operation: number}) => x.operation === 3).map((x: {cell: ValueProto[]; oldPrimaryKey: ValueProto[]}) => [id(x), x.cell.slice(0, t.columns.length)]))
      const deleted = new Set<number>(r.content.filter((x: {operation: number}) => x.operation === 2).map(id))
      t.rows = t.rows.flatMap((row, i) => (deleted.has(i) ? [] : [updated.get(i) ?? row]))
    } else if (/^(ALTER TABLE|DROP TABLE)/i.test(sql)) {
      const drop = /^DROP TABLE (?:IF EXISTS )?`(\w+)`/i.exec(sql)
      if (drop) this.tables.delete(drop[1]!)
    } else throw new Error(`ZetaWarehouse cannot execute: ${sql.slice(0, 80)}`)
  }

  async query(text: string): Promise<Array<Record<string, unknown>>> {
    this.statements.push(text)
    const r = await this.call('evaluateQuery', unqualified(text, this.schema), false)
    const names = r.prepared.columns.map((c: {name: string}) => c.name)
    return (r.content.tableData.row ?? []).map((x: {cell: ValueProto[]}) => Object.fromEntries(x.cell.map((c, i) => [names[i], plain(c)])))
  }

  async tableExists(_schema: string, table: string): Promise<boolean> {
    return this.tables.has(table)
  }

  async close(): Promise<void> {}
}

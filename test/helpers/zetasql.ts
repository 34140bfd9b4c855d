import {createServer} from 'node:net'
import {promisify} from 'node:util'
import {runServer, terminateServer, ZetaSQLClient} from '@fivetrandevelopers/zetasql'
import type {Project, ValueType} from '../../src/resolve/model.js'
import {relationColumns} from '../../src/fixtures/fixture-tables.js'
import {parseTime} from '../../src/resolve/time.js'

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

function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue
  if ('boolValue' in value) return value.boolValue
  if ('int64Value' in value) return Number(String(value.int64Value))
  if ('doubleValue' in value) return Number(value.doubleValue)
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

import {existsSync, mkdirSync} from 'node:fs'
import {dirname, isAbsolute, resolve} from 'node:path'
import {DuckDBConnection, DuckDBInstance, type DuckDBValue} from '@duckdb/node-api'
import {WarehouseError, type Row, type TargetConfig, type WarehouseConnection} from '../../src/warehouse/warehouse.js'

/** Converts DuckDB values to plain JS (bigint → number where safe, timestamps → ISO strings). */
function plain(value: DuckDBValue | unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (typeof value === 'object' && value !== null && 'toString' in value && value.constructor?.name?.startsWith('DuckDB')) {
    const name = value.constructor.name
    if (name === 'DuckDBTimestampValue' || name === 'DuckDBTimestampTZValue') {
      const micros = (value as {micros: bigint}).micros
      return new Date(Number(micros / 1000n)).toISOString()
    }
    if (name === 'DuckDBDecimalValue') return Number(value.toString())
    return value.toString()
  }
  return value
}

/** How long opening for writing retries a file another process holds (longer than any one read of segc lsp). */
const LOCK_RETRY_MS = 1000

export class DuckDBWarehouse implements WarehouseConnection {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly path: string,
  ) {}

  /** `:memory:` or a file path relative to the project root. */
  static async open(target: TargetConfig, projectRoot: string, opts: {readOnly?: boolean} = {}): Promise<DuckDBWarehouse> {
    const raw = String(target.path ?? '.segc/warehouse.duckdb')
    let path = raw === ':memory:' ? ':memory:' : isAbsolute(raw) ? raw : resolve(projectRoot, raw)
    const options: Record<string, string> = {}
    if (opts.readOnly) {
      // a database that does not exist yet reads as empty; looking must not create it
      if (path !== ':memory:' && !existsSync(path)) path = ':memory:'
      else if (path !== ':memory:') options.access_mode = 'READ_ONLY'
    }
    if (target.threads !== undefined) options.threads = String(target.threads)
    if (target.memory_limit !== undefined) options.memory_limit = String(target.memory_limit)
    // where DuckDB spills what exceeds memory_limit (its default: `<database>.tmp` beside the file)
    if (target.temp_directory !== undefined) {
      const dir = String(target.temp_directory)
      options.temp_directory = isAbsolute(dir) ? dir : resolve(projectRoot, dir)
    }
    let instance: DuckDBInstance
    const started = Date.now()
    for (;;) {
      try {
        if (path !== ':memory:') mkdirSync(dirname(path), {recursive: true})
        instance = await DuckDBInstance.create(path, options)
        break
      } catch (error) {
        const message = (error as Error).message
        // a reader holds the file for one short read at most (segc lsp's hover size, ≤ 300 ms):
        // a writer waits that out instead of failing the run
        if (/lock/i.test(message) && !opts.readOnly && Date.now() - started < LOCK_RETRY_MS) {
          await new Promise((r) => setTimeout(r, 50))
          continue
        }
        throw new WarehouseError(lockMessage(message, path), undefined, /lock/i.test(message))
      }
    }
    const connection = await instance.connect()
    // Timestamps without a zone are UTC in segc; make DuckDB agree whatever the machine's zone.
    await connection.run(`SET TimeZone = 'UTC'`)
    // segc never relies on row order without ORDER BY; letting DuckDB drop it saves memory and time
    // (https://duckdb.org/docs/guides/performance/how_to_tune_workloads#the-preserve_insertion_order-option)
    await connection.run('SET preserve_insertion_order = false')
    return new DuckDBWarehouse(instance, connection, path)
  }

  async execute(sql: string): Promise<void> {
    try {
      await this.connection.run(sql)
    } catch (error) {
      throw new WarehouseError(explain((error as Error).message, this.path), sql)
    }
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql)
      const rows = reader.getRowObjects()
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])))
    } catch (error) {
      throw new WarehouseError(explain((error as Error).message, this.path), sql)
    }
  }

  interrupt(): void {
    this.connection.interrupt()
  }

  async tableExists(schema: string, table: string): Promise<boolean> {
    const reader = await this.connection.runAndReadAll('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $schema AND table_name = $table', {schema, table})
    return Number(reader.getRowObjects()[0]!.n) > 0
  }

  async close(): Promise<void> {
    this.connection.closeSync()
    this.instance.closeSync()
  }
}

function lockMessage(message: string, path: string): string {
  const pid = /PID (\d+)/.exec(message)?.[1]
  if (/lock/i.test(message)) {
    return `the DuckDB database ${path} is in use by another process${pid ? ` (PID ${pid})` : ''}; another segc run or a client holds it`
  }
  return `cannot open DuckDB database ${path}: ${message.split('\n')[0]}`
}

/** A missing source table is the first thing a new project hits: say what to check. */
function explain(message: string, path: string): string {
  const missing = /Catalog Error: Table with name (\S+) does not exist/.exec(message)
  if (missing) {
    return `table '${missing[1]}' named in the models does not exist in ${path}; point the target at the warehouse that holds it (or build the demo warehouse with 'segc demo')`
  }
  return message
}

import {readFileSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import snowflake from 'snowflake-sdk'
import {WarehouseError, type Row, type TargetConfig, type WarehouseConnection} from '../../src/warehouse/warehouse.js'

// The driver logs to the console by default; segc prints only what it means to.
snowflake.configure({logLevel: 'OFF'})

/** Error codes of the driver's network layer worth one more try (https://docs.snowflake.com/en/developer-guide/node-js/nodejs-driver-errors). */
const TRANSIENT = /ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|429|503|504/

export class SnowflakeWarehouse implements WarehouseConnection {
  private constructor(
    private readonly connection: snowflake.Connection,
    private readonly account: string,
  ) {}

  /** Options for the driver from a target; password or key-pair auth. Exported for tests. */
  static options(target: TargetConfig, projectRoot: string): snowflake.ConnectionOptions {
    const options: snowflake.ConnectionOptions = {
      account: String(target.account),
      username: String(target.user),
      application: 'segc',
      // fail fast where the network is down instead of retrying logins for minutes
      timeout: 60_000,
      sfRetryMaxLoginRetries: 2,
    }
    for (const key of ['warehouse', 'database', 'role', 'schema'] as const) if (target[key] !== undefined) options[key] = String(target[key])
    if (target.private_key_path !== undefined) {
      const path = String(target.private_key_path)
      options.authenticator = 'SNOWFLAKE_JWT'
      options.privateKeyPath = isAbsolute(path) ? path : resolve(projectRoot, path)
      if (target.private_key_passphrase !== undefined) options.privateKeyPass = String(target.private_key_passphrase)
      readFileSync(options.privateKeyPath) // a missing key file is a clear error before any network
    } else if (target.password !== undefined) {
      options.password = String(target.password)
    } else if (target.authenticator !== undefined) {
      options.authenticator = String(target.authenticator)
    }
    return options
  }

  static async open(target: TargetConfig, projectRoot: string): Promise<SnowflakeWarehouse> {
    let options: snowflake.ConnectionOptions
    try {
      options = SnowflakeWarehouse.options(target, projectRoot)
    } catch (error) {
      throw new WarehouseError(`cannot read the Snowflake private key of target '${target.name}': ${(error as Error).message}`)
    }
    const connection = snowflake.createConnection(options)
    await new Promise<void>((done, fail) =>
      connection.connect((error) => (error ? fail(new WarehouseError(`cannot connect to Snowflake account ${options.account}: ${error.message}`)) : done())),
    )
    const w = new SnowflakeWarehouse(connection, String(options.account))
    // segc's instants are UTC; the query tag names segc in QUERY_HISTORY
    await w.execute(`ALTER SESSION SET TIMEZONE = 'UTC', QUERY_TAG = 'segc', STATEMENT_TIMEOUT_IN_SECONDS = ${Number(target.query_timeout_seconds ?? 3600)}`)
    return w
  }

  /** QUERY_HISTORY shows which segc run issued each statement. */
  async nameRun(runId: string): Promise<void> {
    if (/^[\w-]+$/.test(runId)) await this.execute(`ALTER SESSION SET QUERY_TAG = 'segc run ${runId}'`)
  }

  private run(sqlText: string, attempt = 1): Promise<Row[]> {
    return new Promise((done, fail) => {
      this.connection.execute({
        sqlText,
        complete: (error, _stmt, rows) => {
          if (!error) return done((rows ?? []).map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]))))
          if (attempt < 3 && TRANSIENT.test(error.message)) return void setTimeout(() => this.run(sqlText, attempt + 1).then(done, fail), 500 * 2 ** attempt)
          fail(new WarehouseError(`Snowflake (${this.account}): ${error.message}`, sqlText))
        },
      })
    })
  }

  async execute(sql: string): Promise<void> {
    await this.run(sql)
  }

  query(sql: string): Promise<Row[]> {
    return this.run(sql)
  }

  async tableExists(schema: string, table: string): Promise<boolean> {
    const rows = await this.run(
      `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = '${schema.toUpperCase().replaceAll("'", "''")}' AND table_name = '${table.toUpperCase().replaceAll("'", "''")}'`,
    )
    return Number(rows[0]?.n) > 0
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => this.connection.destroy(() => done()))
  }
}

import {isAbsolute, resolve} from 'node:path'
import {BigQuery, type BigQueryOptions, type Query} from '@google-cloud/bigquery'
import {WarehouseError, type Row, type TargetConfig, type WarehouseConnection} from '../../src/warehouse/warehouse.js'

/**
 * One BigQuery session per segc run: temp tables and a multi-statement transaction span the
 * queries of a session (https://cloud.google.com/bigquery/docs/sessions-intro).
 */
export class BigQueryWarehouse implements WarehouseConnection {
  private sessionId: string | undefined
  private runLabel: string | undefined

  private constructor(
    private readonly client: BigQuery,
    private readonly project: string,
    private readonly location: string | undefined,
    private readonly maximumBytesBilled: number | undefined,
  ) {}

  /** Client options from a target: key file, or application default credentials. Exported for tests. */
  static options(target: TargetConfig, projectRoot: string): BigQueryOptions {
    const options: BigQueryOptions = {projectId: String(target.project)}
    if (target.location !== undefined) options.location = String(target.location)
    if (target.key_file !== undefined) {
      const path = String(target.key_file)
      options.keyFilename = isAbsolute(path) ? path : resolve(projectRoot, path)
    }
    return options
  }

  /** A client for the target, not yet connected (nothing is sent until the first query). */
  static create(target: TargetConfig, projectRoot: string): BigQueryWarehouse {
    const options = BigQueryWarehouse.options(target, projectRoot)
    return new BigQueryWarehouse(new BigQuery(options), String(target.project), options.location, target.maximum_bytes_billed as number | undefined)
  }

  static async open(target: TargetConfig, projectRoot: string): Promise<BigQueryWarehouse> {
    const w = BigQueryWarehouse.create(target, projectRoot)
    await w.query('SELECT 1 AS ok') // opens the session and checks credentials before any work
    return w
  }

  /** The job options of a query in this run's session. Exported for tests. */
  jobOptions(sql: string): Query {
    // label values: lower-case letters, digits, '-' and '_' (run ids are made of those)
    const options: Query = {query: sql, useLegacySql: false, labels: {tool: 'segc', ...(this.runLabel ? {segc_run: this.runLabel} : {})}}
    if (this.location) options.location = this.location
    if (this.maximumBytesBilled) options.maximumBytesBilled = String(this.maximumBytesBilled)
    if (this.sessionId) options.connectionProperties = [{key: 'session_id', value: this.sessionId}]
    else options.createSession = true
    return options
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const [job] = await this.client.createQueryJob(this.jobOptions(sql))
      const [rows] = await job.getQueryResults()
      this.sessionId ??= job.metadata?.statistics?.sessionInfo?.sessionId
      return rows.map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v && typeof v === 'object' && 'value' in v ? (v as {value: unknown}).value : v])))
    } catch (error) {
      throw new WarehouseError(`BigQuery (project ${this.project}): ${(error as Error).message}`, sql)
    }
  }

  /** A dry run: BigQuery validates the query and reports the bytes it would read, at no cost. Exported for tests. */
  dryRunOptions(sql: string): Query {
    const options: Query = {query: sql, useLegacySql: false, dryRun: true, labels: {tool: 'segc'}}
    if (this.location) options.location = this.location
    return options
  }

  async estimateBytes(sql: string): Promise<number> {
    try {
      const [job] = await this.client.createQueryJob(this.dryRunOptions(sql))
      return Number(job.metadata?.statistics?.totalBytesProcessed ?? 0)
    } catch (error) {
      throw new WarehouseError(`BigQuery dry run (project ${this.project}): ${(error as Error).message}`, sql)
    }
  }

  async nameRun(runId: string): Promise<void> {
    this.runLabel = runId.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63)
  }

  async execute(sql: string): Promise<void> {
    await this.query(sql)
  }

  async tableExists(schema: string, table: string): Promise<boolean> {
    const [exists] = await this.client.dataset(schema).table(table).exists().catch((error: Error) => {
      throw new WarehouseError(`BigQuery (project ${this.project}): ${error.message}`)
    })
    return exists
  }

  async close(): Promise<void> {
    if (this.sessionId) await this.query('CALL BQ.ABORT_SESSION()').catch(() => undefined)
  }
}

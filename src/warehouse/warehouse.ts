import type {Dialect} from './dialect.js'

export type Row = Record<string, unknown>

/** The only surface run/ needs from a warehouse: statements in, rows out. */
export interface WarehouseConnection {
  execute(sql: string): Promise<void>
  query(sql: string): Promise<Row[]>
  /** stop the statement in flight (SIGINT/SIGTERM); optional */
  interrupt?(): void
  /** whether an output table exists yet (read-only commands must not create it) */
  tableExists(schema: string, table: string): Promise<boolean>
  close(): Promise<void>
  /** names the run in the warehouse's own query history (Snowflake query tag, BigQuery job label); optional */
  nameRun?(runId: string): Promise<void>
  /** bytes a query would read, without running it (BigQuery dry run); optional */
  estimateBytes?(sql: string): Promise<number>
}

/** A target from segc.yaml after ${env:...} substitution (secrets are only ever held here). */
export interface TargetConfig {
  name: string
  type: string
  [key: string]: unknown
}

export interface Adapter {
  readonly type: string
  readonly dialect: Dialect
  /** Transaction statements; warehouses differ (BEGIN TRANSACTION vs BEGIN). */
  readonly begin: string
  readonly commit: string
  readonly rollback: string
  /** readOnly: for commands that only look (plan); must not create anything */
  connect(target: TargetConfig, projectRoot: string, opts?: {readOnly?: boolean}): Promise<WarehouseConnection>
}

/** Runs `body` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(conn: WarehouseConnection, adapter: Pick<Adapter, 'begin' | 'commit' | 'rollback'>, body: () => Promise<T>): Promise<T> {
  await conn.execute(adapter.begin)
  try {
    const out = await body()
    await conn.execute(adapter.commit)
    return out
  } catch (error) {
    await conn.execute(adapter.rollback).catch(() => undefined)
    throw error
  }
}

/** A failure while talking to the warehouse: exit code 2, message safe to print. */
export class WarehouseError extends Error {
  constructor(
    message: string,
    readonly statement?: string,
    /** another process holds the target: `--wait` retries these */
    readonly locked = false,
  ) {
    super(message)
  }
}

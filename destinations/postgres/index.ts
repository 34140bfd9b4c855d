// PostgreSQL destination: segc creates and owns one table per sync (default: the sync's name)
// in the configured schema, keyed by (segment, entity_key), with the identifier, the sync's
// fields as typed columns and synced_at. A batch is one transaction of upserts and deletes by
// key: rows segc did not write (other keys) are never touched. An erase (segc forget) deletes
// every row of its key. `pg` is imported only here.
import pg from 'pg'
import {fieldType, type FieldSource} from '../../src/resolve/resolve-syncs.js'
import {DeliveryError, type DestinationSession, type DestinationType, type FailureKind} from '../../src/destination/destination.js'

const {Client, escapeIdentifier} = pg

function pgType(source: FieldSource): string {
  // a rounded trait keeps its decimals exactly as sent
  if (source.kind === 'trait' && source.round !== undefined) return 'numeric'
  return {string: 'text', number: 'double precision', integer: 'bigint', boolean: 'boolean', timestamp: 'timestamptz', date: 'date'}[fieldType(source)] ?? 'text'
}

/**
 * SQLSTATE classes (PostgreSQL appendix A): bad data or a broken constraint rejects the rows;
 * connection trouble, lack of resources, shutdowns and serialization failures are retried;
 * authentication and privileges stop the sync; anything else (a schema segc cannot write) too.
 */
export function classifySqlState(code: string | undefined): FailureKind {
  if (!code) return 'retry'
  if (/^(22|23)/.test(code)) return 'reject'
  if (/^(08|53|57P|40)/.test(code)) return 'retry'
  return 'fatal'
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'])

function failure(error: unknown, doing: string): DeliveryError {
  const e = error as {code?: string; message?: string}
  const kind = e.code && NETWORK.has(e.code) ? 'retry' : classifySqlState(e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined)
  return new DeliveryError(`${doing}: ${e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}`, kind)
}

export const postgres: DestinationType = {
  type: 'postgres',
  defaults: {batchSize: 500, concurrency: 1, timeoutSeconds: 60, maxAttempts: 5},
  async open(config, ctx, limits): Promise<DestinationSession> {
    const schema = String(config.schema ?? 'public')
    const tableName = String(config.table ?? ctx.sync.name)
    const table = `${escapeIdentifier(schema)}.${escapeIdentifier(tableName)}`
    const fields = ctx.sync.fields.map((f) => ({name: f.name, column: escapeIdentifier(f.name), type: pgType(f.source)}))
    let client: pg.Client | undefined
    const connect = async () => {
      if (client) return client
      const c = new Client({connectionString: String(config.url), statement_timeout: limits.timeoutSeconds * 1000, connectionTimeoutMillis: limits.timeoutSeconds * 1000})
      // a dropped connection must not crash the process: the next batch reconnects
      c.on('error', () => (client = undefined))
      try {
        await c.connect()
      } catch (error) {
        throw failure(error, 'could not connect to PostgreSQL')
      }
      try {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`)
        await c.query(`CREATE TABLE IF NOT EXISTS ${table} (segment text NOT NULL, entity_key text NOT NULL, id text NOT NULL, synced_at timestamptz NOT NULL, PRIMARY KEY (segment, entity_key))`)
        for (const f of fields) await c.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${f.column} ${f.type}`)
        await c.query(`COMMENT ON TABLE ${table} IS ${pg.escapeLiteral(`written by segc sync '${ctx.sync.name}': members of ${ctx.sync.segments.join(', ')}; segc changes only the rows it added`)}`)
      } catch (error) {
        await c.end().catch(() => undefined)
        throw failure(error, `could not create ${schema}.${tableName}`)
      }
      client = c
      return c
    }
    const columns = ['segment', 'entity_key', 'id', 'synced_at', ...fields.map((f) => f.column)]
    const upsert = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
      ON CONFLICT (segment, entity_key) DO UPDATE SET ${columns.slice(2).map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`
    const remove = `DELETE FROM ${table} WHERE segment = $1 AND entity_key = $2`
    // segc forget: every row of the key, whatever its segment
    const erase = `DELETE FROM ${table} WHERE entity_key = $1`
    return {
      async send(batch) {
        const c = await connect()
        try {
          await c.query('BEGIN')
          const now = new Date()
          for (const o of batch) {
            if (o.op === 'erase') await c.query(erase, [o.entity_key])
            else if (o.op === 'remove' || o.op === 'exited') await c.query(remove, [o.segment, o.entity_key])
            else await c.query(upsert, [o.segment, o.entity_key, o.id, now, ...fields.map((f) => o.fields[f.name] ?? null)])
          }
          await c.query('COMMIT')
        } catch (error) {
          await c.query('ROLLBACK').catch(() => undefined)
          throw failure(error, `PostgreSQL refused the batch`)
        }
      },
      async close() {
        await client?.end().catch(() => undefined)
      },
    }
  },
}

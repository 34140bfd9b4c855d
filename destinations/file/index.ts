// File destination: the sendable set as csv, parquet or jsonl, written by DuckDB's COPY (an
// in-memory engine the session hands in, so no adapter is imported here) to a
// temporary name in the same directory and renamed over the file, so a reader sees the old
// file or the new one, never half of one. The diff is applied to the file segc wrote last:
// its rows minus the removed and updated ones, plus the added and updated ones. The whole
// plan is one batch, acknowledged when the rename is done.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {DeliveryError, type DestinationSession, type DestinationType} from '../../src/destination/destination.js'
import {fieldType, type FieldSource} from '../../src/resolve/resolve-syncs.js'

/** Columns segc writes besides the sync's fields (a field may not take these names). */
export const FILE_KEY_COLUMNS = ['segment', 'entity_key', 'id'] as const

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`

/** The column type of a field in the file (DuckDB writes it): a rounded number keeps its decimals. */
function duckType(source: FieldSource): string | undefined {
  if (source.kind === 'trait' && source.round !== undefined) return `DECIMAL(38, ${source.round})`
  // strings, timestamps and dates are written as sent, as every other field's are
  return ({number: 'DOUBLE', integer: 'BIGINT', boolean: 'BOOLEAN'} as Record<string, string>)[fieldType(source)]
}

function reader(format: string, path: string): string {
  if (format === 'parquet') return `read_parquet(${quote(path)})`
  if (format === 'jsonl') return `read_json(${quote(path)}, format = 'newline_delimited')`
  return `read_csv(${quote(path)}, header = true, all_varchar = true)`
}

export function fileFormat(config: Record<string, unknown>): 'csv' | 'parquet' | 'jsonl' {
  const explicit = config.format as 'csv' | 'parquet' | 'jsonl' | undefined
  if (explicit) return explicit
  const ext = String(config.path).toLowerCase().split('.').pop()
  return ext === 'parquet' ? 'parquet' : ext === 'jsonl' || ext === 'ndjson' ? 'jsonl' : 'csv'
}

export const file: DestinationType = {
  type: 'file',
  defaults: {batchSize: Number.MAX_SAFE_INTEGER, concurrency: 1, timeoutSeconds: 600, maxAttempts: 1},
  async open(config, ctx): Promise<DestinationSession> {
    const path = resolve(ctx.root, String(config.path))
    const format = fileFormat(config)
    return {
      async send(batch) {
        const dir = dirname(path)
        mkdirSync(dir, {recursive: true})
        const tag = randomBytes(4).toString('hex')
        const opsPath = resolve(dir, `.${tag}.segc-ops.jsonl`)
        const tmp = resolve(dir, `.${tag}.segc-tmp.${format}`)
        const conn = await ctx.scratch()
        try {
          // an erase has no segment: '' keeps the column a string (all NULL would read as JSON)
          writeFileSync(opsPath, batch.map((o) => JSON.stringify({segc_op: o.op, segment: o.segment ?? '', entity_key: o.entity_key, id: o.id, ...o.fields})).join('\n') + '\n')
          // trait fields typed as their values are, not as JSON inference guesses (a column of
          // NULLs, a rounded amount); other fields keep the types they always had
          const present = new Set(batch.flatMap((o) => Object.keys(o.fields)))
          const typed = ctx.sync.fields.filter((f) => f.source.kind === 'trait' && present.has(f.name) && duckType(f.source)).map((f) => `CAST(${ident(f.name)} AS ${duckType(f.source)}) AS ${ident(f.name)}`)
          await conn.execute(`CREATE TABLE ops AS SELECT *${typed.length ? ` REPLACE (${typed.join(', ')})` : ''} FROM read_json(${quote(opsPath)}, format = 'newline_delimited', sample_size = -1)`)
          // a full resync starts the file again; otherwise the file holds what segc acknowledged
          const previous = existsSync(path) && !ctx.fullResync
          // nothing to erase from a file that is not there
          if (!previous && batch.every((o) => o.op === 'erase')) return
          // an erase (segc forget) drops every row of its key, whatever the segment
          const kept = previous
            ? `SELECT * FROM ${reader(format, path)} AS f WHERE NOT EXISTS (SELECT 1 FROM ops WHERE ops.entity_key = CAST(f.entity_key AS VARCHAR) AND (ops.segc_op = 'erase' OR ops.segment = CAST(f.segment AS VARCHAR)))`
            : undefined
          const added = `SELECT * EXCLUDE (segc_op) FROM ops WHERE segc_op NOT IN ('remove', 'exited', 'erase')`
          await conn.execute(`CREATE TABLE next_rows AS ${kept ? `${kept} UNION ALL BY NAME ${added}` : added}`)
          const options = format === 'csv' ? 'FORMAT csv, HEADER true' : format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json'
          await conn.execute(`COPY (SELECT * FROM next_rows ORDER BY segment, entity_key) TO ${quote(tmp)} (${options})`)
          renameSync(tmp, path)
        } catch (error) {
          rmSync(tmp, {force: true})
          // a file that cannot be written will not be written on a retry either
          throw new DeliveryError(`could not write ${String(config.path)}: ${(error as Error).message}`, 'fatal')
        } finally {
          rmSync(opsPath, {force: true})
          await conn.close()
        }
      },
      async close() {},
    }
  },
}

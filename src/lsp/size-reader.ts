import {statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import {adapterFor} from '../../adapters/index.js'
import {resolveTarget} from '../project/targets.js'
import type {Validated} from '../validate/validate-project.js'

export interface SegmentSize {
  size: number
  asOf: string
}

/** How long one read may take; past it hover answers without a size. */
export const SIZE_READ_TIMEOUT_MS = 300
/** After the file was found locked (a run holds it), leave it alone this long. */
const LOCKED_BACKOFF_MS = 2000

/**
 * Sizes at the default target's last successful run, for hover (SPEC §18). Only a local
 * DuckDB file is read: opened read-only for one query and closed at once, and only when the
 * file changed since the last read, so an editor hovering over segments holds the file for a
 * few milliseconds per run at most and never blocks `segc run`. It never writes and never
 * creates the file; anything that goes wrong means "no size", not an error.
 */
export class SizeReader {
  private cache: {key: string; sizes: Map<string, SegmentSize>} | undefined
  private lockedUntil = 0
  private inFlight: Promise<Map<string, SegmentSize> | undefined> | undefined
  /** reads opened, for tests and the bench */
  opens = 0

  async sizeOf(v: Validated, segment: string): Promise<SegmentSize | undefined> {
    const sizes = await this.sizes(v)
    return sizes?.get(segment)
  }

  private async sizes(v: Validated): Promise<Map<string, SegmentSize> | undefined> {
    let target
    try {
      target = resolveTarget(v, undefined, process.env, {substitute: false})
    } catch {
      return undefined
    }
    if (target.type !== 'duckdb' || typeof target.path !== 'string' || target.path === ':memory:') return undefined
    const file = isAbsolute(target.path) ? target.path : resolve(v.root, target.path)
    let key: string
    try {
      const st = statSync(file)
      key = `${file}:${st.mtimeMs}:${st.size}`
    } catch {
      return undefined // no warehouse yet: nothing has run
    }
    if (this.cache?.key === key) return this.cache.sizes
    if (Date.now() < this.lockedUntil) return this.cache?.sizes
    if (this.inFlight) return this.inFlight
    this.inFlight = this.read(v, target, key).finally(() => (this.inFlight = undefined))
    return this.inFlight
  }

  private async read(v: Validated, target: ReturnType<typeof resolveTarget>, key: string): Promise<Map<string, SegmentSize> | undefined> {
    const adapter = adapterFor('duckdb')!
    this.opens++
    const schema = v.project.outputSchema.replace(/"/g, '""')
    const sql = `SELECT s.segment AS segment, s.size AS size, r.as_of AS as_of
      FROM "${schema}".segment_sizes AS s JOIN "${schema}".segment_runs AS r ON r.run_id = s.run_id
      WHERE r.status = 'success' ORDER BY r.finished_at, r.as_of`
    const work = (async () => {
      const conn = await adapter.connect({...target, threads: 1}, v.root, {readOnly: true})
      try {
        if (!(await conn.tableExists(v.project.outputSchema, 'segment_sizes'))) return new Map<string, SegmentSize>()
        const rows = await conn.query(sql)
        // in run order: each segment keeps the size of the last successful run that had it
        return new Map(rows.map((r) => [String(r.segment), {size: Number(r.size), asOf: String(r.as_of)}]))
      } finally {
        await conn.close()
      }
    })()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), SIZE_READ_TIMEOUT_MS)))
    try {
      const result = await Promise.race([work, timeout])
      if (result === 'timeout') {
        work.catch(() => undefined) // the read still closes its connection when it ends
        return this.cache?.sizes
      }
      this.cache = {key, sizes: result}
      return result
    } catch (error) {
      if (/in use by another process|lock/i.test((error as Error).message)) this.lockedUntil = Date.now() + LOCKED_BACKOFF_MS
      return this.cache?.sizes
    } finally {
      clearTimeout(timer)
    }
  }
}

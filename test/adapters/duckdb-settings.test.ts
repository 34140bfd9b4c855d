import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'

// The DuckDB target's tuning keys reach the engine, and a run larger than memory_limit spills
// into temp_directory instead of failing (issue 6).
describe('DuckDB target settings', () => {
  it('applies threads, memory_limit and temp_directory (relative to the project root)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'segc-duck-'))
    const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: 'w.duckdb', threads: 1, memory_limit: '100MB', temp_directory: 'spill'}, root)
    try {
      const [s] = await conn.query(
        `SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS mem, current_setting('temp_directory') AS tmp`,
      )
      expect(Number(s!.threads)).toBe(1)
      expect(String(s!.mem)).toMatch(/^(95\.3 MiB|100\.0 MB)$/)
      expect(s!.tmp).toBe(join(root, 'spill'))
      // ~4M distinct 32-character strings: a hash table several times the memory limit
      const [r] = await conn.query(`SELECT count(*) AS n FROM (SELECT DISTINCT md5(CAST(i AS VARCHAR)) AS h FROM range(4000000) AS t(i))`)
      expect(Number(r!.n)).toBe(4_000_000)
    } finally {
      await conn.close()
    }
  })
})

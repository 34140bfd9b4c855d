// The demo generator's identity option (SPEC §20): examples/identity on `segc demo --identity`
// stitches anonymous browsing to customers, keeps visitors as anon_ profiles and merges signups
// between weekly runs; the default demo warehouse has none of it (the benches' baseline).
import {cpSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {demoStatements} from '../../src/demo/demo-data.js'
import {REPO, segc} from '../helpers/cli.js'

describe('segc demo --identity', () => {
  it('the default warehouse is unchanged: no identity tables', () => {
    const statements = demoStatements(100).join('\n')
    expect(statements).not.toMatch(/web_sessions|identifies/)
    expect(demoStatements(100, {identity: true}).slice(0, 5)).toEqual(demoStatements(100))
  })

  it('examples/identity runs on it: anonymous profiles are members, signups between runs exit with cause merged', {timeout: 300_000}, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segc-identity-demo-'))
    cpSync(join(REPO, 'examples/identity'), dir, {recursive: true})
    const demo = segc(['demo', '--identity', '--customers', '1500', '--weeks', '2'], {cwd: dir})
    expect(demo.code, demo.stderr).toBe(0)
    expect(demo.stdout).toMatch(/web sessions, \d+ identifies/)
    const stats = segc(['stats', '--identity', '--json'], {cwd: dir})
    expect(stats.code, stats.stderr).toBe(0)
    const [s] = JSON.parse(stats.stdout).identity
    expect(s.profiles.known).toBe(1500)
    expect(s.profiles.anonymous).toBeGreaterThan(0)
    const conn = await duckdbAdapter.connect({name: 'demo', type: 'duckdb', path: join(dir, '.segc/demo.duckdb')}, dir)
    try {
      const anon = await conn.query("SELECT entity_key FROM segments.segment_membership WHERE segment = 'anonymous_pricing_researchers'")
      expect(anon.length).toBeGreaterThan(0)
      for (const r of anon) expect(String(r.entity_key)).toMatch(/^anon_[0-9a-f]{32}$/)
      const merged = await conn.query("SELECT COUNT(*) AS n FROM segments.segment_transitions WHERE cause = 'merged'")
      expect(Number(merged[0]!.n)).toBeGreaterThan(0)
      // a merged profile's key is gone from the map: its identifiers are a customer's now
      const gone = await conn.query("SELECT COUNT(*) AS n FROM segments.segment_transitions t WHERE cause = 'merged' AND t.entity_key IN (SELECT entity_key FROM segments.segment_identities_customer WHERE entity_key IS NOT NULL)")
      expect(Number(gone[0]!.n)).toBe(0)
    } finally {
      await conn.close()
    }
  })
})

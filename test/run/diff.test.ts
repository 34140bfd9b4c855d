// The run's diff (src/generate/diff-sql.ts) folds each entity's memberships into 63-bit masks.
// These runs span three masks, move members across all of them, flip holdouts in the last one,
// and move a segment to another entity; the expected memberships, holdouts and transitions
// are worked out here from the rule and SPEC §4's holdout formula, not read from segc.
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {invariantViolations} from '../helpers/state.js'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))

const SEGMENTS = 140 // three masks: 0–62, 63–125, 126–139
const CUSTOMERS = 60

function project(segments: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'segc-diff-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'models'))
  mkdirSync(join(dir, 'segments'))
  writeFileSync(join(dir, 'segc.yaml'), 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n')
  writeFileSync(
    join(dir, 'models/m.yaml'),
    stringify({
      entities: {
        customer: {table: 'main.customers', key: 'id', attributes: {score: 'integer'}},
        account: {table: 'main.accounts', key: 'id', attributes: {score: 'integer'}},
      },
    }),
  )
  writeFileSync(join(dir, 'segments/s.yaml'), segments.map((s) => stringify(s)).join('---\n'))
  return dir
}

/** A project of `segments` on a DuckDB file; `body` runs against it; SPEC §5's invariants hold after. */
async function withProject(segments: object[], body: (dir: string, conn: WarehouseConnection) => Promise<void>): Promise<void> {
  const dir = project(segments)
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
  try {
    await body(dir, conn)
    expect(await invariantViolations(conn)).toEqual([])
  } finally {
    await conn.close()
  }
}

// s<i>: score ≥ i; every 9th segment from 120 on holds out 40% (salt h)
const held = (i: number) => i >= 120 && i % 9 === 0
const ladder = () =>
  Array.from({length: SEGMENTS}, (_, i) => ({segment: `s${i}`, entity: 'customer', rule: {attribute: 'score', gte: i}, ...(held(i) ? {holdout: {percent: 40, salt: 'h'}} : {})}))

/** SPEC §4: int(first 8 hex digits of md5("segment:salt:key"), 16) % 10000 < percent × 100 */
const inHoldout = (segment: string, key: string) => parseInt(createHash('md5').update(`${segment}:h:${key}`).digest('hex').slice(0, 8), 16) % 10000 < 4000

function expected(scores: Map<string, number>): Map<string, boolean> {
  const rows = new Map<string, boolean>() // "segment|key" → holdout
  for (let i = 0; i < SEGMENTS; i++) for (const [key, score] of scores) if (score >= i) rows.set(`s${i}|${key}`, held(i) && inHoldout(`s${i}`, key))
  return rows
}

describe('the run diff across several segment masks', () => {
  it('memberships, holdouts and transitions equal the ones worked out from the rules', () =>
    withProject(ladder(), async (dir, conn) => {
      await conn.execute('CREATE TABLE main.customers (id VARCHAR, score BIGINT)')
      await conn.execute('CREATE TABLE main.accounts (id VARCHAR, score BIGINT)')
      let seed = 7
      const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647
      let scores = new Map(Array.from({length: CUSTOMERS}, (_, i) => [`c${i}`, Math.floor(next() * 150)] as [string, number]))
      let before = new Map<string, boolean>()
      for (let run = 0; run < 4; run++) {
        if (run > 0) {
          // move about half the customers, some by a little (within a mask), some across masks; one leaves, one arrives
          scores = new Map([...scores].filter(([k]) => k !== `c${run}`).map(([k, v]) => [k, next() < 0.5 ? v : next() < 0.5 ? Math.max(0, v + Math.floor(next() * 10) - 5) : Math.floor(next() * 150)]))
          scores.set(`n${run}`, 130)
        }
        await conn.execute('DELETE FROM main.customers')
        await conn.execute(`INSERT INTO main.customers VALUES ${[...scores].map(([k, v]) => `('${k}', ${v})`).join(', ')}`)
        const asOf = `2026-02-0${run + 1}T00:00:00Z`
        expect((await runProject({project: dir, asOf, connection: conn})).status).toBe('success')

        const want = expected(scores)
        const got = new Map((await conn.query("SELECT segment, entity_key, holdout FROM segments.segment_membership WHERE entity = 'customer'")).map((r) => [`${r.segment}|${r.entity_key}`, r.holdout === true]))
        expect(got.size).toBe(want.size)
        expect(new Map([...got].sort()), `membership after run ${run}`).toEqual(new Map([...want].sort()))

        const changes = (await conn.query(`SELECT segment, entity_key, change FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '${asOf.slice(0, 10)}'`)).map((r) => `${r.segment}|${r.entity_key}|${r.change}`)
        const wantChanges = [...[...want.keys()].filter((k) => !before.has(k)).map((k) => `${k}|entered`), ...[...before.keys()].filter((k) => !want.has(k)).map((k) => `${k}|exited`)]
        expect(changes.sort(), `transitions of run ${run}`).toEqual(wantChanges.sort())
        if (run > 0) expect(wantChanges.some((c) => Number(c.split('|')[0]!.slice(1)) >= 126)).toBe(true)
        before = want
      }
    }))

  it('a holdout flip in the last mask is a holdout change, and sizes follow', () =>
    withProject(ladder(), async (dir, conn) => {
      await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, 149 AS score FROM range(40) t(i)")
      await conn.execute('CREATE TABLE main.accounts (id VARCHAR, score BIGINT)')
      await runProject({project: dir, asOf: '2026-02-01T00:00:00Z', connection: conn})
      // a new salt for s135 (mask 3) reshuffles its holdout; members stay members
      writeFileSync(join(dir, 'segments/s.yaml'), ladder().map((s) => stringify(s.segment === 's135' ? {...s, holdout: {percent: 40, salt: 'other'}} : s)).join('---\n'))
      await runProject({project: dir, asOf: '2026-02-02T00:00:00Z', connection: conn})
      const other = (key: string) => parseInt(createHash('md5').update(`s135:other:${key}`).digest('hex').slice(0, 8), 16) % 10000 < 4000
      const keys = Array.from({length: 40}, (_, i) => `c${i}`)
      const flips = keys.filter((k) => inHoldout('s135', k) !== other(k)).sort()
      expect(flips.length).toBeGreaterThan(0)
      const rows = await conn.query("SELECT entity_key, change FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '2026-02-02' ORDER BY entity_key")
      expect(rows).toEqual([])
      // each flip closes the member's history interval and opens one with the new flag
      const reopened = await conn.query("SELECT entity_key FROM segments.segment_membership_history WHERE segment = 's135' AND valid_from = TIMESTAMP '2026-02-02' ORDER BY entity_key")
      expect(reopened.map((r) => r.entity_key)).toEqual(flips)
      const held = await conn.query("SELECT entity_key FROM segments.segment_membership WHERE segment = 's135' AND holdout ORDER BY entity_key")
      expect(held.map((r) => r.entity_key)).toEqual(keys.filter(other).sort())
      const size = await conn.query("SELECT size, holdout_size FROM segments.segment_sizes WHERE segment = 's135' AND as_of = TIMESTAMP '2026-02-02'")
      expect(Number(size[0]!.size)).toBe(40)
      expect(Number(size[0]!.holdout_size)).toBe(keys.filter(other).length)
    }))

  it('holdouts taken off: held-out members become plain members, none exits', () =>
    withProject(ladder(), async (dir, conn) => {
      await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, 149 AS score FROM range(40) t(i)")
      await conn.execute('CREATE TABLE main.accounts (id VARCHAR, score BIGINT)')
      await runProject({project: dir, asOf: '2026-02-01T00:00:00Z', connection: conn})
      const keys = Array.from({length: 40}, (_, i) => `c${i}`)
      const before = (await conn.query("SELECT entity_key FROM segments.segment_membership WHERE segment = 's126' AND holdout ORDER BY entity_key")).map((r) => r.entity_key)
      expect(before).toEqual(keys.filter((k) => inHoldout('s126', k)).sort())
      expect(before.length).toBeGreaterThan(0)
      // every holdout taken off: the last mask (s126, s135) then has no held-out segment at all
      writeFileSync(join(dir, 'segments/s.yaml'), ladder().map(({holdout: _, ...s}) => stringify(s)).join('---\n'))
      await runProject({project: dir, asOf: '2026-02-02T00:00:00Z', connection: conn})
      expect(Number((await conn.query('SELECT count(*) AS n FROM segments.segment_membership WHERE holdout'))[0]!.n)).toBe(0)
      expect(await conn.query("SELECT entity_key FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '2026-02-02'")).toEqual([])
      const reopened = await conn.query("SELECT entity_key FROM segments.segment_membership_history WHERE segment = 's126' AND valid_from = TIMESTAMP '2026-02-02' ORDER BY entity_key")
      expect(reopened.map((r) => r.entity_key)).toEqual(before)
    }))

  it('a segment moved to another entity: its old members exit, its new ones enter', () =>
    withProject([{segment: 'top', entity: 'customer', rule: {attribute: 'score', gte: 50}}], async (dir, conn) => {
      await conn.execute("CREATE TABLE main.customers AS SELECT * FROM (VALUES ('c1', 60), ('c2', 10)) t(id, score)")
      await conn.execute("CREATE TABLE main.accounts AS SELECT * FROM (VALUES ('a1', 70), ('a2', 90), ('a3', 5)) t(id, score)")
      await runProject({project: dir, asOf: '2026-02-01T00:00:00Z', connection: conn})
      writeFileSync(join(dir, 'segments/s.yaml'), stringify({segment: 'top', entity: 'account', rule: {attribute: 'score', gte: 50}}))
      await runProject({project: dir, asOf: '2026-02-02T00:00:00Z', connection: conn})
      expect(await conn.query("SELECT entity, entity_key, change FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '2026-02-02' ORDER BY ALL")).toEqual([
        {entity: 'account', entity_key: 'a1', change: 'entered'},
        {entity: 'account', entity_key: 'a2', change: 'entered'},
        {entity: 'customer', entity_key: 'c1', change: 'exited'},
      ])
      expect(await conn.query('SELECT entity, entity_key FROM segments.segment_membership ORDER BY ALL')).toEqual([
        {entity: 'account', entity_key: 'a1'},
        {entity: 'account', entity_key: 'a2'},
      ])
    }))
})

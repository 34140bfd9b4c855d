import {mkdtempSync, writeFileSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {backfill, runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {invariantViolations, snapshot} from '../helpers/state.js'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))

const MODELS = stringify({
  entities: {customer: {table: 'main.customers', key: 'id', attributes: {tier: 'string', score: 'integer'}}},
  events: {order: {entity: 'customer', table: 'main.orders', key: 'cid', timestamp: 'ts', properties: {amount: 'number'}}},
})

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Defs {
  big: number
  window: number
  holdout: number
  withTier: boolean
  tiers: string[]
}

function segmentsYaml(d: Defs): string {
  const docs: object[] = [
    {segment: 'big', entity: 'customer', rule: {attribute: 'score', gte: d.big}},
    {segment: 'buyer', entity: 'customer', rule: {event: 'order', within: `${d.window}d`}, holdout: {percent: d.holdout, salt: 's'}},
    {group: 'band', entity: 'customer', segments: ['high', 'mid']},
    {segment: 'high', entity: 'customer', rule: {attribute: 'score', gte: 70}},
    {segment: 'mid', entity: 'customer', rule: {any: [{attribute: 'score', gte: 40}, {segment: 'buyer'}]}},
  ]
  if (d.withTier) docs.push({segment: 'tiered', entity: 'customer', rule: {attribute: 'tier', in: d.tiers}, exclude: {segment: 'big'}})
  return docs.map((x) => stringify(x)).join('---\n')
}

function project(defs: Defs): {dir: string; write: (d: Defs) => void} {
  const dir = mkdtempSync(join(tmpdir(), 'segc-mat-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'models'))
  mkdirSync(join(dir, 'segments'))
  writeFileSync(join(dir, 'segc.yaml'), 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n')
  writeFileSync(join(dir, 'models/m.yaml'), MODELS)
  const write = (d: Defs) => writeFileSync(join(dir, 'segments/s.yaml'), segmentsYaml(d))
  write(defs)
  return {dir, write}
}

async function open(dir: string): Promise<WarehouseConnection> {
  return duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
}

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86400000).toISOString()

describe('materialization (SPEC §5, §6)', () => {
  it('keeps the invariants over 30 randomized runs with data and definition changes', async () => {
    const rnd = prng(20261125)
    let defs: Defs = {big: 50, window: 10, holdout: 20, withTier: true, tiers: ['gold']}
    const {dir, write} = project(defs)
    const conn = await open(dir)
    try {
      
      await conn.execute('CREATE TABLE main.customers (id VARCHAR, tier VARCHAR, score BIGINT)')
      await conn.execute('CREATE TABLE main.orders (cid VARCHAR, ts TIMESTAMP, amount DOUBLE)')
      let nextId = 0
      const addCustomers = async (n: number) => {
        for (let i = 0; i < n; i++, nextId++) {
          const tier = ['gold', 'silver', 'bronze', null][Math.floor(rnd() * 4)]
          const score = rnd() < 0.1 ? 'NULL' : String(Math.floor(rnd() * 100))
          await conn.execute(`INSERT INTO main.customers VALUES ('c${nextId}', ${tier ? `'${tier}'` : 'NULL'}, ${score})`)
        }
      }
      await addCustomers(60)
      let causes = new Set<string>()
      for (let run = 0; run < 30; run++) {
        const asOf = day(run * 2)
        // data changes
        await conn.execute(`UPDATE main.customers SET score = (score + ${Math.floor(rnd() * 40) - 20}) WHERE hash(id, ${run}) % 3 = 0`)
        for (let i = 0; i < 15; i++) await conn.execute(`INSERT INTO main.orders VALUES ('c${Math.floor(rnd() * nextId)}', TIMESTAMP '${asOf.slice(0, 10)}' - INTERVAL ${Math.floor(rnd() * 72)} HOUR, 10)`)
        if (rnd() < 0.3) await conn.execute(`DELETE FROM main.customers WHERE id = 'c${Math.floor(rnd() * nextId)}'`)
        if (rnd() < 0.3) await addCustomers(5)
        // definition changes
        if (rnd() < 0.25) defs = {...defs, big: 30 + Math.floor(rnd() * 50)}
        if (rnd() < 0.2) defs = {...defs, window: 3 + Math.floor(rnd() * 20)}
        if (rnd() < 0.15) defs = {...defs, holdout: Math.floor(rnd() * 60)}
        if (rnd() < 0.15) defs = {...defs, withTier: !defs.withTier}
        if (rnd() < 0.2) defs = {...defs, tiers: rnd() < 0.5 ? ['gold'] : ['gold', 'silver']}
        write(defs)
        const result = await runProject({project: dir, asOf, connection: conn})
        expect(result.status).toBe('success')
        result.segments.forEach((s) => causes.add(s.cause))
        expect(await invariantViolations(conn), `after run ${run} at ${asOf}`).toEqual([])
        const groupClash = await conn.query(`SELECT count(*) AS n FROM (SELECT entity_key FROM segments.segment_membership WHERE segment IN ('high', 'mid') GROUP BY 1 HAVING count(*) > 1)`)
        expect(Number(groupClash[0]!.n)).toBe(0)
      }
      // the randomized runs exercised every cause
      expect([...causes].sort()).toEqual(['data', 'definition', 'segment_added', 'segment_removed'])
      causes = new Set((await conn.query('SELECT DISTINCT cause FROM segments.segment_transitions')).map((r) => String(r.cause)))
      expect(causes.size).toBeGreaterThanOrEqual(3)
      const moves = await conn.query("SELECT count(*) AS n FROM segments.segment_group_transitions WHERE from_segment IS NOT NULL AND to_segment IS NOT NULL")
      expect(Number(moves[0]!.n)).toBeGreaterThan(0)
    } finally {
      await conn.close()
    }
  })

  it('records causes: segment_added, data, definition, segment_removed; cosmetic edits are not changes', async () => {
    const {dir, write} = project({big: 50, window: 10, holdout: 0, withTier: true, tiers: ['gold']})
    const conn = await open(dir)
    try {
      
      await conn.execute("CREATE TABLE main.customers AS SELECT * FROM (VALUES ('a', 'gold', 90), ('b', 'silver', 45), ('c', 'gold', 10), ('d', 'gold', 20)) t(id, tier, score)")
      await conn.execute('CREATE TABLE main.orders (cid VARCHAR, ts TIMESTAMP, amount DOUBLE)')
      const causeOf = async (asOf: string) => Object.fromEntries((await runProject({project: dir, asOf, connection: conn})).segments.map((s) => [s.segment, s.cause]))
      expect(await causeOf(day(1))).toMatchObject({big: 'segment_added', tiered: 'segment_added'})
      await conn.execute("UPDATE main.customers SET score = 60 WHERE id = 'c'")
      expect(await causeOf(day(2))).toMatchObject({big: 'data', tiered: 'data'})
      // cosmetic: description and flow/block style do not change the hash
      writeFileSync(join(dir, 'segments/s.yaml'), segmentsYaml({big: 50, window: 10, holdout: 0, withTier: true, tiers: ['gold']}).replace('segment: big\n', 'segment: big\ndescription: changed words\nowner: someone\n'))
      expect(await causeOf(day(3))).toMatchObject({big: 'data'})
      write({big: 80, window: 10, holdout: 0, withTier: false, tiers: ['gold']})
      const r = await runProject({project: dir, asOf: day(4), connection: conn})
      expect(Object.fromEntries(r.segments.map((s) => [s.segment, s.cause]))).toMatchObject({big: 'definition', tiered: 'segment_removed'})
      const transitions = await conn.query(`SELECT segment, entity_key, change, cause FROM segments.segment_transitions WHERE transitioned_at = '${day(4)}' ORDER BY ALL`)
      expect(transitions).toEqual([
        {segment: 'big', entity_key: 'c', change: 'exited', cause: 'definition'},
        {segment: 'tiered', entity_key: 'd', change: 'exited', cause: 'segment_removed'},
      ])
      const defs = await conn.query("SELECT segment, removed_run_id IS NOT NULL AS removed, description FROM segments.segment_definitions ORDER BY segment")
      expect(defs.find((d) => d.segment === 'tiered')).toMatchObject({removed: true})
      expect(defs.find((d) => d.segment === 'big')).toMatchObject({removed: false, description: null})
      expect(await invariantViolations(conn)).toEqual([])
    } finally {
      await conn.close()
    }
  })

  it('refuses an earlier as_of; --rebuild recomputes from an empty state', async () => {
    const {dir} = project({big: 50, window: 10, holdout: 10, withTier: true, tiers: ['gold']})
    const conn = await open(dir)
    try {
      
      await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, 'gold' AS tier, (i * 7) % 100 AS score FROM range(40) t(i)")
      await conn.execute("CREATE TABLE main.orders AS SELECT 'c' || (i % 40) AS cid, TIMESTAMP '2026-01-01' + INTERVAL (i) HOUR AS ts, 1.0 AS amount FROM range(200) t(i)")
      await runProject({project: dir, asOf: day(5), connection: conn})
      await runProject({project: dir, asOf: day(9), connection: conn})
      const before = await snapshot(conn)
      await expect(runProject({project: dir, asOf: day(7), connection: conn})).rejects.toThrow(/earlier than the last successful run/)
      expect(await snapshot(conn)).toEqual(before)
      const rebuilt = await runProject({project: dir, asOf: day(7), rebuild: true, connection: conn})
      expect(rebuilt.segments.every((s) => s.cause === 'segment_added')).toBe(true)
      expect(await invariantViolations(conn)).toEqual([])
      expect(Number((await conn.query('SELECT count(DISTINCT transitioned_at) AS n FROM segments.segment_transitions'))[0]!.n)).toBe(1)
      expect(Number((await conn.query('SELECT count(*) AS n FROM segments.segment_runs'))[0]!.n)).toBe(3)
      // history now ends at the rebuilt as_of: the next day is accepted, though older runs went further
      expect((await runProject({project: dir, asOf: day(8), connection: conn})).status).toBe('success')
      expect(await invariantViolations(conn)).toEqual([])
    } finally {
      await conn.close()
    }
  })

  it('--select runs those segments (and their groups) and leaves the others untouched', async () => {
    const {dir} = project({big: 50, window: 10, holdout: 0, withTier: true, tiers: ['gold']})
    const conn = await open(dir)
    try {
      
      await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, 'gold' AS tier, (i * 7) % 100 AS score FROM range(40) t(i)")
      await conn.execute('CREATE TABLE main.orders (cid VARCHAR, ts TIMESTAMP, amount DOUBLE)')
      await runProject({project: dir, asOf: day(1), connection: conn})
      await conn.execute('UPDATE main.customers SET score = 99')
      const r = await runProject({project: dir, asOf: day(2), select: ['high'], connection: conn})
      expect(r.segments.map((s) => s.segment).sort()).toEqual(['buyer', 'high', 'mid'])
      const big = await conn.query("SELECT count(*) AS n, max(run_id) AS run FROM segments.segment_membership WHERE segment = 'big'")
      expect(Number(big[0]!.n)).toBeLessThan(40) // still the first run's answer
      expect(big[0]!.run).not.toBe(r.run_id)
      expect(await invariantViolations(conn)).toEqual([])
    } finally {
      await conn.close()
    }
  })

  it('a 30-point daily backfill ends in the same state as 30 runs one by one', async () => {
    const setup = async (conn: WarehouseConnection) => {
      
      await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, ['gold', 'silver'][1 + i % 2] AS tier, (i * 37) % 100 AS score FROM range(300) t(i)")
      await conn.execute("CREATE TABLE main.orders AS SELECT 'c' || (hash(i) % 300) AS cid, TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 1) % (60 * 24 * 40) AS BIGINT)) AS ts, 5.0 AS amount FROM range(3000) t(i)")
    }
    const defs = {big: 50, window: 3, holdout: 25, withTier: true, tiers: ['gold']}
    const a = project(defs)
    const b = project(defs)
    const ca = await open(a.dir)
    const cb = await open(b.dir)
    try {
      await setup(ca)
      await setup(cb)
      const runs = await backfill({project: a.dir, from: day(2), to: day(31), every: '1d', connection: ca})
      expect(runs).toHaveLength(30)
      for (let i = 2; i <= 31; i++) await runProject({project: b.dir, asOf: day(i), connection: cb})
      const sa = await snapshot(ca, 'segments', true)
      const sb = await snapshot(cb, 'segments', true)
      expect(sa.segment_transitions!.length).toBeGreaterThan(100)
      expect(sa).toEqual(sb)
      expect(await invariantViolations(ca)).toEqual([])
      // resumable: the same backfill again skips what is done and changes nothing
      const again = await backfill({project: a.dir, from: day(2), to: day(31), every: '1d', connection: ca})
      expect(again.map((r) => r.status)).toEqual(['unchanged'])
      expect(await snapshot(ca, 'segments', true)).toEqual(sa)
    } finally {
      await ca.close()
      await cb.close()
    }
  })
})

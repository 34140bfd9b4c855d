import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fitProject} from '../../src/models/fit-project.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {insert, outputs} from '../helpers/incremental.js'
import {writeProject} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {rng} from '../helpers/rng.js'

// SPEC §12 and §13: a fitted BG/NBD and Gamma-Gamma trait read over incremental runs, with
// events landing late inside late_arrival, equals its full twin at every run, to the bit: the
// profile table holds the predictions themselves (p_alive, E[X(t)], expected spend), and the
// runs' summaries (x, t_x, T, m_x) come from kept state plus the band, never from the history.

const MODELS = `
entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { country: string }
    profile: [p_alive, orders_next_30d, avg_spend]
events:
  order:
    entity: customer
    table: main.orders
    key: customer_id
    timestamp: ordered_at
    properties: { amount: number }
traits:
  purchases: { fit: bgnbd, event: order, time_unit: 7d }
  spending:  { fit: gamma_gamma, event: order, of: amount }
  p_alive:   { predict: p_alive, model: purchases }
  orders_next_30d: { predict: expected_purchases, model: purchases, horizon: 30d }
  avg_spend: { predict: expected_spend, model: spending }
`
const SEGMENTS = `segment: likely_buyers
entity: customer
rule: {trait: orders_next_30d, gte: 0.5}
---
segment: big_spenders
entity: customer
rule: {trait: avg_spend, gte: 30}
`

const DAY = 86_400_000
const T0 = Date.parse('2026-01-01T00:00:00Z')
const FIRST = T0 + 120 * DAY
const KEYS = Array.from({length: 40}, (_, i) => `c${String(i).padStart(2, '0')}`)

function project(incremental: boolean): string {
  const config = `name: t\ndefault_target: local\ntargets:\n  local: {type: duckdb, path: ":memory:"}\n  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}\n${incremental ? 'incremental:\n  late_arrival: 2d\n  read_whole: never\n' : ''}`
  return writeProject({'segc.yaml': config, 'models/shop.yaml': MODELS, 'segments/all.yaml': SEGMENTS})
}

async function open(dir: string): Promise<WarehouseConnection> {
  const c = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
  await c.execute('CREATE TABLE main.customers (customer_id VARCHAR, country VARCHAR)')
  await c.execute('CREATE TABLE main.orders (customer_id VARCHAR, ordered_at TIMESTAMP, amount DOUBLE)')
  return c
}

interface Order {
  key: string | null
  at: number
  /** when the row lands: at most late_arrival after `at` */
  lands: number
  amount: number | null
}

/**
 * Orders over 150 days, several a day for some keys (a transaction day counts once), amounts in
 * cents (19.99 is no binary fraction: a sum of doubles depends on its order, a fixed-point one
 * does not), some NULL, some keys NULL, and rows landing up to two days late.
 */
function orders(): Order[] {
  const r = rng(32)
  const out: Order[] = []
  // each customer spends around a mean of their own (Gamma-Gamma needs spend that varies across customers)
  const mean = KEYS.map(() => 5 + 95 * r() ** 2)
  for (let i = 0; i < 900; i++) {
    const at = T0 + Math.floor(r() * 150 * DAY)
    const k = Math.floor(r() ** 1.7 * KEYS.length)
    const key = r() < 0.03 ? null : KEYS[k]!
    const amount = r() < 0.05 ? null : Math.round(mean[k]! * (0.6 + 0.8 * r()) * 100) / 100
    const lands = at + (r() < 0.4 ? Math.floor(r() * 2 * DAY) : 0)
    out.push({key, at, lands, amount})
  }
  return out
}

async function profile(c: WarehouseConnection): Promise<string[]> {
  const rows = await c.query('SELECT * EXCLUDE (changed_run_id) FROM segments.segment_profiles_customer ORDER BY entity_key')
  return rows.map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v)))
}

describe('fitted BG/NBD and Gamma-Gamma traits in incremental runs', () => {
  it('over runs hours and days apart with late events, every prediction equals a full twin to the bit, and the history before the band is never read', async () => {
    const full = project(false)
    const inc = project(true)
    const a = await open(full)
    const b = await open(inc)
    try {
      const all = orders()
      await insert([a, b], 'main.customers', KEYS.map((k, i) => [k, i % 3 ? 'US' : 'DE']))
      const landed = new Set<number>()
      const land = async (until: number) => {
        const rows = all.flatMap((o, i) => (landed.has(i) || o.lands > until ? [] : (landed.add(i), [[o.key, new Date(o.at), o.amount]])))
        await insert([a, b], 'main.orders', rows)
      }
      await land(FIRST)
      for (const [dir, c] of [[full, a], [inc, b]] as const) await fitProject({project: dir, asOf: new Date(FIRST).toISOString(), connection: c, traits: ['purchases', 'spending']})
      const HOUR = DAY / 24
      let at = FIRST
      const points = [FIRST, ...[5, 24, 30, 1, 49, 24, 72, 13].map((h) => (at += h * HOUR))]
      const seen: string[] = []
      for (const [i, point] of points.entries()) {
        await land(point)
        const asOf = new Date(point).toISOString()
        await runProject({project: full, asOf, connection: a})
        const r = await runProject({project: inc, asOf, connection: b})
        seen.push(r.mode)
        expect(await profile(b), `run ${i} at ${asOf}`).toEqual(await profile(a))
        expect(await outputs(b), `run ${i} at ${asOf}`).toEqual(await outputs(a))
        if (i < 2) continue
        // the history before the last run's band is not read: the incremental twin loses it,
        // and its next run still equals the full twin, which keeps it
        const frozen = Math.floor((point - 2 * DAY) / DAY) * DAY
        await b.execute(`DELETE FROM main.orders WHERE ordered_at < TIMESTAMP '${new Date(frozen).toISOString().replace('T', ' ').replace('Z', '')}'`)
      }
      expect(seen).toEqual(['full', ...points.slice(1).map(() => 'incremental')])
      // the comparison compared something: predictions spread (this history fits at the NBD limit, so p_alive is 1), and m_x of non-binary cents
      const spread = await b.query('SELECT COUNT(DISTINCT orders_next_30d) AS p, COUNT(DISTINCT avg_spend) AS s FROM segments.segment_profiles_customer')
      expect(Number(spread[0]!.p)).toBeGreaterThan(10)
      expect(Number(spread[0]!.s)).toBeGreaterThan(10)
    } finally {
      await a.close()
      await b.close()
    }
  }, 300_000)

  it("in Snowflake's SQL (translated and run on DuckDB), the kept summaries give the full DuckDB twin's predictions within 1e-9 relative, and the same members", async () => {
    const full = project(false)
    const inc = project(true)
    const a = await open(full)
    const duck = await open(inc)
    const b = await snowflakeOnDuckDB(duck)
    try {
      const all = orders()
      await insert([a, duck], 'main.customers', KEYS.map((k, i) => [k, i % 3 ? 'US' : 'DE']))
      const landed = new Set<number>()
      const land = async (until: number) => {
        const rows = all.flatMap((o, i) => (landed.has(i) || o.lands > until ? [] : (landed.add(i), [[o.key, new Date(o.at), o.amount]])))
        await insert([a, duck], 'main.orders', rows)
      }
      await land(FIRST)
      await fitProject({project: full, asOf: new Date(FIRST).toISOString(), connection: a, traits: ['purchases', 'spending']})
      await fitProject({project: inc, target: 'sf', asOf: new Date(FIRST).toISOString(), connection: b, traits: ['purchases', 'spending']})
      let at = FIRST
      const points = [FIRST, ...[5, 30, 49, 24].map((h) => (at += (h * DAY) / 24))]
      const modes: string[] = []
      for (const [i, point] of points.entries()) {
        await land(point)
        const asOf = new Date(point).toISOString()
        await runProject({project: full, asOf, connection: a})
        modes.push((await runProject({project: inc, target: 'sf', asOf, connection: b})).mode)
        const want = await a.query('SELECT entity_key, p_alive, orders_next_30d, avg_spend FROM segments.segment_profiles_customer ORDER BY entity_key')
        const got = await duck.query('SELECT "ENTITY_KEY" AS entity_key, "P_ALIVE" AS p_alive, "ORDERS_NEXT_30D" AS orders_next_30d, "AVG_SPEND" AS avg_spend FROM "SEGMENTS"."SEGMENT_PROFILES_CUSTOMER" ORDER BY 1')
        expect(got.map((r) => String(r.entity_key)), `run ${i}`).toEqual(want.map((r) => String(r.entity_key)))
        want.forEach((w, j) => {
          for (const k of ['p_alive', 'orders_next_30d', 'avg_spend']) {
            const x = w[k] === null ? null : Number(w[k])
            const y = got[j]![k] === null ? null : Number(got[j]![k])
            if (x === null || y === null) expect(y, `run ${i} ${String(w.entity_key)} ${k}`).toBe(x)
            else expect(Math.abs(y - x) / Math.max(Math.abs(x), 1e-300), `run ${i} ${String(w.entity_key)} ${k}: ${y} vs ${x}`).toBeLessThan(1e-9)
          }
        })
        const members = async (c: WarehouseConnection, t: string) => (await c.query(`SELECT * FROM ${t}`)).map((r) => Object.values(r).map(String).join('|')).sort()
        expect(await members(duck, '(SELECT "SEGMENT", "ENTITY_KEY" FROM "SEGMENTS"."SEGMENT_MEMBERSHIP")'), `run ${i}`).toEqual(await members(a, '(SELECT segment, entity_key FROM segments.segment_membership)'))
        // as above: the history before the band goes, and the next run must not need it
        if (i >= 1) await duck.execute(`DELETE FROM main.orders WHERE ordered_at < TIMESTAMP '${new Date(Math.floor((point - 2 * DAY) / DAY) * DAY).toISOString().replace('T', ' ').replace('Z', '')}'`)
      }
      expect(modes).toEqual(['full', ...points.slice(1).map(() => 'incremental')])
      // the summaries came from kept state: the translated runs wrote and read a state table
      expect(b.translated.some((s) => /INSERT INTO .*segment_state_/i.test(s))).toBe(true)
      expect(b.translated.some((s) => /FROM .*segment_state_\w+.* AS st/i.test(s))).toBe(true)
    } finally {
      await a.close()
      await duck.close()
    }
  }, 300_000)
})

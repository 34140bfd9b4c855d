// Attribution grouped by identifiers first (src/generate/pre-aggregate.ts, issue 36) must give
// every aggregate exactly what attributing each event gives. The oracle is a twin project
// without identity whose orders carry, in `who`, the profile each row belongs to, read by hand
// off the identity graph of attribution-fixture.ts (the comment on each row says why): the twin
// runs the plain keyed scan, which neither attributes nor pre-aggregates.
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {runProject} from '../../src/run/run-project.js'
import {explainEntity} from '../../src/why/why.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {writeProject} from '../helpers/project.js'
import {A9, ALATE, DATA} from './attribution-fixture.js'

const open: WarehouseConnection[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

const q = (s: string | null) => (s === null ? 'NULL' : `'${s}'`)
// (user_id, email, anonymous_id, device, ts, amount, category, who); priority key, email, anonymous_id, device
const ORDERS: Array<[string | null, string | null, string | null, string | null, string, string, string | null, string | null]> = [
  ['c1', null, null, null, '2026-05-20', '10.5', 'books', 'c1'],
  ['c1', null, null, null, '2026-04-01', '2.25', 'toys', 'c1'],
  ['c1', null, null, null, '2026-06-05', '99', 'books', 'c1'], // after as_of: read by neither
  [null, ' JANE@x.com', null, null, '2026-05-21', '7', 'toys', 'c1'], // normalized to jane@x.com, c1's
  [null, null, 'a1', 'd3', '2026-05-22', 'NULL', 'books', 'c1'], // a1 (c1's) before device d3 (c3's)
  [null, null, 'a1', 'd3', '2026-03-01', '1.125', null, 'c1'],
  [null, null, 'a_amb', 'd3', '2026-05-23', '4', 'books', 'c3'], // a_amb ambiguous: d3 decides
  [null, null, 'a_amb', 'd3', '2026-05-24', '6', 'books', 'c3'],
  [null, 'nobody@x.com', 'a9', null, '2026-05-25', '3', 'toys', A9], // no such email: a9's anonymous profile
  ['c9', null, null, 'dev9', '2026-02-01', '8', 'games', A9], // c9 is no customer: dev9, linked to a9
  [null, null, 'undefined', null, '2026-05-26', '5', 'toys', null], // excluded: nobody's
  ['c2', 'jane@x.com', null, null, '2026-05-27', '0.000000001', 'games', 'c2'], // the key comes first
  [null, 'bob@x.com', 'a1', null, '2026-05-28', '-2', 'games', 'c2'], // email before anonymous_id
  [null, null, 'a_late', null, '2026-05-29', 'NULL', null, ALATE], // its identify row is after as_of
  [null, null, 'a_amb', null, '2026-05-30', '100', 'books', null], // ambiguous and nothing else
]
const ORDER_ROWS = ORDERS.map(([u, e, a, d, ts, amount, cat, who]) => `(${q(u)}, ${q(e)}, ${q(a)}, ${q(d)}, TIMESTAMP '${ts}', CAST(${amount} AS DECIMAL(20, 9)), ${q(cat)}, ${q(who)})`)
const ORDER_DATA = [
  `CREATE TABLE main.orders AS SELECT * FROM (VALUES ${ORDER_ROWS.join(', ')}) t(user_id, email, anonymous_id, device, ts, amount, category, who)`,
  // the same rows under a second event, whose aggregates do not decompose: the per-event path
  'CREATE TABLE main.orders_nd AS SELECT * FROM main.orders',
  `CREATE TABLE main.people AS SELECT customer_id, plan FROM main.customers UNION ALL SELECT * FROM (VALUES ('${A9}', NULL), ('${ALATE}', NULL)) t(customer_id, plan)`,
]

// every aggregate kind of docs/language.md, windows and wheres included; order's all decompose
const TRAITS: Record<string, string> = {
  n: '{ event: order }',
  n_books: '{ event: order, where: { category: books } }',
  n_30d: '{ event: order, within: 30d }',
  revenue: '{ event: order, aggregate: sum, of: amount }',
  revenue_30d: '{ event: order, within: 30d, aggregate: sum, of: amount }',
  avg_amount: '{ event: order, aggregate: avg, of: amount }',
  avg_books: '{ event: order, where: { category: books }, aggregate: avg, of: amount }',
  min_amount: '{ event: order, aggregate: min, of: amount }',
  max_amount: '{ event: order, within: 30d, aggregate: max, of: amount }',
  first_at: '{ event: order, aggregate: min, of: timestamp }',
  last_at: '{ event: order, aggregate: max, of: timestamp }',
  max_category: '{ event: order, aggregate: max, of: category }',
  nd_n: '{ event: order_nd }',
  categories: '{ event: order_nd, aggregate: count_distinct, of: category }',
  first_category: '{ event: order_nd, aggregate: first, of: category }',
  last_category: '{ event: order_nd, aggregate: last, of: category }',
  top_category: '{ event: order_nd, aggregate: most_frequent, of: category }',
  active_weeks: '{ event: order_nd, within: 90d, aggregate: active_periods, period: 7d }',
}
const traits = `traits:\n${Object.entries(TRAITS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`
const profileList = `[${Object.keys(TRAITS).join(', ')}]`
const event = (name: string, table: string, keyed: boolean) => `  ${name}:
    entity: customer
    table: ${table}
    timestamp: ts
    ${keyed ? 'key: who' : 'ids: { key: user_id, email: email, anonymous_id: anonymous_id, device: device }'}
    properties: { amount: number, category: string }
`
const IDENTITY_MODELS = `entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { plan: string }
    profile: ${profileList}
    identity:
      ids:
        email: { normalize: [trim, lowercase] }
        anonymous_id: { exclude: ['undefined'] }
        device: {}
      edges:
        - { table: main.identifies, timestamp: ts, ids: { key: user_id, anonymous_id: anonymous_id, email: email } }
        - { event: page_view }
      anonymous: true
events:
  page_view:
    entity: customer
    table: main.web_events
    timestamp: ts
    ids: { key: user_id, anonymous_id: anonymous_id, device: device }
${event('order', 'main.orders', false)}${event('order_nd', 'main.orders_nd', false)}${traits}`
const KEYED_MODELS = `entities:
  customer:
    table: main.people
    key: customer_id
    attributes: { plan: string }
    profile: ${profileList}
events:
${event('order', 'main.orders', true)}${event('order_nd', 'main.orders_nd', true)}${traits}`
const SEGMENTS = `segment: buyers_30d
entity: customer
rule: {event: order, within: 30d, gte: 2}
---
segment: spenders
entity: customer
rule: {all: [{trait: revenue, gt: 10}, {trait: min_amount, lt: 3}]}
`

async function run(models: string) {
  const dir = writeProject({'segc.yaml': 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n', 'models/m.yaml': models, 'segments/s.yaml': SEGMENTS})
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
  open.push(conn)
  for (const s of [...DATA, ...ORDER_DATA]) await conn.execute(s)
  await runProject({project: dir, asOf: '2026-06-01', connection: conn})
  // values as text: a DECIMAL, a BIGINT and a timestamp compare by what they hold
  const rows = await conn.query(`SELECT entity_key AS customer_id, ${Object.keys(TRAITS).map((t) => `CAST(${t} AS VARCHAR) AS ${t}`).join(', ')} FROM segments.segment_profiles_customer ORDER BY entity_key`)
  const types = await conn.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'segments' AND table_name = 'segment_profiles_customer' AND column_name IN (${Object.keys(TRAITS).map((t) => `'${t}'`).join(', ')}) ORDER BY column_name`)
  const members = await conn.query('SELECT segment, entity_key FROM segments.segment_membership ORDER BY segment, entity_key')
  return {dir, conn, rows, types, members}
}

describe('attribution grouped by identifiers first', () => {
  it('equals the events keyed by hand for every aggregate kind, with four identifier kinds per event', async () => {
    const identity = await run(IDENTITY_MODELS)
    const keyed = await run(KEYED_MODELS)
    expect(identity.rows.map((r) => r.customer_id)).toEqual(['c1', 'c2', 'c3', 'c4', A9, ALATE].sort())
    expect(identity.rows).toEqual(keyed.rows)
    expect(identity.types).toEqual(keyed.types)
    expect(identity.members).toEqual(keyed.members)
    // a few values read off ORDERS by hand, so the twin is not the only witness
    const c1 = identity.rows.find((r) => r.customer_id === 'c1')!
    // c1: 05-20 10.5, 04-01 2.25, 05-21 7, 05-22 NULL, 03-01 1.125 (06-05 is after as_of)
    expect(c1).toMatchObject({n: '5', n_books: '2', n_30d: '3', revenue: '20.875000000', revenue_30d: '17.500000000', min_amount: '1.125', max_amount: '10.5', max_category: 'toys'})
    expect(identity.rows.find((r) => r.customer_id === 'c2')).toMatchObject({n: '2', revenue: '-1.999999999'})
    expect(identity.rows.find((r) => r.customer_id === 'c4')).toMatchObject({n: '0', revenue: '0.000000000', min_amount: null})
  })

  it('segc why KEY (its scan filtered by the profile key) reads events one by one and agrees', async () => {
    const identity = await run(IDENTITY_MODELS)
    const c1 = await explainEntity({project: identity.dir, key: 'c1', entity: 'customer', connection: identity.conn})
    expect(c1.segments.find((s) => s.segment === 'spenders')).toMatchObject({member: true})
    expect(c1.segments.find((s) => s.segment === 'buyers_30d')).toMatchObject({member: true, rule: {value: 3}})
  })
})

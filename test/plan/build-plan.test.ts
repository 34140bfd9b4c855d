import {describe, expect, it} from 'vitest'
import {buildPlan} from '../../src/plan/build-plan.js'
import {membership, validOrThrow, writeProject} from '../helpers/project.js'
import {MODELS} from '../language/fixture-shop.js'

const SEGMENTS = `
segment: a
entity: customer
rule: {all: [{event: order, within: 30d}, {trait: revenue_365d, gte: 10}, {event: visit}]}
---
segment: b
entity: customer
rule: {any: [{event: order, within: 30d}, {trait: orders_365d, gte: 2}]}
---
segment: c
entity: customer
rule: {event: order, within: 30d, gte: 3}
`

describe('the logical plan (SPEC §10)', () => {
  const v = validOrThrow(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS}))
  const plan = buildPlan(v.project, new Date('2026-06-01T00:00:00Z'))

  it('is plain data that names no warehouse', () => {
    const text = JSON.stringify(plan)
    expect(JSON.parse(text)).toEqual(plan)
    expect(text).not.toMatch(/duckdb|snowflake|bigquery|SELECT/i)
  })

  it('scans each event source once, with every aggregate on it in one group', () => {
    const [customer] = plan.entities
    expect(customer!.sources.map((s) => s.relation)).toEqual([
      {kind: 'table', path: ['main', 'orders']},
      {kind: 'table', path: ['main', 'web']},
    ])
  })

  it('computes identical anonymous aggregates once, however many segments use them', () => {
    const orders = plan.entities[0]!.sources[0]!
    // order within 30d (a, b, c share it), sum within 365d, count within 365d
    expect(orders.aggregates.map((a) => a.kind).sort()).toEqual(['count', 'count', 'sum'])
  })

  it('prunes the scan to the widest window any aggregate needs, and to as_of', () => {
    const orders = plan.entities[0]!.sources[0]!
    expect(JSON.stringify(orders.filter)).toContain('2025-06-01T00:00:00.000Z')
    expect(JSON.stringify(orders.filter)).toContain('2026-06-01T00:00:00.000Z')
    const web = plan.entities[0]!.sources[1]!
    expect(JSON.stringify(web.filter)).not.toContain('"op":">"') // no window: no lower bound
  })

  it('evaluates every segment over one entity relation', () => {
    expect(plan.entities).toHaveLength(1)
    expect(plan.entities[0]!.segments.map((s) => s.segment)).toEqual(['a', 'b', 'c'])
  })
})

describe('derived columns in layers', () => {
  const models = `${MODELS}  recency_rank: { ntile: 4, of: days_since_last, order: desc }\n`
  const segments = `
segment: top
entity: customer
rule: {trait: orders_rank, gte: 4}
---
segment: recent_low
entity: customer
rule: {all: [{trait: recency_rank, gte: 3}, {trait: orders_rank, lte: 2}, {trait: avg_value, gt: 10}]}
`
  const v = validOrThrow(writeProject({'models/m.yaml': models, 'segments/s.yaml': segments}))
  const layers = buildPlan(v.project, new Date('2026-06-01T00:00:00Z')).entities[0]!.layers
  const layerOf = (name: string) => layers.findIndex((l) => l.some((c) => c.name === name))

  it('puts every column after the columns it reads', () => {
    for (const [i, layer] of layers.entries())
      for (const c of layer) for (const read of JSON.stringify(c.expr).match(/"name":"[a-z_]+"/g) ?? []) expect(layerOf(read.slice(8, -1))).toBeLessThan(i)
  })

  it('ranks (NTILE) before any segment condition, so a window never sorts the conditions', () => {
    const lastRank = Math.max(...layers.flatMap((l, i) => (l.some((c) => c.expr.k === 'ntile') ? [i] : [])))
    const conditions = layers.flatMap((l, i) => l.filter((c) => !c.name.startsWith('trait__')).map(() => i))
    expect(conditions.length).toBeGreaterThan(0)
    expect(Math.min(...conditions)).toBeGreaterThan(lastRank)
  })

  it('ranks a derived value by its expression, so every NTILE shares the first layer', () => {
    // recency_rank ranks days_since_last, itself derived from the last order's time
    const rank = layers[0]!.find((c) => c.name === 'trait__recency_rank')
    expect(rank?.expr.k).toBe('ntile')
    expect(JSON.stringify(rank!.expr)).not.toContain('trait__days_since_last')
    expect(JSON.stringify(rank!.expr)).toContain('"k":"elapsed"')
    // the value it ranks joins the ranking's layer, written out the same way (the pass hands it over)
    expect(layers[0]!.map((c) => c.name).sort()).toEqual(['trait__days_since_last', 'trait__orders_rank', 'trait__recency_rank'])
    const value = layers[0]!.find((c) => c.name === 'trait__days_since_last')!
    expect(value.expr).toEqual((rank!.expr as Extract<typeof rank.expr, {k: 'ntile'}>).value)
  })
})

describe('an aggregate over a scan already cut at as_of', () => {
  // one relation, two events with their own timestamp columns: a ticket opened before as_of
  // and closed after it is scanned (for `opened`) but its closing has not happened yet
  const models = `
entities:
  customer: {table: main.customers, key: id, attributes: {country: string}}
events:
  opened: {entity: customer, table: main.tickets, key: cid, timestamp: opened_at}
  closed: {entity: customer, table: main.tickets, key: cid, timestamp: closed_at}
  order: {entity: customer, table: main.orders, key: cid, timestamp: ts}
`
  const segments = `
segment: closed_recently
entity: customer
rule: {event: closed, within: 30d}
---
segment: opened_recently
entity: customer
rule: {event: opened, within: 30d}
---
segment: ordered_recently
entity: customer
rule: {event: order, within: 30d}
`
  const asOf = '2026-06-01T00:00:00Z'
  const dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': segments})
  const rows = {
    'main.customers': [{id: 'c1', country: 'US'}, {id: 'c2', country: 'US'}],
    'main.tickets': [
      {cid: 'c1', opened_at: '2026-05-20T00:00:00Z', closed_at: '2026-06-03T00:00:00Z'}, // closes after as_of
      {cid: 'c2', opened_at: '2026-05-20T00:00:00Z', closed_at: '2026-05-25T00:00:00Z'},
    ],
    'main.orders': [
      {cid: 'c1', ts: '2026-06-02T00:00:00Z'}, // after as_of
      {cid: 'c2', ts: '2026-05-30T00:00:00Z'},
    ],
  }

  it('leaves out its own ts ≤ as_of only where every event of the scan shares the timestamp column', () => {
    const plan = buildPlan(validOrThrow(dir).project, new Date(asOf))
    const [tickets, orders] = plan.entities[0]!.sources
    const upper = (ts: string) => JSON.stringify({k: 'cmp', op: '<=', left: {k: 'col', name: ts}, right: {k: 'lit', type: 'timestamp', value: '2026-06-01T00:00:00.000Z'}})
    expect(JSON.stringify(tickets!.aggregates)).toContain(upper('closed_at'))
    expect(JSON.stringify(orders!.aggregates)).not.toContain(upper('ts'))
    expect(JSON.stringify(orders!.filter)).toContain(upper('ts'))
  })

  it('counts no event after as_of either way', async () => {
    const m = await membership(dir, asOf, rows)
    expect(m.members).toEqual({closed_recently: ['c2'], opened_recently: ['c1', 'c2'], ordered_recently: ['c2']})
  })
})

describe("a scan's filter over several events of one relation", () => {
  it("states their shared `ts <= as_of` outside the OR of their own forms, where an engine can prune by it", async () => {
    const {MODELS: SHOP} = await import('../helpers/incremental.js')
    const models = SHOP.replace('LOADED_ORDERS', '').replace(/LOADED_EVENTS/g, '')
    const segments = `segment: viewed\nentity: customer\nrule: {event: page_view, within: 14d}\n---\nsegment: carted\nentity: customer\nrule: {event: add_to_cart, within: 8d}\n`
    const p = buildPlan(validOrThrow(writeProject({'models/m.yaml': models, 'segments/s.yaml': segments})).project, new Date('2026-06-01T00:00:00Z'))
    const events = p.entities[0]!.sources.find((s) => s.relation.kind === 'table' && s.relation.path.join('.') === 'main.events')!
    const asOf = {k: 'cmp', op: '<=', left: {k: 'col', name: 'ts'}, right: {k: 'lit', type: 'timestamp', value: '2026-06-01T00:00:00.000Z'}}
    expect(events.filter.k).toBe('and')
    const items = (events.filter as {items: unknown[]}).items
    expect(items).toContainEqual(asOf)
    // the forms left inside the OR keep each event's own type and lower bound, and no upper bound
    const inside = items.find((i) => (i as {k: string}).k === 'or') as {items: unknown[]}
    expect(inside.items).toHaveLength(2)
    expect(JSON.stringify(inside)).toContain('page_view')
    expect(JSON.stringify(inside)).toContain('add_to_cart')
    expect(JSON.stringify(inside)).not.toContain('"op":"<="')
  })
})

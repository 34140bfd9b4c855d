import {describe, expect, it} from 'vitest'
import {buildPlan} from '../../src/plan/build-plan.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
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
    expect(layerOf('trait__recency_rank')).toBeGreaterThan(layerOf('trait__days_since_last'))
    for (const [i, layer] of layers.entries())
      for (const c of layer) for (const read of JSON.stringify(c.expr).match(/"name":"[a-z_]+"/g) ?? []) expect(layerOf(read.slice(8, -1))).toBeLessThan(i)
  })

  it('ranks (NTILE) before any segment condition, so a window never sorts the conditions', () => {
    const lastRank = Math.max(...layers.flatMap((l, i) => (l.some((c) => c.expr.k === 'ntile') ? [i] : [])))
    expect(lastRank).toBeGreaterThanOrEqual(1) // recency_rank ranks a derived trait
    const conditions = layers.flatMap((l, i) => l.filter((c) => !c.name.startsWith('trait__')).map(() => i))
    expect(conditions.length).toBeGreaterThan(0)
    expect(Math.min(...conditions)).toBeGreaterThan(lastRank)
  })
})

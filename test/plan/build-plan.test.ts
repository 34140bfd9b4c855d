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

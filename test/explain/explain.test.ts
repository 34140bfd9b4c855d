import {describe, expect, it} from 'vitest'
import {Explainer} from '../../src/explain/explain.js'
import {validOrThrow, writeProject} from '../helpers/project.js'

// The plain-English renderer, construct by construct. Each expected sentence is written by
// hand from the YAML beside it; together they are the renderer's specification.

const MODELS = `
entities:
  customer:
    table: main.customers
    key: id
    label: Customers
    attributes:
      country: string
      age: integer
      vip: boolean
      email_opt_in: { type: boolean, label: email marketing consent }
      sms_opt_in: boolean
      signup_at: timestamp
  store:
    table: main.stores
    key: id
    attributes: { region: string }
events:
  order:
    entity: customer
    table: main.orders
    key: cid
    timestamp: ts
    label: placed an order
    properties: { amount: number, category: string }
  visit:
    entity: customer
    table: main.web
    key: cid
    timestamp: ts
    properties: { path: string }
traits:
  revenue_365d:   { event: order, within: 365d, aggregate: sum, of: amount, label: revenue in the last year }
  orders_total:   { event: order }
  big_orders:     { event: order, where: { amount: { gte: 100 } }, within: 90d, aggregate: count }
  avg_amount:     { event: order, aggregate: avg, of: amount }
  categories:     { event: order, aggregate: count_distinct, of: category }
  smallest_order: { event: order, aggregate: min, of: amount }
  first_order_at: { event: order, aggregate: min, of: timestamp }
  last_order_at:  { event: order, aggregate: max, of: timestamp }
  first_category: { event: order, aggregate: first, of: category }
  last_category:  { event: order, aggregate: last, of: category }
  top_category:   { event: order, aggregate: most_frequent, of: category }
  active_weeks:   { event: visit, within: 28d, aggregate: active_periods, period: 7d, min_count: 2 }
  days_since_last_order: { expr: "days_since(last_order_at)" }
  revenue_per_order: { expr: "revenue_365d / orders_total" }
  r_score: { ntile: 5, of: days_since_last_order, order: desc }
  m_score: { ntile: 5, of: revenue_365d, label: monetary score }
`

const CASES: Array<[string, string, string]> = [
  // attributes, every comparison
  ['eq', '{attribute: country, eq: US}', 'Customers whose country is US.'],
  ['ne', '{attribute: country, ne: US}', 'Customers whose country is not US.'],
  ['gt / lte numbers', '{attribute: age, gt: 17, lte: 65}', 'Customers whose age is more than 17 and is at most 65.'],
  ['in', '{attribute: country, in: [US, CA, MX]}', 'Customers whose country is US, CA or MX.'],
  ['not_in', '{attribute: country, not_in: [US, CA]}', 'Customers whose country is none of US or CA.'],
  ['between', '{attribute: age, between: [18, 30]}', 'Customers whose age is between 18 and 30.'],
  ['is_null', '{attribute: country, is_null: true}', 'Customers whose country is unknown.'],
  ['is not null', '{attribute: country, is_null: false}', 'Customers whose country is known.'],
  ['contains', '{attribute: country, contains: "S"}', 'Customers whose country contains “S”.'],
  ['starts_with / ends_with', '{attribute: country, starts_with: "U", ends_with: "S"}', 'Customers whose country starts with “U” and ends with “S”.'],
  ['boolean', '{attribute: vip, eq: true}', 'Customers whose vip is true.'],
  ['large numbers get separators', '{attribute: age, gte: 1000000}', 'Customers whose age is at least 1,000,000.'],
  ['relative time, recent', '{attribute: signup_at, gte: -30d}', 'Customers whose signup at is within the last 30 days.'],
  ['relative time, long ago', '{attribute: signup_at, lt: -2w}', 'Customers whose signup at is more than 14 days ago.'],
  ['absolute date', '{attribute: signup_at, gte: 2026-01-01}', 'Customers whose signup at is on or after 2026-01-01.'],
  // traits: a label wins; otherwise the definition is described
  ['labelled trait', '{trait: revenue_365d, gte: 1000}', 'Customers whose revenue in the last year is at least 1,000.'],
  ['count with where and window', '{trait: big_orders, gte: 2}', 'Customers whose number of order events where amount is at least 100 in the last 90 days is at least 2.'],
  ['avg', '{trait: avg_amount, gt: 50}', 'Customers whose average amount of order events is more than 50.'],
  ['count_distinct', '{trait: categories, gte: 3}', 'Customers whose number of distinct category values of order events is at least 3.'],
  ['min of a property', '{trait: smallest_order, lt: 5}', 'Customers whose smallest amount of order events is less than 5.'],
  ['min of the timestamp', '{trait: first_order_at, gte: -30d}', 'Customers whose time of the first of their order events is within the last 30 days.'],
  ['first', '{trait: first_category, eq: books}', 'Customers whose category of the first of their order events is books.'],
  ['last', '{trait: last_category, eq: books}', 'Customers whose category of the latest of their order events is books.'],
  ['most_frequent', '{trait: top_category, eq: shoes}', 'Customers whose most frequent category of order events is shoes.'],
  ['active_periods with min_count', '{trait: active_weeks, gte: 3}', 'Customers whose number of 7 days periods with at least 2 visit events in the last 28 days is at least 3.'],
  ['expression trait', '{trait: days_since_last_order, gte: 180}', 'Customers whose days since last order is at least 180.'],
  ['ntile, descending', '{trait: r_score, gte: 4}', 'Customers whose r score (1 to 5 by days since last order, 5 = lowest) is at least 4.'],
  ['ntile, labelled', '{trait: m_score, eq: 5}', 'Customers whose monetary score (1 to 5 by revenue in the last year, 5 = highest) is 5.'],
  // event conditions: the event label says what they did
  ['did, ever', '{event: order}', 'Customers who placed an order.'],
  ['did, within', '{event: order, within: 60d}', 'Customers who placed an order in the last 60 days.'],
  ['did, between', '{event: order, between: [180d, 90d]}', 'Customers who placed an order between 180 days and 90 days ago.'],
  ['did, before', '{event: order, before: 52w}', 'Customers who placed an order more than 364 days ago.'],
  ['did, where', '{event: order, where: {category: shoes}, within: 7d}', 'Customers who placed an order where category is shoes in the last 7 days.'],
  ['count eq 0', '{event: order, eq: 0}', 'Customers who have not placed an order.'],
  ['count at least', '{event: order, within: 30d, gte: 3}', 'Customers who placed an order at least 3 times in the last 30 days.'],
  ['count exactly once', '{event: order, eq: 1}', 'Customers who placed an order exactly once.'],
  ['an unlabelled event', '{event: visit, within: 1d}', 'Customers who had a visit event in the last 1 day.'],
  ['other aggregate in a condition', '{event: order, aggregate: sum, of: amount, within: 30d, gte: 200}', 'Customers whose total amount of order events in the last 30 days is at least 200.'],
  ['sequence', '{sequence: [{event: visit, where: {path: {starts_with: /pricing}}}, {event: order}], within: 30d, max_gap: 2d}', 'Customers who had a visit event where path starts with “/pricing”, then placed an order, each step within 2 days of the one before in the last 30 days.'],
  // references and logic
  ['segment', '{segment: vips}', 'Customers who are in Vips.'],
  ['not segment', '{not: {segment: vips}}', 'Customers who are not in Vips.'],
  ['not event', '{not: {event: order, within: 60d}}', 'Customers who have not placed an order in the last 60 days.'],
  ['not attribute flips the comparison', '{not: {attribute: age, gte: 18}}', 'Customers whose age is less than 18.'],
  ['not all', '{not: {all: [{attribute: vip, eq: true}, {segment: vips}]}}', 'Customers who are not among those (whose vip is true and who are in Vips).'],
  ['all', '{all: [{attribute: country, eq: US}, {event: order, within: 30d}, {segment: vips}]}', 'Customers whose country is US, who placed an order in the last 30 days and who are in Vips.'],
  ['any', '{any: [{attribute: country, eq: US}, {segment: vips}]}', 'Customers whose country is US or who are in Vips.'],
  ['any inside all', '{all: [{trait: revenue_365d, gte: 1000}, {any: [{attribute: country, in: [US, CA]}, {segment: vips}]}]}', 'Customers whose revenue in the last year is at least 1,000 and either whose country is US or CA or who are in Vips.'],
]

const VIPS = 'segment: vips\nentity: customer\nrule: {attribute: vip, eq: true}\n'

describe('plain-English rules, construct by construct', () => {
  const segments = CASES.map(([, rule], i) => `segment: c${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
  const v = validOrThrow(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': `${segments}---\n${VIPS}`}))
  const explain = new Explainer(v.project)
  CASES.forEach(([name, rule, expected], i) =>
    it(`${name}: ${rule}`, () => {
      const text = explain.segment(v.project.segments.get(`c${i}`)!)
      expect(text).toBe(expected)
      expect(text).not.toMatch(/\bSELECT\b|\bFROM\b|"|`|\bCOALESCE\b/)
    }),
  )
})

describe('the parts around the rule', () => {
  const project = `${VIPS}---
segment: winback
entity: customer
rule: {event: order, before: 180d}
exclude: {segment: vips}
consent: [email_opt_in, sms_opt_in]
holdout: {percent: 10, salt: q4}
refresh: static
measure: {outcome: {event: order, within: 30d}}
---
group: tiers
entity: customer
segments: [gold, silver]
---
segment: gold
entity: customer
rule: {trait: revenue_365d, gte: 1000}
---
segment: silver
entity: customer
rule: {trait: revenue_365d, gte: 100}
---
segment: big_stores
entity: store
rule: {attribute: region, eq: EU}
`
  const v = validOrThrow(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': project}))
  const explain = new Explainer(v.project)
  it('exclude, consent (attribute labels), holdout, static and measure', () => {
    expect(explain.segment(v.project.segments.get('winback')!)).toBe(
      'Customers who placed an order more than 180 days ago — excluding those who are in Vips; only those who consented (email marketing consent and sms opt in). ' +
        '10% are held out as a control group and not contacted. Membership is fixed at the first run and kept (static). ' +
        'Success is measured as those who placed an order within 30 days of entering.',
    )
  })
  it('group position: the first segment and a later one', () => {
    expect(explain.segment(v.project.segments.get('gold')!)).toBe('Customers whose revenue in the last year is at least 1,000. In group Tiers, where each member has one segment: this one comes first.')
    expect(explain.segment(v.project.segments.get('silver')!)).toBe('Customers whose revenue in the last year is at least 100. In group Tiers, where each member has one segment: not those already in Gold.')
    expect(explain.group(v.project.groups.get('tiers')!)).toBe('Customers in at most one of these segments each, the first that applies, in this order: Gold, Silver.')
  })
  it('an entity without a label is named from its name', () => {
    expect(explain.segment(v.project.segments.get('big_stores')!)).toBe('Stores whose region is EU.')
  })
})

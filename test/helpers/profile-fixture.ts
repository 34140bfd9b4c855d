import {createHash} from 'node:crypto'

// The profile fixture (SPEC §19): a small shop with every kind of profile trait, its rows from
// a seeded generator, and the oracle: SPEC §3's definitions written by hand as one DuckDB query.

export const PROFILE_MODELS = (profile: string) => `entities:
  customer:
    table: main.customers
    key: id
    attributes: {country: string, score: integer}
    profile: ${profile}
events:
  order: {entity: customer, table: main.orders, key: cid, timestamp: ts, properties: {amount: number, category: string}}
traits:
  orders_total: {event: order, aggregate: count}
  revenue_365d: {event: order, within: 365d, aggregate: sum, of: amount, description: Revenue over the last year}
  avg_amount: {event: order, aggregate: avg, of: amount}
  last_order_at: {event: order, aggregate: max, of: timestamp}
  days_since_last: {expr: "days_since(last_order_at)"}
  f_score: {ntile: 3, of: orders_total}
  fav_category: {event: order, aggregate: most_frequent, of: category}
`
export const FULL_PROFILE = '[orders_total, revenue_365d, avg_amount, last_order_at, days_since_last, f_score, fav_category]'

export const PROFILE_SEGMENTS = `segment: buyer
entity: customer
description: Bought at least once
rule: {trait: orders_total, gte: 1}
holdout: {percent: 30, salt: s1}
---
group: lifecycle
entity: customer
segments: [big_spender, regular]
---
segment: big_spender
entity: customer
rule: {trait: revenue_365d, gte: 100}
---
segment: regular
entity: customer
rule: {event: order, within: 30d}
`

export const AS_OF = '2026-06-01T00:00:00.000Z'

/** mulberry32: seeded, so a failure reproduces */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function profileRows(seed = 7, n = 40): Record<string, Array<Record<string, unknown>>> {
  const r = prng(seed)
  const customers = Array.from({length: n}, (_, i) => ({id: `c${String(i).padStart(2, '0')}`, country: ['US', 'DE', 'FR'][i % 3], score: i}))
  const orders: Array<Record<string, unknown>> = []
  for (const c of customers) {
    const k = Math.floor(r() * 5)
    for (let j = 0; j < k; j++) {
      // up to 500 days back, a few after as_of (they never count)
      const ts = new Date(Date.parse(AS_OF) - Math.floor((r() * 510 - 10) * 86400) * 1000).toISOString()
      orders.push({cid: c.id, ts, amount: Math.round(r() * 20000) / 100, category: ['shoes', 'bags', 'hats'][Math.floor(r() * 3)]})
    }
  }
  return {'main.customers': customers, 'main.orders': orders}
}

/** the oracle: SPEC §3's definitions written directly, by hand, over the fixture tables */
export const ORACLE = (asOf: string) => `
WITH o AS (SELECT * FROM main.orders WHERE ts <= TIMESTAMP '${asOf.replace('T', ' ').replace('Z', '')}'),
agg AS (
  SELECT c.id,
    COUNT(o.cid) AS orders_total,
    SUM(CASE WHEN o.ts > TIMESTAMP '${asOf.replace('T', ' ').replace('Z', '')}' - INTERVAL 365 DAY THEN o.amount END) AS rev,
    COUNT(CASE WHEN o.ts > TIMESTAMP '${asOf.replace('T', ' ').replace('Z', '')}' - INTERVAL 365 DAY THEN 1 END) AS rev_n,
    AVG(o.amount) AS avg_amount,
    MAX(o.ts) AS last_order_at
  FROM main.customers c LEFT JOIN o ON o.cid = c.id GROUP BY c.id),
fav AS (
  SELECT cid, category FROM (
    SELECT cid, category, ROW_NUMBER() OVER (PARTITION BY cid ORDER BY COUNT(*) DESC, category) AS rn FROM o GROUP BY cid, category) WHERE rn = 1)
SELECT a.id, a.orders_total, COALESCE(a.rev, 0) AS revenue_365d, a.avg_amount, a.last_order_at,
  FLOOR(EXTRACT(EPOCH FROM (TIMESTAMP '${asOf.replace('T', ' ').replace('Z', '')}' - a.last_order_at)) / 86400) AS days_since_last,
  NTILE(3) OVER (ORDER BY a.orders_total, a.id) AS f_score, f.category AS fav_category
FROM agg a LEFT JOIN fav f ON f.cid = a.id ORDER BY a.id`

export const held = (segment: string, salt: string, key: string, percent: number) => parseInt(createHash('md5').update(`${segment}:${salt}:${key}`).digest('hex').slice(0, 8), 16) % 10000 < percent * 100


// Aggregate conformance cases (first, last, most_frequent, active_periods), shared by the
// DuckDB conformance test and the Snowflake and BigQuery cross-checks.
// as_of 2026-06-01T00:00:00Z. Orders per customer, worked out by hand below.
export const MODELS = `
entities:
  customer: { table: main.customers, key: id }
events:
  order:
    entity: customer
    table: main.orders
    key: cid
    timestamp: ts
    properties: { amount: number, category: string }
`
const o = (cid: string, ts: string, amount: number | null, category: string | null) => ({cid, ts, amount, category})
export const ROWS = {
  'main.customers': ['c1', 'c2', 'c3', 'c4'].map((id) => ({id})),
  'main.orders': [
    // c1: earliest day has two orders (tie → smallest value), latest single order
    o('c1', '2026-01-01T00:00:00Z', 30, 'shoes'),
    o('c1', '2026-01-01T00:00:00Z', 20, 'books'),
    o('c1', '2026-05-01T00:00:00Z', 70, 'books'),
    o('c1', '2026-06-02T00:00:00Z', 5, 'games'), // after as_of
    // c2: most frequent tie between apparel and books (2 each) → smallest: apparel
    o('c2', '2026-05-25T00:00:00Z', 10, 'books'),
    o('c2', '2026-05-26T00:00:00Z', 10, 'books'),
    o('c2', '2026-05-27T00:00:00Z', 10, 'apparel'),
    o('c2', '2026-05-31T23:59:59Z', 10, 'apparel'),
    o('c2', '2026-05-31T23:59:59Z', 40, 'zz'), // latest tie → smallest value 10
    // c3: one order per week for three weeks: weeks 0, 1, 2 (period index = floor((as_of − ts) / 7d))
    o('c3', '2026-05-31T00:00:00Z', 1, 'x'),
    o('c3', '2026-05-30T00:00:00Z', 1, 'x'),
    o('c3', '2026-05-24T00:00:00Z', 1, 'x'),
    o('c3', '2026-05-17T00:00:00Z', 1, 'x'),
    // c4: NULL-only values; the second order is 62.2 days before as_of (period index 62 of 1d)
    o('c4', '2026-05-01T00:00:00Z', null, null),
    o('c4', '2026-03-30T19:12:00Z', null, null),
  ],
}

export const CASES: Array<[string, string, string[]]> = [
  ['first: earliest event, tie → smallest value', '{event: order, aggregate: first, of: amount, eq: 20}', ['c1']],
  ['last: latest event at or before as_of', '{event: order, aggregate: last, of: amount, eq: 70}', ['c1']],
  ['last: tie → smallest value', '{event: order, aggregate: last, of: amount, eq: 10}', ['c2']],
  ['first over no events or only NULLs is NULL', '{event: order, aggregate: first, of: amount, is_null: true}', ['c4']],
  ['most_frequent, tie → smallest value', '{event: order, aggregate: most_frequent, of: category, eq: apparel}', ['c2']],
  ['most_frequent', '{event: order, aggregate: most_frequent, of: category, eq: books}', ['c1']],
  ['most_frequent over no values is NULL', '{event: order, aggregate: most_frequent, of: category, is_null: true}', ['c4']],
  // as_of − 7d = 05-25T00:00 is outside: c2 books once (05-26), apparel twice, zz once; c3 x twice
  ['most_frequent in a window', '{event: order, within: 7d, aggregate: most_frequent, of: category, eq: x}', ['c3']],
  ['most_frequent in a window, tie broken inside the window', '{event: order, within: 7d, aggregate: most_frequent, of: category, eq: apparel}', ['c2']],
  // amount ≥ 10: c1 shoes once, books twice; c2 books twice, apparel twice, zz once (→ apparel)
  ['most_frequent with where', '{event: order, where: {amount: {gte: 10}}, aggregate: most_frequent, of: category, eq: books}', ['c1']],
  // a number: c1 30, 20, 70 once each → 20; c2 10 four times; c3 1 four times
  ['most_frequent of a number, tie → smallest', '{event: order, aggregate: most_frequent, of: amount, eq: 20}', ['c1']],
  ['most_frequent of a number', '{event: order, aggregate: most_frequent, of: amount, lt: 15}', ['c2', 'c3']],
  ['active_periods counts weeks with an event', '{event: order, aggregate: active_periods, period: 7d, eq: 3}', ['c3']],
  ['active_periods with min_count (c1: two orders on 2026-01-01)', '{event: order, aggregate: active_periods, period: 7d, min_count: 2, eq: 1}', ['c1', 'c2', 'c3']],
  // week 0 (05-25T00:00:01 .. 06-01): c2 four orders (05-26, 05-27, 05-31 twice), c3 two
  ['active_periods with min_count 3', '{event: order, aggregate: active_periods, period: 7d, min_count: 3, eq: 1}', ['c2']],
  // days: c2 day 0 holds two orders (05-31T23:59:59 twice); c3 one order a day
  ['active_periods with min_count in a window', '{event: order, within: 14d, aggregate: active_periods, period: 1d, min_count: 2, eq: 1}', ['c2']],
  ['active_periods over no events is 0', '{event: order, aggregate: active_periods, period: 7d, within: 3d, eq: 0}', ['c1', 'c4']],
  // in a window the indexes are bounded (floor(window / period)); up to 62 they may be counted as bits
  ['active_periods within 14d: c2 weeks 0 and 1 (05-25 is 7 days back: week 1), c3 weeks 0 and 1', '{event: order, aggregate: active_periods, period: 7d, within: 14d, eq: 2}', ['c2', 'c3']],
  ['active_periods within 7d leaves out the order exactly 7 days back: c2 days 0, 5, 6', '{event: order, aggregate: active_periods, period: 1d, within: 7d, eq: 3}', ['c2']],
  ['active_periods reaching index 62 (c4: days 31 and 62)', '{event: order, aggregate: active_periods, period: 1d, within: 1500h, eq: 2}', ['c4']],
  ['active_periods beyond 62 periods (c2: days 0, 5, 6, 7; c3: 1, 2, 8, 15)', '{event: order, aggregate: active_periods, period: 1d, within: 365d, eq: 4}', ['c2', 'c3']],
  ['active_periods between 30d and 7d: c1 day 31 lies before it, c3 days 8 and 15', '{event: order, aggregate: active_periods, period: 1d, between: [30d, 7d], eq: 2}', ['c3']],
]


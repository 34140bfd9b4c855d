// A small hand-made warehouse whose expected answers are worked out by hand in the tests.
// as_of is 2026-06-01T00:00:00Z throughout; comments give each row's role.
export const AS_OF = '2026-06-01T00:00:00Z'

export const MODELS = `
entities:
  customer:
    table: main.customers
    key: id
    attributes:
      country: string
      age: integer
      score: number
      vip: boolean
      opt_in: boolean
      signup_at: timestamp
      birthday: date
events:
  order:
    entity: customer
    table: main.orders
    key: cid
    timestamp: ts
    properties: { amount: number, category: string }
  visit:
    entity: customer
    table: main.web
    key: cid
    timestamp: ts
    where: { kind: visit }
    properties: { kind: string, path: string }
traits:
  orders_total:  { event: order }
  orders_365d:   { event: order, within: 365d }
  revenue_365d:  { event: order, within: 365d, aggregate: sum, of: amount }
  last_order_at: { event: order, aggregate: max, of: timestamp }
  avg_value:     { expr: "revenue_365d / orders_365d" }
  days_since_last: { expr: "days_since(last_order_at)" }
  hours_since_signup: { expr: "hours_since(signup_at)" }
  age_half:      { ntile: 2, of: age }
  age_half_desc: { ntile: 2, of: age, order: desc }
  orders_rank:   { ntile: 5, of: orders_total }
  recency_half:  { ntile: 2, of: days_since_last, order: desc }
  avg_half:      { ntile: 2, of: avg_value }
  score_or_zero: { expr: "coalesce(score, 0)" }
  score_quarter: { expr: "round(score / 4, 1)" }
  age_floor40:   { expr: "greatest(age, 40)" }
  age_not18:     { expr: "nullif(age, 18)" }
  neg_abs:       { expr: "abs(-score) * 2 - floor(1.5) + ceil(0.2)" }
`

export const ROWS = {
  'main.customers': [
    {id: 'c1', country: 'US', age: 30, score: 1.5, vip: true, opt_in: true, signup_at: '2026-05-25T00:00:00Z', birthday: '1990-01-01'},
    {id: 'c2', country: 'CA', age: 45, score: null, vip: false, opt_in: true, signup_at: '2025-01-01T00:00:00Z', birthday: null},
    {id: 'c3', country: null, age: null, score: 3.0, vip: null, opt_in: false, signup_at: null, birthday: '2001-05-05'},
    {id: 'c4', country: 'us', age: 18, score: 0, vip: true, opt_in: null, signup_at: '2026-06-01T00:00:00Z', birthday: '2000-01-01'},
    {id: 'c5', country: 'GB', age: 60, score: -2, vip: false, opt_in: true, signup_at: '2026-06-02T00:00:00Z', birthday: '1966-06-01'},
  ],
  'main.orders': [
    {cid: 'c1', ts: '2026-05-31T12:00:00Z', amount: 100, category: 'shoes'},
    {cid: 'c1', ts: '2026-05-02T00:00:00Z', amount: 50, category: 'books'}, // exactly as_of − 30d: outside within 30d
    {cid: 'c1', ts: '2026-05-02T00:00:01Z', amount: 20, category: 'shoes'}, // one second inside
    {cid: 'c2', ts: '2025-12-01T00:00:00Z', amount: 500, category: 'electronics'},
    {cid: 'c2', ts: '2026-06-01T00:00:00Z', amount: 10, category: 'shoes'}, // exactly as_of: counts
    {cid: 'c3', ts: '2026-06-01T00:00:01Z', amount: 999, category: 'shoes'}, // after as_of: never counts
    {cid: 'c5', ts: '2026-03-01T00:00:00Z', amount: null, category: null},
    {cid: 'zz', ts: '2026-05-30T00:00:00Z', amount: 1000, category: 'shoes'}, // key not in customers: ignored
  ],
  'main.web': [
    {cid: 'c1', ts: '2026-05-30T00:00:00Z', kind: 'visit', path: '/pricing'},
    {cid: 'c1', ts: '2026-05-30T00:00:00Z', kind: 'click', path: '/pricing'},
    {cid: 'c2', ts: '2026-05-01T00:00:00Z', kind: 'visit', path: '/pricing%_x'},
    {cid: 'c4', ts: '2026-05-01T00:00:00Z', kind: 'click', path: '/p'},
  ],
}

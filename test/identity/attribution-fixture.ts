// The rows and project the attribution, why --id and stats --identity tests share.
import {createHash} from 'node:crypto'

export const MODELS = (anonymous: boolean) => `entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { plan: string }
    profile: [views, clicks]
    identity:
      ids:
        email: { normalize: [trim, lowercase] }
        anonymous_id: { exclude: ['undefined'] }
        device: {}
      edges:
        - { table: main.identifies, timestamp: ts, ids: { key: user_id, anonymous_id: anonymous_id, email: email } }
        - { event: page_view }
      anonymous: ${anonymous}
events:
  page_view:
    entity: customer
    table: main.web_events
    timestamp: ts
    ids: { key: user_id, anonymous_id: anonymous_id, device: device }
  click:
    entity: customer
    table: main.clicks
    timestamp: ts
    ids: { anonymous_id: anonymous_id, device: device }
traits:
  views: { event: page_view, aggregate: count }
  clicks: { event: click, aggregate: count }
`

export const SEGMENTS = `segment: viewers
entity: customer
rule: {trait: views, gte: 1}
---
segment: clickers
entity: customer
rule: {trait: clicks, gte: 1}
---
segment: no_plan
entity: customer
rule: {attribute: plan, is_null: true}
`

export const DATA = [
  "CREATE TABLE main.customers AS SELECT * FROM (VALUES ('c1', 'pro'), ('c2', 'free'), ('c3', 'pro'), ('c4', 'free')) t(customer_id, plan)",
  `CREATE TABLE main.identifies AS SELECT user_id, anonymous_id, email, CAST(ts AS TIMESTAMP) AS ts FROM (VALUES
    ('c1', 'a1', ' Jane@X.com ', '2026-05-10'),
    ('c1', 'a_amb', NULL, '2026-05-11'),
    ('c2', 'a_amb', NULL, '2026-05-11'),
    ('c2', NULL, 'bob@x.com', '2026-05-12'),
    ('c1', 'a_late', NULL, '2026-07-01')) t(user_id, anonymous_id, email, ts)`,
  `CREATE TABLE main.web_events AS SELECT user_id, anonymous_id, device, CAST(ts AS TIMESTAMP) AS ts FROM (VALUES
    (NULL, 'a1', NULL, '2026-05-01'),
    (NULL, 'a1', NULL, '2026-05-02'),
    ('c1', NULL, NULL, '2026-05-10'),
    (NULL, 'a_late', NULL, '2026-05-03'),
    (NULL, 'a9', NULL, '2026-05-04'),
    (NULL, 'a9', 'dev9', '2026-05-05'),
    ('c3', NULL, 'd3', '2026-05-06'),
    (NULL, 'undefined', 'd3', '2026-05-07'),
    (NULL, 'a_amb', NULL, '2026-05-08')) t(user_id, anonymous_id, device, ts)`,
  `CREATE TABLE main.clicks AS SELECT anonymous_id, device, CAST(ts AS TIMESTAMP) AS ts FROM (VALUES
    ('a_amb', 'd3', '2026-05-09'),
    ('a9', 'd3', '2026-05-09'),
    ('zzz', 'd3', '2026-05-09')) t(anonymous_id, device, ts)`,
]


/** SPEC §20: an anonymous profile's key, 'anon_' and the first 32 hex digits of SHA-256(salt || kind || ':' || value) of its representative (no salt here) */
export const anon = (node: string) => 'anon_' + createHash('sha256').update(node).digest('hex').slice(0, 32)
/** {a9, dev9}: a9 is seen first (05-04); {a_late} alone until its identify row (07-01) is read */
export const A9 = anon('anonymous_id:a9')
export const ALATE = anon('anonymous_id:a_late')

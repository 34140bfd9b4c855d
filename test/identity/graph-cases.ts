// Identity graphs for the labelling tests: the project, generated source rows, and the
// oracle's input built from the same raw rows (the oracle normalizes and filters by itself).
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {rng} from '../helpers/rng.js'

export const AS_OF = '2026-06-01T00:00:00.000Z'
export const SALT = 's1'

export const MODELS = `entities:
  customer:
    table: main.customers
    key: customer_id
    identity:
      ids:
        email: { normalize: [trim, lowercase], exclude: ['none@example.com'] }
        anonymous_id: { exclude: ['', 'undefined', '00000000-0000-0000-0000-000000000000'] }
        device: {}
      edges:
        - { table: main.identifies, timestamp: ts, ids: { key: user_id, anonymous_id: anonymous_id, email: email } }
        - { table: main.profiles, ids: { key: customer_id, email: email } }
        - { event: page_view }
      salt: ${SALT}
      max_depth: MAX_DEPTH
events:
  page_view:
    entity: customer
    table: main.web_events
    timestamp: ts
    where: { event_type: page_view }
    ids: { key: user_id, anonymous_id: anonymous_id, device: device }
    properties: { event_type: string }
`

export const DDL = [
  'CREATE TABLE main.customers (customer_id VARCHAR)',
  'CREATE TABLE main.identifies (user_id VARCHAR, anonymous_id VARCHAR, email VARCHAR, ts TIMESTAMP)',
  'CREATE TABLE main.profiles (customer_id VARCHAR, email VARCHAR)',
  'CREATE TABLE main.web_events (user_id VARCHAR, anonymous_id VARCHAR, device VARCHAR, event_type VARCHAR, ts TIMESTAMP)',
]

export interface GraphData {
  customers: string[]
  /** user_id, anonymous_id, email, ts */
  identifies: Array<[string | null, string | null, string | null, string | null]>
  /** customer_id, email */
  profiles: Array<[string | null, string | null]>
  /** user_id, anonymous_id, device, event_type, ts */
  events: Array<[string | null, string | null, string | null, string, string | null]>
}

export const empty = (): GraphData => ({customers: [], identifies: [], profiles: [], events: []})

const lit = (v: string | null, ts = false) => (v === null ? 'NULL' : ts ? `TIMESTAMP '${v.replace('T', ' ').replace('Z', '')}'` : `'${v.replace(/'/g, "''")}'`)

export function inserts(g: GraphData): string[] {
  const out: string[] = []
  const put = (table: string, rows: Array<Array<string | null>>, tsAt: number[]) => {
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000)
      if (chunk.length) out.push(`INSERT INTO ${table} VALUES ${chunk.map((r) => `(${r.map((v, j) => lit(v, tsAt.includes(j))).join(', ')})`).join(', ')}`)
    }
  }
  put('main.customers', g.customers.map((c) => [c]), [])
  put('main.identifies', g.identifies, [3])
  put('main.profiles', g.profiles, [])
  put('main.web_events', g.events, [4])
  return out
}

export type MapRow = [string, string, string | null, string, number | null, string | null]

const ORACLE = fileURLToPath(new URL('./tools/identity_networkx.py', import.meta.url))

export function oracle(g: GraphData, erased: Array<[string, string]> = []): MapRow[] {
  const spec = {
    as_of: AS_OF,
    salt: SALT,
    keys: g.customers,
    kinds: {email: {normalize: ['trim', 'lowercase'], exclude: ['none@example.com']}, anonymous_id: {exclude: ['', 'undefined', '00000000-0000-0000-0000-000000000000']}, device: {}},
    edges: [
      {timestamp: true, ids: ['key', 'anonymous_id', 'email'], rows: g.identifies.map((r) => ({ids: r.slice(0, 3), ts: r[3]}))},
      {timestamp: false, ids: ['key', 'email'], rows: g.profiles.map((r) => ({ids: r, ts: null}))},
      // the event's where: only page_view rows are the event's
      {timestamp: true, ids: ['key', 'anonymous_id', 'device'], rows: g.events.filter((r) => r[3] === 'page_view').map((r) => ({ids: r.slice(0, 3), ts: r[4]}))},
    ],
    erased,
  }
  return JSON.parse(execFileSync('/usr/bin/python3', [ORACLE], {input: JSON.stringify(spec), maxBuffer: 1 << 28}).toString()) as MapRow[]
}

export {rng}

const day = (d: number, h = 0) => new Date(Date.parse('2026-05-01T00:00:00Z') + d * 86400_000 + h * 3600_000).toISOString()

/** Every case SPEC §20 names, each in its own corner of one graph. */
export function everyCase(): GraphData {
  const g = empty()
  g.customers.push('c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7')
  // a chain: c1 - a1 - (device d1) - a2 - ... stitched at growing distances
  g.identifies.push(['c1', 'a1', null, day(1)])
  g.events.push([null, 'a1', 'd1', 'page_view', day(2)], [null, 'a2', 'd1', 'page_view', day(3)], [null, 'a2', 'd2', 'page_view', day(4)], [null, 'a3', 'd2', 'page_view', day(5)])
  // a tie: a shared device between c2 and c3 at equal distance → ambiguous, and a node only reached through it
  g.identifies.push(['c2', 'b1', null, day(1)], ['c3', 'b2', null, day(1)])
  g.events.push([null, 'b1', 'shared', 'page_view', day(2)], [null, 'b2', 'shared', 'page_view', day(2)], [null, 'b3', 'shared', 'page_view', day(3)], [null, 'b3', 'only_via_shared', 'page_view', day(3)])
  // a placeholder anonymous id and a placeholder email that would join everyone
  for (const c of ['c4', 'c5', 'c6']) g.identifies.push([c, 'undefined', 'none@example.com', day(1)], [c, '00000000-0000-0000-0000-000000000000', ' None@Example.com ', day(2)])
  // normalization variants: one email written three ways is one node
  g.identifies.push(['c4', null, 'Jane@Example.com', day(3)])
  g.profiles.push(['c4', ' jane@example.COM\t'])
  g.identifies.push([null, 'a_jane', 'jane@example.com\n', day(4)])
  // rows after as_of are not read; rows with a NULL timestamp neither
  g.identifies.push(['c5', 'late', null, '2026-06-02T00:00:00.000Z'], ['c6', 'no_ts', null, null])
  // keys absent from the entity table are no identifiers
  g.identifies.push(['ghost', 'g1', null, day(1)])
  g.events.push(['ghost', 'g2', 'dg', 'page_view', day(2)])
  // anonymous components: first_seen decides the representative; NULL first_seen is last
  g.events.push([null, 'x1', 'dx', 'page_view', day(7)], [null, 'x2', 'dx', 'page_view', day(6)], [null, 'x3', 'dx2', 'page_view', day(6)], [null, 'x3', 'dx', 'page_view', day(8)])
  g.events.push([null, 'y1', null, 'page_view', day(9)])
  // an event that is not the event's (where) adds no edge
  g.events.push([null, 'x1', 'c7_device', 'click', day(2)], ['c7', null, 'c7_device', 'page_view', day(2)])
  // a key in a timestamp-less relation only: first_seen NULL; an email reached from two sides at different distances
  g.profiles.push(['c7', 'seven@example.com'])
  g.identifies.push(['c1', null, 'seven@example.com', day(3)])
  return g
}

/** A random graph: customers, anonymous ids, emails, devices, rows scattered over days around as_of. */
export function randomGraph(seed: number, size = 30): GraphData {
  const r = rng(seed)
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
  const g = empty()
  const customers = Array.from({length: size}, (_, i) => `c${i}`)
  g.customers.push(...customers.filter(() => r() < 0.9))
  const anon = Array.from({length: size * 3}, (_, i) => `a${i}`)
  const emails = Array.from({length: size}, (_, i) => `u${i}@x.com`)
  const devices = Array.from({length: size}, (_, i) => `d${i}`)
  const maybe = <T>(x: T, p: number): T | null => (r() < p ? x : null)
  const ts = () => (r() < 0.05 ? null : day(Math.floor(r() * 40) - 5, Math.floor(r() * 24)))
  const email = () => {
    const e = pick([...emails, 'none@example.com'])
    return r() < 0.3 ? ` ${e.toUpperCase()} ` : e
  }
  for (let i = 0; i < size * 2; i++) g.identifies.push([maybe(pick(customers), 0.6), maybe(pick([...anon, 'undefined', '']), 0.7), maybe(email(), 0.4), ts()])
  for (let i = 0; i < size / 2; i++) g.profiles.push([pick(customers), maybe(email(), 0.8)])
  for (let i = 0; i < size * 3; i++) g.events.push([maybe(pick(customers), 0.2), maybe(pick(anon), 0.8), maybe(pick(devices), 0.5), r() < 0.85 ? 'page_view' : 'click', ts()])
  return g
}

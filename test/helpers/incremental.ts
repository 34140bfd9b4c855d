// Twin projects for incremental runs (SPEC §13): the same models and segments, one with
// `incremental:` and one without, each on its own in-memory DuckDB holding the same source rows.
// After every run both must hold the same output tables, row for row.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fitProject} from '../../src/models/fit-project.js'
import {runProject, type RunResult} from '../../src/run/run-project.js'
import {OUTPUT_TABLES} from '../../src/warehouse/tables.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {writeProject} from './project.js'

export const MODELS = `
entities:
  customer:
    table: main.customers
    key: customer_id
    attributes: { country: string, signup_at: timestamp }
events:
  order:
    entity: customer
    table: main.orders
    key: customer_id
    timestamp: ordered_at
    LOADED_ORDERS
    properties: { amount: number, category: string }
  page_view:
    entity: customer
    table: main.events
    key: customer_id
    timestamp: ts
    LOADED_EVENTS
    where: { event_type: page_view }
    properties: { event_type: string, path: string }
  add_to_cart:
    entity: customer
    table: main.events
    key: customer_id
    timestamp: ts
    LOADED_EVENTS
    where: { event_type: add_to_cart }
    properties: { event_type: string, path: string }
traits:
  orders_total:     { event: order, aggregate: count }
  lifetime_revenue: { event: order, aggregate: sum, of: amount }
  spend_30d:        { event: order, within: 30d, aggregate: sum, of: amount }
  m_score:          { ntile: 3, of: lifetime_revenue }
  value_cluster:    { fit: kmeans, k: 2, of: [orders_total, lifetime_revenue] }
`

export type SegmentDoc = Record<string, unknown>

/** Every aggregate kind, windows of hours and days, between, before, a sequence, NTILE, a group, a holdout, a fitted trait. */
export function baseSegments(): SegmentDoc[] {
  const seg = (name: string, rule: unknown, extra: Record<string, unknown> = {}): SegmentDoc => ({segment: name, entity: 'customer', rule, ...extra})
  return [
    seg('recent_buyer', {event: 'order', within: '36h'}),
    seg('spender_30d', {trait: 'spend_30d', gte: 20}, {holdout: {percent: 40, salt: 's'}}),
    seg('avg_high', {event: 'order', within: '20d', aggregate: 'avg', of: 'amount', gte: 10}),
    seg('stopped', {all: [{event: 'order', between: ['20d', '7d']}, {not: {event: 'order', within: '7d'}}]}),
    seg('old_timer', {event: 'order', before: '10d', aggregate: 'min', of: 'timestamp', lte: '-15d'}),
    seg('max_big', {event: 'order', within: '14d', aggregate: 'max', of: 'amount', gte: 15}),
    seg('first_a', {event: 'order', aggregate: 'first', of: 'category', eq: 'a'}),
    seg('last_b', {event: 'order', within: '14d', aggregate: 'last', of: 'category', eq: 'b'}),
    seg('varied', {event: 'order', within: '25d', aggregate: 'count_distinct', of: 'category', gte: 2}),
    seg('fav_b', {event: 'order', aggregate: 'most_frequent', of: 'category', eq: 'b'}),
    seg('weekly', {event: 'page_view', within: '21d', aggregate: 'active_periods', period: '7d', gte: 2}),
    // min_count 2 over a window of two periods and a part of one: counts capped per day in the mask
    seg('busy_weeks', {event: 'page_view', within: '15d', aggregate: 'active_periods', period: '7d', min_count: 2, gte: 2}),
    // 70 days at 2 bits a day: more than a mask holds, so its window is read from the source, so its window is read from the source
    seg('daily_visitor', {event: 'page_view', within: '70d', aggregate: 'active_periods', period: '1d', min_count: 2, gte: 2}),
    seg('pricing', {event: 'page_view', where: {path: {starts_with: '/pricing'}}, within: '5d', gte: 2}),
    seg('cart_then_order', {sequence: [{event: 'add_to_cart'}, {event: 'order'}], within: '10d', max_gap: '2d'}),
    seg('top_spenders', {trait: 'm_score', eq: 3}),
    seg('us_spender', {all: [{attribute: 'country', eq: 'US'}, {trait: 'lifetime_revenue', gte: 30}]}),
    seg('cluster_one', {trait: 'value_cluster', eq: 1}),
    seg('active', {event: 'order', within: '10d'}),
    seg('lapsed', {event: 'order', within: '40d'}),
    seg('gone', {trait: 'orders_total', gte: 1}),
    // one event decides these: an event on a window's edge day moves someone
    seg('ordered_3d', {event: 'order', within: '3d'}),
    seg('viewed_4d', {event: 'page_view', within: '4d'}),
    seg('carted_8d', {event: 'add_to_cart', within: '8d', where: {path: '/docs'}}),
    seg('ordered_between', {event: 'order', between: ['12d', '2d']}),
    seg('ordered_before', {event: 'order', before: '9d', aggregate: 'count', gte: 2}),
    seg('spent_6d', {event: 'order', within: '6d', aggregate: 'sum', of: 'amount', gte: 8}),
    {group: 'stage', entity: 'customer', segments: ['active', 'lapsed', 'gone']},
  ]
}

/** Definition edits a pull request might make, applied to both twins between runs. */
export const EDITS: Array<{name: string; apply: (s: SegmentDoc[]) => void}> = [
  {name: 'threshold', apply: (s) => ((find(s, 'avg_high').rule as Record<string, unknown>).gte = 12)},
  {name: 'wider window', apply: (s) => ((find(s, 'max_big').rule as Record<string, unknown>).within = '45d')},
  {name: 'new aggregate', apply: (s) => s.push({segment: 'cheap_items', entity: 'customer', rule: {event: 'order', within: '9d', aggregate: 'min', of: 'amount', lte: 3}})},
  {name: 'removed segment', apply: (s) => s.splice(s.findIndex((x) => x.segment === 'varied'), 1)},
  {name: 'hours window', apply: (s) => ((find(s, 'recent_buyer').rule as Record<string, unknown>).within = '5h')},
]

/**
 * The base segments without what makes an entity's evaluation global (NTILE, active_periods, a
 * fitted trait's segment), and with relative-time conditions on an attribute: runs can evaluate
 * touched keys only (SPEC §13).
 */
export function localSegments(): SegmentDoc[] {
  // old_timer compares an aggregate (min of the timestamp) with a relative time: global too
  const global = new Set(['weekly', 'busy_weeks', 'daily_visitor', 'top_spenders', 'cluster_one', 'old_timer'])
  return [
    ...baseSegments().filter((x) => !global.has(String(x.segment))),
    {segment: 'new_signup', entity: 'customer', rule: {attribute: 'signup_at', gte: '-20d'}},
    {segment: 'new_and_buying', entity: 'customer', rule: {all: [{attribute: 'signup_at', gte: '-30d'}, {event: 'order', within: '10d'}]}},
  ]
}

/** Edits that make the entity global for a run (and `refit`: a new version of the fitted trait), applied between runs. */
export const GLOBAL_EDITS: Array<{name: string; apply: (s: SegmentDoc[]) => void}> = [
  {name: 'ntile segment', apply: (s) => s.push({segment: 'top_spenders', entity: 'customer', rule: {trait: 'm_score', eq: 3}})},
  {name: 'fitted trait segment', apply: (s) => s.push({segment: 'cluster_one', entity: 'customer', rule: {trait: 'value_cluster', eq: 1}})},
  {name: 'refit', apply: () => undefined},
  {name: 'drop ntile', apply: (s) => s.splice(s.findIndex((x) => x.segment === 'top_spenders') >>> 0, s.some((x) => x.segment === 'top_spenders') ? 1 : 0)},
]

const find = (s: SegmentDoc[], name: string) => s.find((x) => x.segment === name)!

export function writeSegments(dir: string, segments: SegmentDoc[]): void {
  writeFileSync(join(dir, 'segments/all.yaml'), segments.map((s) => stringify(s)).join('---\n'))
}

/** `readWhole`: the twins' data are tiny, so by default (auto) every relation would be read whole; the property needs kept state. */
export function twinProject(incremental: string | undefined, segments: SegmentDoc[], loadedAt = false, readWhole: 'auto' | 'never' = 'never'): string {
  const models = MODELS.replace('LOADED_ORDERS', loadedAt ? 'loaded_at: _loaded_at' : '').replace(/LOADED_EVENTS/g, loadedAt ? 'loaded_at: _loaded_at' : '')
  const config = `name: t\ntargets:\n  local: {type: duckdb, path: ":memory:"}\n${incremental ? `incremental:\n  late_arrival: ${incremental}\n  read_whole: ${readWhole}\n` : ''}`
  const dir = writeProject({'segc.yaml': config, 'models/shop.yaml': models, 'segments/all.yaml': ''})
  writeSegments(dir, segments)
  return dir
}

export const SOURCE_DDL = [
  'CREATE TABLE main.customers (customer_id VARCHAR, country VARCHAR, signup_at TIMESTAMP)',
  'CREATE TABLE main.orders (customer_id VARCHAR, ordered_at TIMESTAMP, amount DOUBLE, category VARCHAR, _loaded_at TIMESTAMP)',
  'CREATE TABLE main.events (customer_id VARCHAR, ts TIMESTAMP, event_type VARCHAR, path VARCHAR, _loaded_at TIMESTAMP)',
]

export async function openTwin(dir: string): Promise<WarehouseConnection> {
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
  for (const s of SOURCE_DDL) await conn.execute(s)
  return conn
}

/** A SQL literal of a JS value (test data only: strings are quoted and escaped). */
export const lit = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : v instanceof Date ? `TIMESTAMP '${v.toISOString().replace('T', ' ').replace('Z', '')}'` : `'${String(v).replace(/'/g, "''")}'`)

export async function insert(conns: WarehouseConnection[], table: string, rows: unknown[][]): Promise<void> {
  if (!rows.length) return
  const sql = `INSERT INTO ${table} VALUES ${rows.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`
  for (const c of conns) await c.execute(sql)
}

/** Columns that differ between equivalent runs of two twins: run ids, clocks, and how a run read its sources. */
const VOLATILE = new Set(['run_id', 'started_at', 'finished_at', 'first_run_id', 'changed_run_id', 'removed_run_id', 'segc_version', 'request_id', 'requested_at', 'fitted_at', 'mode'])

/** Every output table but the incremental state's own, sorted, without volatile columns. */
export async function outputs(conn: WarehouseConnection): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const t of OUTPUT_TABLES) {
    if (t.name.startsWith('segment_state') || !(await conn.tableExists('segments', t.name))) continue
    const cols = t.columns.map((c) => c.name).filter((c) => !VOLATILE.has(c))
    const rows = await conn.query(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM segments."${t.name}" ORDER BY ALL`)
    out[t.name] = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v)))
  }
  return out
}

export async function run(dir: string, conn: WarehouseConnection, asOf: Date, opts: {full?: boolean} = {}): Promise<RunResult> {
  return runProject({project: dir, asOf: asOf.toISOString(), connection: conn, ...opts})
}

export async function fit(dir: string, conn: WarehouseConnection, asOf: Date): Promise<void> {
  await fitProject({project: dir, asOf: asOf.toISOString(), connection: conn, traits: ['value_cluster']})
}

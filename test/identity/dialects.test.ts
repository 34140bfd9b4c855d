// SPEC §20 in the three dialects: the attribution test's project (anonymous profiles, an
// ambiguous identifier, a placeholder, a merge between two runs) run on DuckDB, in BigQuery's
// SQL on ZetaSQL's reference evaluator, and in Snowflake's SQL translated by an independent
// translator and run on DuckDB, must leave the same identity map, membership, transitions and
// profile after each run. The DuckDB values themselves are checked by hand in attribution.test.ts.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements, relationColumns} from '../../src/fixtures/fixture-tables.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'
import {MODELS, SEGMENTS} from './attribution-fixture.js'

const TARGETS = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  bq: {type: bigquery, project: acme-test, dataset: segments, location: US}
  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}
`
const ts = (d: string) => `${d}T00:00:00Z`
// the rows of attribution-fixture.ts's DATA
const ROWS: Record<string, Array<Record<string, unknown>>> = {
  'main.customers': [['c1', 'pro'], ['c2', 'free'], ['c3', 'pro'], ['c4', 'free']].map(([customer_id, plan]) => ({customer_id, plan})),
  'main.identifies': (
    [
      ['c1', 'a1', ' Jane@X.com ', '2026-05-10'],
      ['c1', 'a_amb', null, '2026-05-11'],
      ['c2', 'a_amb', null, '2026-05-11'],
      ['c2', null, 'bob@x.com', '2026-05-12'],
      ['c1', 'a_late', null, '2026-07-01'],
    ] as const
  ).map(([user_id, anonymous_id, email, t]) => ({user_id, anonymous_id, email, ts: ts(t)})),
  'main.web_events': (
    [
      [null, 'a1', null, '2026-05-01'],
      [null, 'a1', null, '2026-05-02'],
      ['c1', null, null, '2026-05-10'],
      [null, 'a_late', null, '2026-05-03'],
      [null, 'a9', null, '2026-05-04'],
      [null, 'a9', 'dev9', '2026-05-05'],
      ['c3', null, 'd3', '2026-05-06'],
      [null, 'undefined', 'd3', '2026-05-07'],
      [null, 'a_amb', null, '2026-05-08'],
      [null, 'a1', 'dev1', '2026-05-20'],
    ] as const
  ).map(([user_id, anonymous_id, device, t]) => ({user_id, anonymous_id, device, ts: ts(t)})),
  'main.clicks': (
    [
      ['a_amb', 'd3', '2026-05-09'],
      ['a9', 'd3', '2026-05-09'],
      ['zzz', 'd3', '2026-05-09'],
    ] as const
  ).map(([anonymous_id, device, t]) => ({anonymous_id, device, ts: ts(t)})),
}
// orders whose scan is grouped by identifiers first (src/generate/pre-aggregate.ts): sum, avg,
// min and max regrouped per profile, in every dialect; the last one lands between the runs
ROWS['main.orders'] = (
  [
    ['c1', null, null, 10.5, '2026-05-20'],
    [null, 'a1', 'd3', 2.25, '2026-05-21'],
    [null, 'a1', 'd3', 0.125, '2026-05-25'],
    [null, 'a_amb', 'd3', 4, '2026-05-22'],
    [null, 'a9', null, -1.125, '2026-05-23'],
    [null, 'a_late', null, null, '2026-05-24'],
    [null, 'a_late', null, 3, '2026-06-20'],
  ] as const
).map(([user_id, anonymous_id, device, amount, t]) => ({user_id, anonymous_id, device, amount, ts: ts(t)}))
const ORDERS = `  order:
    entity: customer
    table: main.orders
    timestamp: ts
    ids: { key: user_id, anonymous_id: anonymous_id, device: device }
    properties: { amount: number }
traits:
  spend: { event: order, aggregate: sum, of: amount }
  avg_spend: { event: order, aggregate: avg, of: amount }
  min_spend: { event: order, aggregate: min, of: amount }
  last_order_at: { event: order, aggregate: max, of: timestamp }
`
const RUNS = ['2026-06-01T00:00:00.000Z', '2026-07-02T00:00:00.000Z']

function project(bare = false): string {
  const models = MODELS(true).replace('profile: [views, clicks]', 'profile: [views, clicks, spend, avg_spend, min_spend, last_order_at]').replace('traits:\n', ORDERS)
  const dir = writeProject({'models/m.yaml': bare ? models.replaceAll('main.', '') : models, 'segments/s.yaml': SEGMENTS})
  writeFileSync(join(dir, 'segc.yaml'), TARGETS)
  return dir
}

const READS = {
  identities: (s: string) => `SELECT kind, value, entity_key, status, distance, first_seen FROM ${s}.segment_identities_customer`,
  membership: (s: string) => `SELECT segment, entity_key FROM ${s}.segment_membership`,
  transitions: (s: string) => `SELECT segment, entity_key, change, cause FROM ${s}.segment_transitions`,
  profile: (s: string) => `SELECT entity_key, views, clicks, spend, avg_spend, min_spend, last_order_at, in_viewers, in_clickers, in_no_plan FROM ${s}.segment_profiles_customer`,
}

const normal = (rows: Array<Record<string, unknown>>) =>
  rows
    .map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => {
          const x = typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v
          if (typeof x === 'string' && /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d/.test(x)) return [k.toLowerCase(), new Date(x.replace(' ', 'T') + (/Z|[+-]\d\d(:?\d\d)?$/.test(x) ? '' : 'Z')).toISOString()]
          if (typeof x === 'boolean') return [k.toLowerCase(), x ? 1 : 0]
          return [k.toLowerCase(), x ?? null]
        }),
      ),
    )
    .map((r) => JSON.stringify(r))
    .sort()

type Snapshot = Record<keyof typeof READS, string[]>

async function snapshot(q: (sql: string) => Promise<Array<Record<string, unknown>>>, schema: string): Promise<Snapshot> {
  const out = {} as Snapshot
  for (const [name, read] of Object.entries(READS)) out[name as keyof Snapshot] = normal(await q(read(schema)))
  return out
}

async function onDuckDB(target: 'local' | 'sf'): Promise<{after: Snapshot[]; statements: string[]}> {
  const dir = project()
  const v = validOrThrow(dir)
  const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, ROWS)) await duck.execute(s)
    const conn: WarehouseConnection & {translated?: string[]} = target === 'sf' ? await snowflakeOnDuckDB(duck) : duck
    const after: Snapshot[] = []
    for (const asOf of RUNS) {
      await runProject({project: dir, target, asOf, connection: conn})
      after.push(await snapshot((s) => duck.query(s), 'segments'))
    }
    return {after, statements: conn.translated ?? []}
  } finally {
    await duck.close()
  }
}

async function onZetaSQL(): Promise<{after: Snapshot[]; statements: string[]}> {
  const dir = project(true)
  const v = validOrThrow(dir)
  const given = [...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: ROWS[`main.${name}`] ?? []}))
  const bq = new ZetaWarehouse('segments', given)
  const after: Snapshot[] = []
  for (const asOf of RUNS) {
    await runProject({project: dir, target: 'bq', asOf, connection: bq})
    after.push(await snapshot((s) => bq.query(s), '`segments`'))
  }
  return {after, statements: bq.statements}
}

useZetaSQL()

describe('identity in three dialects', () => {
  it('DuckDB, BigQuery on ZetaSQL and Snowflake translated leave the same map, membership, transitions and profile after each run', {timeout: 600_000}, async () => {
    const duck = await onDuckDB('local')
    // the runs took the paths under test: a merge, ambiguous and anonymous identifiers
    expect(duck.after[1]!.transitions.some((t) => t.includes('"merged"'))).toBe(true)
    expect(duck.after[0]!.identities.some((t) => t.includes('"ambiguous"'))).toBe(true)
    expect(duck.after[0]!.identities.some((t) => t.includes('"anonymous"'))).toBe(true)
    // 4 keys, a1 a_amb a_late a9, two emails, dev9 d3 dev1
    expect(duck.after[0]!.identities).toHaveLength(13)
    expect(duck.after[0]!.profile).toHaveLength(6)
    // c1's orders by hand: its key's 10.5 and a1's 2.25 and 0.125 (a1 before d3); c3 gets a_amb's 4 through d3
    expect(duck.after[0]!.profile.find((r) => r.includes('"entity_key":"c1"'))).toContain('"spend":12.875,"avg_spend":4.291666667,"min_spend":0.125,"last_order_at":"2026-05-25T00:00:00.000Z"')
    expect(duck.after[0]!.profile.find((r) => r.includes('"entity_key":"c3"'))).toContain('"spend":4,"avg_spend":4,"min_spend":4')
    const bq = await onZetaSQL()
    expect(bq.statements.some((s) => /TRANSLATE\(/.test(s))).toBe(true)
    for (let i = 0; i < RUNS.length; i++) expect(bq.after[i], `BigQuery after run ${i + 1}`).toEqual(duck.after[i])
    const sf = await onDuckDB('sf')
    expect(sf.statements.length).toBeGreaterThan(20)
    for (let i = 0; i < RUNS.length; i++) expect(sf.after[i], `Snowflake after run ${i + 1}`).toEqual(duck.after[i])
  })
})

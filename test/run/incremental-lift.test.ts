import {createHash} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {relationColumns} from '../../src/fixtures/fixture-tables.js'
import {forget} from '../../src/forget/forget.js'
import {runProject, type RunResult} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {insert, lit, openTwin, outputs, SOURCE_DDL, twinProject, writeSegments, type SegmentDoc} from '../helpers/incremental.js'
import {validOrThrow} from '../helpers/project.js'
import {snowflakeOnDuckDB} from '../helpers/snowflake-duckdb.js'
import {useZetaSQL, ZetaWarehouse} from '../helpers/zetasql.js'

// Issue 32: the lift statement's outcome events from kept state. An incremental project keeps,
// per measured segment and key, the first entry, its holdout flag and whether the outcome came
// in the window after it; a run reads only the history rows since the last run and the outcome
// events after the last run's frozen point. Its segment_lift rows must equal, at every run, those
// of a twin run full (which reads the whole history and every outcome event), through late
// events, entries whose window ends near a run, forget, --full, --rebuild, --select, edits of a
// measure and a measured segment removed.

const T0 = Date.parse('2026-03-01T00:00:00Z')
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const LATE = 2 * DAY
const FIRST = T0 + 30 * DAY
const KEYS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']
const ts = (ms: number) => new Date(ms)

/** Segments with a holdout and a measure: outcomes of another event, of the same event, with a where, windows of hours and days. */
function liftSegments(): SegmentDoc[] {
  return [
    {segment: 'buyer', entity: 'customer', rule: {event: 'order', within: '4d'}, holdout: {percent: 50, salt: 's'}, measure: {outcome: {event: 'page_view', within: '3d'}}},
    {segment: 'viewer', entity: 'customer', rule: {event: 'page_view', within: '2d'}, holdout: {percent: 40, salt: 'v'}, measure: {outcome: {event: 'order', within: '30h', where: {category: 'a'}}}},
    {segment: 'carter', entity: 'customer', rule: {event: 'add_to_cart', within: '6d'}, holdout: {percent: 30}, measure: {outcome: {event: 'order', within: '5d'}}},
    {segment: 'plain', entity: 'customer', rule: {event: 'order', within: '10d'}},
  ]
}

/** Edits between runs: a measure's window, its outcome's filter, a measured segment removed and one added, a rule edit that moves members. */
const EDITS: Array<(s: SegmentDoc[]) => void> = [
  (s) => (((find(s, 'buyer').measure as {outcome: Record<string, unknown>}).outcome.within = '2d')),
  (s) => (((find(s, 'viewer').measure as {outcome: Record<string, unknown>}).outcome.where = {category: 'b'})),
  (s) => s.splice(s.findIndex((x) => x.segment === 'carter') >>> 0, s.some((x) => x.segment === 'carter') ? 1 : 0),
  (s) => (s.some((x) => x.segment === 'late_buyer') ? undefined : s.push({segment: 'late_buyer', entity: 'customer', rule: {event: 'order', within: '1d'}, holdout: {percent: 50, salt: 'l'}, measure: {outcome: {event: 'add_to_cart', within: '2d'}}})),
  (s) => ((find(s, 'buyer').rule as Record<string, unknown>).within = '3d'),
]

const find = (s: SegmentDoc[], name: string) => s.find((x) => x.segment === name) ?? ({measure: {outcome: {}}, rule: {}} as SegmentDoc)

const eventArb = fc.record({
  key: fc.integer({min: 0, max: KEYS.length - 1}),
  kind: fc.constantFrom('order', 'page_view', 'add_to_cart'),
  // near a run and a window's length after it (entries happen at runs), or anywhere
  edge: fc.option(fc.record({run: fc.nat({max: 7}), window: fc.constantFrom(30 * HOUR, 2 * DAY, 3 * DAY, 5 * DAY), by: fc.constantFrom(-1, 0, 1)}), {freq: 4}),
  minute: fc.integer({min: (FIRST - T0 - 5 * DAY) / MIN, max: (FIRST - T0 + 12 * DAY) / MIN}),
  // how long after its timestamp the row lands: within late_arrival
  delay: fc.integer({min: 0, max: LATE / MIN}),
  category: fc.constantFrom('a', 'b', null),
})

const scenarioArb = fc.record({
  events: fc.array(eventArb, {minLength: 80, maxLength: 220}),
  steps: fc.array(fc.constantFrom(1, 7, 24, 30, 49, 72, 24 * 5), {minLength: 4, maxLength: 7}),
  ops: fc.array(fc.record({at: fc.integer({min: 1, max: 7}), kind: fc.constantFrom('forget', 'edit', 'full', 'rebuild', 'select'), which: fc.nat({max: 20})}), {maxLength: 5}),
})
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never

/** the segment_lift rows of the last run, run id aside, in segment order */
async function lastLift(c: WarehouseConnection): Promise<unknown[]> {
  const rows = await c.query(`SELECT l.* EXCLUDE (run_id) FROM segments.segment_lift AS l WHERE run_id = (SELECT run_id FROM segments.segment_runs WHERE status = 'success' ORDER BY finished_at DESC LIMIT 1) ORDER BY segment`)
  return rows.map((r) => JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))))
}

interface Counts {
  runs: number
  incremental: number
  rebuilt: number
  converted: number
  settledKept: number
}

async function scenario(s: Scenario, counts: Counts): Promise<void> {
  let segments = liftSegments()
  const full = twinProject(undefined, segments)
  const inc = twinProject('2d', segments)
  const a = await openTwin(full)
  const b = await openTwin(inc)
  const both = [a, b]
  try {
    await insert(both, 'main.customers', KEYS.map((k, i) => [k, i % 2 ? 'US' : 'DE', ts(T0)]))
    let at = FIRST
    const points = [FIRST, ...s.steps.map((h) => (at += h * HOUR))]
    const landed = new Set<number>()
    const land = async (asOf: number) => {
      const rows = new Map<string, unknown[][]>()
      s.events.forEach((e, i) => {
        const t = e.edge ? (points[Math.min(e.edge.run, points.length - 1)]! + e.edge.window + e.edge.by * MIN) : T0 + e.minute * MIN
        if (landed.has(i) || t + e.delay * MIN > asOf) return
        landed.add(i)
        const key = KEYS[e.key]
        const row = e.kind === 'order' ? ['main.orders', [key, ts(t), 10, e.category, ts(t + e.delay * MIN)]] : ['main.events', [key, ts(t), e.kind, e.category === 'a' ? '/docs' : '/pricing', ts(t + e.delay * MIN)]]
        rows.set(row[0] as string, [...(rows.get(row[0] as string) ?? []), row[1] as unknown[]])
      })
      for (const [table, r] of rows) await insert(both, table, r)
    }
    for (const [i, point] of points.entries()) {
      const flags: {full?: boolean; rebuild?: boolean; select?: string[]} = {}
      for (const op of s.ops.filter((o) => o.at === i)) {
        if (op.kind === 'forget') {
          for (const [dir, c] of [[full, a], [inc, b]] as const) expect((await forget({project: dir, keys: [KEYS[op.which % KEYS.length]!], entity: 'customer', connection: c})).exit_code).toBe(0)
        } else if (op.kind === 'edit') {
          segments = structuredClone(segments)
          EDITS[op.which % EDITS.length]!(segments)
          writeSegments(full, segments)
          writeSegments(inc, segments)
        } else if (op.kind === 'full') flags.full = true
        else if (op.kind === 'rebuild') flags.rebuild = true
        else flags.select = ['plain']
      }
      await land(point)
      // the full twin rebuilds too where the incremental one does, so both histories stay the same
      await runProject({project: full, asOf: ts(point).toISOString(), connection: a, ...(flags.rebuild ? {rebuild: true} : {}), ...(flags.select ? {select: flags.select} : {})})
      const r: RunResult = await runProject({project: inc, asOf: ts(point).toISOString(), connection: b, ...flags})
      counts.runs++
      for (const l of r.lift ?? []) counts[l.how === 'incremental' ? 'incremental' : 'rebuilt']++
      if (flags.full || flags.rebuild) expect(r.lift?.every((l) => l.how === 'rebuilt')).toBe(true)
      const lift = await lastLift(b)
      expect(lift, `run ${i} at ${ts(point).toISOString()}`).toEqual(await lastLift(a))
      counts.converted += lift.reduce((n: number, x) => n + Number((x as {members_converted: number}).members_converted) + Number((x as {holdout_converted: number}).holdout_converted), 0)
      expect(await outputs(b), `run ${i}`).toEqual(await outputs(a))
    }
    // conversions kept as final: the rows no later run reads again
    const kept = await b.query(`SELECT state_table FROM segments.segment_state_sources WHERE source_id LIKE 'lift:%'`)
    for (const k of kept) counts.settledKept += Number((await b.query(`SELECT COUNT(*) AS n FROM segments."${String(k.state_table)}" WHERE converted_frozen = 1`))[0]!.n)
  } finally {
    await a.close()
    await b.close()
  }
}

describe('lift from kept state equals the statement over the whole history (fast-check, seeded)', () => {
  it('late events, entries near the window edge, forget, --full, --rebuild, --select, measure edits: segment_lift equal after every run', async () => {
    const counts: Counts = {runs: 0, incremental: 0, rebuilt: 0, converted: 0, settledKept: 0}
    await fc.assert(fc.asyncProperty(scenarioArb, (s) => scenario(s, counts)), {seed: 20261208, numRuns: 8, endOnFailure: true})
    // both paths ran, and the outcomes were not all zero
    expect(counts.incremental).toBeGreaterThan(counts.runs / 2)
    expect(counts.rebuilt).toBeGreaterThan(8)
    expect(counts.converted).toBeGreaterThan(20)
    expect(counts.settledKept).toBeGreaterThan(0)
  }, 600_000)
})

/** SPEC's holdout rule, computed here: the oracle of who is held out */
const heldOut = (segment: string, salt: string, key: string, percent: number) => parseInt(createHash('md5').update(`${segment}:${salt}:${key}`).digest('hex').slice(0, 8), 16) % 10000 < percent * 100

describe('lift from kept state, by hand', () => {
  // buyer: an order within 4d; measured on a page view within 3d of entering. late_arrival 2d.
  // c0…c5 order on D − 1h and enter at the run on D; c6 orders on D + 3d 23h and enters on D + 4d.
  //   c0: a view on D + 1d                        converted
  //   c1: a view on D + 3d exactly (the window's end, inclusive)   converted
  //   c2: a view on D + 3d + 1 min                not converted
  //   c3: a view on D + 2d that lands on D + 3d 12h, after the run on D + 3d: converted from the run on D + 4d
  //   c4: a view on D + 2d 12h, deleted again before the run on D + 4d (still in the band): converted on D + 3d, not after
  //   c5: no view; forgotten before the run on D + 4d
  //   c6: a view on D + 5d: its window closes on D + 7d, so counted from the run on D + 10d
  const D = Date.parse('2026-04-01T00:00:00Z')
  const segments: SegmentDoc[] = [{segment: 'buyer', entity: 'customer', rule: {event: 'order', within: '4d'}, holdout: {percent: 50, salt: 's'}, measure: {outcome: {event: 'page_view', within: '3d'}}}]
  const view = (key: string, at: number) => [key, ts(at), 'page_view', '/docs', ts(at)]
  const order = (key: string, at: number) => [key, ts(at), 10, 'a', ts(at)]

  /** the counts of the keys given as converted or not, split by SPEC's holdout rule */
  const expected = (converted: Record<string, boolean>) => {
    const keys = Object.keys(converted)
    const out = {members: 0, members_converted: 0, holdout: 0, holdout_converted: 0}
    for (const k of keys) {
      const h = heldOut('buyer', 's', k, 50)
      out[h ? 'holdout' : 'members']++
      if (converted[k]) out[h ? 'holdout_converted' : 'members_converted']++
    }
    return out
  }

  it('late views, the window edge, a view withdrawn in the band, forget and a later entry give the counts derived by hand', async () => {
    const full = twinProject(undefined, segments)
    const inc = twinProject('2d', segments)
    const a = await openTwin(full)
    const b = await openTwin(inc)
    const both = [a, b]
    const counts = async (c: WarehouseConnection) => {
      const [r] = await lastLift(c)
      const {members, members_converted, holdout, holdout_converted} = r as Record<string, number>
      return {members, members_converted, holdout, holdout_converted}
    }
    const step = async (at: number, expect_: ReturnType<typeof expected>, how: string) => {
      await runProject({project: full, asOf: ts(at).toISOString(), connection: a})
      const r = await runProject({project: inc, asOf: ts(at).toISOString(), connection: b})
      expect(r.lift?.map((l) => l.how)).toEqual([how])
      expect(await counts(b), ts(at).toISOString()).toEqual(expect_)
      expect(await counts(a), ts(at).toISOString()).toEqual(expect_)
    }
    try {
      const keys = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']
      // the rule is not vacuous: both sides of the holdout hold some of them
      expect(new Set(keys.map((k) => heldOut('buyer', 's', k, 50))).size).toBe(2)
      await insert(both, 'main.customers', keys.map((k) => [k, 'DE', ts(T0)]))
      await insert(both, 'main.orders', ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'].map((k) => order(k, D - HOUR)))
      await step(D, expected({}), 'rebuilt')
      await insert(both, 'main.events', [view('c0', D + DAY), view('c1', D + 3 * DAY), view('c4', D + 2.5 * DAY)])
      await step(D + 3 * DAY, expected({c0: true, c1: true, c2: false, c3: false, c4: true, c5: false}), 'incremental')
      await insert(both, 'main.events', [view('c2', D + 3 * DAY + MIN), [...view('c3', D + 2 * DAY).slice(0, 4), ts(D + 3.5 * DAY)]])
      await insert(both, 'main.orders', [order('c6', D + 3 * DAY + 23 * HOUR)])
      for (const c of both) await c.execute(`DELETE FROM main.events WHERE customer_id = 'c4'`)
      for (const [dir, c] of [[full, a], [inc, b]] as const) expect((await forget({project: dir, keys: ['c5'], entity: 'customer', connection: c})).exit_code).toBe(0)
      await step(D + 4 * DAY, expected({c0: true, c1: true, c2: false, c3: true, c4: false}), 'incremental')
      await insert(both, 'main.events', [view('c6', D + 5 * DAY)])
      await step(D + 10 * DAY, expected({c0: true, c1: true, c2: false, c3: true, c4: false, c6: true}), 'incremental')
      // the last run read no view of the first entries' windows again: all of them had settled
      const [{state_table: table}] = (await b.query(`SELECT state_table FROM segments.segment_state_sources WHERE source_id = 'lift:customer'`)) as Array<{state_table: string}>
      expect((await b.query(`SELECT ${'segc_key'} AS k, converted, converted_frozen FROM segments."${table}" ORDER BY 1`)).map((r) => [r.k, r.converted, r.converted_frozen])).toEqual([
        ['c0', 1, 1], ['c1', 1, 1], ['c2', 0, 0], ['c3', 1, 1], ['c4', 0, 0], ['c6', 1, 1],
      ])
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe('lift from kept state on BigQuery (ZetaSQL) and Snowflake (translated)', () => {
  // the hand case's data, small: ZetaSQL's evaluator holds every relation in memory
  const D = Date.parse('2026-04-01T00:00:00Z')
  const CONFIG = `name: t
targets:
  local: {type: duckdb, path: ":memory:"}
  bq: {type: bigquery, project: acme-test, dataset: segments, location: US}
  sf: {type: snowflake, account: acme-test, user: segc, password: not-used, warehouse: wh, database: analytics}
incremental: {late_arrival: 2d, read_whole: never}
`
  const segments: SegmentDoc[] = [
    {segment: 'buyer', entity: 'customer', rule: {event: 'order', within: '4d'}, holdout: {percent: 50, salt: 's'}, measure: {outcome: {event: 'page_view', within: '3d'}}},
    {segment: 'viewer', entity: 'customer', rule: {event: 'page_view', within: '2d'}, holdout: {percent: 40, salt: 'v'}, measure: {outcome: {event: 'order', within: '30h', where: {category: 'a'}}}},
  ]
  const project = () => {
    const dir = twinProject('2d', segments)
    writeFileSync(join(dir, 'segc.yaml'), CONFIG)
    // ZetaSQL's service holds root-level tables only: the relations are named without a schema
    const models = join(dir, 'models/shop.yaml')
    writeFileSync(models, readFileSync(models, 'utf8').replace(/table: main\./g, 'table: '))
    return dir
  }
  const keys = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']
  const customers = keys.map((k) => ({customer_id: k, country: 'DE', signup_at: ts(T0)}))
  const orders = (at: number, ks: string[], category = 'a') => ks.map((k) => ({customer_id: k, ordered_at: ts(at), amount: 10, category}))
  const views = (at: number, ks: string[]) => ks.map((k) => ({customer_id: k, ts: ts(at), event_type: 'page_view', path: '/docs'}))
  // what lands before each run: entries, views and orders in and after the windows, a late view
  const LANDS: Array<Record<string, Array<Record<string, unknown>>>> = [
    {'customers': customers, 'orders': orders(D - HOUR, ['c0', 'c1', 'c2', 'c3']), 'events': views(D - 2 * HOUR, ['c3', 'c4', 'c5'])},
    {'orders': [...orders(D + 20 * HOUR, ['c4']), ...orders(D + 30 * HOUR, ['c5'], 'b')], 'events': views(D + DAY, ['c0', 'c1'])},
    {'events': [...views(D + 2 * DAY, ['c2']), ...views(D + 3 * DAY, ['c3'])], 'orders': orders(D + 29 * HOUR, ['c3'])},
    {'events': views(D + 5 * DAY, ['c4'])},
  ]
  const AT = [D, D + 2 * DAY, D + 3 * DAY, D + 9 * DAY]
  const COLUMNS: Record<string, string[]> = {'customers': ['customer_id', 'country', 'signup_at'], 'orders': ['customer_id', 'ordered_at', 'amount', 'category'], 'events': ['customer_id', 'ts', 'event_type', 'path']}
  // ZetaSQL reads a timestamp literal without a zone in America/Los_Angeles: the test's are given in UTC
  const insertSql = (table: string, rows: Array<Record<string, unknown>>, bigquery: boolean) =>
    `INSERT INTO ${bigquery ? '`' + table + '`' : table} (${COLUMNS[table]!.join(', ')}) VALUES ${rows.map((r) => `(${COLUMNS[table]!.map((c) => (bigquery && r[c] instanceof Date ? lit(r[c]).replace(/'$/, "+00:00'") : lit(r[c]))).join(', ')})`).join(', ')}`
  const norm = (rows: Array<Record<string, unknown>>, cols: string[]) =>
    rows.map((r) => JSON.stringify(cols.map((c) => {
      const v = r[c]
      return v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : typeof v === 'object' && v !== null && 'low' in v ? Number(String(v)) : typeof v === 'string' && /^\d{4}-\d\d-\d\d[T ]/.test(v) ? new Date(v.replace(' ', 'T').replace(/(\+00)?$/, v.endsWith('Z') ? '' : 'Z')).toISOString() : v
    }))).sort()
  const LIFT_COLS = ['segment', 'members', 'members_converted', 'holdout', 'holdout_converted']
  const STATE_COLS = ['segment', 'segc_key', 'entered_at', 'holdout', 'entries', 'converted', 'converted_frozen']

  /** every run's lift rows and the kept state after the last run, on one warehouse */
  async function runs(target: 'local' | 'bq' | 'sf'): Promise<{lift: string[][]; state: string[]; statements: string[]}> {
    const dir = project()
    const duck = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: ':memory:'}, dir)
    const v = validOrThrow(dir)
    const bq = target === 'bq' ? new ZetaWarehouse('segments', [...relationColumns(v.project)].map(([name, columns]) => ({name, columns: [...columns], rows: []}))) : undefined
    try {
      if (target !== 'bq') for (const s of SOURCE_DDL) await duck.execute(s)
      const conn: WarehouseConnection = bq ?? (target === 'sf' ? await snowflakeOnDuckDB(duck) : duck)
      const lift: string[][] = []
      let last = 0
      for (const [i, at] of AT.entries()) {
        for (const [table, rows] of Object.entries(LANDS[i]!)) {
          await (bq ?? duck).execute(insertSql(table, rows, bq !== undefined))
        }
        last = bq?.statements.length ?? 0
        const r = await runProject({project: dir, target, asOf: ts(at).toISOString(), connection: conn})
        expect(r.lift?.map((l) => l.how)).toEqual([i === 0 ? 'rebuilt' : 'incremental'])
        lift.push(norm(await conn.query(`SELECT * FROM ${target === 'bq' ? '`segments`.`segment_lift`' : 'segments.segment_lift'} WHERE run_id = '${r.run_id}'`), LIFT_COLS))
      }
      const table = String((await conn.query(`SELECT state_table FROM ${target === 'bq' ? '`segments`.`segment_state_sources`' : 'segments.segment_state_sources'} WHERE source_id = 'lift:customer'`))[0]!.state_table)
      const state = norm(await conn.query(`SELECT * FROM ${target === 'bq' ? `\`segments\`.\`${table}\`` : `segments.${table}`}`), STATE_COLS)
      return {lift, state, statements: bq?.statements.slice(last) ?? []}
    } finally {
      await duck.close()
    }
  }

  useZetaSQL()

  it('four runs give the DuckDB runs\' lift rows and kept state; the last run reads the outcome events by plain ranges', {timeout: 600_000}, async () => {
    const duck = await runs('local')
    // not vacuous: conversions on both segments by the last run
    expect(duck.lift[3]!.length).toBe(2)
    expect(duck.state.filter((r) => JSON.parse(r)[5] === 1).length).toBeGreaterThan(2)
    const bq = await runs('bq')
    expect(bq.lift).toEqual(duck.lift)
    expect(bq.state).toEqual(duck.state)
    const sf = await runs('sf')
    expect(sf.lift).toEqual(duck.lift)
    expect(sf.state).toEqual(duck.state)
    // the last run's statements on the outcome events: plain ranges on the bare timestamp (sqlglot reads them)
    const RANGES = fileURLToPath(new URL('../adapters/tools/sqlglot-ranges.py', import.meta.url))
    const lifted = bq.statements.filter((s) => /segc_lift_moved/.test(s) && /CREATE/.test(s))
    expect(lifted).toHaveLength(2)
    const r = spawnSync('/usr/bin/python3', [RANGES], {input: JSON.stringify({dialect: 'bigquery', statements: lifted, tables: {'orders': 'ordered_at', 'events': 'ts'}}), encoding: 'utf8', maxBuffer: 1 << 26})
    expect(r.status, r.stderr).toBe(0)
    const checked = JSON.parse(r.stdout) as {ranges: number; violations: string[]}
    expect(checked.violations).toEqual([])
    expect(checked.ranges).toBeGreaterThanOrEqual(4)
  })
})

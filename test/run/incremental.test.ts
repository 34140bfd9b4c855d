import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {invariantViolations} from '../helpers/state.js'
import {baseSegments, EDITS, fit, GLOBAL_EDITS, localSegments, insert, openTwin, outputs, run, twinProject, writeSegments, type SegmentDoc} from '../helpers/incremental.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'

// SPEC §13's promise, as a property: random event streams over many days — new events, late
// events within late_arrival, new and removed entities, changed attributes and definition edits
// between runs — and after every run every output table of an incremental project equals, row
// for row, that of its twin run full at the same as_of.

const T0 = Date.parse('2026-03-01T00:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const LATE = 2 * DAY
const FIRST = T0 + 45 * DAY
const KEYS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'zz', null]

const eventArb = fc.record({
  key: fc.integer({min: 0, max: KEYS.length - 1}),
  kind: fc.constantFrom('order', 'page_view', 'add_to_cart', 'signup'),
  // minutes after T0, most in the weeks the runs' windows cover, up to past the last run
  minute: fc.oneof(fc.integer({min: 0, max: (FIRST - T0 + 20 * DAY) / 60_000}), fc.integer({min: (FIRST - T0 - 16 * DAY) / 60_000, max: (FIRST - T0 + 12 * DAY) / 60_000})),
  // how long after its timestamp the row lands: within late_arrival
  delay: fc.integer({min: 0, max: LATE / 60_000}),
  // quarters: exact in binary, so a sum is the same in any order even as a double
  amount: fc.integer({min: 0, max: 120}).map((q) => q / 4),
  category: fc.constantFrom('a', 'b', 'c', null),
  path: fc.constantFrom('/pricing', '/pricing/plans', '/docs', null),
})

const scenarioArb = fc.record({
  customers: fc.integer({min: 3, max: 8}),
  events: fc.array(eventArb, {minLength: 40, maxLength: 220}),
  // hours between runs: within a day, across day boundaries, days apart
  steps: fc.array(fc.constantFrom(1, 5, 13, 24, 26, 49, 79, 24 * 6), {minLength: 3, maxLength: 7}),
  ops: fc.array(fc.record({at: fc.integer({min: 1, max: 5}), kind: fc.constantFrom('add', 'remove', 'change', 'edit', 'forget'), which: fc.nat({max: 20})}), {maxLength: 6}),
})

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never
type Ev = Scenario['events'][number]

const ts = (ms: number) => new Date(ms)

function rowOf(e: Ev, loadedAt: number): {table: string; row: unknown[]} {
  const key = KEYS[e.key]
  const at = ts(T0 + e.minute * 60_000)
  if (e.kind === 'order') return {table: 'main.orders', row: [key, at, e.amount, e.category, ts(loadedAt)]}
  return {table: 'main.events', row: [key, at, e.kind, e.path, ts(loadedAt)]}
}

/** Two fixed customers with distinct histories, so k-means always has two points to fit. */
const FIXED: Ev[] = [
  {key: 0, kind: 'order', minute: 60 * 24, delay: 0, amount: 5, category: 'a', path: null},
  {key: 1, kind: 'order', minute: 60 * 48, delay: 0, amount: 40, category: 'b', path: null},
  {key: 1, kind: 'order', minute: 60 * 72, delay: 0, amount: 12.5, category: 'b', path: null},
]

interface Counts {
  incremental: number
  rebuilt: number
  runs: number
  /** runs that evaluated only touched keys, and the keys they evaluated against the customers there were */
  touched?: number
  touchedKeys?: number
  customers?: number
}

/** `local`: segments runs can evaluate by touched keys, signups near the runs, and edits that make a run global between them. */
async function scenario(s: Scenario, counts: Counts, loadedAt: boolean, local = false): Promise<void> {
  let segments = local ? localSegments() : baseSegments()
  const edits = local ? [...EDITS, ...GLOBAL_EDITS] : EDITS
  const full = twinProject(undefined, segments, loadedAt)
  const inc = twinProject('2d', segments, loadedAt)
  const a = await openTwin(full)
  const b = await openTwin(inc)
  const both: WarehouseConnection[] = [a, b]
  try {
    let present = new Set<number>()
    const addCustomer = async (i: number) => {
      if (present.has(i)) return
      present.add(i)
      // local: signups 20 to 60 days after T0, so `signup_at gte -20d` and -30d cross keys as runs go by
      await insert(both, 'main.customers', [[KEYS[i], i % 2 ? 'US' : 'DE', ts(T0 + (local ? 20 + i * 5 : i) * DAY)]])
    }
    for (let i = 0; i < s.customers; i++) await addCustomer(i)
    const events = [...FIXED, ...s.events]
    const landed = new Set<number>()
    const land = async (asOf: number) => {
      const rows = new Map<string, unknown[][]>()
      events.forEach((e, i) => {
        const at = T0 + e.minute * 60_000 + e.delay * 60_000
        if (landed.has(i) || at > asOf) return
        landed.add(i)
        const {table, row} = rowOf(e, at)
        rows.set(table, [...(rows.get(table) ?? []), row])
      })
      for (const [table, r] of rows) await insert(both, table, r)
    }
    const applied = new Set<string>()
    let asOf = FIRST
    const points = [FIRST, ...s.steps.map((h) => (asOf += h * HOUR))]
    for (const [i, point] of points.entries()) {
      for (const op of s.ops.filter((o) => o.at === i)) {
        if (op.kind === 'add') await addCustomer(op.which % 9)
        else if (op.kind === 'remove') {
          const key = KEYS[op.which % 9]
          for (const c of both) await c.execute(`DELETE FROM main.customers WHERE customer_id = '${key}'`)
          present = new Set([...present].filter((k) => k !== op.which % 9))
        } else if (op.kind === 'change') {
          for (const c of both) await c.execute(`UPDATE main.customers SET country = CASE WHEN country = 'US' THEN 'DE' ELSE 'US' END WHERE customer_id = '${KEYS[op.which % 9]}'`)
        } else if (op.kind === 'forget') {
          // segc forget: erased from state too, and from every NTILE ranking, so both twins still agree
          for (const [dir, c] of [[full, a], [inc, b]] as const) expect((await forget({project: dir, keys: [KEYS[op.which % 9]!], entity: 'customer', connection: c})).exit_code).toBe(0)
        } else {
          const edit = edits[op.which % edits.length]!
          if (edit.name === 'refit') {
            // a new version of the fitted trait: its segments change definition hash, the run is global
            await land(point)
            await fit(full, a, ts(point))
            await fit(inc, b, ts(point))
            continue
          }
          if (applied.has(edit.name)) continue
          applied.add(edit.name)
          segments = structuredClone(segments) as SegmentDoc[]
          edit.apply(segments)
          writeSegments(full, segments)
          writeSegments(inc, segments)
        }
      }
      await land(point)
      if (i === 0) {
        await fit(full, a, ts(point))
        await fit(inc, b, ts(point))
      }
      await run(full, a, ts(point))
      const r = await run(inc, b, ts(point))
      counts.runs++
      for (const x of r.sources ?? []) if (x.how === 'incremental') counts.incremental++
      for (const x of r.sources ?? []) if (x.how === 'rebuilt') counts.rebuilt++
      const touched = r.evaluation?.find((x) => x.entity === 'customer' && x.keys === 'touched')
      if (touched) {
        counts.touched = (counts.touched ?? 0) + 1
        counts.touchedKeys = (counts.touchedKeys ?? 0) + touched.touched!
        counts.customers = (counts.customers ?? 0) + Number((await b.query('SELECT COUNT(*) AS n FROM main.customers'))[0]!.n)
      }
      expect(r.mode).toBe(i === 0 ? 'full' : r.sources!.some((x) => x.how === 'incremental') ? 'incremental' : 'full')
      expect(await outputs(b), `run ${i} at ${ts(point).toISOString()}`).toEqual(await outputs(a))
      expect(await invariantViolations(b)).toEqual([])
    }
  } finally {
    await a.close()
    await b.close()
  }
}

/** two active_periods segments over 14 days in periods of 7: `busy` (2 views a period, in `busyPeriods` of them) and `weekly` */
const maskSegments = (busyPeriods: number): SegmentDoc[] => [
  {segment: 'busy', entity: 'customer', rule: {event: 'page_view', within: '14d', aggregate: 'active_periods', period: '7d', min_count: 2, gte: busyPeriods}},
  {segment: 'weekly', entity: 'customer', rule: {event: 'page_view', within: '14d', aggregate: 'active_periods', period: '7d', gte: 2}},
]

/** the keys of one segment, in order */
const membersOf = async (c: {query(sql: string): Promise<Array<Record<string, unknown>>>}, name: string) => (await c.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = '${name}' ORDER BY 1`)).map((r) => String(r.entity_key))

/**
 * One day of the mask cases: the full twin and the incremental one run at `at` (every run after
 * the first of 06-10 reads kept state), both leave the same tables; the day and who is in each
 * segment then.
 */
async function maskRun(t: Awaited<ReturnType<typeof twins>>, at: string): Promise<[string, string[], string[]]> {
  await run(t.full, t.a, d(at))
  const r = await run(t.inc, t.b, d(at))
  if (at !== '2026-06-10T12:00:00Z') expect(r.sources).toEqual([expect.objectContaining({how: 'incremental'})])
  expect(await outputs(t.b), at).toEqual(await outputs(t.a))
  return [at.slice(5, 10), await membersOf(t.b, 'busy'), await membersOf(t.b, 'weekly')]
}

describe('incremental runs equal full runs (fast-check, seeded)', () => {
  it('random streams, late events within late_arrival, entity and definition changes: every output table equal after every run', async () => {
    const counts: Counts = {incremental: 0, rebuilt: 0, runs: 0}
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => scenario(s, counts, false)),
      {seed: 20261206, numRuns: 11, endOnFailure: true},
    )
    // the property exercised both paths: sources read from kept state, and state rebuilt
    expect(counts.incremental).toBeGreaterThan(counts.runs)
    expect(counts.rebuilt).toBeGreaterThan(11)
  }, 600_000)

  it('the same with loaded_at on every event', async () => {
    const counts: Counts = {incremental: 0, rebuilt: 0, runs: 0}
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => scenario(s, counts, true)),
      {seed: 7, numRuns: 5, endOnFailure: true},
    )
    expect(counts.incremental).toBeGreaterThan(counts.runs)
  }, 600_000)

  it('touched keys: a relative-time attribute condition, entities removed and changed, NTILE and fitted-trait segments and a refit between runs', async () => {
    const counts: Counts = {incremental: 0, rebuilt: 0, runs: 0}
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => scenario(s, counts, false, true)),
      {seed: 20261207, numRuns: 8, endOnFailure: true},
    )
    // both paths ran: runs evaluating touched keys only, and runs evaluating every key
    expect(counts.touched).toBeGreaterThan(counts.runs / 3)
    expect(counts.touched).toBeLessThan(counts.runs)
    // and touched runs evaluated fewer keys than there were customers
    expect(counts.touchedKeys).toBeLessThan(counts.customers!)
  }, 600_000)
})

const d = (s: string) => new Date(s)
const TWO = [{segment: 'two', entity: 'customer', rule: {event: 'order', within: '30d', gte: 2}}]

async function twins(loadedAt = false, segments: SegmentDoc[] = TWO, readWhole: 'auto' | 'never' = 'never') {
  const full = twinProject(undefined, segments, loadedAt)
  const inc = twinProject('2d', segments, loadedAt, readWhole)
  const a = await openTwin(full)
  const b = await openTwin(inc)
  return {full, inc, a, b, close: async () => (await a.close(), await b.close())}
}

const members = async (c: WarehouseConnection) => (await c.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = 'two' ORDER BY 1`)).map((r) => String(r.entity_key))

describe('incremental runs, case by case', () => {
  it('an order on the lower edge day of a window: counted while inside it, dropped the run it leaves (hand-derived)', async () => {
    const t = await twins()
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')]])
      // in (as_of − 30d, as_of]: at 05-31 12:00 all three; at 06-01 12:00 the 18:00 order and 05-20; at 06-02 12:00 only 05-20
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-02T06:00:00Z'), 1, 'a', null], ['c1', d('2026-05-02T18:00:00Z'), 1, 'a', null], ['c1', d('2026-05-20T18:00:00Z'), 1, 'a', null]])
      const sizes: number[] = []
      const modes: string[] = []
      for (const at of ['2026-05-31T12:00:00Z', '2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z']) {
        await run(t.full, t.a, d(at))
        const r = await run(t.inc, t.b, d(at))
        sizes.push(r.segments[0]!.size)
        modes.push(r.mode)
      }
      expect(sizes).toEqual([1, 1, 0])
      expect(modes).toEqual(['full', 'incremental', 'incremental'])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it('an event landing later than late_arrival is missed while its day is kept state, as docs/incremental.md says; --full reads it', async () => {
    const t = await twins()
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'DE', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 1, 'a', null], ['c1', d('2026-05-21T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-22T10:00:00Z'), 1, 'a', null]])
      await run(t.full, t.a, d('2026-06-01T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-01T12:00:00Z'))
      // lands after the run, 7 days after its timestamp: its day (05-25) is already state (frozen from 05-30)
      await insert([t.a, t.b], 'main.orders', [['c2', d('2026-05-25T10:00:00Z'), 1, 'a', null]])
      await run(t.full, t.a, d('2026-06-02T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-02T12:00:00Z'))
      expect(await members(t.a)).toEqual(['c1', 'c2'])
      // exactly that event's contribution is missing: c2 has one order in the window, not two
      expect(await members(t.b)).toEqual(['c1'])
      const r = await run(t.inc, t.b, d('2026-06-02T13:00:00Z'), {full: true})
      expect(r.mode).toBe('full')
      expect(await members(t.b)).toEqual(['c1', 'c2'])
    } finally {
      await t.close()
    }
  })

  it('with loaded_at, the same late event is read by load time: no difference from a full run', async () => {
    const t = await twins(true)
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'DE', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 1, 'a', d('2026-05-20T11:00:00Z')], ['c1', d('2026-05-21T10:00:00Z'), 1, 'a', d('2026-05-21T11:00:00Z')], ['c2', d('2026-05-22T10:00:00Z'), 1, 'a', d('2026-05-22T11:00:00Z')]])
      await run(t.full, t.a, d('2026-06-01T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-01T12:00:00Z'))
      await insert([t.a, t.b], 'main.orders', [['c2', d('2026-05-25T10:00:00Z'), 1, 'a', d('2026-06-02T09:00:00Z')]])
      await run(t.full, t.a, d('2026-06-02T12:00:00Z'))
      const r = await run(t.inc, t.b, d('2026-06-02T12:00:00Z'))
      expect(r.mode).toBe('incremental')
      expect(await members(t.b)).toEqual(['c1', 'c2'])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      // and it went into state by load time: the next run reads it from there
      await run(t.full, t.a, d('2026-06-05T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-05T12:00:00Z'))
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it('a state table dropped or changed by hand: a warning, the source rebuilt, the same answer', async () => {
    const t = await twins()
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'DE', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 1, 'a', null], ['c1', d('2026-05-21T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-22T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-23T10:00:00Z'), 1, 'a', null]])
      for (const at of ['2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z']) {
        await run(t.full, t.a, d(at))
        await run(t.inc, t.b, d(at))
      }
      const table = String((await t.b.query('SELECT state_table FROM segments.segment_state_sources'))[0]!.state_table)
      // half missing: a key's rows deleted
      await t.b.execute(`DELETE FROM segments."${table}" WHERE segc_key = 'c2'`)
      await run(t.full, t.a, d('2026-06-03T12:00:00Z'))
      let r = await run(t.inc, t.b, d('2026-06-03T12:00:00Z'))
      expect(r.warnings.map((w) => w.code)).toEqual(['state_rebuilt'])
      expect(r.warnings[0]!.message).toMatch(/changed outside segc .*rebuilt from the source/)
      expect(r.sources).toEqual([expect.objectContaining({how: 'rebuilt'})])
      expect(r.mode).toBe('full')
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      // dropped
      await t.b.execute(`DROP TABLE segments."${table}"`)
      await run(t.full, t.a, d('2026-06-04T12:00:00Z'))
      r = await run(t.inc, t.b, d('2026-06-04T12:00:00Z'))
      expect(r.warnings[0]!.message).toMatch(/is missing: rebuilt from the source/)
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      r = await run(t.inc, t.b, d('2026-06-05T12:00:00Z'))
      await run(t.full, t.a, d('2026-06-05T12:00:00Z'))
      expect([r.mode, r.warnings]).toEqual(['incremental', []])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it('segc forget erases a key from state; state written later keeps it out; runs stay incremental and equal to full', async () => {
    const segs: SegmentDoc[] = [...TWO, {segment: 'top', entity: 'customer', rule: {trait: 'm_score', eq: 3}}]
    const t = await twins(false, segs)
    try {
      await insert([t.a, t.b], 'main.customers', ['c1', 'c2', 'c3', "o'k"].map((k) => [k, 'US', d('2026-01-01T00:00:00Z')]))
      const orders = ['c1', 'c2', 'c3', "o'k"].flatMap((k, i) => [0, 1, 2].map((j) => [k, d(`2026-05-${String(10 + j * 5 + i).padStart(2, '0')}T10:00:00Z`), (i + 1) * 10, 'a', null]))
      await insert([t.a, t.b], 'main.orders', orders)
      await run(t.full, t.a, d('2026-06-01T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-01T12:00:00Z'))
      const table = String((await t.b.query('SELECT state_table FROM segments.segment_state_sources'))[0]!.state_table)
      const keyRows = async () => Number((await t.b.query(`SELECT count(*) AS n FROM segments."${table}" WHERE segc_key = 'o''k'`))[0]!.n)
      const before = await keyRows()
      expect(before).toBeGreaterThan(0)
      expect((await forget({project: t.full, keys: ["o'k"], entity: 'customer', connection: t.a})).exit_code).toBe(0)
      const r = await forget({project: t.inc, keys: ["o'k"], entity: 'customer', connection: t.b})
      expect(r.exit_code).toBe(0)
      expect(r.tables[table]).toBe(before)
      expect(await keyRows()).toBe(0)
      // new orders of the erased key (still in the source) do not enter state; the registry's count follows
      await insert([t.a, t.b], 'main.orders', [["o'k", d('2026-06-02T10:00:00Z'), 99, 'a', null]])
      for (const at of ['2026-06-03T12:00:00Z', '2026-06-06T12:00:00Z']) {
        await run(t.full, t.a, d(at))
        const r = await run(t.inc, t.b, d(at))
        expect([r.mode, r.warnings]).toEqual(['incremental', []])
        expect(await outputs(t.b)).toEqual(await outputs(t.a))
      }
      expect(await keyRows()).toBe(0)
      // and a rebuild keeps it out too
      await run(t.full, t.a, d('2026-06-07T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-07T12:00:00Z'), {full: true})
      expect(await keyRows()).toBe(0)
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it("a sequence step exactly at the window's lower bound is outside it, from kept times as from the source (hand-derived)", async () => {
    const segs: SegmentDoc[] = [{segment: 'cart_order', entity: 'customer', rule: {sequence: [{event: 'add_to_cart'}, {event: 'order'}], within: '10d'}}]
    const t = await twins(false, segs)
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'US', d('2026-01-01T00:00:00Z')]])
      // at as_of 06-11 12:00 the window is (06-01 12:00, 06-11 12:00]: c1's cart is on its bound, c2's a second inside
      await insert([t.a, t.b], 'main.events', [['c1', d('2026-06-01T12:00:00Z'), 'add_to_cart', '/docs', null], ['c2', d('2026-06-01T12:00:01Z'), 'add_to_cart', '/docs', null]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-06-02T10:00:00Z'), 5, 'a', null], ['c2', d('2026-06-02T10:00:00Z'), 5, 'a', null]])
      const seen: string[][] = []
      for (const at of ['2026-06-05T12:00:00Z', '2026-06-11T12:00:00Z']) {
        await run(t.full, t.a, d(at))
        const r = await run(t.inc, t.b, d(at))
        expect(r.sources?.every((x) => x.how !== 'full')).toBe(true)
        seen.push((await t.b.query(`SELECT entity_key FROM segments.segment_membership ORDER BY 1`)).map((x) => String(x.entity_key)))
      }
      expect(seen).toEqual([['c1', 'c2'], ['c2']])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it('--select runs keep the state every run shares: no rebuild when the whole project runs next', async () => {
    const segs: SegmentDoc[] = [...TWO, {segment: 'big', entity: 'customer', rule: {event: 'order', within: '20d', aggregate: 'max', of: 'amount', gte: 5}}]
    const t = await twins(false, segs)
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'US', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 9, 'a', null], ['c1', d('2026-05-25T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-28T10:00:00Z'), 2, 'a', null]])
      await run(t.full, t.a, d('2026-06-01T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-01T12:00:00Z'))
      const selected = (dir: string, c: WarehouseConnection, at: string) => runProject({project: dir, asOf: at, connection: c, select: ['big']})
      await selected(t.full, t.a, '2026-06-03T12:00:00Z')
      const r = await selected(t.inc, t.b, '2026-06-03T12:00:00Z')
      expect(r.sources).toEqual([expect.objectContaining({how: 'incremental'})])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      await run(t.full, t.a, d('2026-06-05T12:00:00Z'))
      const all = await run(t.inc, t.b, d('2026-06-05T12:00:00Z'))
      expect(all.sources).toEqual([expect.objectContaining({how: 'incremental'})])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
    } finally {
      await t.close()
    }
  })

  it('a run rewrites the values per key only of the keys its slices hold (hand-derived)', async () => {
    // at 06-02 12:00 after 06-01 12:00 the count in 30d adds [05-30, 05-31) and subtracts
    // (05-02 12:00, 05-03 12:00]: c3's order of 05-30 is in the first, c1's and c2's in neither
    const t = await twins()
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'US', d('2026-01-01T00:00:00Z')], ['c3', 'US', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 1, 'a', null], ['c1', d('2026-05-21T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-25T10:00:00Z'), 1, 'a', null], ['c3', d('2026-05-29T10:00:00Z'), 1, 'a', null], ['c3', d('2026-05-30T10:00:00Z'), 1, 'a', null]])
      await run(t.full, t.a, d('2026-06-01T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-01T12:00:00Z'))
      const table = String((await t.b.query('SELECT state_table FROM segments.segment_state_sources'))[0]!.state_table)
      // every kept value per key tagged with a mark of its own: a row written again loses it
      await t.b.execute(`UPDATE segments."${table}" SET segc_vslot = -1 WHERE segc_day IS NULL`)
      await run(t.full, t.a, d('2026-06-02T12:00:00Z'))
      await run(t.inc, t.b, d('2026-06-02T12:00:00Z'))
      const marks = await t.b.query(`SELECT segc_key AS k, segc_vslot AS m FROM segments."${table}" WHERE segc_day IS NULL ORDER BY 1`)
      expect(marks.map((r) => [String(r.k), Number(r.m)])).toEqual([['c1', -1], ['c2', -1], ['c3', 0]])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      expect(await members(t.b)).toEqual(['c1', 'c3'])
    } finally {
      await t.close()
    }
  })

  it('touched keys: a new order, an order leaving its window, a signup crossing -20d, a removed and a changed customer; no other key is evaluated (hand-derived)', async () => {
    const segs: SegmentDoc[] = [
      {segment: 'ordered_3d', entity: 'customer', rule: {event: 'order', within: '3d'}},
      {segment: 'new_signup', entity: 'customer', rule: {attribute: 'signup_at', gte: '-20d'}},
      {segment: 'in_us', entity: 'customer', rule: {attribute: 'country', eq: 'US'}},
    ]
    const t = await twins(false, segs)
    const old = d('2026-01-01T00:00:00Z')
    try {
      // c0: an old order and an old signup, nothing moves; c1: orders at 06-10 13:00 (new);
      // c2: ordered 06-08 00:00, inside 3d at 06-10 12:00, outside at 06-11 12:00; c3: signed up
      // 05-22 00:00, inside -20d at 06-10 12:00 (05-21 12:00), outside at 06-11 12:00 (05-22 12:00);
      // c4: removed; c5: country DE → US; c6: untouched, like c0
      await insert([t.a, t.b], 'main.customers', [['c0', 'US', old], ['c1', 'DE', old], ['c2', 'DE', old], ['c3', 'DE', d('2026-05-22T00:00:00Z')], ['c4', 'US', old], ['c5', 'DE', old], ['c6', 'DE', old]])
      await insert([t.a, t.b], 'main.orders', [['c0', d('2026-05-01T10:00:00Z'), 1, 'a', null], ['c2', d('2026-06-08T00:00:00Z'), 1, 'a', null], ['c6', d('2026-05-20T10:00:00Z'), 1, 'a', null]])
      for (const [dir, c] of [[t.full, t.a], [t.inc, t.b]] as const) await run(dir, c, d('2026-06-10T12:00:00Z'))
      await insert([t.a, t.b], 'main.orders', [['c1', d('2026-06-10T13:00:00Z'), 1, 'a', null]])
      for (const c of [t.a, t.b]) {
        await c.execute(`DELETE FROM main.customers WHERE customer_id = 'c4'`)
        await c.execute(`UPDATE main.customers SET country = 'US' WHERE customer_id = 'c5'`)
      }
      await run(t.full, t.a, d('2026-06-11T12:00:00Z'))
      const r = await run(t.inc, t.b, d('2026-06-11T12:00:00Z'))
      const touched = await t.b.query('SELECT k FROM segc_touched__customer ORDER BY 1')
      expect(touched.map((x) => String(x.k))).toEqual(['c1', 'c2', 'c3', 'c4', 'c5'])
      expect(r.evaluation).toEqual([{entity: 'customer', keys: 'touched', why: expect.any(String), touched: 5}])
      expect(await outputs(t.b)).toEqual(await outputs(t.a))
      const of = async (segment: string) => (await t.b.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = '${segment}' ORDER BY 1`)).map((x) => String(x.entity_key))
      expect(await of('ordered_3d')).toEqual(['c1'])
      expect(await of('new_signup')).toEqual([])
      expect(await of('in_us')).toEqual(['c0', 'c5'])
      // the untouched keys' profile rows were left as they were: written by the first run
      const first = String((await t.b.query(`SELECT run_id FROM segments.segment_runs WHERE status = 'success' ORDER BY finished_at LIMIT 1`))[0]!.run_id)
      const kept = await t.b.query(`SELECT entity_key FROM segments.segment_profiles_customer WHERE changed_run_id = '${first}' ORDER BY 1`)
      expect(kept.map((x) => String(x.entity_key))).toEqual(['c0', 'c6'])
    } finally {
      await t.close()
    }
  })

  it('active_periods from a mask per key: periods sliding out, min_count 2 over one day and over two, an event landing late in the band (hand-derived)', async () => {
    // windows (as_of − 14d, as_of], period 0 (as_of − 7d, as_of], period 1 (as_of − 14d, as_of − 7d]
    const t = await twins(false, maskSegments(2))
    const pv = (key: string, at: string) => [key, d(at), 'page_view', '/docs', null]
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'US', d('2026-01-01T00:00:00Z')], ['c3', 'US', d('2026-01-01T00:00:00Z')]])
      // c3: four on 06-04 and no other: a count of 4 is capped before it is packed, or it would
      // spill into the field two days on (06-06), a day of the other period from the second run
      await insert([t.a, t.b], 'main.events', [pv('c3', '2026-06-04T10:00:00Z'), pv('c3', '2026-06-04T10:01:00Z'), pv('c3', '2026-06-04T10:02:00Z'), pv('c3', '2026-06-04T10:03:00Z')])
      // c1: two on 06-01, two on 06-05, one on 06-08; c2: one a day on 05-30, 05-31, 06-06, 06-07,
      // 06-09, and one on 05-27 before every window, in the ring's field that 06-10 reuses
      await insert([t.a, t.b], 'main.events', [
        pv('c2', '2026-05-27T10:00:00Z'),
        pv('c1', '2026-06-01T10:00:00Z'), pv('c1', '2026-06-01T11:00:00Z'), pv('c1', '2026-06-05T09:00:00Z'), pv('c1', '2026-06-05T10:00:00Z'), pv('c1', '2026-06-08T09:00:00Z'),
        pv('c2', '2026-05-30T10:00:00Z'), pv('c2', '2026-05-31T10:00:00Z'), pv('c2', '2026-06-06T10:00:00Z'), pv('c2', '2026-06-07T10:00:00Z'), pv('c2', '2026-06-09T10:00:00Z'),
      ])
      const seen: Array<[string, string[], string[]]> = []
      for (const at of ['2026-06-10T12:00:00Z', '2026-06-11T12:00:00Z', '2026-06-12T12:00:00Z', '2026-06-16T12:00:00Z', '2026-06-20T12:00:00Z']) {
        // c1's view of 06-10 20:00 lands 40 h late, at the third run: in the band then, in the mask from the fourth
        if (at === '2026-06-12T12:00:00Z') await insert([t.a, t.b], 'main.events', [pv('c1', '2026-06-10T20:00:00Z')])
        // c2's view of 06-15 lands on time; at the fifth run it touches c2's row, kept since the
        // third, whose fields for 06-10 on still hold 05-27 to 06-03 (05-31 among them): cleared
        if (at === '2026-06-16T12:00:00Z') await insert([t.a, t.b], 'main.events', [pv('c2', '2026-06-15T10:00:00Z')])
        seen.push(await maskRun(t, at))
      }
      expect(seen).toEqual([
        // c1: 3 views in period 0 (two on one day), 2 in period 1; c2: 3 and 2, each on days of their own
        ['06-10', ['c1', 'c2'], ['c1', 'c2']],
        ['06-11', ['c1', 'c2'], ['c1', 'c2']],
        // c1's period 0 is (06-05 12:00, 06-12 12:00]: 06-08 and the late 06-10 view
        ['06-12', ['c1', 'c2'], ['c1', 'c2']],
        // 06-01 and 05-30/31 slid out; c1: 06-10 alone in period 0, 3 in period 1; c2: 06-15 alone in period 0, 3 in period 1
        ['06-16', [], ['c1', 'c2']],
        // c1: 06-08 and 06-10 in period 1 only; c2: 06-15 in period 0, 06-07 and 06-09 in period 1
        ['06-20', [], ['c2']],
      ])
      // the mask replaced day rows: one row per key with views (c3's, untouched since the first run, too), none per day
      const table = String((await t.b.query('SELECT state_table FROM segments.segment_state_sources'))[0]!.state_table)
      const rows = await t.b.query(`SELECT count(*) FILTER (WHERE segc_day IS NULL) AS k, count(*) FILTER (WHERE segc_day IS NOT NULL) AS d FROM segments."${table}"`)
      expect([Number(rows[0]!.k), Number(rows[0]!.d)]).toEqual([3, 0])
    } finally {
      await t.close()
    }
  })

  it('with loaded_at, views landing days late on days a mask holds are added to their fields, capped at min_count (hand-derived)', async () => {
    const t = await twins(true, maskSegments(1))
    const pv = (at: string, landed: string) => ['c1', d(at), 'page_view', '/docs', d(landed)]
    try {
      await insert([t.a, t.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')]])
      await insert([t.a, t.b], 'main.events', [pv('2026-06-02T10:00:00Z', '2026-06-02T11:00:00Z')])
      const seen: Array<[string, string[], string[]]> = []
      for (const at of ['2026-06-10T12:00:00Z', '2026-06-11T12:00:00Z', '2026-06-13T12:00:00Z']) {
        // land at 06-11 09:00, 6 and 9 days late, on 06-05 and 06-02: kept days (frozen 06-08), neither an edge day
        if (at === '2026-06-11T12:00:00Z') await insert([t.a, t.b], 'main.events', [pv('2026-06-05T10:00:00Z', '2026-06-11T09:00:00Z'), pv('2026-06-02T15:00:00Z', '2026-06-11T09:00:00Z')])
        seen.push(await maskRun(t, at))
      }
      expect(seen).toEqual([
        // period 1 (05-27 12:00, 06-03 12:00]: one view; period 0: none
        ['06-10', [], []],
        // period 0 (06-04 12:00, 06-11 12:00]: 06-05; period 1: 06-02 twice, its field now 2
        ['06-11', ['c1'], ['c1']],
        // period 1 (05-30 12:00, 06-06 12:00]: all three; period 0: none
        ['06-13', ['c1'], []],
      ])
    } finally {
      await t.close()
    }
  })

  it('never slower: a relation is read whole when its state and slices hold as many rows as it does, else from state (hand-derived counts)', async () => {
    // c2's orders of 05-20 and 05-25 are a value in state (count in 30d, before frozen 05-30);
    // at 06-02 12:00 the slices added [05-30, 05-31) and subtracted (05-02 12:00, 05-03 12:00]
    // and the scan reads from 05-31: none of them holds an order. c1's 200 old orders are read by none,
    // and c2's order of 06-10, after every as_of (a backfill's), is counted by neither figure.
    const big = await twins(false, TWO, 'auto')
    try {
      await insert([big.a, big.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')], ['c2', 'US', d('2026-01-01T00:00:00Z')]])
      const old = Array.from({length: 200}, (_, i) => ['c1', new Date(Date.parse('2026-01-10T00:00:00Z') + i * 60_000), 1, 'a', null])
      await insert([big.a, big.b], 'main.orders', [...old, ['c2', d('2026-05-20T10:00:00Z'), 1, 'a', null], ['c2', d('2026-05-25T10:00:00Z'), 1, 'a', null], ['c2', d('2026-06-10T10:00:00Z'), 1, 'a', null]])
      for (const at of ['2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z']) {
        await run(big.full, big.a, d(at))
        await run(big.inc, big.b, d(at))
      }
      const r = (await run(big.inc, big.b, d('2026-06-02T12:00:00Z'))).sources!
      expect(r).toEqual([expect.objectContaining({how: 'incremental', rows: {state: 1, read: 0, whole: 202}})])
      expect(await outputs(big.b)).toEqual(await outputs(big.a))
    } finally {
      await big.close()
    }
    // one customer, one order: 1 row of state and none read is as much as the relation's 1 row
    const tiny = await twins(false, TWO, 'auto')
    try {
      await insert([tiny.a, tiny.b], 'main.customers', [['c1', 'US', d('2026-01-01T00:00:00Z')]])
      await insert([tiny.a, tiny.b], 'main.orders', [['c1', d('2026-05-20T10:00:00Z'), 1, 'a', null]])
      const sources: unknown[] = []
      for (const at of ['2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z']) {
        await run(tiny.full, tiny.a, d(at))
        sources.push((await run(tiny.inc, tiny.b, d(at))).sources)
      }
      expect(sources[1]).toEqual([{source: 'main.orders by customer_id at ordered_at', how: 'rebuilt', why: 'reading it incrementally would read 1 rows of state and 0 of the source, reading it whole 1', rows: {state: 1, read: 0, whole: 1}}])
      expect(await outputs(tiny.b)).toEqual(await outputs(tiny.a))
    } finally {
      await tiny.close()
    }
  })
})

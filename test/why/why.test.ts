import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {explainEntity, type WhyNode} from '../../src/why/why.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import * as aggregates from '../language/aggregate-cases.js'
import {CASES} from '../language/condition-cases.js'
import {AS_OF, MODELS, ROWS} from '../language/fixture-shop.js'
import {cloneProject, exampleCopy, noStackTrace, segc} from '../helpers/cli.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {snapshot, withProjectDb} from '../helpers/state.js'

// `segc why KEY` (SPEC §14): `member` agrees with what a run writes, on the conformance cases
// (hand-derived members) and on the example project for hundreds of customers; the values shown
// are the values compared; nothing is written.

async function withFixture<T>(dir: string, rows: Record<string, Array<Record<string, unknown>>>, f: (c: WarehouseConnection) => Promise<T>): Promise<T> {
  const v = validOrThrow(dir)
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, rows)) await conn.execute(s)
    return await f(conn)
  } finally {
    await conn.close()
  }
}

describe('segc why on the conformance cases', () => {
  it('member is the hand-derived membership of every condition case, for every customer', async () => {
    const segments = CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': segments})
    const keys = ROWS['main.customers'].map((c) => String((c as {id: string}).id))
    await withFixture(dir, ROWS, async (connection) => {
      for (const key of keys) {
        const why = await explainEntity({project: dir, key, asOf: AS_OF, connection})
        expect(why.segments).toHaveLength(CASES.length)
        why.segments.forEach((s, i) => expect(s.member, `${CASES[i]![0]} for ${key}`).toBe(CASES[i]![2].includes(key)))
      }
    })
  })

  it('shows the values compared, and unknown where the value is NULL', async () => {
    const segments = aggregates.CASES.map(([, rule], i) => `segment: agg_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    const dir = writeProject({'models/m.yaml': aggregates.MODELS, 'segments/s.yaml': segments})
    await withFixture(dir, aggregates.ROWS, async (connection) => {
      const rule = (key: string, i: number) => explainEntity({project: dir, key, asOf: AS_OF, connection, segments: [`agg_${i}`]}).then((w) => w.segments[0]!.rule)
      const index = (label: string) => aggregates.CASES.findIndex(([l]) => l === label)
      // c2: apparel and books twice each → apparel (the smallest); c1's first purchase day holds amounts 30 and 20 → 20
      expect(await rule('c2', index('most_frequent, tie → smallest value'))).toMatchObject({kind: 'event', outcome: 'true', value: 'apparel'})
      expect(await rule('c1', index('first: earliest event, tie → smallest value'))).toMatchObject({outcome: 'true', value: 20})
      // c3 bought in three distinct weeks
      expect(await rule('c3', index('active_periods counts weeks with an event'))).toMatchObject({outcome: 'true', value: 3})
      // c4's values are all NULL: most_frequent is NULL, so eq is unknown (and not a member)
      const unknown = (await rule('c4', index('most_frequent'))) as WhyNode
      expect(unknown).toMatchObject({outcome: 'unknown', value: null})
    })
  })
})

describe('segc why on the example project', () => {
  it('agrees with the run for every segment of 120 customers and a few accounts, and writes nothing', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '1', '--customers', '500', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const members = await withProjectDb(dir, (c) => c.query('SELECT segment, entity, entity_key, holdout FROM segments.segment_membership'))
    const keys = await withProjectDb(dir, (c) => c.query(`SELECT customer_id AS k FROM main.customers ORDER BY hash(customer_id) LIMIT 120`))
    const accounts = await withProjectDb(dir, (c) => c.query(`SELECT account_id AS k FROM main.accounts ORDER BY account_id LIMIT 3`))
    const before = await withProjectDb(dir, (c) => snapshot(c))
    const inRun = new Map(members.map((m) => [`${String(m.segment)}|${String(m.entity_key)}`, m.holdout === true]))
    let checked = 0
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: '.segc/warehouse.duckdb'}, dir, {readOnly: true})
    try {
      for (const [entity, list] of [['customer', keys], ['account', accounts]] as const) {
        for (const {k} of list) {
          const why = await explainEntity({project: dir, key: String(k), entity, connection: conn})
          for (const s of why.segments) {
            const id = `${s.segment}|${String(k)}`
            expect(s.member, id).toBe(inRun.has(id))
            if (s.member) expect(s.holdout, id).toBe(inRun.get(id))
            checked++
          }
        }
      }
    } finally {
      await conn.close()
    }
    expect(checked).toBeGreaterThan(120 * 15)
    expect([...inRun.keys()].filter((id) => keys.some((k) => id.endsWith(`|${String(k.k)}`))).length).toBeGreaterThan(60)
    // the CLI: text with marks and values, --json in SPEC's shape, nothing written
    const key = String(keys[0]!.k)
    const text = segc(['why', key, '--entity', 'customer'], {cwd: dir})
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^customer .* at 2026-06-01T00:00:00\.000Z \(target local\)$/m)
    expect(text.stdout).toMatch(/^ {4}[✓✗?] .*\[.*\]$/m)
    const json = JSON.parse(segc(['why', key, '--entity', 'customer', '--segment', 'win_back', '--json'], {cwd: dir}).stdout)
    expect(Object.keys(json).sort()).toEqual(['as_of', 'entity', 'key', 'segments', 'target'])
    expect(json.segments).toHaveLength(1)
    expect(Object.keys(json.segments[0].rule)).toEqual(expect.arrayContaining(['kind', 'text', 'outcome']))
    expect(await withProjectDb(dir, (c) => snapshot(c))).toEqual(before)
  }, 240_000)

  it('bad input: an unknown key, a segment of another entity, an unknown segment or entity: exit 1, said plainly', () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '200', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const cases: Array<[string[], RegExp]> = [
      [['why', "o'brien; drop", '--entity', 'customer'], /^KEY:1:1: error\[bad_flag\]: no customer with key 'o'brien; drop' in main\.customers$/m],
      [['why', 'c00000001', '--entity', 'customer', '--segment', 'expansion_ready_account'], /error\[entity_mismatch\]: segment 'expansion_ready_account' is a segment of account, not customer/],
      [['why', 'c00000001', '--segment', 'win_bak'], /error\[unknown_selection\]: no segment 'win_bak' \(did you mean 'win_back'\?\)/],
      [['why', 'c00000001', '--entity', 'custmer'], /error\[unknown_entity\]: no entity 'custmer' \(did you mean 'customer'\?\)/],
      [['why', 'c00000001'], /pass --entity to say which one 'c00000001' is/],
    ]
    for (const [args, message] of cases) {
      const r = segc(args, {cwd: cloneProject(dir)})
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toMatch(message)
      expect(noStackTrace(r.stderr)).toBe(true)
    }
  })
})

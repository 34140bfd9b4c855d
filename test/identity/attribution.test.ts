// SPEC §20's attribution, end to end on DuckDB: events keyed by an anonymous id, an email or a
// device reach the customer they belong to; every expected value below is read by hand off the
// rows in DATA (the comments say why), not from segc.
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {ExpectationsFailed} from '../../src/project/expectations.js'
import {runProject} from '../../src/run/run-project.js'
import {explainEntity} from '../../src/why/why.js'
import {WarehouseError} from '../../src/warehouse/warehouse.js'
import {writeFileSync} from 'node:fs'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {writeProject} from '../helpers/project.js'
import {A9, ALATE, DATA, MODELS, SEGMENTS} from './attribution-fixture.js'


const open: WarehouseConnection[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

async function setup(anonymous: boolean) {
  const dir = writeProject({'segc.yaml': 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n', 'models/m.yaml': MODELS(anonymous), 'segments/s.yaml': SEGMENTS})
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
  open.push(conn)
  for (const s of DATA) await conn.execute(s)
  return {dir, conn}
}

const members = async (conn: WarehouseConnection) => {
  const out: Record<string, string[]> = {}
  for (const r of await conn.query('SELECT segment, entity_key FROM segments.segment_membership ORDER BY segment, entity_key')) (out[String(r.segment)] ??= []).push(String(r.entity_key))
  return out
}

const profile = async (conn: WarehouseConnection) =>
  Object.fromEntries((await conn.query('SELECT * FROM segments.segment_profiles_customer')).map((r) => [String(r.customer_id ?? r.entity_key), {views: Number(r.views), clicks: Number(r.clicks)}]))

describe('attribution through the identity map', () => {
  it('anonymous: false — pre-signup views reach the customer, an ambiguous identifier falls through, an anonymous one counts for nobody', async () => {
    const {dir, conn} = await setup(false)
    await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    // c1: a1's two views before signup and its own; c3: its view and the one whose anonymous_id
    // is the excluded 'undefined' (device d3); a_amb's view is unattributed (ambiguous, nothing after it).
    // clicks: a_amb is ambiguous → d3 → c3; zzz is no node → d3 → c3; a9 is anonymous → nobody
    expect(await members(conn)).toEqual({viewers: ['c1', 'c3'], clickers: ['c3']})
    const p = await profile(conn)
    expect(Object.keys(p).sort()).toEqual(['c1', 'c2', 'c3', 'c4'])
    expect(p).toMatchObject({c1: {views: 3, clicks: 0}, c2: {views: 0, clicks: 0}, c3: {views: 2, clicks: 2}, c4: {views: 0, clicks: 0}})
    const map = await conn.query("SELECT kind, value, entity_key, status, distance FROM segments.segment_identities_customer WHERE kind = 'email' ORDER BY value")
    expect(map).toEqual([
      {kind: 'email', value: 'bob@x.com', entity_key: 'c2', status: 'stitched', distance: 1},
      {kind: 'email', value: 'jane@x.com', entity_key: 'c1', status: 'stitched', distance: 1},
    ])
  })

  it('anonymous: true — anonymous profiles are members with NULL attributes; a signup between runs merges one into the customer', async () => {
    const {dir, conn} = await setup(true)
    await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    // a9's profile: two views, and the click whose first identifier is a9
    expect(await members(conn)).toEqual({viewers: [...['c1', 'c3', A9, ALATE].sort()], clickers: [A9, 'c3'].sort(), no_plan: [A9, ALATE].sort()})
    const p1 = await profile(conn)
    expect(p1[A9]).toEqual({views: 2, clicks: 1})
    expect(p1[ALATE]).toEqual({views: 1, clicks: 0})
    // c3 keeps a_amb's and zzz's clicks; a9's is its own profile's now
    expect(p1.c3).toEqual({views: 2, clicks: 2})

    // a_late's identify row (07-01) is read now: its profile merges into c1
    const r = await runProject({project: dir, asOf: '2026-07-02', connection: conn})
    expect(r.segments.find((s) => s.segment === 'viewers')).toMatchObject({entered: 0, exited: 1})
    expect(await members(conn)).toEqual({viewers: [...['c1', 'c3', A9].sort()], clickers: [A9, 'c3'].sort(), no_plan: [A9]})
    const exits = await conn.query("SELECT segment, entity_key, cause FROM segments.segment_transitions WHERE change = 'exited' ORDER BY segment")
    expect(exits).toEqual([
      {segment: 'no_plan', entity_key: ALATE, cause: 'merged'},
      {segment: 'viewers', entity_key: ALATE, cause: 'merged'},
    ])
    // the customer's traits now include the pre-signup view under a_late
    const p2 = await profile(conn)
    expect(p2.c1).toEqual({views: 4, clicks: 0})
    expect(p2[ALATE]).toBeUndefined()
    expect(await conn.query("SELECT entity_key, status, distance FROM segments.segment_identities_customer WHERE kind = 'anonymous_id' AND value = 'a_late'")).toEqual([{entity_key: 'c1', status: 'stitched', distance: 1}])
  })
})

describe('attribution in an incremental project', () => {
  it('reads relations with ids whole (reason identity) and equals the full twin after the merge', async () => {
    const full = await setup(true)
    const inc = await setup(true)
    writeFileSync(join(inc.dir, 'segc.yaml'), 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\nincremental: {late_arrival: 1d}\n')
    for (const asOf of ['2026-06-01', '2026-07-02']) {
      await runProject({project: full.dir, asOf, connection: full.conn})
      const r = await runProject({project: inc.dir, asOf, connection: inc.conn})
      const sources = r.sources ?? []
      expect(sources.length).toBeGreaterThan(0)
      for (const s of sources) expect(s.why ?? '').toMatch(/^identity: /)
    }
    expect(await members(inc.conn)).toEqual(await members(full.conn))
    expect(await profile(inc.conn)).toEqual(await profile(full.conn))
    const transitions = 'SELECT segment, entity_key, change, cause FROM segments.segment_transitions ORDER BY ALL'
    expect(await inc.conn.query(transitions)).toEqual(await full.conn.query(transitions))
  })
})

describe('read-only commands and run checks', () => {
  it('segc why reads the last run\'s map: c1 views 3, and an anonymous profile can be explained by its anon_ key', async () => {
    const {dir, conn} = await setup(true)
    await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    const c1 = await explainEntity({project: dir, key: 'c1', entity: 'customer', connection: conn})
    expect(c1.segments.find((s) => s.segment === 'viewers')).toMatchObject({member: true, rule: {value: 3}})
    const a9 = await explainEntity({project: dir, key: A9, entity: 'customer', connection: conn})
    expect(a9.segments.find((s) => s.segment === 'clickers')).toMatchObject({member: true, rule: {value: 1}})
    expect(a9.segments.find((s) => s.segment === 'no_plan')).toMatchObject({member: true})
  })

  it('max_ids_per_profile exceeded is a warning (no value in it), and under --strict the run commits nothing', async () => {
    const {dir, conn} = await setup(false)
    // c1 holds key c1, a1, jane@x.com, a_amb is ambiguous: 3 identifiers; c3 holds c3, d3: 2
    writeFileSync(join(dir, 'models/m.yaml'), MODELS(false).replace('      anonymous: false', '      anonymous: false\n      max_ids_per_profile: 2'))
    const r = await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    const w = r.warnings.filter((d) => d.code === 'identity_too_large')
    expect(w).toHaveLength(1)
    expect(w[0]!.message).toContain('1 profile hold more than max_ids_per_profile (2) identifiers, the largest 3')
    expect(w[0]!.message).not.toMatch(/jane|c1|a1/)
    const before = await conn.query('SELECT COUNT(*) AS n FROM segments.segment_transitions')
    await expect(runProject({project: dir, asOf: '2026-06-02', connection: conn, strict: true})).rejects.toBeInstanceOf(ExpectationsFailed)
    expect(await conn.query('SELECT COUNT(*) AS n FROM segments.segment_transitions')).toEqual(before)
    expect(Number((await conn.query("SELECT COUNT(*) AS n FROM segments.segment_sizes WHERE as_of > TIMESTAMP '2026-06-01 00:00:00'"))[0]!.n)).toBe(0)
  })

  it('a component deeper than max_depth fails the run with identity_depth and leaves the tables as they were', async () => {
    const {dir, conn} = await setup(false)
    await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    const map = 'SELECT * FROM segments.segment_identities_customer ORDER BY ALL'
    const before = {map: await conn.query(map), members: await members(conn)}
    // a view by a1 on device dev1: dev1 is 2 edges from c1 (c1 – a1 – dev1), deeper than max_depth 1
    writeFileSync(join(dir, 'models/m.yaml'), MODELS(false).replace('      anonymous: false', '      anonymous: false\n      max_depth: 1'))
    await conn.execute("INSERT INTO main.web_events VALUES (NULL, 'a1', 'dev1', TIMESTAMP '2026-05-20 00:00:00')")
    const err = await runProject({project: dir, asOf: '2026-06-02', connection: conn}).catch((e) => e)
    // the run's error (exit 2) names the code and the component's size: c1, a1, jane@x.com, dev1
    expect(err).toBeInstanceOf(WarehouseError)
    expect(String(err.message)).toMatch(/^identity_depth: entity 'customer': an identity component of 4 identifiers .*max_depth \(1\)/)
    expect(String(err.message)).not.toMatch(/jane|a1|c1/)
    expect(await conn.query(map)).toEqual(before.map)
    expect(await members(conn)).toEqual(before.members)
  })
})

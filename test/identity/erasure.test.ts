// SPEC §20's erasure on the attribution test's rows: segc forget records the hashes of every
// identifier of the profile; later runs keep them as one erased profile that claims and ties as
// a key does, write none of it and attribute none of its events. Expected values by hand.
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {explainIdentifier} from '../../src/why/why-id.js'
import {writeProject} from '../helpers/project.js'
import {DATA, MODELS, SEGMENTS} from './attribution-fixture.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const anon = (node: string) => 'anon_' + sha(node).slice(0, 32)
const A9 = anon('anonymous_id:a9')
const ALATE = anon('anonymous_id:a_late')

const open: WarehouseConnection[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

const q = (conn: WarehouseConnection, s: string) => conn.query(s)

describe('segc forget on an entity with identity', () => {
  it('records every identifier of the profile as a hash; later runs keep them as one erased profile', async () => {
    const dir = writeProject({'segc.yaml': 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n', 'models/m.yaml': MODELS(true), 'segments/s.yaml': SEGMENTS})
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
    open.push(conn)
    for (const s of DATA) await conn.execute(s)
    await runProject({project: dir, asOf: '2026-06-01', connection: conn})
    const f = await forget({project: dir, entity: 'customer', keys: ['c1', A9], connection: conn})
    expect(f.tables['segment_identities_customer']).toBe(5) // c1, a1, jane@x.com; a9, dev9
    const hashes = (await q(conn, 'SELECT kind, value_hash FROM segments.segment_erased_identifiers ORDER BY kind, value_hash')).map((r) => [r.kind, r.value_hash])
    const expected = [['key', 'c1'], ['anonymous_id', 'a1'], ['email', 'jane@x.com'], ['anonymous_id', 'a9'], ['device', 'dev9'], ['key', A9]].map(([k, v]) => [k, sha(`customer:${k}:${v}`)])
    expect(hashes).toEqual(expected.sort((a, b) => (a[0]! + a[1]! < b[0]! + b[1]! ? -1 : 1)))
    expect(await q(conn, "SELECT * FROM segments.segment_identities_customer WHERE entity_key IN ('c1', '" + A9 + "')")).toEqual([])

    // a_late's identify row links it to c1 now: it joins the erased profile, not an anonymous one
    await runProject({project: dir, asOf: '2026-07-02', connection: conn})
    const map = await q(conn, 'SELECT kind, value, entity_key, status FROM segments.segment_identities_customer ORDER BY kind, value')
    expect(map).toEqual([
      // a_amb still ties: c1's erased profile claims as a key does, so nothing passes to c2
      {kind: 'anonymous_id', value: 'a_amb', entity_key: null, status: 'ambiguous'},
      {kind: 'device', value: 'd3', entity_key: 'c3', status: 'stitched'},
      {kind: 'email', value: 'bob@x.com', entity_key: 'c2', status: 'stitched'},
      {kind: 'key', value: 'c2', entity_key: 'c2', status: 'key'},
      {kind: 'key', value: 'c3', entity_key: 'c3', status: 'key'},
      {kind: 'key', value: 'c4', entity_key: 'c4', status: 'key'},
    ])
    const members = await q(conn, 'SELECT segment, entity_key FROM segments.segment_membership ORDER BY segment, entity_key')
    // c3's two clicks stay (a_amb falls through to d3, zzz to d3); a9's click counts for nobody
    expect(members).toEqual([
      {segment: 'clickers', entity_key: 'c3'},
      {segment: 'viewers', entity_key: 'c3'},
    ])
    expect((await q(conn, 'SELECT entity_key FROM segments.segment_profiles_customer ORDER BY 1')).map((r) => r.entity_key)).toEqual(['c2', 'c3', 'c4'])
    expect(await explainIdentifier({project: dir, id: 'email:jane@x.com', connection: conn})).toMatchObject({status: 'erased', profile: null})
    expect(await explainIdentifier({project: dir, id: 'anonymous_id:a_late', connection: conn})).toMatchObject({status: 'erased', profile: null})
    void ALATE
  })
})

// segc why --id and segc stats --identity on the attribution test's rows (test/identity/
// attribution.test.ts), every expected value read by hand off those rows.
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {identityStats} from '../../src/identity/stats.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {explainIdentifier} from '../../src/why/why-id.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {segc} from '../helpers/cli.js'
import {A9, ALATE, DATA, MODELS, SEGMENTS} from './attribution-fixture.js'


const open: WarehouseConnection[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

async function ran() {
  const dir = writeProject({'segc.yaml': 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n', 'models/m.yaml': MODELS(true), 'segments/s.yaml': SEGMENTS})
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
  open.push(conn)
  for (const s of DATA) await conn.execute(s)
  // dev1 is 2 edges from c1: c1 – a1 (identifies), a1 – dev1 (this view)
  await conn.execute("INSERT INTO main.web_events VALUES (NULL, 'a1', 'dev1', TIMESTAMP '2026-05-20 00:00:00')")
  await runProject({project: dir, asOf: '2026-06-01', connection: conn})
  return {dir, conn}
}

describe('segc why --id', () => {
  it('status, profile, a shortest path with the relation of each hop, nearest keys, and no identifier', async () => {
    const {dir, conn} = await ran()
    const why = (id: string) => explainIdentifier({project: dir, id, connection: conn})
    // normalized as email says (trim, lowercase)
    expect(await why('email: JANE@x.com ')).toMatchObject({id: {kind: 'email', value: 'jane@x.com'}, status: 'stitched', profile: 'c1', distance: 1, path: [{from: {kind: 'email', value: 'jane@x.com'}, to: {kind: 'key', value: 'c1'}, relation: 'main.identifies'}]})
    expect((await why('device:dev1')).path).toEqual([
      {from: {kind: 'device', value: 'dev1'}, to: {kind: 'anonymous_id', value: 'a1'}, relation: 'event page_view'},
      {from: {kind: 'anonymous_id', value: 'a1'}, to: {kind: 'key', value: 'c1'}, relation: 'main.identifies'},
    ])
    expect(await why('key:c4')).toMatchObject({status: 'key', profile: 'c4', distance: 0})
    expect(await why('anonymous_id:a_amb')).toMatchObject({status: 'ambiguous', profile: null, distance: 1, nearest_keys: ['c1', 'c2']})
    expect(await why('anonymous_id:a9')).toMatchObject({status: 'anonymous', profile: A9, distance: null})
    expect(await why('anonymous_id:undefined')).toMatchObject({status: 'none'})
    expect(await why('anonymous_id:nowhere')).toMatchObject({status: 'none'})
    // a_late's identify row is after the as_of asked: anonymous then, stitched at a later one
    expect(await why('anonymous_id:a_late')).toMatchObject({status: 'anonymous', profile: ALATE})
    expect(await explainIdentifier({project: dir, id: 'anonymous_id:a_late', asOf: '2026-07-02', connection: conn})).toMatchObject({status: 'stitched', profile: 'c1'})
    await conn.close()
    open.length = 0
    // the CLI: exit 0 for no identifier too, --json fields, a wrong kind is a usage error that names no value
    const none = segc(['why', '--id', 'email:nobody@x.com', '--json'], {cwd: dir})
    expect(none.code, none.stderr).toBe(0)
    expect(JSON.parse(none.stdout)).toMatchObject({entity: 'customer', status: 'none', id: {kind: 'email', value: 'nobody@x.com'}})
    const bad = segc(['why', '--id', 'phone:5551234'], {cwd: dir})
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('unknown_identifier')
    expect(bad.stderr).not.toContain('5551234')
    const text = segc(['why', '--id', 'device:dev1'], {cwd: dir})
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain('stitched to profile c1, 2 edges from its key')
  })
})

describe('segc stats --identity', () => {
  it('identifiers by kind and status, profiles known and anonymous, events for no entity, the largest profiles', async () => {
    const {dir, conn} = await ran()
    const [s] = await identityStats(conn, duckdbAdapter.dialect, validOrThrow(dir).project, new Date('2026-06-01T00:00:00Z'), 3)
    expect(s!.nodes).toEqual([
      {kind: 'anonymous_id', status: 'ambiguous', identifiers: 1},
      {kind: 'anonymous_id', status: 'anonymous', identifiers: 2},
      {kind: 'anonymous_id', status: 'stitched', identifiers: 1},
      {kind: 'device', status: 'anonymous', identifiers: 1},
      {kind: 'device', status: 'stitched', identifiers: 2},
      {kind: 'email', status: 'stitched', identifiers: 2},
      {kind: 'key', status: 'key', identifiers: 4},
    ])
    expect(s!.profiles).toEqual({known: 4, anonymous: 2})
    // a_amb's view: ambiguous and nothing after it; every click reaches someone (a_amb falls through to d3)
    expect(s!.unattributed_events).toEqual([{event: 'page_view', rows: 1}, {event: 'click', rows: 0}])
    // c1: c1, a1, jane@x.com, dev1; then two identifiers each, by key: anon_… before c2, c3
    expect(s!.largest).toEqual([
      {profile: 'c1', status: 'known', identifiers: 4},
      {profile: A9, status: 'anonymous', identifiers: 2},
      {profile: 'c2', status: 'known', identifiers: 2},
    ])
    await conn.close()
    open.length = 0
    const cli = segc(['stats', '--identity', '--json'], {cwd: dir})
    expect(cli.code, cli.stderr).toBe(0)
    expect(JSON.parse(cli.stdout).identity[0].profiles).toEqual({known: 4, anonymous: 2})
  })
})

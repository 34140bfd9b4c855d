import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProject} from '../../src/run/run-project.js'
import {startPostgres, type PostgresServer} from '../helpers/postgres.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, sendable, sorted, state, sync, T2, withSyncs} from './sync-project.js'

// The postgres destination against a real PostgreSQL (Debian's package, started here).

const PG_SYNC = `sync: ops
destination: ops_db
segments: [win_back, at_risk]
mode: mirror
identify_by: email
fields: {first_name: first_name, country: country, since: entered_at, opted_in: email_opt_in}
consent: [email_opt_in]
`

let base: string
let server: PostgresServer
beforeAll(async () => {
  ;[base, server] = await Promise.all([baseProject(), startPostgres()])
}, 120_000)
afterAll(() => server?.stop())

async function table(url: string, name: string): Promise<Map<string, string>> {
  const c = new pg.Client({connectionString: url})
  await c.connect()
  try {
    const r = await c.query<{segment: string; entity_key: string; id: string}>(`SELECT segment, entity_key, id FROM segc.${name}`)
    return new Map(r.rows.map((x) => [`${x.segment}|${x.entity_key}`, x.id]))
  } finally {
    await c.end()
  }
}

async function psql(url: string, text: string): Promise<void> {
  const c = new pg.Client({connectionString: url})
  await c.connect()
  try {
    await c.query(text)
  } finally {
    await c.end()
  }
}

function project(db: string) {
  const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'ops.yaml': PG_SYNC})
  writeFileSync(join(dir, 'segc.yaml'), readFileSync(join(dir, 'segc.yaml'), 'utf8') + `  ops_db: {type: postgres, url: "\${env:OPS_DB}", schema: segc, batch_size: 40}\n`)
  return {dir, env: {...process.env, SEGC_HOOK_SECRET: 'x', OPS_DB: db}}
}

describe('segc sync to PostgreSQL', () => {
  it('the table equals the sendable set after each sync; a row segc did not write survives', async () => {
    const {dir, env} = project(server.url)
    const r = await sync(dir, {env})
    expect(r.exit_code, JSON.stringify(r.syncs[0])).toBe(0)
    const expected = await sendable(dir, ['win_back', 'at_risk'])
    expect(sorted(await table(server.url, 'ops'))).toEqual(sorted(expected))
    // fields as typed columns
    const c = new pg.Client({connectionString: server.url})
    await c.connect()
    const cols = await c.query<{column_name: string; data_type: string}>(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'segc' AND table_name = 'ops' ORDER BY ordinal_position`)
    await c.end()
    expect(cols.rows.map((x) => `${x.column_name} ${x.data_type}`)).toEqual(['segment text', 'entity_key text', 'id text', 'synced_at timestamp with time zone', 'first_name text', 'country text', 'since timestamp with time zone', 'opted_in boolean'])
    // someone else's row in segc's table
    await psql(server.url, `INSERT INTO segc.ops (segment, entity_key, id, synced_at) VALUES ('manual', 'x1', 'ops@acme.example', now())`)
    // changes: consent withdrawn, a run later
    const some = [...expected.keys()].slice(0, 4).map((k) => k.split('|')[1]!)
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN ('${some.join("', '")}')`))
    await runProject({project: dir, asOf: T2, target: 'local'})
    const r2 = await sync(dir, {env})
    expect(r2.exit_code).toBe(0)
    expect(r2.syncs[0]!.planned.remove).toBeGreaterThanOrEqual(4)
    const now = await sendable(dir, ['win_back', 'at_risk'])
    const after = await table(server.url, 'ops')
    expect(after.get('manual|x1')).toBe('ops@acme.example')
    after.delete('manual|x1')
    expect(sorted(after)).toEqual(sorted(now))
    expect(sorted(await state(dir, 'ops'))).toEqual(sorted(now))
  }, 120_000)

  it('a row the database rejects is rejected alone; the rest of its batch lands', async () => {
    const {dir, env} = project(server.url)
    const expected = await sendable(dir, ['win_back', 'at_risk'])
    const bad = [...expected.values()][5]!
    await psql(server.url, `CREATE SCHEMA IF NOT EXISTS segc; DROP TABLE IF EXISTS segc.ops;
      CREATE TABLE segc.ops (segment text NOT NULL, entity_key text NOT NULL, id text NOT NULL CHECK (id <> '${bad}'), synced_at timestamptz NOT NULL, PRIMARY KEY (segment, entity_key))`)
    const r = await sync(dir, {env})
    expect(r.syncs[0]).toMatchObject({rejected: 1, pending: 0, succeeded: expected.size - 1})
    const rejected = await withProjectDb(dir, (c) => c.query(`SELECT entity_key, reason FROM segments.segment_sync_log WHERE status = 'rejected'`))
    expect(rejected).toHaveLength(1)
    expect(String(rejected[0]!.reason)).toMatch(/violates check constraint .*\(23514\)$/)
    expect(String(rejected[0]!.reason)).not.toContain(bad)
    const held = new Map([...expected].filter(([, v]) => v !== bad))
    expect(sorted(await table(server.url, 'ops'))).toEqual(sorted(held))
    expect(sorted(await state(dir, 'ops'))).toEqual(sorted(held))
  }, 120_000)
})

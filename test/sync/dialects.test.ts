import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {SyncStatements} from '../../src/generate/sync-sql.js'
import {SYNC_MODES} from '../../src/resolve/resolve-syncs.js'
import {runProject} from '../../src/run/run-project.js'
import {validOrThrow} from '../helpers/project.js'
import {Receiver} from '../helpers/receiver.js'
import {SNOWFLAKE_MACROS, snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, CRM_SYNC, sync, T2, withSyncs} from './sync-project.js'

// The sync plan segc generates for Snowflake, translated to DuckDB by an independent
// translator and run on a real state (adds, removes, updates, skips pending), plans exactly
// what the DuckDB dialect's plan does, in every mode.

const key = (r: Record<string, unknown>) => {
  const l = Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]))
  return [l.segment, l.entity_key, l.op, l.dest_key, l.cause ?? null, l.transitioned_at === null || l.transitioned_at === undefined ? null : new Date(String(l.transitioned_at)).toISOString()].map(String).join('|')
}

/**
 * A synced project whose next plan holds every kind of change: consent flipped for some,
 * identifiers gone for others, a field changed, and a later run (entries and exits).
 */
async function changedProject(syncYaml: string, customers?: number) {
  const base = await baseProject(customers)
  const receiver = new Receiver()
  const dir = withSyncs(base, await receiver.start(), {'crm.yaml': syncYaml})
  expect((await sync(dir)).exit_code).toBe(0)
  await receiver.stop()
  await withProjectDb(dir, async (c) => {
    await c.execute(`UPDATE main.customers SET email_opt_in = NOT email_opt_in WHERE customer_id LIKE '%3'`)
    await c.execute(`UPDATE main.customers SET email = NULL WHERE customer_id LIKE '%7'`)
    await c.execute(`UPDATE main.customers SET country = 'NZ' WHERE customer_id LIKE '%5'`)
  })
  await runProject({project: dir, asOf: T2, target: 'local'})
  const v = validOrThrow(dir)
  const s = v.syncs.get('crm')!
  return {dir, s, entity: v.project.entities.get(s.entity)!}
}

describe('the sync plan on Snowflake (translated by polyglot) equals DuckDB', () => {
  it('every mode, over a state with every kind of change', async () => {
    const {dir, s, entity} = await changedProject(CRM_SYNC)
    await withProjectDb(dir, async (c) => {
      for (const s2 of SNOWFLAKE_MACROS) await c.execute(s2)
      const ops = new Set<string>()
      for (const mode of SYNC_MODES) {
        const def = {...s, mode}
        const duck = (await c.query(new SyncStatements(duckdbAdapter.dialect, 'segments').plan(def, entity, T2))).map(key).sort()
        const translated = await snowflakeToDuckDB(new SyncStatements(snowflakeDialect, 'segments').plan(def, entity, T2))
        const snow = (await c.query(translated)).map(key).sort()
        expect(snow, mode).toEqual(duck)
        for (const k of duck) ops.add(`${mode}:${k.split('|')[2]}`)
      }
      // the check saw every kind of operation
      expect([...ops].sort()).toEqual(expect.arrayContaining(['audience:add', 'audience:remove', 'audience:skip', 'events:add', 'events:remove', 'upsert:update', 'mirror:update']))
    })
  }, 120_000)
})

describe('the sync plan on BigQuery (ZetaSQL reference evaluation) equals DuckDB', () => {
  it('every mode, over a state with every kind of change', async () => {
    const {startZetaSQL, evaluateTables} = await import('../helpers/zetasql.js')
    const {MEMBERSHIP, SYNC_STATE, TRANSITIONS} = await import('../../src/warehouse/tables.js')
    const {bigqueryDialect} = await import('../../adapters/bigquery/dialect.js')
    const zeta = await startZetaSQL()
    try {
      // string fields only: their md5 is the same in both warehouses, so the state DuckDB wrote
      // is the state BigQuery would have written (timestamps cast to text differently)
      const def = 'sync: crm\ndestination: crm_hook\nsegments: [win_back, at_risk]\nmode: upsert\nidentify_by: email\nfields: {first_name: first_name, country: country, member: in_segment, segment: segment}\nconsent: [email_opt_in]\n'
      const {dir, s, entity} = await changedProject(def, 600)
      const type = (t: string) => ({string: 'string', text: 'string', timestamp: 'timestamp', boolean: 'boolean', integer: 'integer', float: 'number'})[t] as 'string'
      await withProjectDb(dir, async (c) => {
        const table = async (name: string, columns: Array<[string, 'string' | 'timestamp' | 'boolean' | 'integer' | 'number']>, from: string) => ({name, columns, rows: await c.query(`SELECT ${columns.map(([n]) => `"${n}"`).join(', ')} FROM ${from}`)})
        const tables = [
          await table('customers', [['customer_id', 'string'], ['email', 'string'], ['first_name', 'string'], ['country', 'string'], ['email_opt_in', 'boolean']], 'main.customers'),
          ...(await Promise.all([MEMBERSHIP, SYNC_STATE, TRANSITIONS].map((t) => table(t.name, t.columns.map((col) => [col.name, type(col.type)]), `segments.${t.name}`)))),
        ]
        const ops = new Set<string>()
        for (const mode of SYNC_MODES) {
          const d = {...s, mode}
          const duck = (await c.query(new SyncStatements(duckdbAdapter.dialect, 'segments').plan(d, entity, T2))).map(key).sort()
          // ZetaSQL's service takes root-level tables: the dataset names are dropped from the text
          const bq = new SyncStatements(bigqueryDialect, 'segments').plan(d, entity, T2).replaceAll('`segments`.', '').replaceAll('`main`.', '')
          const evaluated = (await evaluateTables(tables, bq)).map(key).sort()
          expect(evaluated, mode).toEqual(duck)
          for (const k of duck) ops.add(`${mode}:${k.split('|')[2]}`)
        }
        expect([...ops].sort()).toEqual(expect.arrayContaining(['audience:add', 'audience:remove', 'audience:skip', 'events:remove', 'upsert:update', 'mirror:update']))
      })
    } finally {
      zeta.stop()
    }
  }, 180_000)
})

// A sync with trait fields reads its members from the entity's profile (its in_/holdout_
// columns) and the membership only for the rows it returns. Each engine plans twice: over an
// empty state (everything sendable is an add or a skip, with that engine's own payload hashes),
// then over a state made from those rows by the same key-based edits (some keys dropped, some
// hashes and identifiers stale, keys no longer members), so the second plan holds adds,
// updates and removes whatever text each dialect gives a float or a timestamp.
const TRAIT_SYNC = `sync: crm
destination: crm_hook
segments: [win_back, at_risk]
mode: upsert
identify_by: email
fields: {first_name: first_name, orders: orders_total, revenue: {trait: revenue_365d, round: 0}, last_order: last_order_at}
consent: [email_opt_in]
`
type Planned = Array<Record<string, unknown>>
const lower = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]))
const isoOf = (v: unknown) => (v === null || v === undefined ? null : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(String(v)) ? String(v).replace(' ', 'T') : `${String(v).replace(' ', 'T')}Z`).toISOString())
/** an operation with its values as sent, comparable across engines */
const sent = (r0: Record<string, unknown>) => {
  const r = lower(r0)
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
  return JSON.stringify([r.segment, r.entity_key, r.op, r.dest_key ?? null, isoOf(r.entered_at), r.f_0 ?? null, num(r.f_1), num(r.f_2), isoOf(r.f_3)])
}
interface StateEdit {segment: string; entity_key: string; dest_key: string; payload_hash: string}
/** the second state, from the first plan's rows: the same keys edited the same way on every engine */
function editedState(first: Planned): StateEdit[] {
  const acked = first.map(lower).filter((r) => r.op === 'add').sort((a, b) => `${a.segment}|${a.entity_key}`.localeCompare(`${b.segment}|${b.entity_key}`))
  const out: StateEdit[] = []
  acked.forEach((r, i) => {
    if (i % 5 === 0) return // never acknowledged: an add again
    const row = {segment: String(r.segment), entity_key: String(r.entity_key), dest_key: String(r.dest_key), payload_hash: String(r.payload_hash)}
    if (i % 5 === 1) row.payload_hash = 'stale' // a value changed since: an update
    if (i % 5 === 2) row.dest_key = 'old@example.test' // the identifier changed: an update
    out.push(row)
  })
  for (const k of ['gone-1', 'gone-2']) out.push({segment: 'win_back', entity_key: k, dest_key: `${k}@example.test`, payload_hash: 'h'}) // no longer members: removes
  return out
}

describe('a sync with trait fields plans the same on DuckDB, Snowflake (translated) and BigQuery (ZetaSQL)', () => {
  it('adds, skips, updates and removes, with the same values, over the profile', async () => {
    const {startZetaSQL, evaluateTables} = await import('../helpers/zetasql.js')
    const {MEMBERSHIP, SYNC_STATE} = await import('../../src/warehouse/tables.js')
    const {bigqueryDialect} = await import('../../adapters/bigquery/dialect.js')
    const {dir, s, entity} = await changedProject(TRAIT_SYNC, 600)
    const zeta = await startZetaSQL()
    try {
      await withProjectDb(dir, async (c) => {
        for (const m of SNOWFLAKE_MACROS) await c.execute(m)
        const insertState = async (name: string, rows: StateEdit[]) => {
          await c.execute(`DELETE FROM segments.segment_sync_state WHERE sync = '${name}'`)
          for (const r of rows) await c.execute(`INSERT INTO segments.segment_sync_state VALUES ('${name}', '${r.segment}', '${r.entity_key}', '${r.dest_key}', '${r.payload_hash}', TIMESTAMP '2026-05-01 00:00:00')`)
        }
        const onDuck = async (name: string, snowflake: boolean): Promise<Planned> => {
          const def = {...s, name}
          if (!snowflake) return c.query(new SyncStatements(duckdbAdapter.dialect, 'segments').plan(def, entity, T2))
          return c.query(await snowflakeToDuckDB(new SyncStatements(snowflakeDialect, 'segments').plan(def, entity, T2)))
        }
        const twice = async (name: string, plan: () => Promise<Planned>, setState: (rows: StateEdit[]) => Promise<void>) => {
          await setState([])
          const first = await plan()
          await setState(editedState(first))
          return {first, second: await plan()}
        }
        const duck = await twice('tr_duck', () => onDuck('tr_duck', false), (rows) => insertState('tr_duck', rows))
        const snow = await twice('tr_sf', () => onDuck('tr_sf', true), (rows) => insertState('tr_sf', rows))

        // BigQuery: the same warehouse's rows as ZetaSQL tables, and a state table held here
        const table = async (name: string, columns: Array<[string, 'string' | 'timestamp' | 'boolean' | 'integer' | 'number']>, from: string) => ({name, columns, rows: await c.query(`SELECT ${columns.map(([n]) => `"${n}"`).join(', ')} FROM ${from}`)})
        const type = (t: string) => ({string: 'string', timestamp: 'timestamp', boolean: 'boolean', integer: 'integer'})[t] as 'string'
        const fixed = [
          await table('customers', [['customer_id', 'string'], ['email', 'string'], ['first_name', 'string'], ['email_opt_in', 'boolean']], 'main.customers'),
          await table('segment_profiles_customer', [['entity_key', 'string'], ['changed_run_id', 'string'], ['orders_total', 'integer'], ['revenue_365d', 'number'], ['last_order_at', 'timestamp'], ['in_win_back', 'boolean'], ['in_at_risk', 'boolean'], ['holdout_win_back', 'boolean']], 'segments.segment_profiles_customer'),
          await table(MEMBERSHIP.name, MEMBERSHIP.columns.map((col) => [col.name, type(col.type)]), `segments.${MEMBERSHIP.name}`),
        ]
        let bqState: StateEdit[] = []
        const stateTable = () => ({name: SYNC_STATE.name, columns: SYNC_STATE.columns.map((col): [string, 'string' | 'timestamp'] => [col.name, col.type === 'timestamp' ? 'timestamp' : 'string']), rows: bqState.map((r) => ({...r, sync: 'tr_bq', synced_at: '2026-05-01T00:00:00Z'}))})
        const bqSql = new SyncStatements(bigqueryDialect, 'segments').plan({...s, name: 'tr_bq'}, entity, T2).replaceAll('`segments`.', '').replaceAll('`main`.', '')
        const bq = await twice('tr_bq', () => evaluateTables([...fixed, stateTable()], bqSql), async (rows) => void (bqState = rows))

        // the first plan's members: an independent query over the membership and the customers
        const expected = (await c.query(`SELECT m.segment, m.entity_key, CASE WHEN e.email IS NULL THEN 'skip' ELSE 'add' END AS op
            FROM segments.segment_membership m JOIN main.customers e ON e.customer_id = m.entity_key
            WHERE m.segment IN ('win_back', 'at_risk') AND NOT m.holdout AND e.email_opt_in`)).map((r) => `${r.segment}|${r.entity_key}|${r.op}`).sort()
        const keys = (p: Planned) => p.map(lower).map((r) => `${r.segment}|${r.entity_key}|${r.op}`).sort()
        expect(keys(duck.first)).toEqual(expected)
        expect(expected.some((k) => k.endsWith('|skip')) && expected.some((k) => k.startsWith('win_back|')) && expected.some((k) => k.startsWith('at_risk|'))).toBe(true)
        // and the holdout kept out of it
        const held = await c.query(`SELECT count(*) AS n FROM segments.segment_membership WHERE segment = 'win_back' AND holdout`)
        expect(Number(held[0]!.n)).toBeGreaterThan(0)

        const ops = new Set(duck.second.map((r) => String(lower(r).op)))
        expect([...ops].sort()).toEqual(['add', 'remove', 'skip', 'update'])
        for (const [engine, got] of [['snowflake', snow], ['bigquery', bq]] as const) {
          expect(got.first.map(sent).sort(), `${engine}, empty state`).toEqual(duck.first.map(sent).sort())
          expect(got.second.map(sent).sort(), `${engine}, edited state`).toEqual(duck.second.map(sent).sort())
        }
      })
    } finally {
      zeta.stop()
    }
  }, 300_000)
})

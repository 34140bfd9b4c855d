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

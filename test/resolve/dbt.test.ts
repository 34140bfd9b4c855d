import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {formatDiagnostic} from '../../src/diagnostics/diagnostic.js'
import {validateProject} from '../../src/validate/validate-project.js'
import {segc} from '../helpers/cli.js'
import {DBT_SCHEMA_PRESENT, manifest, validateManifest, type Flavour} from '../helpers/dbt-manifest.js'
import {writeProject} from '../helpers/project.js'

// Models that name dbt models and sources (SPEC §16) instead of physical tables: resolved
// through a manifest that dbt would write, checked against the columns it declares.

const CUSTOMERS: Array<[string, string]> = [['customer_id', 'varchar'], ['country', 'varchar'], ['email_opt_in', 'boolean']]
const ORDERS: Array<[string, string]> = [['customer_id', 'varchar'], ['ordered_at', 'timestamp'], ['amount', 'double']]

function shop(flavour: Flavour, database: string, schema: string, version?: string) {
  return manifest(flavour, {
    database,
    schema,
    version,
    nodes: [
      {kind: 'model', name: 'dim_customers', alias: 'customers', columns: CUSTOMERS, description: 'one row per customer'},
      {kind: 'model', name: 'fct_orders', columns: ORDERS},
      {kind: 'seed', name: 'country_codes', columns: [['code', 'varchar']]},
      {kind: 'snapshot', name: 'customers_snapshot'},
      {kind: 'model', name: 'int_sessions', materialized: 'ephemeral'},
      {kind: 'model', name: 'stg_logins'},
    ],
    sources: [{source: 'app', name: 'web_events', schema: 'raw', columns: [['customer_id', 'varchar'], ['ts', 'timestamp'], ['path', 'varchar']]}],
  })
}

const MODELS = `entities:
  customer:
    dbt: dim_customers
    key: customer_id
    attributes: {country: string, email_opt_in: boolean}
events:
  order:
    entity: customer
    dbt: fct_orders
    key: customer_id
    timestamp: ordered_at
    properties: {amount: number}
  page_view:
    entity: customer
    dbt_source: app.web_events
    key: customer_id
    timestamp: ts
    properties: {path: string}
`
const SEGMENTS = `segment: buyers
entity: customer
rule: {all: [{event: order, within: 30d}, {event: page_view, within: 30d, where: {path: /pricing}}]}
consent: [email_opt_in]
`

function project(files: Record<string, string>, m: unknown = shop('duckdb', 'warehouse', 'main')): string {
  const dir = writeProject({
    'segc.yaml': 'name: t\ndbt:\n  manifest: dbt/target/manifest.json\ntargets:\n  local: {type: duckdb, path: warehouse.duckdb}\n',
    'models/m.yaml': MODELS,
    'segments/s.yaml': SEGMENTS,
    ...files,
  })
  const path = join(dir, 'dbt/target')
  mkdirSync(path, {recursive: true})
  writeFileSync(join(path, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m))
  return dir
}

const problems = (dir: string) => validateProject({project: dir}).diagnostics.map(formatDiagnostic)

describe.skipIf(!DBT_SCHEMA_PRESENT)("the manifest fixtures are dbt's own shape", () => {
  it('every flavour validates against manifest v12 (dbt 1.8+), and a broken one does not', () => {
    for (const [flavour, db, schema] of [['duckdb', 'warehouse', 'main'], ['snowflake', 'ANALYTICS', 'DBT_PROD'], ['bigquery', 'acme-analytics', 'dbt_prod']] as const) {
      expect(validateManifest(shop(flavour, db, schema)), flavour).toEqual([])
    }
    const broken = shop('duckdb', 'warehouse', 'main') as {nodes: Record<string, Record<string, unknown>>}
    delete broken.nodes['model.shop.fct_orders']!.alias
    expect(validateManifest(broken).length).toBeGreaterThan(0)
  })
})

describe('dbt: and dbt_source: in models', () => {
  it('resolve to the relations dbt builds, and a run reads them', async () => {
    const dir = project({})
    expect(problems(dir)).toEqual([])
    // the relations as dbt builds them in DuckDB: catalog 'warehouse' (the file), schemas main and raw
    const conn = await duckdbAdapter.connect({name: 'x', type: 'duckdb', path: join(dir, 'warehouse.duckdb')}, dir)
    try {
      await conn.execute(`CREATE TABLE main.customers AS SELECT * FROM (VALUES ('c1', 'US', TRUE), ('c2', 'DE', TRUE), ('c3', 'US', FALSE)) AS v(customer_id, country, email_opt_in)`)
      await conn.execute(`CREATE TABLE main.fct_orders AS SELECT * FROM (VALUES ('c1', TIMESTAMP '2026-05-20 10:00:00', 20.0), ('c2', TIMESTAMP '2026-05-25 10:00:00', 5.0), ('c3', TIMESTAMP '2026-05-25 10:00:00', 5.0)) AS v(customer_id, ordered_at, amount)`)
      await conn.execute('CREATE SCHEMA raw')
      await conn.execute(`CREATE TABLE raw.web_events AS SELECT * FROM (VALUES ('c1', TIMESTAMP '2026-05-21 10:00:00', '/pricing'), ('c2', TIMESTAMP '2026-05-21 10:00:00', '/home'), ('c3', TIMESTAMP '2026-05-21 10:00:00', '/pricing')) AS v(customer_id, ts, path)`)
    } finally {
      await conn.close()
    }
    const r = segc(['run', '--as-of', '2026-06-01', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {segments: Array<{segment: string; size: number}>}).segments).toEqual([expect.objectContaining({segment: 'buyers', size: 1})])
    const sql = segc(['compile', '--membership'], {cwd: dir}).stdout
    expect(sql).toContain('"warehouse"."main"."customers"')
    expect(sql).toContain('"warehouse"."raw"."web_events"')
  })

  it('fixture tests give rows for the relations as they resolve (database.schema.table)', () => {
    const test = `test: pricing_buyer
as_of: 2026-06-01T00:00:00Z
given:
  warehouse.main.customers:
    - {customer_id: c1, country: US, email_opt_in: true}
    - {customer_id: c2, country: US, email_opt_in: false}
  warehouse.main.fct_orders:
    - {customer_id: c1, ordered_at: 2026-05-20T10:00:00Z, amount: 20}
    - {customer_id: c2, ordered_at: 2026-05-20T10:00:00Z, amount: 20}
  warehouse.raw.web_events:
    - {customer_id: c1, ts: 2026-05-21T10:00:00Z, path: /pricing}
    - {customer_id: c2, ts: 2026-05-21T10:00:00Z, path: /pricing}
expect:
  buyers: [c1]
`
    const r = segc(['test'], {cwd: project({'segments/s.test.yaml': test})})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n').at(-1)).toBe('1 passed, 0 failed')
  })

  it('are quoted per dialect: Snowflake and BigQuery manifests', () => {
    const sf = project({}, shop('snowflake', 'ANALYTICS', 'DBT_PROD'))
    const snowflake = segc(['compile', '--dialect', 'snowflake', '--membership'], {cwd: sf})
    expect(snowflake.code, snowflake.stderr).toBe(0)
    expect(snowflake.stdout).toContain('"ANALYTICS"."DBT_PROD"."CUSTOMERS"')
    const bq = project({}, shop('bigquery', 'acme-analytics', 'dbt_prod'))
    const bigquery = segc(['compile', '--dialect', 'bigquery', '--membership'], {cwd: bq})
    expect(bigquery.code, bigquery.stderr).toBe(0)
    expect(bigquery.stdout).toContain('`acme-analytics`.`dbt_prod`.`customers`')
    expect(bigquery.stdout).toContain('`acme-analytics`.`raw`.`web_events`')
  })

  it('unknown names, with a did-you-mean, at the YAML that names them', () => {
    const models = MODELS.replace('dbt: dim_customers', 'dbt: dim_customer').replace('dbt_source: app.web_events', 'dbt_source: app.web_event')
    expect(problems(project({'models/m.yaml': models}))).toEqual([
      "models/m.yaml:3:10: error[dbt_unknown]: no dbt model, seed or snapshot 'dim_customer' in dbt/target/manifest.json (did you mean 'dim_customers'?)",
      "models/m.yaml:15:17: error[dbt_unknown]: no dbt source 'app.web_event' in dbt/target/manifest.json (did you mean 'app.web_events'?)",
    ])
  })

  it('names with quotes, dots or SQL are looked up, never spliced', () => {
    const models = MODELS.replace('dbt: dim_customers', `dbt: "dim_customers\\"; drop table x; --"`).replace('dbt: fct_orders', 'dbt: shop.fct_orders').replace('dbt_source: app.web_events', 'dbt_source: web_events')
    const p = problems(project({'models/m.yaml': models}))
    expect(p).toHaveLength(3)
    expect(p[0]).toMatch(/^models\/m\.yaml:3:10: error\[dbt_unknown\]: no dbt model, seed or snapshot 'dim_customers"; drop table x; --' in/)
    expect(p[1]).toMatch(/^models\/m\.yaml:9:10: error\[dbt_unknown\]: no dbt model, seed or snapshot 'shop\.fct_orders' in .* \(did you mean 'fct_orders'\?\)$/)
    expect(p[2]).toBe("models/m.yaml:15:17: error[dbt_unknown]: dbt_source takes SOURCE.TABLE (the source's name, a dot, the table's name), not 'web_events'")
  })

  it('an ephemeral model has no relation: an error that says so', () => {
    const p = problems(project({'models/m.yaml': MODELS.replace('dbt: fct_orders', 'dbt: int_sessions')}))
    expect(p[0]).toMatch(/^models\/m\.yaml:9:10: error\[dbt_ephemeral\]: dbt model 'int_sessions' \(model\.shop\.int_sessions\) is ephemeral/)
  })

  it('columns segc reads are checked against the columns dbt declares; a node declaring none warns', () => {
    const models = MODELS.replace('attributes: {country: string, email_opt_in: boolean}', 'attributes: {country: string, email_opt_in: boolean, tier: string}').replace('dbt: fct_orders', 'dbt: stg_logins')
    expect(problems(project({'models/m.yaml': models}))).toEqual([
      "models/m.yaml:5:58: error[dbt_column]: column 'tier' is not among the columns dbt declares for model.shop.dim_customers (customer_id, country, email_opt_in)",
      'models/m.yaml:9:10: warning[dbt_columns_undeclared]: model.shop.stg_logins declares no columns in the dbt project, so the 3 columns segc reads from it cannot be checked; add them to its YAML (columns:)',
    ])
  })

  it('a missing, unreadable or other-version manifest is one clear error at dbt.manifest', () => {
    const missing = writeProject({'segc.yaml': 'name: t\ndbt:\n  manifest: dbt/target/manifest.json\n', 'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS})
    expect(problems(missing)).toEqual(["segc.yaml:3:13: error[dbt_manifest]: dbt manifest 'dbt/target/manifest.json' does not exist (run 'dbt parse' or 'dbt compile' in the dbt project to write target/manifest.json)"])
    expect(problems(project({}, '{"metadata": '))[0]).toMatch(/^segc\.yaml:3:13: error\[dbt_manifest\]: dbt manifest 'dbt\/target\/manifest\.json' is not JSON: /)
    expect(problems(project({}, shop('duckdb', 'warehouse', 'main', 'https://schemas.getdbt.com/dbt/manifest/v11.json')))).toEqual([
      "segc.yaml:3:13: error[dbt_manifest]: dbt manifest 'dbt/target/manifest.json' has schema v11 (https://schemas.getdbt.com/dbt/manifest/v11.json, written by dbt 1.8.7); segc reads manifest v12, written by dbt 1.8 and later: run 'dbt parse' with dbt 1.8 or later",
    ])
    const none = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS})
    expect(problems(none)[0]).toBe("models/m.yaml:3:5: error[dbt_unknown]: entity 'customer' names a dbt model, but segc.yaml has no dbt: {manifest: …} to find it in")
    const both = MODELS.replace('    dbt: dim_customers\n', '    dbt: dim_customers\n    table: main.customers\n')
    expect(problems(project({'models/m.yaml': both}))[0]).toBe("models/m.yaml:3:5: error[bad_value]: entity 'customer' needs exactly one of 'table', 'sql', 'dbt' or 'dbt_source', not table and dbt")
  })
})

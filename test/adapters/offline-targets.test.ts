import {generateKeyPairSync} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BigQueryWarehouse} from '../../adapters/bigquery/connection.js'
import {SnowflakeWarehouse} from '../../adapters/snowflake/connection.js'
import {exampleCopy, noStackTrace, segc} from '../helpers/cli.js'

// Neither warehouse is reachable from here: the real SDKs are driven up to the network,
// where they must fail with exit 2, a clear message, and no secret anywhere.

const TARGETS = `name: acme
default_target: local
targets:
  local: {type: duckdb, path: .segc/warehouse.duckdb}
  prod:
    type: snowflake
    account: \${env:SNOWFLAKE_ACCOUNT}
    user: segc_runner
    password: \${env:SNOWFLAKE_PASSWORD}
    warehouse: TRANSFORMING
    database: ANALYTICS
    role: SEGC
  bq:
    type: bigquery
    project: acme-analytics
    dataset: marketing_segments
    location: EU
    key_file: \${env:GOOGLE_APPLICATION_CREDENTIALS}
`
const PASSWORD = 'pw-Zq8!never-print-this'

function project(): string {
  const dir = exampleCopy()
  writeFileSync(join(dir, 'segc.yaml'), TARGETS)
  const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const key = privateKey.export({type: 'pkcs8', format: 'pem'}).toString()
  writeFileSync(join(dir, 'sa.json'), JSON.stringify({type: 'service_account', project_id: 'acme-analytics', private_key_id: 'k1', private_key: key, client_email: 'segc@acme-analytics.iam.gserviceaccount.com', client_id: '1', token_uri: 'https://oauth2.googleapis.com/token'}))
  return dir
}

describe('Snowflake and BigQuery targets without a network', () => {
  it('segc run --target (Snowflake) exits 2 with a clear message and never prints the password', () => {
    const dir = project()
    const env = {SNOWFLAKE_ACCOUNT: 'xy12345', SNOWFLAKE_PASSWORD: PASSWORD}
    for (const args of [['run', '--target', 'prod'], ['run', '--target', 'prod', '--json']]) {
      const r = segc(args, {cwd: dir, env})
      expect(r.code, r.stderr).toBe(2)
      expect(r.stdout + r.stderr).toMatch(/cannot connect to Snowflake account/)
      expect(r.stdout + r.stderr).not.toContain(PASSWORD)
      expect(noStackTrace(r.stdout + r.stderr)).toBe(true)
    }
  })

  it('segc run --target (BigQuery) exits 2 at the token request, quickly', () => {
    const dir = project()
    const started = Date.now()
    const r = segc(['run', '--target', 'bq'], {cwd: dir, env: {GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'sa.json')}})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^error: BigQuery \(project acme-analytics\): .*oauth2\.googleapis\.com/m)
    expect(r.stderr).not.toContain('PRIVATE KEY')
    expect(noStackTrace(r.stderr)).toBe(true)
    expect(Date.now() - started).toBeLessThan(60_000)
  })

  it('a missing secret fails before connecting, exit 1, positioned', () => {
    const r = segc(['run', '--target', 'prod'], {cwd: project(), env: {SNOWFLAKE_ACCOUNT: '', SNOWFLAKE_PASSWORD: ''}})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segc\.yaml:7:5: error\[env_missing\]: .*SNOWFLAKE_ACCOUNT/m)
    expect(r.stderr).toMatch(/^segc\.yaml:9:5: error\[env_missing\]: .*SNOWFLAKE_PASSWORD/m)
  })

  it('compile needs no network or secrets for either dialect', () => {
    const dir = project()
    const sf = segc(['compile', '--target', 'prod', '--membership', '--as-of', '2026-06-01'], {cwd: dir})
    expect(sf.code, sf.stderr).toBe(0)
    expect(sf.stdout).toMatch(/FROM\s+"MAIN"\."CUSTOMERS"/)
    const bq = segc(['compile', '--dialect', 'bigquery', '--as-of', '2026-06-01'], {cwd: dir})
    expect(bq.code, bq.stderr).toBe(0)
    expect(bq.stdout).toMatch(/CREATE TABLE IF NOT EXISTS `segments`\.`segment_membership`/)
  })
})

describe('connection options from a target', () => {
  it('Snowflake: password or key-pair authentication, role, warehouse and database', () => {
    const pw = SnowflakeWarehouse.options({name: 'p', type: 'snowflake', account: 'xy1', user: 'u', password: 'p', warehouse: 'W', database: 'D', role: 'R'}, '/')
    expect(pw).toMatchObject({account: 'xy1', username: 'u', password: 'p', warehouse: 'W', database: 'D', role: 'R', application: 'segc'})
    expect(pw.authenticator).toBeUndefined()
    const dir = project()
    const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    writeFileSync(join(dir, 'rsa.p8'), privateKey.export({type: 'pkcs8', format: 'pem'}))
    const kp = SnowflakeWarehouse.options({name: 'p', type: 'snowflake', account: 'xy1', user: 'u', private_key_path: 'rsa.p8'}, dir)
    expect(kp).toMatchObject({authenticator: 'SNOWFLAKE_JWT', privateKeyPath: join(dir, 'rsa.p8')})
    expect(kp.password).toBeUndefined()
  })

  it('BigQuery: project, location and a key file relative to the project', () => {
    expect(BigQueryWarehouse.options({name: 'b', type: 'bigquery', project: 'p1', location: 'EU', key_file: 'k.json'}, '/proj')).toEqual({projectId: 'p1', location: 'EU', keyFilename: '/proj/k.json'})
    expect(BigQueryWarehouse.options({name: 'b', type: 'bigquery', project: 'p1'}, '/proj')).toEqual({projectId: 'p1'})
  })

  it('BigQuery: every job carries the run id as a label; the estimate is a dry run outside the session', async () => {
    const w = BigQueryWarehouse.create({name: 'b', type: 'bigquery', project: 'p1', location: 'EU'}, '/proj')
    expect(w.jobOptions('SELECT 1')).toMatchObject({labels: {tool: 'segc'}, createSession: true, location: 'EU'})
    await w.nameRun('20260601T000000Z-a1b2c3')
    expect(w.jobOptions('SELECT 1').labels).toEqual({tool: 'segc', segc_run: '20260601t000000z-a1b2c3'})
    const dry = w.dryRunOptions('SELECT 1')
    expect(dry).toMatchObject({dryRun: true, useLegacySql: false, location: 'EU'})
    expect(dry.createSession).toBeUndefined()
    expect(dry.connectionProperties).toBeUndefined()
  })
})

describe('Snowflake statements through the SDK connection (a recording connection in place of the network)', () => {
  // the shape snowflake-sdk's Connection.execute takes: {sqlText, complete(err, stmt, rows)}
  function recording(script: Array<string | null>) {
    const seen: string[] = []
    const connection = {
      execute: ({sqlText, complete}: {sqlText: string; complete: (e: Error | undefined, s: unknown, rows: unknown[]) => void}) => {
        seen.push(sqlText)
        const failure = script.shift() ?? null
        setImmediate(() => complete(failure ? new Error(failure) : undefined, {}, [{OK: 1}]))
      },
    }
    const w = new (SnowflakeWarehouse as unknown as new (c: unknown, a: string) => SnowflakeWarehouse)(connection, 'xy1')
    return {w, seen}
  }

  it('the run id becomes the query tag', async () => {
    const {w, seen} = recording([])
    await w.nameRun('20260601T000000Z-a1b2c3')
    expect(seen).toEqual(["ALTER SESSION SET QUERY_TAG = 'segc run 20260601T000000Z-a1b2c3'"])
    await w.nameRun("x'; DROP TABLE t; --")
    expect(seen).toHaveLength(1)
  })

  it('transient errors are retried, others fail at once as warehouse errors (exit 2) with lower-case columns', async () => {
    const {w, seen} = recording(['503 Service Unavailable', null])
    expect(await w.query('SELECT 1')).toEqual([{ok: 1}])
    expect(seen).toHaveLength(2)
    const other = recording(['SQL compilation error: invalid identifier'])
    await expect(other.w.query('SELECT x')).rejects.toThrow(/^Snowflake \(xy1\): SQL compilation error/)
    expect(other.seen).toHaveLength(1)
  })
})

describe('segc plan with a warehouse that estimates bytes (BigQuery dry run)', () => {
  it('asks for the membership query once and reports the estimate', async () => {
    const {planChanges} = await import('../../src/impact/plan-changes.js')
    const {duckdbAdapter} = await import('../../adapters/duckdb/index.js')
    const dir = exampleCopy()
    const duck = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
    const asked: string[] = []
    const connection = {...duck, query: duck.query.bind(duck), execute: duck.execute.bind(duck), tableExists: duck.tableExists.bind(duck), close: duck.close.bind(duck),
      estimateBytes: async (sql: string) => (asked.push(sql), 1_234_567_890)}
    try {
      const r = await planChanges({project: dir, connection})
      expect(r.estimated_bytes_processed).toBe(1_234_567_890)
      expect(asked).toHaveLength(1)
      expect(asked[0]).toMatch(/UNPIVOT/)
      expect(asked[0]).toMatch(/from "main"\."orders"/i)
    } finally {
      await duck.close()
    }
  })
})

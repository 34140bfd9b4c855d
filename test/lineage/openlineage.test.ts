import {cpSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, REPO, segc, segcAsync} from '../helpers/cli.js'
import {OPENLINEAGE_PRESENT, violations} from '../helpers/openlineage.js'
import {freePort} from '../helpers/ports.js'
import {Receiver} from '../helpers/receiver.js'
import {withProjectDb} from '../helpers/state.js'

// OpenLineage run events from segc run, sync and fit (SPEC §16), received by a real HTTP server (in
// this process, so the CLI runs without blocking it: segcAsync) and
// validated against OpenLineage's published JSON Schema; an endpoint that fails, refuses or hangs
// costs one warning, never the command.

type Event = {
  eventType: string
  eventTime: string
  run: {runId: string; facets: Record<string, any>}
  job: {namespace: string; name: string; facets: Record<string, any>}
  inputs: Array<{namespace: string; name: string; facets?: Record<string, any>}>
  outputs: Array<{namespace: string; name: string; outputFacets?: Record<string, any>}>
}

const KEY = 'olk_9f2c1e7a5b'
const PARENT = '3f2b8c9e-1d4a-4b6e-9f0a-7c5d2e1b8a90'
// block style: in a flow mapping the braces of \${env:…} would need quotes
const LINEAGE = `lineage:\n  openlineage:\n    url: \${env:OL_URL}\n    namespace: acme\n    api_key: \${env:OL_KEY}\n    timeout_seconds: 0.5\n`

let base: string
const receiver = new Receiver()
let url: string

beforeAll(async () => {
  url = (await receiver.start()).replace(/\/hook$/, '')
  base = exampleCopy()
  cpSync(join(REPO, 'syncs'), join(base, 'syncs'), {recursive: true})
  const demo = segc(['demo', '--weeks', '0', '--customers', '600', '--path', '.segc/warehouse.duckdb'], {cwd: base})
  expect(demo.code, demo.stderr).toBe(0)
  writeFileSync(join(base, 'segc.yaml'), readFileSync(join(base, 'segc.yaml'), 'utf8') + LINEAGE)
}, 240_000)
afterAll(() => receiver.stop())

const env = (extra: Record<string, string> = {}) => ({OL_URL: url, OL_KEY: KEY, ...extra})
const events = (from: number) => receiver.requests.slice(from).map((r) => ({...r, event: JSON.parse(r.raw) as Event}))

describe.skipIf(!OPENLINEAGE_PRESENT)('OpenLineage events', () => {
  it('segc run: START and COMPLETE, valid against the spec, with inputs, their columns and rows written', async () => {
    const dir = cloneProject(base)
    const mark = receiver.requests.length
    const r = await segcAsync(['run', '--as-of', '2026-06-08T00:00:00Z', '--json'], {cwd: dir, env: env({OPENLINEAGE_PARENT_ID: `airflow/segments_daily.segc_run/${PARENT}`})})
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {segments: Array<{entered: number; exited: number}>}
    const got = events(mark)
    expect(got.map((g) => g.event.eventType)).toEqual(['START', 'COMPLETE'])
    for (const g of got) {
      expect(violations(g.event as unknown as Record<string, unknown>)).toEqual([])
      expect(g.url).toBe('/api/v1/lineage')
      expect(g.headers.authorization).toBe(`Bearer ${KEY}`)
      expect(g.raw).not.toContain(KEY)
      expect(g.event.job).toMatchObject({namespace: 'acme', name: 'segc.run'})
      expect(g.event.run.facets.parent).toMatchObject({run: {runId: PARENT}, job: {namespace: 'airflow', name: 'segments_daily.segc_run'}})
    }
    const [start, complete] = got.map((g) => g.event)
    expect(complete!.run.runId).toBe(start!.run.runId)
    // the relations the run read, with the columns it reads from each
    const customers = complete!.inputs.find((d) => d.name.endsWith('main.customers'))!
    expect(customers.namespace).toMatch(/^duckdb:\/\/.*warehouse\.duckdb$/)
    expect(customers.facets!.schema.fields.map((f: {name: string}) => f.name)).toEqual(expect.arrayContaining(['customer_id', 'country', 'email_opt_in']))
    expect(complete!.inputs.some((d) => d.name.endsWith('main.orders'))).toBe(true)
    const transitions = complete!.outputs.find((d) => d.name.endsWith('segments.segment_transitions'))!
    const moved = result.segments.reduce((n, s) => n + s.entered + s.exited, 0)
    expect(moved).toBeGreaterThan(0)
    expect(transitions.outputFacets!.outputStatistics.rowCount).toBe(moved)
    expect(complete!.outputs.find((d) => d.name.endsWith('segments.segment_runs'))!.outputFacets!.outputStatistics.rowCount).toBe(1)
    // what was reported is what the warehouse holds
    const [n] = await withProjectDb(dir, (c) => c.query(`SELECT count(*) AS n FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '2026-06-08 00:00:00'`))
    expect(Number(n!.n)).toBe(moved)
    // history: intervals the run opened and closed; membership: rows it inserted or rewrote, plus those it deleted
    const [h] = await withProjectDb(dir, (c) =>
      c.query(`SELECT (SELECT count(*) FROM segments.segment_membership_history WHERE valid_from = TIMESTAMP '2026-06-08 00:00:00') + (SELECT count(*) FROM segments.segment_membership_history WHERE valid_to = TIMESTAMP '2026-06-08 00:00:00') AS n`),
    )
    expect(complete!.outputs.find((d) => d.name.endsWith('segments.segment_membership_history'))!.outputFacets!.outputStatistics.rowCount).toBe(Number(h!.n))
    const exited = result.segments.reduce((x, s) => x + s.exited, 0)
    const [m] = await withProjectDb(dir, (c) => c.query(`SELECT count(*) AS n FROM segments.segment_membership WHERE entered_at = TIMESTAMP '2026-06-08 00:00:00' OR run_id = (SELECT run_id FROM segments.segment_runs WHERE as_of = TIMESTAMP '2026-06-08 00:00:00')`))
    expect(complete!.outputs.find((d) => d.name.endsWith('segments.segment_membership'))!.outputFacets!.outputStatistics.rowCount).toBe(Number(m!.n) + exited)
    // the profile tables (SPEC §19) are outputs, with the columns the warehouse has
    const profiles = complete!.outputs.filter((d) => /segments\.segment_profiles_/.test(d.name)) as Array<{name: string; facets?: Record<string, any>}>
    const tables = (await withProjectDb(dir, (c) => c.query(`SELECT table_name, string_agg(column_name, ',' ORDER BY column_index) AS cols FROM duckdb_columns() WHERE schema_name = 'segments' AND table_name LIKE 'segment_profiles_%' GROUP BY table_name ORDER BY table_name`))).map((t) => ({...t, cols: String(t.cols).split(',')}))
    expect(tables.length).toBeGreaterThan(0)
    expect(profiles.map((d) => d.name.split('.').pop()).sort()).toEqual(tables.map((t) => String(t.table_name)))
    for (const t of tables) {
      const d = profiles.find((x) => x.name.endsWith(`.${String(t.table_name)}`))!
      expect(d.facets!.schema.fields.map((f: {name: string}) => f.name)).toEqual([...(t.cols as string[])])
    }
  })

  it('segc sync names the destination as an output; segc fit its models', async () => {
    const dir = cloneProject(base)
    let mark = receiver.requests.length
    const s = await segcAsync(['sync', 'win_back_export'], {cwd: dir, env: env()})
    expect(s.code, s.stderr).toBe(0)
    const sync = events(mark).map((g) => g.event)
    expect(sync.map((e) => e.eventType)).toEqual(['START', 'COMPLETE'])
    for (const e of sync) expect(violations(e as unknown as Record<string, unknown>)).toEqual([])
    expect(sync[1]!.job.name).toBe('segc.sync')
    const file = sync[1]!.outputs.find((d) => d.namespace === 'file')!
    expect(file.name).toBe('.segc/exports/win_back.csv')
    expect(file.outputFacets!.outputStatistics.rowCount).toBeGreaterThan(0)
    expect(sync[1]!.inputs.some((d) => d.name.endsWith('segments.segment_membership'))).toBe(true)
    mark = receiver.requests.length
    const f = await segcAsync(['fit', 'purchase_model', 'spend_model', '--as-of', '2026-06-01'], {cwd: dir, env: env()})
    expect(f.code, f.stderr).toBe(0)
    const fit = events(mark).map((g) => g.event)
    expect(fit.map((e) => [e.eventType, e.job.name])).toEqual([['START', 'segc.fit'], ['COMPLETE', 'segc.fit']])
    for (const e of fit) expect(violations(e as unknown as Record<string, unknown>)).toEqual([])
    expect(fit[1]!.outputs).toEqual([expect.objectContaining({name: expect.stringMatching(/segments\.segment_models$/), outputFacets: expect.objectContaining({outputStatistics: expect.objectContaining({rowCount: 2})})})])
  })

  it('a failed run sends FAIL with the error message, secrets redacted', async () => {
    const dir = cloneProject(base)
    await withProjectDb(dir, (c) => c.execute('DROP TABLE main.orders'))
    const mark = receiver.requests.length
    // the key is chosen to appear in the warehouse's error message: it must not leave in the event
    const r = await segcAsync(['run', '--as-of', '2026-06-08T00:00:00Z'], {cwd: dir, env: env({OL_KEY: 'orders'})})
    expect(r.code).toBe(2)
    const got = events(mark).map((g) => g.event)
    expect(got.map((e) => e.eventType)).toEqual(['START', 'FAIL'])
    expect(violations(got[1] as unknown as Record<string, unknown>)).toEqual([])
    expect(got[1]!.run.facets.errorMessage.message).toMatch(/table 'main\.\*\*\*'|'\*\*\*'/)
    expect(receiver.requests.at(-1)!.raw).not.toMatch(/orders/)
    expect(got[1]!.run.facets.errorMessage.programmingLanguage).toBe('TypeScript')
  })

  it('the check can fail: an event off the spec is caught', () => {
    const e = {eventType: 'DONE', eventTime: 'yesterday', producer: 'segc', schemaURL: 'x', run: {runId: 'r1'}, job: {namespace: 'a', name: 'b'}}
    expect(violations(e).length).toBeGreaterThan(2)
  })
})

describe('a lineage endpoint that fails never fails the command', () => {
  let hang: Server
  let hanging: string
  beforeAll(async () => {
    // accepts connections and never answers
    hang = createServer(() => undefined)
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r))
    hanging = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => (hang.closeAllConnections(), hang.close(() => r()))))

  it('unreachable, a 500, or no answer: exit 0, the run committed, one warning without the key', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const cases: Array<[string, string, RegExp]> = [
      ['unreachable', closed, /ECONNREFUSED/],
      ['500', url, /HTTP 500/],
      ['slow', hanging, /no answer within 0\.5 s/],
    ]
    for (const [label, endpoint, reason] of cases) {
      const dir = cloneProject(base)
      const mark = receiver.requests.length
      if (label === '500') receiver.script = [{status: 500}, {status: 500}, {status: 500}]
      const started = Date.now()
      const r = await segcAsync(['run', '--as-of', '2026-06-08T00:00:00Z', '--json'], {cwd: dir, env: env({OL_URL: endpoint})})
      expect(r.code, `${label}: ${r.stderr}`).toBe(0)
      expect(JSON.parse(r.stdout).status).toBe('success')
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: lineage:'))
      expect(warnings, label).toHaveLength(1)
      expect(warnings[0]).toMatch(reason)
      expect(r.stderr).not.toContain(KEY)
      // three tries of START, then nothing more for this command
      if (label === '500') expect(receiver.requests.length - mark).toBe(3)
      expect(Date.now() - started, label).toBeLessThan(60_000)
      const [n] = await withProjectDb(dir, (c) => c.query(`SELECT count(*) AS n FROM segments.segment_runs WHERE status = 'success' AND as_of = TIMESTAMP '2026-06-08 00:00:00'`))
      expect(Number(n!.n), label).toBe(1)
    }
    receiver.script = []
  })

  it('an unset variable for the endpoint is one warning, and nothing is sent', async () => {
    const dir = cloneProject(base)
    const mark = receiver.requests.length
    const r = await segcAsync(['run', '--as-of', '2026-06-08T00:00:00Z'], {cwd: dir, env: {OL_KEY: KEY, OL_URL: ''}})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^warning: lineage: not sent, the environment variable OL_URL is not set$/m)
    expect(receiver.requests.length).toBe(mark)
  })
})

import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {exampleCopy, noStackTrace, REPO, segc} from '../helpers/cli.js'

const AS_OF = '2026-06-01T00:00:00Z'

async function rows(path: string, sql: string) {
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path}, '/')
  try {
    return await conn.query(sql)
  } finally {
    await conn.close()
  }
}

describe('segc CLI', () => {
  it('demo builds the warehouse and prints segment sizes', () => {
    const dir = exampleCopy()
    const r = segc(['demo', '--customers', '800'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/800 customers/)
    expect(r.stdout).toMatch(/^9 weekly runs; the last one:$/m)
    expect(r.stdout).toMatch(/^segment\s+entity\s+size\s+holdout\s+entered\s+exited\s+cause\s+warnings$/m)
    for (const s of ['win_back', 'at_risk', 'champions', 'expansion_ready_account']) expect(r.stdout).toMatch(new RegExp(`^${s}\\s+\\w+\\s+\\d+`, 'm'))
  })

  it('demo --json returns the run and is deterministic', () => {
    const dir = exampleCopy()
    const a = JSON.parse(segc(['demo', '--weeks', '0', '--customers', '300', '--json'], {cwd: dir}).stdout)
    const b = JSON.parse(segc(['demo', '--weeks', '0', '--customers', '300', '--json'], {cwd: dir}).stdout)
    expect(a.run.segments).toHaveLength(23)
    expect(a.run.segments.map((s: {size: number}) => s.size)).toEqual(b.run.segments.map((s: {size: number}) => s.size))
    expect(a.run.segments.some((s: {size: number}) => s.size > 0)).toBe(true)
  })

  it('compile --membership returns the same members as run (the SQL printed is the SQL run)', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '400'], {cwd: dir}).code).toBe(0)
    // fitted models are placeholders offline (compile never reads the target): compare the rest
    const plain = ['suppression_list', 'high_value_at_risk', 'high_intent_lead', 'trial_not_activated', 'win_back', 'new_customer', 'active_customer', 'at_risk', 'dormant', 'lost', 'champions', 'cant_lose_them', 'loyal_customers', 'hibernating', 'expansion_ready_account']
    const compiled = segc(['compile', '--membership', '--as-of', AS_OF, '--select', plain.join(',')], {cwd: dir})
    expect(compiled.code, compiled.stderr).toBe(0)
    const db = join(dir, '.segc/demo.duckdb')
    const fromSelect = await rows(db, `SELECT segment, entity_key, holdout FROM (${compiled.stdout.trim().replace(/;$/, '')}) ORDER BY ALL`)
    const fromRun = await rows(db, `SELECT segment, entity_key, holdout FROM segments.segment_membership WHERE segment IN (${plain.map((s) => `'${s}'`).join(', ')}) ORDER BY ALL`)
    expect(fromSelect.length).toBeGreaterThan(100)
    expect(fromSelect).toEqual(fromRun)
  })

  it('run writes membership and runs; the same as_of again changes nothing', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const again = segc(['run', '--as-of', AS_OF, '--json'], {cwd: dir})
    expect(again.code, again.stderr).toBe(0)
    const second = JSON.parse(again.stdout)
    expect(second.status).toBe('unchanged')
    expect(second.segments.every((s: {entered: number; exited: number}) => s.entered === 0 && s.exited === 0)).toBe(true)
    const db = join(dir, '.segc/warehouse.duckdb')
    expect(await rows(db, 'SELECT status, as_of FROM segments.segment_runs')).toEqual([{status: 'success', as_of: '2026-06-01T00:00:00.000Z'}])
    expect(await rows(db, 'SELECT DISTINCT entered_at FROM segments.segment_membership')).toEqual([{entered_at: '2026-06-01T00:00:00.000Z'}])
    expect(segc(['run', '--as-of', AS_OF], {cwd: dir}).stdout).toMatch(/was already run: nothing changed, nothing written/)
  })

  it('a later run keeps entered_at for continuing members and counts entries and exits', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const later = JSON.parse(segc(['run', '--as-of', '2026-07-15T00:00:00Z', '--json'], {cwd: dir}).stdout)
    const moved = later.segments.reduce((n: number, s: {entered: number; exited: number}) => n + s.entered + s.exited, 0)
    expect(moved).toBeGreaterThan(0)
    const db = join(dir, '.segc/warehouse.duckdb')
    const stats = await rows(db, "SELECT count(*) FILTER (WHERE entered_at = TIMESTAMP '2026-06-01') AS kept, count(*) FILTER (WHERE entered_at = TIMESTAMP '2026-07-15') AS new FROM segments.segment_membership")
    const totalEntered = later.segments.reduce((n: number, s: {entered: number}) => n + s.entered, 0)
    expect(Number(stats[0]!.new)).toBe(totalEntered)
    expect(Number(stats[0]!.kept)).toBeGreaterThan(0)
  })

  it('an invalid project exits 1 with positioned errors, writes nothing, no stack trace', () => {
    const dir = exampleCopy()
    writeFileSync(join(dir, 'segments/bad.yaml'), 'segment: bad\nentity: customer\nrule: {trait: revenu_365d, gte: 1}\n')
    const r = segc(['run'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segments\/bad\.yaml:3:15: error\[unknown_trait\]: unknown trait 'revenu_365d' \(did you mean 'revenue_365d'\?\)$/m)
    expect(noStackTrace(r.stderr + r.stdout)).toBe(true)
    expect(existsSync(join(dir, '.segc/warehouse.duckdb'))).toBe(false)
    const j = segc(['validate', '--json'], {cwd: dir})
    expect(j.code).toBe(1)
    expect(JSON.parse(j.stdout).diagnostics[0]).toMatchObject({code: 'unknown_trait', file: 'segments/bad.yaml', line: 3, col: 15})
  })

  it('YAML syntax errors and usage errors exit 1 without a stack trace', () => {
    const dir = exampleCopy()
    writeFileSync(join(dir, 'segments/bad.yaml'), 'segment: [unclosed\n')
    const r = segc(['validate'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segments\/bad\.yaml:\d+:\d+: error\[yaml_syntax\]/m)
    for (const args of [['run', '--bogus'], ['run', '--as-of', 'last tuesday'], ['run', '--select', 'nope'], ['compile', '--dialect', 'oracle']]) {
      const u = segc(args, {cwd: exampleCopy()})
      expect(u.code, args.join(' ')).toBe(1)
      expect(noStackTrace(u.stderr + u.stdout)).toBe(true)
    }
  })

  it('a warehouse held by another process fails with exit 2 and says so', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '100', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const holder = await DuckDBInstance.create(join(dir, '.segc/warehouse.duckdb'))
    try {
      const r = segc(['run', '--as-of', AS_OF], {cwd: dir})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/in use by another process/)
      expect(noStackTrace(r.stderr)).toBe(true)
    } finally {
      holder.closeSync()
    }
  })

  it('--strict: a broken expect guard exits 3 and commits nothing; without it, a warning', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '200', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const seg = join(dir, 'segments/accounts.yaml')
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('tags: [expansion]', 'tags: [expansion]\nexpect: {min_size: 1000000}'))
    const strict = segc(['run', '--as-of', '2026-06-02', '--strict'], {cwd: dir})
    expect(strict.code).toBe(3)
    expect(strict.stderr).toMatch(/segment 'expansion_ready_account': size \d+ is below min_size 1000000/)
    expect(strict.stderr).toMatch(/nothing was committed/)
    expect(await rows(join(dir, '.segc/warehouse.duckdb'), 'SELECT count(*) AS n FROM segments.segment_runs')).toEqual([{n: 1}])
    const loose = segc(['run', '--as-of', '2026-06-02'], {cwd: dir})
    expect(loose.code).toBe(0)
    expect(loose.stderr).toMatch(/^segments\/accounts\.yaml:\d+:1: warning\[expectation_failed\]/m)
    expect(loose.stdout).toMatch(/expansion_ready_account .* is below min_size 1000000/)
  })

  it('a warehouse error mid-run rolls back, exits 2 and says which step and statement failed', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '200', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const db = join(dir, '.segc/warehouse.duckdb')
    const before = await rows(db, 'SELECT count(*) AS n, max(run_id) AS last FROM segments.segment_membership')
    await rows(db, 'ALTER TABLE main.orders DROP COLUMN amount')
    const r = segc(['run', '--as-of', '2026-06-02'], {cwd: dir})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/amount/)
    expect(r.stderr).toMatch(/^ {2}while computing the membership of /m)
    // the first statement to read the orders is the materialized last layer (SPEC §19: evaluated once, read by the diff and the profile)
    expect(r.stderr).toMatch(/^ {2}in: CREATE OR REPLACE TEMP TABLE "segc_layer__customer"/m)
    expect(noStackTrace(r.stderr)).toBe(true)
    expect(await rows(db, 'SELECT count(*) AS n, max(run_id) AS last FROM segments.segment_membership')).toEqual(before)
    expect(await rows(db, "SELECT status FROM segments.segment_runs ORDER BY started_at")).toEqual([{status: 'success'}, {status: 'failed'}])
  })

  it('--wait waits for the holder to let go, then runs', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '100', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const holder = await DuckDBInstance.create(join(dir, '.segc/warehouse.duckdb'))
    const {spawn} = await import('node:child_process')
    const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), 'run', '--as-of', '2026-06-02T00:00:00Z', '--wait', '--wait-timeout', '60'], {cwd: dir})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    await new Promise((r) => setTimeout(r, 1500))
    expect(child.exitCode).toBe(null) // still waiting
    holder.closeSync()
    const code = await new Promise((r) => child.on('exit', r))
    expect(code).toBe(0)
    expect(out).toMatch(/^run \S+ at 2026-06-02/m)
  })

  it('validate, schema, init and help', () => {
    expect(segc(['validate']).code).toBe(0)
    const schema = JSON.parse(segc(['schema', '--kind', 'segment']).stdout)
    expect(schema.required).toEqual(['segment', 'entity', 'rule'])
    const dir = join(exampleCopy(), 'fresh')
    expect(segc(['init', dir]).code).toBe(0)
    const validated = segc(['validate'], {cwd: dir})
    expect(validated.code).toBe(0)
    expect(validated.stdout).toMatch(/, 2 syncs \(/)
    expect(segc(['init', dir]).code).toBe(1)
    const empty = segc(['run'], {cwd: dir})
    expect(empty.code).toBe(1)
    expect(empty.stderr).toMatch(/^models\/shop\.yaml:\d+:3: error\[not_fitted\]: model 'purchase_model' has no version fitted .* run `segc fit purchase_model` first/m)
    const fit = segc(['fit'], {cwd: dir})
    expect(fit.code).toBe(2)
    expect(fit.stderr).toMatch(/^error: table '\w+' named in the models does not exist in .*warehouse\.duckdb; .*segc demo/m)
    for (const c of ['validate', 'compile', 'run', 'demo', 'init', 'schema', 'plan', 'test', 'sync', 'fit']) {
      const h = segc([c, '--help'])
      expect(h.code).toBe(0)
      expect(h.stdout).toMatch(/USAGE/)
    }
  })
})

describe('segc plan', () => {
  it('lists added, changed, removed and unchanged segments against the target, writing nothing', () => {
    const dir = exampleCopy()
    const fresh = JSON.parse(segc(['plan', '--json'], {cwd: dir}).stdout)
    expect(fresh.added).toHaveLength(23)
    expect(existsSync(join(dir, '.segc/warehouse.duckdb'))).toBe(false) // looking creates nothing
    expect(segc(['demo', '--weeks', '0', '--customers', '100', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const seg = join(dir, 'segments/growth.yaml')
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('gte: 500', 'gte: 600').replace('owner: sales@acme.example', 'owner: bdr@acme.example'))
    writeFileSync(join(dir, 'segments/accounts.yaml'), '')
    writeFileSync(join(dir, 'segments/new.yaml'), 'segment: brand_new\nentity: customer\nrule: {attribute: country, eq: US}\n')
    const r = segc(['plan', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const plan = JSON.parse(r.stdout)
    expect(plan).toMatchObject({added: ['brand_new'], changed: ['high_value_at_risk'], removed: ['expansion_ready_account']})
    expect(plan.unchanged).toHaveLength(21)
    expect(segc(['plan'], {cwd: dir}).stdout).toMatch(/1 to add, 1 changed, 1 to remove, 21 unchanged/)
  })
})

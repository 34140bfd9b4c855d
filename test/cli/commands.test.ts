import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {exampleCopy, noStackTrace, segc} from '../helpers/cli.js'

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
    expect(r.stdout).toMatch(/^segment\s+entity\s+size\s+holdout\s+entered\s+exited$/m)
    for (const s of ['win_back', 'at_risk', 'champions', 'expansion_ready_account']) expect(r.stdout).toMatch(new RegExp(`^${s}\\s+\\w+\\s+\\d+`, 'm'))
  })

  it('demo --json returns the run and is deterministic', () => {
    const dir = exampleCopy()
    const a = JSON.parse(segc(['demo', '--customers', '300', '--json'], {cwd: dir}).stdout)
    const b = JSON.parse(segc(['demo', '--customers', '300', '--json'], {cwd: dir}).stdout)
    expect(a.run.segments).toHaveLength(15)
    expect(a.run.segments.map((s: {size: number}) => s.size)).toEqual(b.run.segments.map((s: {size: number}) => s.size))
    expect(a.run.segments.some((s: {size: number}) => s.size > 0)).toBe(true)
  })

  it('compile --membership returns the same members as run (the SQL printed is the SQL run)', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--customers', '400'], {cwd: dir}).code).toBe(0)
    const compiled = segc(['compile', '--membership', '--as-of', AS_OF], {cwd: dir})
    expect(compiled.code, compiled.stderr).toBe(0)
    const db = join(dir, '.segc/demo.duckdb')
    const fromSelect = await rows(db, `SELECT segment, entity_key, holdout FROM (${compiled.stdout.trim().replace(/;$/, '')}) ORDER BY ALL`)
    const fromRun = await rows(db, 'SELECT segment, entity_key, holdout FROM segments.segment_membership ORDER BY ALL')
    expect(fromSelect.length).toBeGreaterThan(100)
    expect(fromSelect).toEqual(fromRun)
  })

  it('run writes membership and runs; the same as_of again changes nothing', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const first = JSON.parse(segc(['run', '--as-of', AS_OF, '--json'], {cwd: dir}).stdout)
    expect(first.status).toBe('success')
    expect(first.segments.every((s: {entered: number; exited: number}) => s.entered === 0 && s.exited === 0)).toBe(true)
    const db = join(dir, '.segc/warehouse.duckdb')
    const runs = await rows(db, 'SELECT status, as_of FROM segments.segment_runs ORDER BY started_at')
    expect(runs).toEqual([
      {status: 'success', as_of: '2026-06-01T00:00:00.000Z'},
      {status: 'success', as_of: '2026-06-01T00:00:00.000Z'},
    ])
    const entered = await rows(db, "SELECT DISTINCT entered_at FROM segments.segment_membership")
    expect(entered).toEqual([{entered_at: '2026-06-01T00:00:00.000Z'}])
  })

  it('a later run keeps entered_at for continuing members and counts entries and exits', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
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
    expect(segc(['demo', '--customers', '50', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
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

  it('validate, schema, init and help', () => {
    expect(segc(['validate']).code).toBe(0)
    const schema = JSON.parse(segc(['schema', '--kind', 'segment']).stdout)
    expect(schema.required).toEqual(['segment', 'entity', 'rule'])
    const dir = join(exampleCopy(), 'fresh')
    expect(segc(['init', dir]).code).toBe(0)
    expect(segc(['validate'], {cwd: dir}).code).toBe(0)
    expect(segc(['init', dir]).code).toBe(1)
    const empty = segc(['run'], {cwd: dir})
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^error: table '\w+' named in the models does not exist in .*warehouse\.duckdb; .*segc demo/m)
    for (const c of ['validate', 'compile', 'run', 'demo', 'init', 'schema']) {
      const h = segc([c, '--help'])
      expect(h.code).toBe(0)
      expect(h.stdout).toMatch(/USAGE/)
    }
  })
})

import {appendFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {validateProject} from '../../src/validate/validate-project.js'
import {exampleCopy, noStackTrace, segc} from '../helpers/cli.js'
import {withProjectDb} from '../helpers/state.js'
import {CONFIG, writeProject} from '../helpers/project.js'
import {MODELS} from '../language/fixture-shop.js'

// The command line of incremental runs: the mode printed and recorded, --full, segc stats
// --state beside counts read from the warehouse, and bad configuration as positioned errors.

describe('segc run with incremental:', () => {
  it('prints and records the mode; --full reads every source; stats --state reports what the tables hold', async () => {
    const dir = exampleCopy()
    appendFileSync(join(dir, 'segc.yaml'), 'incremental:\n  late_arrival: 2d\n')
    expect(segc(['demo', '--weeks', '0', '--customers', '600', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const inc = segc(['run', '--as-of', '2026-06-02T00:00:00Z'], {cwd: dir})
    expect(inc.code, inc.stderr).toBe(0)
    expect(inc.stdout.split('\n')[0]).toMatch(/^run \S+ at 2026-06-02T00:00:00.000Z on local \(incremental\)$/)
    const full = segc(['run', '--as-of', '2026-06-02T01:00:00Z', '--full', '--json'], {cwd: dir})
    expect(full.code, full.stderr).toBe(0)
    const result = JSON.parse(full.stdout)
    expect(result.mode).toBe('full')
    expect(result.sources.length).toBeGreaterThan(1)
    for (const s of result.sources) expect(s).toEqual({source: expect.any(String), how: 'rebuilt', why: '--full'})
    const modes = await withProjectDb(dir, async (c) => (await c.query('SELECT mode FROM segments.segment_runs ORDER BY as_of')).map((r) => r.mode))
    expect(modes).toEqual(['full', 'incremental', 'full'])

    const stats = segc(['stats', '--state', '--json'], {cwd: dir})
    expect(stats.code, stats.stderr).toBe(0)
    const all = JSON.parse(stats.stdout).state as Array<{source: string; state_table: string; state_rows: number; events: number; keys: number; key_rows: number; rows_per_key: number; frozen: string}>
    // beside each event source's state, each entity with segments keeps a snapshot of its rows (touched keys)
    const snapshots = all.filter((s) => s.state_table.startsWith('segment_state_entity_'))
    expect(snapshots.length).toBe(result.evaluation.length)
    // and each entity with measured segments the lift statement's first entries and outcomes
    const lifts = all.filter((s) => s.state_table.startsWith('segment_state_lift_'))
    expect(result.lift.length).toBeGreaterThan(0)
    expect(lifts.length).toBe(result.lift.length)
    for (const l of result.lift) expect(l).toEqual({entity: expect.any(String), segments: expect.any(Array), how: 'rebuilt', why: '--full'})
    const state = all.filter((s) => !snapshots.includes(s) && !lifts.includes(s))
    expect(state.length).toBe(result.sources.length)
    await withProjectDb(dir, async (c) => {
      for (const s of lifts) expect([s.state_rows, s.keys]).toEqual((await c.query(`SELECT count(*) AS n, count(DISTINCT segc_key) AS k FROM segments."${s.state_table}"`)).map((r) => [Number(r.n), Number(r.k)])[0])
      for (const s of snapshots) expect(s.state_rows).toBe(Number((await c.query(`SELECT count(*) AS n FROM segments."${s.state_table}"`))[0]!.n))
      for (const s of state) {
        const [row] = await c.query(`SELECT count(*) AS n, sum(segc_events) AS e FROM segments."${s.state_table}"`)
        expect([s.state_rows, s.events]).toEqual([Number(row!.n), Number(row!.e)])
        const [k] = await c.query(`SELECT count(DISTINCT segc_key) AS k, count(*) FILTER (WHERE segc_day IS NULL) AS v FROM segments."${s.state_table}"`)
        expect([s.keys, s.key_rows, s.rows_per_key]).toEqual([Number(k!.k), Number(k!.v), Number(row!.n) / Number(k!.k)])
        expect(s.frozen).toBe('2026-05-31T00:00:00.000Z')
      }
    })
    const bad = segc(['stats', '--state', 'win_back'], {cwd: dir})
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('--state:1:1: error[bad_flag]: --state reports the incremental state of every event source; it takes no segment (got win_back)')
    // a full run of an incremental project says why each source was read whole
    const again = segc(['run', '--as-of', '2026-06-02T02:00:00Z', '--full'], {cwd: dir})
    expect(again.stdout.split('\n')[0]).toMatch(/\(full\)$/)
    expect(again.stdout).toContain('\n  main.orders by customer_id at ordered_at: read whole (--full)\n')
    // and how lift was counted, per entity with measured segments
    for (const l of result.lift as Array<{segments: string[]}>) expect(again.stdout).toContain(`\n  lift of ${l.segments.join(', ')}: kept state built again (--full)\n`)
    const text = segc(['stats', '--state'], {cwd: dir})
    expect(text.stdout).toMatch(/^local: state of \d+ event sources/)
    expect(text.stdout).toContain('main.orders by customer_id at ordered_at')
    expect(text.stdout).toMatch(/total: [\d,]+ rows, [\d,]+ of them values per key; day buckets standing for [\d,]+ events/)
  }, 180_000)

  it('without incremental: every run is full, and stats --state says there is no state', async () => {
    const dir = exampleCopy()
    expect(segc(['demo', '--weeks', '0', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const r = segc(['run', '--as-of', '2026-06-02T00:00:00Z', '--json'], {cwd: dir})
    expect(JSON.parse(r.stdout).mode).toBe('full')
    expect(JSON.parse(r.stdout).sources).toBeUndefined()
    const stats = segc(['stats', '--state'], {cwd: dir})
    expect(stats.code).toBe(0)
    expect(stats.stdout).toContain('no incremental state')
  }, 120_000)
})

describe('incremental configuration errors', () => {
  const problems = (config: string, models = MODELS) => {
    const dir = writeProject({'segc.yaml': CONFIG + config, 'models/m.yaml': models, 'segments/a.yaml': 'segment: a\nentity: customer\nrule: {event: order}\n'})
    return validateProject({project: dir}).diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.file, d.line, d.col])
  }

  it('a late_arrival that is not a duration, a missing one, an unknown key: positioned', () => {
    expect(problems('incremental:\n  late_arrival: 2 days\n')).toEqual([['bad_duration', 'segc.yaml', 5, 17]])
    expect(problems('incremental: {}\n')).toEqual([['missing_key', 'segc.yaml', 4, 1]])
    expect(problems('incremental:\n  late_arrival: 2d\n  lateness: 1d\n')).toEqual([['unknown_key', 'segc.yaml', 6, 3]])
  })

  it('loaded_at must name a column', () => {
    const models = MODELS.replace('    key: cid\n    timestamp: ts\n', '    key: cid\n    timestamp: ts\n    loaded_at: [x]\n')
    expect(models).toContain('loaded_at: [x]')
    const found = problems('', models)
    expect(found).toHaveLength(1)
    expect(found[0]![0]).toBe('wrong_type')
    expect(found[0]![1]).toBe('models/m.yaml')
  })

  it('the CLI prints them and exits 1 without a stack trace', () => {
    const dir = writeProject({'segc.yaml': CONFIG + 'incremental:\n  late_arrival: soon\n', 'models/m.yaml': MODELS, 'segments/a.yaml': 'segment: a\nentity: customer\nrule: {event: order}\n'})
    writeFileSync(join(dir, 'segments/b.yaml'), 'segment: b\nentity: customer\nrule: {event: order, within: 7d}\n')
    const r = segc(['run'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("segc.yaml:5:17: error[bad_duration]: incremental.late_arrival 'soon' is not a duration")
    expect(noStackTrace(r.stderr)).toBe(true)
  })
})

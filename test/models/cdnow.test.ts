import {spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {compilerFor, featureQuery, render} from '../../src/generate/generate-sql.js'
import {loadModels} from '../../src/project/models.js'
import {featurePlan} from '../../src/plan/build-plan.js'
import {prepare} from '../../src/project/session.js'
import {segc} from '../helpers/cli.js'
import {CDNOW_FILE, cdnowProject} from './cdnow.js'

// The published CDNOW figures (../shared/data/cdnow/README.md), reproduced by `segc fit`, and
// every customer's predictions from segc's SQL against an independent scipy implementation.

const within = (value: number, published: number, rel: number) => Math.abs(value - published) / Math.abs(published) <= rel

describe('segc fit --validate-until: predicted against actual repeat purchases after as_of', () => {
  it('per x, equal to the scipy implementation (predicted within 1e-6, actual exactly)', async () => {
    const dir = await cdnowProject(mkdtempSync(join(tmpdir(), 'segc-cdnow-')))
    const r = segc(['fit', 'purchases', '--as-of', '1997-09-30', '--validate-until', '1998-06-30', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const m = (JSON.parse(r.stdout) as {models: Array<{params: Record<string, number>; validation: Array<{x: number; customers: number; predicted: number; actual: number}>}>}).models[0]!
    const tool = fileURLToPath(new URL('./tools/cdnow_scipy.py', import.meta.url))
    const input = {file: CDNOW_FILE, as_of: '1997-09-30', validate_until: '1998-06-30', unit_days: 7, bgnbd: m.params, gamma_gamma: {p: 1, q: 2, gamma: 1}, horizon_days: 90, clv_days: 30, discount_rate: 0}
    const py = spawnSync('/usr/bin/python3', [tool], {input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26})
    expect(py.status, py.stderr).toBe(0)
    const expected = (JSON.parse(py.stdout) as {validation: Record<string, {customers: number; predicted: number; actual: number}>}).validation
    expect(m.validation.map((v) => String(v.x))).toEqual(Object.keys(expected))
    for (const v of m.validation) {
      const e = expected[String(v.x)]!
      expect({customers: v.customers, actual: v.actual}).toEqual({customers: e.customers, actual: e.actual})
      expect(Math.abs(v.predicted - e.predicted) / Math.max(e.predicted, 1e-300)).toBeLessThan(1e-6)
    }
    expect(m.validation.reduce((s, v) => s + v.customers, 0)).toBe(2357)
    const later = segc(['fit', 'purchases', '--as-of', '1997-09-30', '--validate-until', '1997-09-01'], {cwd: dir})
    expect(later.code).toBe(1)
    expect(later.stderr).toMatch(/^--validate-until:1:1: error\[bad_flag\]: --validate-until must be later than --as-of/m)
  })
})

describe('segc fit on the CDNOW sample at 1997-09-30, weekly', () => {
  let dir: string
  let fit: {models: Array<{model: string; kind: string; version: number; params: Record<string, number>; n: number; log_likelihood: number; detail: Record<string, number>}>}
  beforeAll(async () => {
    dir = await cdnowProject(mkdtempSync(join(tmpdir(), 'segc-cdnow-')))
    const r = segc(['fit', '--as-of', '1997-09-30', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    fit = JSON.parse(r.stdout)
  })

  it('BG/NBD: r = 0.243, α = 4.414, a = 0.793, b = 2.426 (each within 0.5%), log-likelihood −9582.4', () => {
    const m = fit.models.find((x) => x.model === 'purchases')!
    expect(m).toMatchObject({kind: 'bgnbd', version: 1, n: 2357})
    for (const [k, v] of Object.entries({r: 0.243, alpha: 4.414, a: 0.793, b: 2.426})) expect(within(m.params[k]!, v, 0.005), `${k} = ${m.params[k]}`).toBe(true)
    expect(m.log_likelihood).toBeCloseTo(-9582.4, 1)
    // the README's counts: 946 repeat buyers made 2,457 repeat purchases
    expect(m.detail).toMatchObject({repeat_buyers: 946, repeat_transactions: 2457})
  })

  it('Gamma-Gamma: p = 6.25, q = 3.74, γ = 15.44 (within 0.5%) on 946 customers', () => {
    const m = fit.models.find((x) => x.model === 'spend')!
    expect(m).toMatchObject({kind: 'gamma_gamma', version: 1, n: 946})
    for (const [k, v] of Object.entries({p: 6.25, q: 3.74, gamma: 15.44})) expect(within(m.params[k]!, v, 0.005), `${k} = ${m.params[k]}`).toBe(true)
  })

  it('every customer: p_alive, expected purchases (90d), expected spend and CLV (365d, 10%) equal scipy within 1e-6 relative', async () => {
    const p = prepare({project: dir})
    const conn = await duckdbAdapter.connect(p.target, p.v.root)
    let rows: Array<Record<string, unknown>>
    let params: Map<string, {params: Record<string, unknown>}>
    try {
      params = await loadModels(conn, p.v.project, p.adapter.dialect)
      const names = ['p_alive', 'next_90d', 'avg_spend', 'clv_1y']
      const f = featurePlan(p.v.project, 'customer', new Date('1997-09-30T00:00:00Z'), names.map((name) => ({name, target: 'trait' as const})), {models: params as never})
      const db = compilerFor(duckdbAdapter.dialect)
      rows = await conn.query(render(db, sql`${featureQuery(db, duckdbAdapter.dialect, f.asOf, f.plan, f.values)}`))
    } finally {
      await conn.close()
    }
    const tool = fileURLToPath(new URL('./tools/cdnow_scipy.py', import.meta.url))
    const input = {file: CDNOW_FILE, as_of: '1997-09-30', unit_days: 7, bgnbd: params.get('purchases')!.params, gamma_gamma: params.get('spend')!.params, horizon_days: 90, clv_days: 365, discount_rate: 0.1}
    const r = spawnSync('/usr/bin/python3', [tool], {input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26})
    expect(r.status, r.stderr).toBe(0)
    const expected = JSON.parse(r.stdout) as Record<string, Record<string, number>>
    expect(rows).toHaveLength(2357)
    expect(Object.keys(expected)).toHaveLength(2357)
    let worst = 0
    for (const row of rows) {
      const e = expected[String(row.segc_key)]!
      const pairs: Array<[number, number]> = [
        [Number(row.f0), e.p_alive!],
        [Number(row.f1), e.expected_purchases!],
        [Number(row.f2), e.expected_spend!],
        [Number(row.f3), e.clv!],
      ]
      for (const [got, want] of pairs) {
        const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-300)
        worst = Math.max(worst, rel)
        expect(rel, `${String(row.segc_key)}: ${got} vs ${want}`).toBeLessThan(1e-6)
      }
    }
    expect(worst).toBeLessThan(1e-6)
  })
})

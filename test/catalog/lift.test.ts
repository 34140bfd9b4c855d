import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {liftStatistics, MIN_EACH_OUTCOME} from '../../src/catalog/lift.js'

describe('lift statistics', () => {
  it('reproduce the worked example: 1,200 of 10,000 members vs 100 of 1,000 held out', () => {
    const s = liftStatistics({members: 10_000, members_converted: 1_200, holdout: 1_000, holdout_converted: 100})
    expect(s.rate_members).toBeCloseTo(0.12, 12)
    expect(s.rate_holdout).toBeCloseTo(0.1, 12)
    expect(s.lift_abs).toBeCloseTo(0.02, 12)
    expect(s.lift_rel).toBeCloseTo(0.2, 12)
    expect(s.ci_low).toBeCloseTo(0.0003, 4)
    expect(s.ci_high).toBeCloseTo(0.0397, 4)
    // z ≈ 1.868 (pooled), p ≈ 0.0618
    expect(s.p_value).toBeCloseTo(0.0618, 4)
    expect(s.reason).toBeUndefined()
  })

  it('says nothing misleading when there is too little to go on', () => {
    const noHoldout = liftStatistics({members: 500, members_converted: 50, holdout: 0, holdout_converted: 0})
    expect(noHoldout).toMatchObject({rate_members: 0.1, rate_holdout: null, lift_abs: null, ci_low: null, p_value: null, reason: 'no holdout members yet'})
    const few = liftStatistics({members: 1_000, members_converted: 30, holdout: 100, holdout_converted: MIN_EACH_OUTCOME - 1})
    expect(few).toMatchObject({rate_members: 0.03, rate_holdout: 0.04, lift_abs: null, lift_rel: null, ci_low: null, ci_high: null, p_value: null})
    expect(few.reason).toMatch(/^too few to say anything: 4 converted holdout members/)
    const all = liftStatistics({members: 100, members_converted: 100, holdout: 100, holdout_converted: 98})
    expect(all.reason).toMatch(/0 members who did not convert/)
    expect(liftStatistics({members: 0, members_converted: 0, holdout: 0, holdout_converted: 0})).toMatchObject({rate_members: null, rate_holdout: null})
  })

  it('agree with scipy on 200 random tables (an independent implementation)', () => {
    const tables = fc.sample(
      fc
        .tuple(fc.integer({min: 20, max: 200_000}), fc.integer({min: 20, max: 50_000}), fc.double({min: 0.01, max: 0.99, noNaN: true}), fc.double({min: 0.01, max: 0.99, noNaN: true}))
        .map(([n1, n2, r1, r2]) => [n1, Math.round(n1 * r1), n2, Math.round(n2 * r2)] as const)
        .filter(([n1, k1, n2, k2]) => Math.min(k1, n1 - k1, k2, n2 - k2) >= MIN_EACH_OUTCOME),
      {numRuns: 200, seed: 20261125},
    )
    const tool = fileURLToPath(new URL('./tools/lift_scipy.py', import.meta.url))
    const r = spawnSync('/usr/bin/python3', [tool], {input: JSON.stringify(tables), encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    const expected = JSON.parse(r.stdout) as Array<{lift_abs: number; ci_low: number; ci_high: number; p_value: number}>
    expect(expected).toHaveLength(tables.length)
    tables.forEach(([members, members_converted, holdout, holdout_converted], i) => {
      const s = liftStatistics({members, members_converted, holdout, holdout_converted})
      const e = expected[i]!
      for (const k of ['lift_abs', 'ci_low', 'ci_high'] as const) expect(Math.abs(s[k]! - e[k])).toBeLessThan(1e-12)
      expect(Math.abs(s.p_value! - e.p_value)).toBeLessThanOrEqual(1e-12 + 1e-9 * e.p_value)
    })
  })
})

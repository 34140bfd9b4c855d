// Lift of a segment over its holdout on the measure: outcome. The counts come from the
// warehouse; the statistics are computed here, where a normal CDF exists in every dialect's
// stead, and written back in the run's transaction.
import normalCdf from '@stdlib/stats-base-dists-normal-cdf'
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile'

export interface LiftCounts {
  members: number
  members_converted: number
  holdout: number
  holdout_converted: number
}

export interface LiftStatistics {
  rate_members: number | null
  rate_holdout: number | null
  lift_abs: number | null
  lift_rel: number | null
  ci_low: number | null
  ci_high: number | null
  p_value: number | null
  /** why the statistics are NULL, for the CLI; undefined when they are given */
  reason?: string
}

/**
 * The normal approximation behind the interval and the z-test needs enough of both outcomes
 * in both groups; the usual rule of thumb is at least this many of each.
 */
export const MIN_EACH_OUTCOME = 5

const Z95 = normalQuantile(0.975, 0, 1)

/**
 * Rates, absolute and relative lift, the 95% confidence interval of the difference of
 * proportions (unpooled standard error) and the two-sided p-value of the pooled
 * two-proportion z-test. Statistics are NULL, with a reason, where they would mislead.
 */
export function liftStatistics(c: LiftCounts): LiftStatistics {
  const rate = (k: number, n: number) => (n > 0 ? k / n : null)
  const rm = rate(c.members_converted, c.members)
  const rh = rate(c.holdout_converted, c.holdout)
  const none = (reason: string): LiftStatistics => ({rate_members: rm, rate_holdout: rh, lift_abs: null, lift_rel: null, ci_low: null, ci_high: null, p_value: null, reason})
  if (c.holdout === 0) return none('no holdout members yet')
  if (c.members === 0) return none('no members outside the holdout')
  const cells: Array<[string, number]> = [
    ['converted members', c.members_converted],
    ['members who did not convert', c.members - c.members_converted],
    ['converted holdout members', c.holdout_converted],
    ['holdout members who did not convert', c.holdout - c.holdout_converted],
  ]
  const small = cells.filter(([, n]) => n < MIN_EACH_OUTCOME)
  if (small.length) return none(`too few to say anything: ${small.map(([what, n]) => `${n} ${what}`).join(', ')} (at least ${MIN_EACH_OUTCOME} of each are needed)`)
  const p1 = rm!
  const p2 = rh!
  const diff = p1 - p2
  const se = Math.sqrt((p1 * (1 - p1)) / c.members + (p2 * (1 - p2)) / c.holdout)
  const pooled = (c.members_converted + c.holdout_converted) / (c.members + c.holdout)
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / c.members + 1 / c.holdout))
  const z = diff / sePooled
  return {
    rate_members: p1,
    rate_holdout: p2,
    lift_abs: diff,
    lift_rel: p2 > 0 ? diff / p2 : null,
    ci_low: diff - Z95 * se,
    ci_high: diff + Z95 * se,
    p_value: 2 * normalCdf(-Math.abs(z), 0, 1),
  }
}

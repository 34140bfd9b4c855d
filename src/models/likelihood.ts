// Maximum likelihood for BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
// way") and the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"), from
// grouped per-entity summaries. Log-space throughout; parameters are optimized on the log
// scale so they stay positive.
import betaln from '@stdlib/math-base-special-betaln'
import gammaln from '@stdlib/math-base-special-gammaln'
import fmin from 'fmin'

/** One distinct (x, t_x, T) with how many entities share it. */
export interface BgnbdGroup {
  x: number
  t_x: number
  big_t: number
  n: number
}

/** One distinct (x, m_x) of the repeat buyers with how many entities share it. */
export interface GammaGammaGroup {
  x: number
  m_x: number
  n: number
}

export interface Fit<P> {
  params: P
  logLikelihood: number
  n: number
  iterations: number
}

/** A fit that cannot be trusted: too little data, or no convergence (exit 2, nothing stored). */
export class FitError extends Error {}

const logAddExp = (u: number, v: number) => (u > v ? u + Math.log1p(Math.exp(v - u)) : v + Math.log1p(Math.exp(u - v)))

/**
 * The groups in columns, with each distinct time (t_x or T) and each distinct x listed once:
 * an evaluation then takes one logarithm per distinct value (days since the first purchase are
 * whole days, so a few hundred) instead of three per group, and one exp/log1p per group.
 */
interface BgnbdColumns {
  times: Float64Array
  xs: Float64Array
  /** per group: index into xs, into times for t_x and for T, and the entity count */
  x: Int32Array
  tx: Int32Array
  bigT: Int32Array
  n: Float64Array
}

function bgnbdColumns(groups: readonly BgnbdGroup[]): BgnbdColumns {
  const times = [...new Set(groups.flatMap((g) => [g.t_x, g.big_t]))].sort((u, v) => u - v)
  const xs = [...new Set(groups.map((g) => g.x))].sort((u, v) => u - v)
  const ti = new Map(times.map((t, i) => [t, i]))
  const xi = new Map(xs.map((x, i) => [x, i]))
  return {
    times: Float64Array.from(times),
    xs: Float64Array.from(xs),
    x: Int32Array.from(groups, (g) => xi.get(g.x)!),
    tx: Int32Array.from(groups, (g) => ti.get(g.t_x)!),
    bigT: Int32Array.from(groups, (g) => ti.get(g.big_t)!),
    n: Float64Array.from(groups, (g) => g.n),
  }
}

export function bgnbdLogLikelihood(p: {r: number; alpha: number; a: number; b: number}, groups: readonly BgnbdGroup[] | BgnbdColumns): number {
  const c = 'times' in groups ? groups : bgnbdColumns(groups)
  const {r, alpha, a, b} = p
  const logAlphaT = c.times.map((t) => Math.log(alpha + t))
  // the gamma and beta terms depend on x alone: once per distinct x
  const constant = c.xs.map((x) => gammaln(r + x) - gammaln(r) + r * Math.log(alpha) + betaln(a, b + x) - betaln(a, b))
  const rx = c.xs.map((x) => r + x)
  const dropout = c.xs.map((x) => (x > 0 ? Math.log(a) - Math.log(b + x - 1) : NaN))
  let total = 0
  for (let g = 0; g < c.n.length; g++) {
    const i = c.x[g]!
    const a3 = -rx[i]! * logAlphaT[c.bigT[g]!]!
    const ll = c.xs[i]! > 0 ? constant[i]! + logAddExp(a3, dropout[i]! - rx[i]! * logAlphaT[c.tx[g]!]!) : constant[i]! + a3
    total += c.n[g]! * ll
  }
  return total
}

/**
 * Gamma-Gamma's log-likelihood. The gamma functions depend on x alone (once per distinct x) and
 * log(m_x) on no parameter (once per group, before the search): an evaluation takes one log
 * per group.
 */
interface GammaGammaColumns {
  xs: Float64Array
  x: Int32Array
  /** per group: x·m_x, log(m_x), log(x) */
  xm: Float64Array
  logM: Float64Array
  logX: Float64Array
  n: Float64Array
}

function gammaGammaColumns(groups: readonly GammaGammaGroup[]): GammaGammaColumns {
  const xs = [...new Set(groups.map((g) => g.x))].sort((u, v) => u - v)
  const xi = new Map(xs.map((x, i) => [x, i]))
  return {
    xs: Float64Array.from(xs),
    x: Int32Array.from(groups, (g) => xi.get(g.x)!),
    xm: Float64Array.from(groups, (g) => g.x * g.m_x),
    logM: Float64Array.from(groups, (g) => Math.log(g.m_x)),
    logX: Float64Array.from(groups, (g) => Math.log(g.x)),
    n: Float64Array.from(groups, (g) => g.n),
  }
}

export function gammaGammaLogLikelihood(p: {p: number; q: number; gamma: number}, groups: readonly GammaGammaGroup[] | GammaGammaColumns): number {
  const c = 'xm' in groups ? groups : gammaGammaColumns(groups)
  const constant = c.xs.map((x) => gammaln(p.p * x + p.q) - gammaln(p.p * x) - gammaln(p.q) + p.q * Math.log(p.gamma))
  let total = 0
  for (let g = 0; g < c.n.length; g++) {
    const i = c.x[g]!
    const px = p.p * c.xs[i]!
    total += c.n[g]! * (constant[i]! + (px - 1) * c.logM[g]! + px * c.logX[g]! - (px + p.q) * Math.log(c.xm[g]! + p.gamma))
  }
  return total
}

/**
 * Minimizes the negative log-likelihood over log-parameters with Nelder-Mead, restarted from
 * the best point until a restart no longer improves it (a lone simplex run can stall short
 * of the optimum on ridges like BG/NBD's).
 */
function maximize(negLogLik: (logParams: number[]) => number, start: number[]): {x: number[]; fx: number; iterations: number} {
  let best = {x: start, fx: negLogLik(start)}
  let improved = Infinity
  let iterations = 0
  for (; iterations < 12; iterations++) {
    // fmin 0.0.2 reads minTolerance from minErrorDelta: one number bounds both the spread of
    // the simplex's values and of its best two points
    const r = fmin.nelderMead(negLogLik, best.x.slice(), {maxIterations: 800, minErrorDelta: 1e-10})
    improved = best.fx - r.fx
    if (r.fx <= best.fx) best = {x: [...r.x], fx: r.fx}
    // converged when a restart gains less than 1e-9 of the log-likelihood (each restart
    // on BG/NBD's ridge costs thousands of evaluations for gains that move no prediction)
    if (improved <= 1e-9 * Math.abs(best.fx)) return {...best, iterations: iterations + 1}
  }
  // on a ridge (BG/NBD's a and b growing together when every customer drops out alike) the
  // restarts keep creeping; a last gain below 1e-7 of the likelihood moves no prediction
  if (improved <= 1e-7 * Math.abs(best.fx)) return {...best, iterations}
  throw new FitError(`the likelihood did not converge: the last of ${iterations} Nelder-Mead restarts still improved it by ${improved.toPrecision(3)}`)
}

function checked<P extends Record<string, number>>(names: Array<keyof P & string>, logParams: number[], fx: number): P {
  if (!Number.isFinite(fx)) throw new FitError('the log-likelihood is not finite at the optimum')
  const out = {} as Record<string, number>
  names.forEach((k, i) => {
    const v = Math.exp(logParams[i]!)
    // a parameter run off to 0 or infinity: the data cannot identify the model
    if (!Number.isFinite(v) || logParams[i]! > 25 || logParams[i]! < -25) throw new FitError(`parameter ${k} did not converge (it ran to ${v.toPrecision(3)}): the history cannot identify the model`)
    out[k] = v
  })
  return out as P
}

/**
 * When every customer drops out alike, a and b climb a ridge together (the dropout probability
 * a/(a+b) fixed, its spread going to 0) and the likelihood is flat along it. a and b are
 * searched as log(a/b) and log(a·b), the latter capped at RIDGE_CAP: on the ridge the search
 * then stops at a, b ≈ e^20 (which changes no prediction measurably) instead of crawling along
 * it for thousands of evaluations.
 */
const RIDGE_CAP = 40

function bgnbdParams(u: number[]): {r: number; alpha: number; a: number; b: number} {
  const ratio = u[2]!
  const product = Math.min(u[3]!, RIDGE_CAP)
  return {r: Math.exp(u[0]!), alpha: Math.exp(u[1]!), a: Math.exp((product + ratio) / 2), b: Math.exp((product - ratio) / 2)}
}

/** BG/NBD's parameters; at the NBD limit (no dropout visible) `a` is 0 and `b` is not identified (null). */
export interface BgnbdParams {
  r: number
  alpha: number
  a: number
  b: number | null
}

/**
 * BG/NBD's likelihood as the dropout probability a/(a+b) goes to 0 (a → 0, any b): B(a, b+x)/B(a, b)
 * → 1 and the dropout term a/(b+x−1)·… → 0, leaving the NBD model in which every customer is
 * alive, Γ(r+x)α^r / (Γ(r)(α+T)^(r+x)) per customer. It does not depend on t_x.
 */
export function nbdLimitLogLikelihood(p: {r: number; alpha: number}, groups: readonly BgnbdGroup[] | BgnbdColumns): number {
  const c = 'times' in groups ? groups : bgnbdColumns(groups)
  const {r, alpha} = p
  const logAlphaT = c.times.map((t) => Math.log(alpha + t))
  const constant = c.xs.map((x) => gammaln(r + x) - gammaln(r) + r * Math.log(alpha))
  let total = 0
  for (let g = 0; g < c.n.length; g++) {
    const i = c.x[g]!
    total += c.n[g]! * (constant[i]! - (r + c.xs[i]!) * logAlphaT[c.bigT[g]!]!)
  }
  return total
}

/** The interior is preferred only when it beats the NBD limit by more than this share of the log-likelihood. */
const BOUNDARY_TOLERANCE = 1e-9

/**
 * BG/NBD by maximum likelihood, or its NBD limit when that is where the maximum lies.
 *
 * Real histories can show no dropout: the likelihood then keeps rising as a/(a+b) → 0, and the
 * search runs a towards 0 and b off to infinity without converging. That is a result, not a
 * failure: the supremum is the NBD limit, whose r and α are well identified. So the limit is fitted
 * too, and the interior fit is kept only when it is identified (its parameters converged) and
 * beats the limit's log-likelihood; otherwise, if the limit's r and α are identified, the limit is
 * the fit (`boundary`). Only when neither is identified does the fit fail.
 */
export function fitBgnbd(groups: readonly BgnbdGroup[]): Fit<BgnbdParams> & {boundary: boolean} {
  const n = groups.reduce((s, g) => s + g.n, 0)
  const repeaters = groups.filter((g) => g.x > 0).reduce((s, g) => s + g.n, 0)
  if (n < 20 || repeaters < 5) throw new FitError(`too little data to fit BG/NBD: ${n} entities with a transaction, ${repeaters} with a repeat transaction (at least 20 and 5 are needed)`)
  const columns = bgnbdColumns(groups)
  const meanT = groups.reduce((s, g) => s + g.n * g.big_t, 0) / n
  const start = Math.log(Math.max(meanT, 1e-6))
  const limit = attempt(() => {
    const best = maximize((u) => {
      const v = -nbdLimitLogLikelihood({r: Math.exp(u[0]!), alpha: Math.exp(u[1]!)}, columns)
      return Number.isFinite(v) ? v : 1e300
    }, [0, start])
    return {params: checked<{r: number; alpha: number}>(['r', 'alpha'], best.x, best.fx), logLikelihood: -best.fx, iterations: best.iterations}
  })
  const interior = attempt(() => {
    const nll = (u: number[]) => {
      // past the cap the likelihood stops changing; a quadratic wall keeps the simplex from
      // wandering on that plateau, where it could never meet its convergence test
      const excess = Math.max(0, u[3]! - RIDGE_CAP)
      const v = -bgnbdLogLikelihood(bgnbdParams(u), columns) + excess * excess
      return Number.isFinite(v) ? v : 1e300
    }
    const best = maximize(nll, [0, start, 0, 0])
    const p = bgnbdParams(best.x)
    const logParams = [p.r, p.alpha, p.a, p.b].map(Math.log)
    return {params: checked<{r: number; alpha: number; a: number; b: number}>(['r', 'alpha', 'a', 'b'], logParams, best.fx), logLikelihood: -best.fx, iterations: best.iterations}
  })
  if ('fit' in interior && (!('fit' in limit) || interior.fit.logLikelihood - limit.fit.logLikelihood > BOUNDARY_TOLERANCE * Math.abs(limit.fit.logLikelihood))) {
    return {...interior.fit, n, boundary: false}
  }
  if ('fit' in limit) return {params: {...limit.fit.params, a: 0, b: null}, logLikelihood: limit.fit.logLikelihood, iterations: limit.fit.iterations, n, boundary: true}
  throw new FitError(`no parameter of BG/NBD is identified: ${'error' in interior ? interior.error : ''}; and at its NBD limit: ${limit.error}`)
}

function attempt<T>(f: () => T): {fit: T} | {error: string} {
  try {
    return {fit: f()}
  } catch (error) {
    if (error instanceof FitError) return {error: error.message}
    throw error
  }
}

export function fitGammaGamma(groups: readonly GammaGammaGroup[]): Fit<{p: number; q: number; gamma: number}> {
  const n = groups.reduce((s, g) => s + g.n, 0)
  if (n < 10) throw new FitError(`too little data to fit Gamma-Gamma: ${n} entities with a repeat transaction of positive value (at least 10 are needed)`)
  const columns = gammaGammaColumns(groups)
  const nll = (lp: number[]) => {
    const v = -gammaGammaLogLikelihood({p: Math.exp(lp[0]!), q: Math.exp(lp[1]!), gamma: Math.exp(lp[2]!)}, columns)
    return Number.isFinite(v) ? v : 1e300
  }
  const best = maximize(nll, [0, 0, 0])
  return {params: checked(['p', 'q', 'gamma'], best.x, best.fx), logLikelihood: -best.fx, n, iterations: best.iterations}
}

// The design matrix and score of a propensity model (SPEC §17) as plan expressions: the same
// expressions build the fit's design table in the warehouse and score every entity in a run,
// so training and scoring cannot drift apart.
import type {PropensitySpec} from '../resolve/model.js'
import type {PlanExpr} from './plan-types.js'

/** One column of the design: a standardized number, a boolean, or one level of a string feature. */
export interface DesignColumn {
  feature: string
  /** set for a one-hot column of a string feature */
  level?: string
}

/** The stored params of a propensity version (segment_models.params). */
export interface PropensityParams {
  features: string[]
  /** feature → its type in the design */
  types: Record<string, 'number' | 'boolean' | 'string'>
  columns: DesignColumn[]
  /** number features: mean and population deviation of the non-NULL values in the training snapshot */
  means: Record<string, number>
  stddevs: Record<string, number>
  /** string features: their most frequent values in the training snapshot (ties by value) */
  levels: Record<string, string[]>
  /** one per column, in column order */
  coefficients: number[]
  intercept: number
  cutoff: string
  horizon: number
  n_train: number
  positives_train: number
  auc: number
  base_rate: number
  calibration: Array<{bin: number; predicted: number; observed: number; n: number}>
  iterations: number
}

const num = (value: number): PlanExpr => ({k: 'lit', type: 'number', value})
const float = (value: PlanExpr): PlanExpr => ({k: 'to_float', value})
const ONE = float(num(1))
const ZERO = float(num(0))

/**
 * The design value of `c` for an entity whose feature is `value`: never NULL, a float. The
 * feature is made a float before any arithmetic, and the 0/1 columns are floats: a count is an
 * integer as wide as 128 bits in DuckDB and a sum an exact decimal, and a decimal literal
 * (a mean, a coefficient) times an integer is exact decimal arithmetic, per row — at 1M
 * entities most of what scoring cost (BENCHMARKS.md, Propensity).
 */
export function designColumn(params: Pick<PropensityParams, 'types' | 'means' | 'stddevs'>, c: DesignColumn, value: PlanExpr): PlanExpr {
  const type = params.types[c.feature]
  if (type === 'number') {
    const mean = num(params.means[c.feature]!)
    // a NULL becomes the mean, i.e. 0 once centred
    const centred: PlanExpr = {k: 'arith', op: '-', left: {k: 'fn', fn: 'coalesce', args: [float(value), mean]}, right: mean}
    return {k: 'arith', op: '/', left: centred, right: num(params.stddevs[c.feature]!)}
  }
  const when: PlanExpr = type === 'boolean' ? {k: 'truth', operand: value} : {k: 'truth', operand: {k: 'cmp', op: '=', left: value, right: {k: 'lit', type: 'string', value: c.level!}}}
  return {k: 'fn', fn: 'coalesce', args: [{k: 'when', when, then: ONE}, ZERO]}
}

/** β₀ + Σ βⱼ xⱼ over the design columns. */
export function linearPredictor(params: PropensityParams, value: (feature: string) => PlanExpr): PlanExpr {
  let sum: PlanExpr = num(params.intercept)
  params.columns.forEach((c, j) => {
    sum = {k: 'arith', op: '+', left: sum, right: {k: 'arith', op: '*', left: num(params.coefficients[j]!), right: designColumn(params, c, value(c.feature))}}
  })
  return sum
}

/**
 * 1 / (1 + e^−η). −η is capped at 700 first: e^700 is finite in every dialect's double, and the
 * cap moves the probability by less than 1e-300. Only the overflowing side needs it (e^−η of a
 * large η underflows to 0 harmlessly), and one LEAST writes η out half as often as a clamp on
 * both sides — it is the longest expression a run computes, and an NTILE of it ranks it again.
 * η is never NULL (every design column is coalesced), so the LEAST needs no NULL check
 * (neverNull in expr-writer.ts) and η is written out once.
 */
export function logistic(eta: PlanExpr): PlanExpr {
  const capped: PlanExpr = {k: 'fn', fn: 'least', args: [num(700), {k: 'neg', operand: eta}]}
  return {k: 'arith', op: '/', left: num(1), right: {k: 'arith', op: '+', left: num(1), right: {k: 'fn', fn: 'exp', args: [capped]}}}
}

/** Placeholder params for compiling without a target: the SQL has a run's shape. */
export function placeholderPropensity(spec: PropensitySpec): PropensityParams {
  const columns: DesignColumn[] = spec.features.flatMap((f) => (f.type === 'string' ? [{feature: f.name, level: 'a'}] : [{feature: f.name}]))
  return {
    features: spec.features.map((f) => f.name),
    types: Object.fromEntries(spec.features.map((f) => [f.name, f.type])),
    columns,
    means: Object.fromEntries(spec.features.filter((f) => f.type === 'number').map((f) => [f.name, 0])),
    stddevs: Object.fromEntries(spec.features.filter((f) => f.type === 'number').map((f) => [f.name, 1])),
    levels: Object.fromEntries(spec.features.filter((f) => f.type === 'string').map((f) => [f.name, ['a']])),
    coefficients: columns.map(() => 0),
    intercept: 0,
    cutoff: '1970-01-01T00:00:00.000Z',
    horizon: spec.horizonSeconds,
    n_train: 0,
    positives_train: 0,
    auc: 0.5,
    base_rate: 0,
    calibration: [],
    iterations: 0,
  }
}

// fit: propensity (SPEC §17): a ridge logistic regression fitted in the warehouse. Two
// point-in-time snapshots are built once each (c₀ = as_of − 2·horizon to train, c₁ = as_of −
// horizon to measure); each Newton iteration is one statement summing the gradient, Hessian
// and objective over a design table. Only those sums and the p×p solve reach Node.
import {sql} from 'kysely'
import {compilerFor, featureQuery, render} from '../generate/generate-sql.js'
import {ExprWriter} from '../generate/expr-writer.js'
import {table} from '../generate/output-sql.js'
import {ModelNotFitted, snapshotPlan, type PlanOptions, type StoredModel} from '../plan/build-plan.js'
import {designColumn, type DesignColumn, type PropensityParams} from '../plan/propensity-plan.js'
import type {Project, PropensitySpec, Trait} from '../resolve/model.js'
import type {Prepared} from '../project/session.js'
import {HISTORY, MODELS} from '../warehouse/tables.js'
import type {Row, WarehouseConnection} from '../warehouse/warehouse.js'
import {FitError} from './likelihood.js'
import {fitDefinitionHash} from '../project/models.js'

export const MAX_NEWTON_ITERATIONS = 50
export const NEWTON_TOLERANCE = 1e-8
/** below this, a step that no longer shrinks tenfold is the warehouse sums' noise (newtonRaphson) */
export const NOISE_STEP = 1e-6
/** fewer positives or negatives than this in either snapshot: the model is not fitted */
export const MIN_CLASS = 10

export interface PropensityFit {
  params: PropensityParams & Record<string, unknown>
  n: number
  log_likelihood: number
  detail: Record<string, number | string | string[]>
  warnings: string[]
}

/** How a snapshot's feature columns are named in its table: f0, f1, … in feature order. */
const fcol = (i: number) => `f${i}`
const xcol = (j: number) => `x${j}`

type Stats = Pick<PropensityParams, 'types' | 'means' | 'stddevs' | 'levels' | 'columns'>

/** Options a fit needs from the run machinery (erased keys). */
export interface PropensityOptions {
  erased?: PlanOptions['erased']
  previous?: StoredModel
}

export async function fitPropensity(conn: WarehouseConnection, p: Prepared, t: Trait, asOf: Date, opts: PropensityOptions): Promise<PropensityFit> {
  const spec = (t.def as Extract<Trait['def'], {kind: 'fit'; model: 'propensity'}>).propensity
  const h = spec.horizonSeconds * 1000
  const c1 = new Date(asOf.getTime() - h)
  const c0 = new Date(c1.getTime() - h)
  const f = new PropensityFitter(conn, p, t, spec, opts)
  const s0 = await f.snapshot(c0, 'segc_prop_s0')
  const s1 = await f.snapshot(c1, 'segc_prop_s1')
  for (const [s, c] of [[s0, c0], [s1, c1]] as const) {
    if (s.positives < MIN_CLASS || s.n - s.positives < MIN_CLASS) {
      throw new FitError(`too few ${s.positives < MIN_CLASS ? 'positives' : 'negatives'} for propensity '${t.name}' in the snapshot at ${c.toISOString()}: ${s.positives} of ${s.n} reached the goal within the horizon (at least ${MIN_CLASS} of each are needed)`)
    }
  }
  const warnings: string[] = []
  // the c₀ model, measured out of time on c₁
  const stats0 = await f.stats(s0.table)
  await f.design(s0.table, stats0, 'segc_prop_d0')
  const fit0 = await f.newton('segc_prop_d0', stats0.columns.length)
  await f.design(s1.table, stats0, 'segc_prop_d1v')
  const {auc, calibration} = await f.measure('segc_prop_d1v', fit0.beta)
  // the stored model: refitted on the latest labelled snapshot
  const stats1 = await f.stats(s1.table)
  for (const name of spec.features.filter((x) => x.type === 'number').map((x) => x.name)) {
    if (!stats1.columns.some((c) => c.feature === name)) warnings.push(`${t.name}: feature '${name}' does not vary in the training snapshot at ${c1.toISOString()}; it was dropped`)
  }
  await f.design(s1.table, stats1, 'segc_prop_d1')
  const fit1 = await f.newton('segc_prop_d1', stats1.columns.length)
  if (auc < 0.6) warnings.push(`${t.name}: out-of-time AUC is ${auc.toFixed(3)} (below 0.6): the features barely rank who reaches the goal; a rule may serve better`)
  const previous = opts.previous?.params.auc
  if (typeof previous === 'number' && auc < previous - 0.05) warnings.push(`${t.name}: out-of-time AUC fell from ${previous.toFixed(3)} (version ${opts.previous!.version}) to ${auc.toFixed(3)}`)
  const params: PropensityParams & Record<string, unknown> = {
    features: spec.features.map((x) => x.name),
    ...stats1,
    coefficients: fit1.beta.slice(1),
    intercept: fit1.beta[0]!,
    cutoff: c1.toISOString(),
    horizon: spec.horizonSeconds,
    n_train: s1.n,
    positives_train: s1.positives,
    auc,
    base_rate: s1.positives / s1.n,
    calibration,
    iterations: fit1.iterations,
  }
  for (const v of [...params.coefficients, params.intercept, auc]) if (!Number.isFinite(v)) throw new FitError(`propensity '${t.name}' did not give finite coefficients`)
  return {
    params,
    n: s1.n,
    log_likelihood: -fit1.loss,
    detail: {auc, base_rate: params.base_rate, iterations: fit1.iterations, iterations_validation: fit0.iterations, n_validation: s1.n, n_train_validation: s0.n, columns: stats1.columns.map(columnName)},
    warnings,
  }
}

export const columnName = (c: DesignColumn) => (c.level === undefined ? c.feature : `${c.feature} = ${c.level}`)

class PropensityFitter {
  private readonly dialect
  private readonly db
  private readonly float

  constructor(
    private readonly conn: WarehouseConnection,
    private readonly p: Prepared,
    private readonly t: Trait,
    private readonly spec: PropensitySpec,
    private readonly opts: PropensityOptions,
  ) {
    this.dialect = p.adapter.dialect
    this.db = compilerFor(this.dialect)
    this.float = sql.raw(this.dialect.floatType)
  }

  private r(s: ReturnType<typeof sql>): string {
    return render(this.db, s)
  }

  /**
   * The training rows at `c` into `name`: features as a run at `c` computes them (fitted
   * features at their latest version fitted at or before `c`), the population at `c`, no erased
   * key, and y = 1 when the goal happened in (c, c + horizon].
   */
  async snapshot(c: Date, name: string): Promise<{table: string; n: number; positives: number}> {
    const project = this.p.v.project
    const models = await modelsAsOf(this.conn, this.p, c)
    let plan
    try {
      plan = snapshotPlan(project, this.t.entity, c, this.spec.features, this.spec.population, {models, ...(this.opts.erased ? {erased: this.opts.erased} : {})})
    } catch (error) {
      if (!(error instanceof ModelNotFitted)) throw error
      throw new FitError(`the snapshot at ${c.toISOString()} reads ${error.models.join(', ')}, which ${error.models.length === 1 ? 'has' : 'have'} no version fitted at or before that cutoff`)
    }
    const k = this.spec.features.length
    const gates: string[] = []
    if (this.spec.population) gates.push(`f.${fcol(k)}`)
    if (this.opts.erased?.entities.has(this.t.entity)) gates.push(`f.${fcol(plan.values.length - 1)} IS NULL`)
    const features = featureQuery(this.db, this.dialect, plan.asOf, plan.plan, plan.values)
    const label = await this.labels(c)
    const cols = this.spec.features.map((_, i) => sql`f.${sql.id(fcol(i))} AS ${sql.id(fcol(i))}`)
    const select = sql`SELECT f.segc_key AS segc_key, ${sql.join(cols)}, CASE WHEN l.segc_key IS NULL THEN 0 ELSE 1 END AS y
      FROM (${features}) AS f LEFT JOIN (${label}) AS l ON l.segc_key = CAST(f.segc_key AS ${sql.raw(this.dialect.stringType)})
      ${gates.length ? sql`WHERE ${sql.raw(gates.join(' AND '))}` : sql``}`
    await this.conn.execute(this.r(this.dialect.createTempTable(name, select)))
    const [row] = await this.conn.query(this.r(sql`SELECT COUNT(*) AS n, COALESCE(SUM(y), 0) AS pos FROM ${sql.id(name)}`))
    return {table: name, n: Number(row!.n), positives: Number(row!.pos)}
  }

  /** Keys (as strings) that reached the goal in (c, c + horizon]. */
  private async labels(c: Date): Promise<ReturnType<typeof sql>> {
    const project = this.p.v.project
    const goal = this.spec.goal
    const end = new Date(c.getTime() + this.spec.horizonSeconds * 1000)
    const str = sql.raw(this.dialect.stringType)
    if (goal.kind === 'event') {
      // the goal as an event count over (end − horizon, end] = (c, c + horizon], planned as any trait is
      const copy: Project = {...project, traits: new Map(project.traits)}
      copy.traits.set('segc_goal', {name: 'segc_goal', entity: this.t.entity, type: 'integer', loc: this.t.loc, def: {kind: 'aggregate', spec: {event: goal.event, where: goal.where, window: {from: this.spec.horizonSeconds, to: 0}, aggregate: 'count'}}})
      const plan = snapshotPlan(copy, this.t.entity, end, [{name: 'segc_goal', target: 'trait'}], undefined, {})
      return sql`SELECT CAST(g.segc_key AS ${str}) AS segc_key FROM (${featureQuery(this.db, this.dialect, plan.asOf, plan.plan, plan.values)}) AS g WHERE g.f0 > 0`
    }
    // entered the segment: not a member at c, a member at a run's as_of in (c, c + horizon] —
    // which needs a history row starting in that interval, since history changes only at runs
    const hist = table(project.outputSchema, HISTORY.name)
    const at = (d: Date) => this.dialect.timestamp(d.toISOString())
    if (!(await this.conn.tableExists(project.outputSchema, HISTORY.name))) return sql`SELECT CAST(NULL AS ${str}) AS segc_key FROM (SELECT 1 AS one) AS z WHERE 1 = 0`
    const seg = sql.lit(goal.segment)
    return sql`SELECT DISTINCT h.entity_key AS segc_key FROM ${hist} AS h
      WHERE h.segment = ${seg} AND h.valid_from > ${at(c)} AND h.valid_from <= ${at(end)}
        AND NOT EXISTS (SELECT 1 FROM ${hist} AS b WHERE b.segment = ${seg} AND b.entity_key = h.entity_key AND b.valid_from <= ${at(c)} AND (b.valid_to IS NULL OR b.valid_to > ${at(c)}))`
  }

  /** Means, population deviations and levels from a training snapshot; the design's columns. */
  async stats(snapshot: string): Promise<Stats> {
    const features = this.spec.features
    const aggs = features.flatMap((f, i) =>
      f.type === 'number'
        ? [sql`AVG(CAST(${sql.id(fcol(i))} AS ${this.float})) AS ${sql.id(`m${i}`)}`, sql`STDDEV_POP(CAST(${sql.id(fcol(i))} AS ${this.float})) AS ${sql.id(`s${i}`)}`]
        : [],
    )
    const [row] = aggs.length ? await this.conn.query(this.r(sql`SELECT ${sql.join(aggs)} FROM ${sql.id(snapshot)}`)) : [{} as Row]
    const out: Stats = {types: {}, means: {}, stddevs: {}, levels: {}, columns: []}
    for (const [i, f] of features.entries()) {
      out.types[f.name] = f.type
      if (f.type === 'number') {
        const m = row![`m${i}`]
        const s = row![`s${i}`]
        // every value NULL, or one value for everyone: nothing to learn from
        if (m === null || s === null || !(Number(s) > 0)) continue
        out.means[f.name] = Number(m)
        out.stddevs[f.name] = Number(s)
        out.columns.push({feature: f.name})
      } else if (f.type === 'boolean') out.columns.push({feature: f.name})
      else {
        const c = sql.id(fcol(i))
        const rows = await this.conn.query(
          this.r(sql`SELECT ${c} AS v, COUNT(*) AS n FROM ${sql.id(snapshot)} WHERE ${c} IS NOT NULL GROUP BY ${c} ORDER BY COUNT(*) DESC, ${c} ASC LIMIT ${sql.lit(this.spec.levels)}`),
        )
        out.levels[f.name] = rows.map((r) => String(r.v))
        for (const v of out.levels[f.name]!) out.columns.push({feature: f.name, level: v})
      }
    }
    return out
  }

  /** The design matrix x0..x(p−1) and y of a snapshot under `stats`, once, into `name`. */
  async design(snapshot: string, stats: Stats, name: string): Promise<void> {
    const w = new ExprWriter(this.dialect, new Date(0).toISOString())
    const index = new Map(this.spec.features.map((f, i) => [f.name, i]))
    const cols = stats.columns.map((c, j) => sql`${w.write(designColumn(stats, c, {k: 'col', name: fcol(index.get(c.feature)!)}))} AS ${sql.id(xcol(j))}`)
    await this.conn.execute(this.r(this.dialect.createTempTable(name, sql`SELECT segc_key, y${cols.length ? sql`, ${sql.join(cols)}` : sql``} FROM ${sql.id(snapshot)}`)))
  }

  /** η = β₀ + Σ βⱼ xⱼ with β as literals. */
  private eta(beta: number[]): ReturnType<typeof sql> {
    return sql.join([sql`${sql.lit(beta[0]!)}`, ...beta.slice(1).map((b, j) => sql`${sql.lit(b)} * ${sql.id(xcol(j))}`)], sql` + `)
  }

  /** p = σ(η), written so neither branch overflows */
  private readonly prob = sql`CASE WHEN eta >= 0 THEN 1 / (1 + EXP(-eta)) ELSE EXP(eta) / (1 + EXP(eta)) END`

  /**
   * One statement: at β, the log-loss summed (log(1 + e^η) − yη, stably), the gradient
   * Σ (p − y)·x and the Hessian Σ p(1 − p)·xᵢxⱼ (upper triangle), with x₀ = 1.
   */
  private async sums(design: string, beta: number[]): Promise<{loss: number; g: number[]; H: number[][]}> {
    const q = beta.length
    const x = (j: number) => (j === 0 ? sql`1` : sql.id(xcol(j - 1)))
    const xs = Array.from({length: q - 1}, (_, j) => sql.id(xcol(j)))
    const parts = [sql`SUM(GREATEST(eta, 0) + LN(1 + EXP(-ABS(eta))) - y * eta) AS loss`]
    for (let i = 0; i < q; i++) parts.push(sql`SUM((p - y) * ${x(i)}) AS ${sql.id(`g${i}`)}`)
    for (let i = 0; i < q; i++) for (let j = i; j < q; j++) parts.push(sql`SUM(w * ${x(i)} * ${x(j)}) AS ${sql.id(`h${i}_${j}`)}`)
    const inner = sql`SELECT y, eta, p, p * (1 - p) AS w${xs.length ? sql`, ${sql.join(xs)}` : sql``} FROM (
        SELECT y, eta, ${this.prob} AS p${xs.length ? sql`, ${sql.join(xs)}` : sql``} FROM (
          SELECT CAST(y AS ${this.float}) AS y, ${this.eta(beta)} AS eta${xs.length ? sql`, ${sql.join(xs)}` : sql``} FROM ${sql.id(design)}) AS e) AS pe`
    const [row] = await this.conn.query(this.r(sql`SELECT ${sql.join(parts)} FROM (${inner}) AS s`))
    const g = Array.from({length: q}, (_, i) => Number(row![`g${i}`]))
    const H = Array.from({length: q}, (_, i) => Array.from({length: q}, (_, j) => Number(row![`h${Math.min(i, j)}_${Math.max(i, j)}`])))
    return {loss: Number(row!.loss), g, H}
  }

  async newton(design: string, columns: number): Promise<{beta: number[]; iterations: number; loss: number}> {
    return newtonRaphson((beta) => this.sums(design, beta), columns + 1, this.spec.l2, this.t.name)
  }

  /**
   * ROC AUC (ties count ½) and calibration (10 bins of equal count by predicted probability)
   * of a model on a design, both computed in the warehouse.
   */
  async measure(design: string, beta: number[]): Promise<{auc: number; calibration: PropensityParams['calibration']}> {
    const scored = sql`SELECT segc_key, CAST(y AS ${this.float}) AS y, ${this.prob} AS p FROM (SELECT segc_key, y, ${this.eta(beta)} AS eta FROM ${sql.id(design)}) AS e`
    const groups = sql`SELECT p, SUM(y) AS pos, SUM(1 - y) AS neg FROM (${scored}) AS s GROUP BY p`
    const ranked = sql`SELECT pos, neg, COALESCE(SUM(neg) OVER (ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below FROM (${groups}) AS g`
    const [a] = await this.conn.query(this.r(sql`SELECT SUM(pos * (below + 0.5 * neg)) AS num, SUM(pos) AS pos, SUM(neg) AS neg FROM (${ranked}) AS r`))
    const auc = Number(a!.num) / (Number(a!.pos) * Number(a!.neg))
    const bins = sql`SELECT p, y, NTILE(10) OVER (ORDER BY p, segc_key) AS bin FROM (${scored}) AS s`
    const rows = await this.conn.query(this.r(sql`SELECT bin, AVG(p) AS predicted, AVG(y) AS observed, COUNT(*) AS n FROM (${bins}) AS b GROUP BY bin ORDER BY bin`))
    return {auc, calibration: rows.map((r) => ({bin: Number(r.bin), predicted: Number(r.predicted), observed: Number(r.observed), n: Number(r.n)}))}
  }
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); undefined when it is not. */
/** One evaluation of the objective's parts at β, as the warehouse sums them. */
export type NewtonSums = (beta: number[]) => Promise<{loss: number; g: number[]; H: number[][]}>

/**
 * Newton–Raphson on Σ log-loss + (l2/2)·‖β₁..‖² (the intercept unpenalized), halving a step
 * that does not lower the objective, until every |Δβ| < 1e-8 (SPEC §17), or until the steps
 * stop shrinking below 1e-6. The second rule is not SPEC's: a warehouse sums floats in no fixed
 * order, so at a million rows the gradient carries noise, and the Newton step at the optimum
 * came out between 5e-9 and 1e-8 from one fit to the next — a fit of the bench's model failed
 * one run in two under the 1e-8 rule alone. Newton's steps shrink quadratically (1e-6, then
 * about 1e-12), so a step under 1e-6 that is more than a tenth of the one before is the sums'
 * noise, not progress, and β is then as converged as the warehouse's arithmetic allows.
 */
export async function newtonRaphson(sums: NewtonSums, q: number, l2: number, name: string): Promise<{beta: number[]; iterations: number; loss: number; stopped: 'tolerance' | 'noise'}> {
  let beta = new Array<number>(q).fill(0)
  const objective = (s: {loss: number}, b: number[]) => s.loss + (l2 / 2) * b.slice(1).reduce((a, v) => a + v * v, 0)
  let at = await sums(beta)
  let previous = Infinity
  for (let it = 1; it <= MAX_NEWTON_ITERATIONS; it++) {
    const g = at.g.map((v, i) => (i === 0 ? v : v + l2 * beta[i]!))
    const H = at.H.map((row, i) => row.map((v, j) => (i === j && i > 0 ? v + l2 : v)))
    const step = solve(H, g.map((v) => -v))
    if (!step || step.some((v) => !Number.isFinite(v))) throw new FitError(`propensity '${name}': the Newton system could not be solved at iteration ${it}`)
    const largest = Math.max(...step.map(Math.abs))
    const stopped = largest < NEWTON_TOLERANCE ? 'tolerance' : largest < NOISE_STEP && largest > previous / 10 ? 'noise' : undefined
    if (stopped) {
      beta = beta.map((b, i) => b + step[i]!)
      return {beta, iterations: it, loss: at.loss, stopped}
    }
    previous = largest
    const before = objective(at, beta)
    let scale = 1
    for (;;) {
      const candidate = beta.map((b, i) => b + scale * step[i]!)
      const next = await sums(candidate)
      // the last bits of a warehouse's sums are noise: a rise within it is no rise
      if (objective(next, candidate) <= before + 1e-12 * Math.abs(before) || scale < 1e-10) {
        beta = candidate
        at = next
        break
      }
      scale /= 2
    }
  }
  throw new FitError(`propensity '${name}' did not converge in ${MAX_NEWTON_ITERATIONS} Newton iterations`)
}

export function solve(A: number[][], b: number[]): number[] | undefined {
  const n = b.length
  const L = Array.from({length: n}, () => new Array<number>(n).fill(0))
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!
      if (i === j) {
        if (!(s > 0)) return undefined
        L[i]![i] = Math.sqrt(s)
      } else L[i]![j] = s / L[j]![j]!
    }
  }
  const y = new Array<number>(n).fill(0)
  for (let i = 0; i < n; i++) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!
    y[i] = s / L[i]![i]!
  }
  const x = new Array<number>(n).fill(0)
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!
    x[i] = s / L[i]![i]!
  }
  return x
}

/**
 * The latest version of every model fitted at or before `cutoff` for its current definition:
 * what a snapshot at the cutoff may read (a later version has seen later data).
 */
export async function modelsAsOf(conn: WarehouseConnection, p: Prepared, cutoff: Date): Promise<Map<string, StoredModel>> {
  const schema = p.v.project.outputSchema
  const out = new Map<string, StoredModel>()
  if (!(await conn.tableExists(schema, MODELS.name))) return out
  const db = compilerFor(p.adapter.dialect)
  const rows = await conn.query(
    render(db, sql`SELECT model, version, kind, params, definition_hash FROM ${table(schema, MODELS.name)} WHERE as_of <= ${p.adapter.dialect.timestamp(cutoff.toISOString())} ORDER BY model, version`),
  )
  for (const r of rows) {
    const model = String(r.model)
    const t = p.v.project.traits.get(model)
    if (!t || t.def.kind !== 'fit' || String(r.definition_hash) !== fitDefinitionHash(p.v.project, model)) continue
    out.set(model, {model, version: Number(r.version), kind: String(r.kind) as StoredModel['kind'], params: JSON.parse(String(r.params)) as Record<string, unknown>})
  }
  return out
}

/** Used by plan expressions elsewhere: a stored version's params, typed. */
export const propensityParams = (m: StoredModel): PropensityParams => m.params as unknown as PropensityParams

/**
 * The training rows of a propensity trait at `cutoff` (segc_key, f0.., y, by key): what a fit
 * trains on, for tests and for looking at a snapshot by hand.
 */
export async function snapshotRows(conn: WarehouseConnection, p: Prepared, model: string, cutoff: Date, opts: PropensityOptions = {}): Promise<Row[]> {
  const t = p.v.project.traits.get(model)!
  const spec = (t.def as Extract<Trait['def'], {kind: 'fit'; model: 'propensity'}>).propensity
  const s = await new PropensityFitter(conn, p, t, spec, opts).snapshot(cutoff, 'segc_prop_rows')
  return conn.query(render(compilerFor(p.adapter.dialect), sql`SELECT * FROM ${sql.id(s.table)} ORDER BY segc_key`))
}

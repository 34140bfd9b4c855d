// `segc fit`: fits the models behind fit: traits from the warehouse's history and stores a
// new version of each in segment_models. Only grouped aggregates (BG/NBD, Gamma-Gamma) or
// k centroids (kmeans) ever reach Node; entity rows stay in the warehouse.
import {sql} from 'kysely'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {PartialFailure} from '../diagnostics/partial.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {compilerFor, featureQuery, render} from '../generate/generate-sql.js'
import {ExprWriter, relationSql} from '../generate/expr-writer.js'
import {summarySelect} from '../generate/model-sql.js'
import {RunStatements} from '../generate/run-statements.js'
import {table} from '../generate/output-sql.js'
import {featurePlan, ModelNotFitted, transactionsPlan, type StoredModel} from '../plan/build-plan.js'
import type {Project, Trait} from '../resolve/model.js'
import {asOfFlag, connectTarget, erasedEntities, prepare, type Prepared, type SessionOptions} from '../project/session.js'
import {MODELS} from '../warehouse/tables.js'
import {emitter, inputDatasets, outputDataset} from '../lineage/openlineage.js'
import {inTransaction, type Row, type WarehouseConnection} from '../warehouse/warehouse.js'
import {fitBgnbd, fitGammaGamma, FitError} from './likelihood.js'
import {clusterProfile} from './profile.js'
import {fitPropensity} from './propensity.js'
import {fitDefinitionHash, loadModels} from '../project/models.js'

export interface FittedVersion {
  model: string
  kind: 'bgnbd' | 'gamma_gamma' | 'kmeans' | 'propensity'
  version: number
  as_of: string
  params: Record<string, unknown>
  n: number
  log_likelihood: number | null
  /** bgnbd: repeat transactions in the history; gamma_gamma: repeat buyers left out for a value of 0 */
  detail: Record<string, number | string | string[]>
  /** bgnbd with --validate-until: predicted against actual repeat transaction days after as_of, per x */
  validation?: ValidationRow[]
  /** what the user should know about this fit, in plain words (a boundary maximum) */
  warnings?: string[]
}

/** A model that could not be fitted: the others were stored. */
export interface FailedFit {
  model: string
  kind: 'bgnbd' | 'gamma_gamma' | 'kmeans' | 'propensity'
  error: string
}

export interface FitResult {
  target: string
  as_of: string
  models: FittedVersion[]
  failed: FailedFit[]
}

/** Some models could not be fitted (exit 2); `result` says which, and which were stored. */
export class ModelsNotFitted extends PartialFailure<FitResult> {
  constructor(result: FitResult) {
    super(`segc fit: ${result.failed.map((f) => `${f.model}: ${f.error}`).join('; ')}; ${result.models.length ? `stored ${result.models.map((m) => `${m.model} v${m.version}`).join(', ')}` : 'nothing was stored'}`, result)
  }
}

const MAX_KMEANS_ITERATIONS = 100

/** Fit traits in dependency order: bgnbd and gamma_gamma before kmeans (which may cluster on predictions). */
function fitTraits(project: Project, names?: string[]): Trait[] {
  const all = [...project.traits.values()].filter((t) => t.def.kind === 'fit')
  if (names?.length) {
    const problems = names.flatMap((n, i) => {
      const t = project.traits.get(n)
      if (t?.def.kind === 'fit') return []
      return [diag(t ? 'type_mismatch' : 'unknown_trait', {file: 'TRAIT', line: 1, col: i + 1}, t ? `'${n}' is not a fit: trait` : `no fit: trait '${n}'${didYouMean(n, all.map((a) => a.name))}`)]
    })
    if (problems.length) throw new DiagnosticsError(problems)
  }
  const chosen = names?.length ? all.filter((t) => names.includes(t.name)) : all
  const rank = (t: Trait) => (t.def.kind === 'fit' && t.def.model === 'kmeans' ? 1 : t.def.kind === 'fit' && t.def.model === 'propensity' ? 2 : 0)
  return chosen.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
}

/** Per x (repeat transactions up to as_of): customers, and predicted against actual repeat transaction days in (as_of, until]. */
export interface ValidationRow {
  x: number
  customers: number
  predicted: number
  actual: number
}

/**
 * Fits each model on its own: one that cannot be fitted (too little data, nothing identified, a
 * model it reads not fitted) is named in `failed` and the others are stored, all in one
 * transaction; ModelsNotFitted (exit 2) then carries the result.
 */
export async function fitProject(opts: SessionOptions & {traits?: string[]; validateUntil?: string}): Promise<FitResult> {
  const p = prepare(opts)
  const asOf = asOfFlag(opts.asOf)
  const until = opts.validateUntil ? asOfFlag(opts.validateUntil, '--validate-until') : undefined
  const traits = fitTraits(p.v.project, opts.traits)
  if (!traits.length) throw new DiagnosticsError([diag('no_segments', {file: 'models', line: 1, col: 1}, 'the project has no fit: trait to fit')])
  const lineage = emitter(p, 'fit', {...(opts.env ? {env: opts.env} : {})})
  // the event relations of BG/NBD and Gamma-Gamma, the entity relations k-means' features come from
  const inputs = lineage.enabled
    ? inputDatasets(p, undefined, traits.map((t) => {
        const d = t.def as Extract<Trait['def'], {kind: 'fit'}>
        return d.model === 'kmeans' || d.model === 'propensity' ? p.v.project.entities.get(t.entity)!.relation : transactionsPlan(p.v.project, t.name, asOf).relation
      }))
    : []
  await lineage.start(inputs)
  try {
    const result = await fitAll(p, opts, traits, asOf, until)
    if (result.failed.length) await lineage.fail(new ModelsNotFitted(result), inputs)
    else await lineage.complete(inputs, [outputDataset(p, MODELS.name, result.models.length)])
    if (result.failed.length) throw new ModelsNotFitted(result)
    return result
  } catch (error) {
    if (!(error instanceof ModelsNotFitted)) await lineage.fail(error, inputs)
    throw error
  }
}

async function fitAll(p: Prepared, opts: SessionOptions, traits: Trait[], asOf: Date, until: Date | undefined): Promise<FitResult> {
  const conn = opts.connection ?? (await connectTarget(p, opts))
  try {
    const st = new RunStatements(p.adapter.dialect, p.v.project.outputSchema)
    for (const s of st.setup()) await conn.execute(s)
    const stored = await loadModels(conn, p.v.project, p.adapter.dialect)
    const fitted = new Map<string, StoredModel>(stored)
    const out: FittedVersion[] = []
    const failed: FailedFit[] = []
    const versions = await latestVersions(conn, p)
    const erased = traits.some((t) => t.def.kind === 'fit' && t.def.model === 'propensity') ? await erasedEntities(conn, st, p.v.project.outputSchema) : undefined
    for (const t of traits) {
      const d = t.def as Extract<Trait['def'], {kind: 'fit'}>
      const version = (versions.get(t.name) ?? 0) + 1
      try {
        const result =
          d.model === 'propensity'
            ? await fitPropensity(conn, p, t, asOf, {...(erased ? {erased} : {}), ...(stored.get(t.name) ? {previous: stored.get(t.name)!} : {})})
            : d.model === 'kmeans'
              ? await fitKmeans(conn, p, t, asOf, fitted)
              : await fitTransactions(conn, p, t, asOf)
        const v: FittedVersion = {model: t.name, kind: d.model, version, as_of: asOf.toISOString(), ...result}
        fitted.set(t.name, {model: t.name, version, kind: d.model, params: v.params})
        if (d.model === 'bgnbd' && until) v.validation = await validate(conn, p, t.name, asOf, until, fitted)
        out.push(v)
      } catch (error) {
        if (!(error instanceof FitError || error instanceof ModelNotFitted)) throw error
        // a model it reads was not fitted in this call nor before
        const reason = error instanceof FitError ? error.message : `it reads ${error.models.join(', ')}, which ${error.models.length === 1 ? 'has' : 'have'} no fitted version`
        failed.push({model: t.name, kind: d.model, error: reason})
        fitted.delete(t.name)
      }
    }
    // every version in one transaction: a warehouse failure stores nothing
    if (out.length) {
      await inTransaction(conn, p.adapter, async () => {
        for (const v of out) await conn.execute(insertModel(p, v))
      })
    }
    return {target: p.target.name, as_of: asOf.toISOString(), models: out, failed}
  } finally {
    if (!opts.connection) await conn.close()
  }
}

/**
 * Predicted against actual repeat purchases after as_of (Fader, Hardie & Lee's holdout check):
 * per x, the sum of E[X(until − as_of)] and the count of transaction days in (as_of, until],
 * grouped in the warehouse.
 */
async function validate(conn: WarehouseConnection, p: Prepared, model: string, asOf: Date, until: Date, models: ReadonlyMap<string, StoredModel>): Promise<ValidationRow[]> {
  if (until.getTime() <= asOf.getTime()) throw new DiagnosticsError([diag('bad_flag', {file: '--validate-until', line: 1, col: 1}, `--validate-until must be later than --as-of (${asOf.toISOString()})`)])
  const dialect = p.adapter.dialect
  const db = compilerFor(dialect)
  const project: Project = {...p.v.project, traits: new Map(p.v.project.traits)}
  const t = p.v.project.traits.get(model)!
  const horizonSeconds = (until.getTime() - asOf.getTime()) / 1000
  project.traits.set('segc_validation', {name: 'segc_validation', entity: t.entity, type: 'number', loc: t.loc, def: {kind: 'predict', predict: 'expected_purchases', bgnbd: model, horizonSeconds}})
  const f = featurePlan(project, t.entity, asOf, [{name: 'segc_validation', target: 'trait'}], {models})
  const values = [...f.values, {k: 'col' as const, name: `fit__${model}__x`}]
  const m = transactionsPlan(project, model, asOf)
  const w = new ExprWriter(dialect, asOf.toISOString())
  const ts = sql.id(m.timestamp)
  const after = sql`SELECT ${sql.id(m.key)} AS k, COUNT(DISTINCT ${dialect.utcDay(ts)}) AS n FROM ${relationSql(m.relation)} AS ev
    WHERE ${w.write(m.filter)} AND ${ts} > ${dialect.timestamp(asOf.toISOString())} AND ${ts} <= ${dialect.timestamp(until.toISOString())} AND ${sql.id(m.key)} IS NOT NULL GROUP BY ${sql.id(m.key)}`
  const rows = await conn.query(
    render(
      db,
      sql`SELECT f.f1 AS x, COUNT(*) AS customers, SUM(f.f0) AS predicted, SUM(COALESCE(a.n, 0)) AS actual
        FROM (${featureQuery(db, dialect, f.asOf, f.plan, values)}) AS f LEFT JOIN (${after}) AS a ON a.k = f.segc_key
        WHERE f.f1 IS NOT NULL GROUP BY f.f1 ORDER BY f.f1`,
    ),
  )
  return rows.map((r) => ({x: Number(r.x), customers: Number(r.customers), predicted: Number(r.predicted), actual: Number(r.actual)}))
}

async function latestVersions(conn: WarehouseConnection, p: Prepared): Promise<Map<string, number>> {
  const db = compilerFor(p.adapter.dialect)
  const rows = await conn.query(render(db, sql`SELECT model, MAX(version) AS v FROM ${table(p.v.project.outputSchema, MODELS.name)} GROUP BY model`))
  return new Map(rows.map((r) => [String(r.model), Number(r.v)]))
}

function insertModel(p: Prepared, v: FittedVersion): string {
  const dialect = p.adapter.dialect
  const db = compilerFor(dialect)
  const hash = fitDefinitionHash(p.v.project, v.model)
  return render(
    db,
    sql`INSERT INTO ${table(p.v.project.outputSchema, MODELS.name)} (model, version, fitted_at, as_of, kind, params, n, log_likelihood, definition_hash)
      VALUES (${sql.lit(v.model)}, ${sql.lit(v.version)}, ${dialect.timestamp(new Date().toISOString())}, ${dialect.timestamp(v.as_of)}, ${sql.lit(v.kind)},
              ${sql.lit(JSON.stringify(v.params))}, ${sql.lit(v.n)}, ${v.log_likelihood === null ? sql`NULL` : sql.lit(v.log_likelihood)}, ${sql.lit(hash)})`,
  )
}

/** BG/NBD or Gamma-Gamma from the summary, grouped in the warehouse. */
async function fitTransactions(conn: WarehouseConnection, p: Prepared, t: Trait, asOf: Date): Promise<Omit<FittedVersion, 'model' | 'kind' | 'version' | 'as_of'>> {
  const dialect = p.adapter.dialect
  const db = compilerFor(dialect)
  const m = transactionsPlan(p.v.project, t.name, asOf)
  const summary = summarySelect(dialect, asOf.toISOString(), m)
  if (m.kind === 'bgnbd') {
    // ordered, so the optimizer sees the same sums in the same order every time
    const rows = await conn.query(render(db, sql`SELECT x, t_x, big_t, COUNT(*) AS n FROM (${summary}) AS s GROUP BY x, t_x, big_t ORDER BY x, t_x, big_t`))
    const groups = rows.map((r) => ({x: Number(r.x), t_x: Number(r.t_x), big_t: Number(r.big_t), n: Number(r.n)}))
    const fit = fitBgnbd(groups)
    const detail = {groups: groups.length, repeat_transactions: groups.reduce((s, g) => s + g.x * g.n, 0), repeat_buyers: groups.filter((g) => g.x > 0).reduce((s, g) => s + g.n, 0)}
    const warnings = fit.boundary
      ? [`${t.name}: no dropout is visible in this history; every customer is treated as alive (the BG/NBD maximum is its NBD limit: a = 0, b not identified; p_alive is 1 and expected purchases are (r + x) / (α + T) per time unit)`]
      : []
    return {params: {...fit.params}, n: fit.n, log_likelihood: fit.logLikelihood, detail: fit.boundary ? {...detail, boundary: 'NBD limit'} : detail, ...(warnings.length ? {warnings} : {})}
  }
  const rows = await conn.query(render(db, sql`SELECT x, m_x, COUNT(*) AS n FROM (${summary}) AS s WHERE x >= 1 AND m_x > 0 GROUP BY x, m_x ORDER BY x, m_x`))
  const [zero] = await conn.query(render(db, sql`SELECT COUNT(*) AS n FROM (${summary}) AS s WHERE x >= 1 AND NOT (m_x > 0)`))
  const groups = rows.map((r) => ({x: Number(r.x), m_x: Number(r.m_x), n: Number(r.n)}))
  const fit = fitGammaGamma(groups)
  return {params: fit.params, n: fit.n, log_likelihood: fit.logLikelihood, detail: {groups: groups.length, left_out_zero_value: Number(zero?.n ?? 0)}}
}

/**
 * k-means in the warehouse (SPEC §12): features per entity into a scratch table, z-scored
 * with the population mean and deviation, deterministic farthest-point initialization from
 * md5 order, then Lloyd iterations — one assignment statement and one centroid query per
 * iteration — until no entity changes cluster.
 */
async function fitKmeans(conn: WarehouseConnection, p: Prepared, t: Trait, asOf: Date, models: ReadonlyMap<string, StoredModel>): Promise<Omit<FittedVersion, 'model' | 'kind' | 'version' | 'as_of'>> {
  const d = t.def as Extract<Trait['def'], {kind: 'fit'; model: 'kmeans'}>
  const dialect = p.adapter.dialect
  const db = compilerFor(dialect)
  const r = (s: ReturnType<typeof sql>) => render(db, s)
  const features = featurePlan(p.v.project, t.entity, asOf, d.features, {models})
  const f = d.features.map((_, i) => sql.id(`f${i}`))
  const z = d.features.map((_, i) => sql.id(`z${i}`))
  const points = 'segc_kmeans_points'
  await conn.execute(r(dialect.createTempTable(points, sql`${featureQuery(db, dialect, features.asOf, features.plan, features.values)}`)))
  const complete = sql.join(f.map((c) => sql`${c} IS NOT NULL`), sql` AND `)
  const [stats] = await conn.query(
    r(sql`SELECT COUNT(*) AS n, ${sql.join(f.flatMap((c, i) => [sql`AVG(CAST(${c} AS ${sql.raw(dialect.floatType)})) AS ${sql.id(`m${i}`)}`, sql`STDDEV_POP(CAST(${c} AS ${sql.raw(dialect.floatType)})) AS ${sql.id(`s${i}`)}`]))} FROM ${sql.id(points)} WHERE ${complete}`),
  )
  const n = Number(stats!.n)
  if (n < d.k) throw new FitError(`too little data for kmeans '${t.name}': ${n} entities with every feature, fewer than k = ${d.k}`)
  const means = d.features.map((_, i) => (d.standardize ? Number(stats![`m${i}`]) : 0))
  // a feature that never varies would divide by zero: it is left unscaled
  const stddevs = d.features.map((_, i) => (d.standardize && Number(stats![`s${i}`]) > 0 ? Number(stats![`s${i}`]) : 1))
  const scaled = 'segc_kmeans_z'
  const hash = dialect.md5Hex(sql`${sql.lit(`${t.name}:`)} || CAST(segc_key AS ${sql.raw(dialect.stringType)})`)
  await conn.execute(
    r(dialect.createTempTable(scaled, sql`SELECT segc_key, ${hash} AS h, ${sql.join(f.map((c, i) => sql`(CAST(${c} AS ${sql.raw(dialect.floatType)}) - ${sql.lit(means[i]!)}) / ${sql.lit(stddevs[i]!)} AS ${z[i]!}`))} FROM ${sql.id(points)} WHERE ${complete}`)),
  )
  const w = new ExprWriter(dialect, asOf.toISOString())
  const zCols = d.features.map((_, i) => ({k: 'col' as const, name: `z${i}`}))
  const sq = (c: number[]) => sql`(${sql.join(c.map((v, i) => sql`(${z[i]!} - ${sql.lit(v)}) * (${z[i]!} - ${sql.lit(v)})`), sql` + `)})`
  const coords = (row: Row | undefined) => d.features.map((_, i) => Number(row![`z${i}`]))
  // farthest-point initialization: md5 order decides the first and every tie
  const [first] = await conn.query(r(sql`SELECT ${sql.join(z)} FROM ${sql.id(scaled)} ORDER BY h ASC, segc_key ASC LIMIT 1`))
  const initial = [coords(first)]
  while (initial.length < d.k) {
    const nearest = initial.length === 1 ? sq(initial[0]!) : sql`LEAST(${sql.join(initial.map(sq))})`
    const [next] = await conn.query(r(sql`SELECT ${sql.join(z)} FROM ${sql.id(scaled)} ORDER BY ${nearest} DESC, h ASC, segc_key ASC LIMIT 1`))
    initial.push(coords(next))
  }
  let centroids = initial.map((c) => [...c])
  const labels = (i: number) => `segc_kmeans_labels_${i % 2}`
  let iterations = 0
  for (; iterations < MAX_KMEANS_ITERATIONS; iterations++) {
    const assign = w.write({k: 'nearest', point: zCols, centroids})
    await conn.execute(r(dialect.createTempTable(labels(iterations), sql`SELECT segc_key, ${assign} AS c, ${sql.join(z)} FROM ${sql.id(scaled)}`)))
    const [changed] =
      iterations === 0
        ? [{n: 1}]
        : await conn.query(r(sql`SELECT COUNT(*) AS n FROM ${sql.id(labels(iterations))} AS a JOIN ${sql.id(labels(iterations - 1))} AS b ON b.segc_key = a.segc_key WHERE a.c <> b.c`))
    const rows = await conn.query(r(sql`SELECT c, ${sql.join(z.map((c, i) => sql`AVG(${c}) AS ${sql.id(`z${i}`)}`))} FROM ${sql.id(labels(iterations))} GROUP BY c`))
    // an empty cluster keeps its centroid
    centroids = centroids.map((old, j) => {
      const row = rows.find((x) => Number(x.c) === j + 1)
      return row ? coords(row) : old
    })
    if (Number(changed!.n) === 0) break
  }
  if (iterations === MAX_KMEANS_ITERATIONS) throw new FitError(`kmeans '${t.name}' still moved entities after ${MAX_KMEANS_ITERATIONS} iterations`)
  // clusters numbered by the first feature's centroid, ascending
  const order = centroids.map((c, j) => ({c, j})).sort((a, b) => a.c[0]! - b.c[0]! || a.j - b.j)
  const sorted = order.map((o) => o.c)
  const params = {features: d.features.map((x) => x.name), means, stddevs, centroids: sorted, initial_centroids: initial}
  const profiles = clusterProfile(sorted, d.features.map((x) => x.name))
  return {params, n, log_likelihood: null, detail: {iterations: iterations + 1, profiles}}
}

// segc why for propensity scores (SPEC §17): the probability one entity was given and how much
// each design column moved its log-odds (βⱼ·xⱼ), from the stored version a run scores with.
import {sql} from 'kysely'
import {compilerFor, featureQuery, render} from '../generate/generate-sql.js'
import {featurePlan, onlyKey, type PlanOptions, type StoredModel} from '../plan/build-plan.js'
import type {PropensityParams} from '../plan/propensity-plan.js'
import {traitReads, type Condition, type Project, type Segment} from '../resolve/model.js'
import type {Prepared} from '../project/session.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'

export interface PropensityWhy {
  model: string
  version: number
  /** NULL outside the model's population */
  probability: number | null
  intercept: number
  /** per design column (of a string feature, only the entity's own level), largest effect first */
  contributions: Array<{feature: string; level?: string; value: unknown; x: number; contribution: number}>
}

/** The propensity models the segments' conditions read (through predict: traits), in name order. */
export function propensityModelsOf(project: Project, segments: Segment[]): string[] {
  const out = new Set<string>()
  const seen = new Set<string>()
  const trait = (name: string): void => {
    if (seen.has(name)) return
    seen.add(name)
    const t = project.traits.get(name)
    if (!t) return
    if (t.def.kind === 'fit' && t.def.model === 'propensity') out.add(name)
    traitReads(t.def).traits.forEach(trait)
  }
  const visit = (c: Condition): void => {
    if (c.kind === 'trait') trait(c.trait)
    else if (c.kind === 'all' || c.kind === 'any') c.items.forEach(visit)
    else if (c.kind === 'not') visit(c.item)
  }
  for (const s of segments) {
    visit(s.rule)
    if (s.exclude) visit(s.exclude)
  }
  return [...out].sort()
}

const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v)

/** One read-only query over the key: each model's features as the run reads them, and the probability. */
export async function explainPropensity(conn: WarehouseConnection, p: Prepared, entity: string, key: string, asOf: Date, modelNames: string[], opts: PlanOptions): Promise<PropensityWhy[]> {
  if (!modelNames.length) return []
  const project = p.v.project
  // a stand-in probability trait per model, so the score is the one a run computes
  const copy: Project = {...project, traits: new Map(project.traits)}
  const features: Array<{name: string; target: 'trait' | 'attribute'}> = []
  const probe = new Map<string, number>()
  for (const m of modelNames) {
    const name = `segc_why_${m}`
    const t = project.traits.get(m)!
    copy.traits.set(name, {name, entity, type: 'number', loc: t.loc, def: {kind: 'predict', predict: 'probability', propensity: m}})
    probe.set(m, features.push({name, target: 'trait'}) - 1)
    const d = t.def as Extract<typeof t.def, {kind: 'fit'; model: 'propensity'}>
    for (const f of d.propensity.features) if (!features.some((x) => x.name === f.name)) features.push({name: f.name, target: f.target})
  }
  const f = featurePlan(copy, entity, asOf, features, opts)
  const db = compilerFor(p.adapter.dialect)
  const q = featureQuery(db, p.adapter.dialect, f.asOf, onlyKey(f.plan, key), f.values)
  const [row] = await conn.query(render(db, sql`SELECT * FROM ${q} AS w WHERE CAST(w.segc_key AS ${sql.raw(p.adapter.dialect.stringType)}) = ${sql.lit(key)}`))
  if (!row) return []
  const lower = Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), plain(v)]))
  const value = (name: string) => lower[`f${features.findIndex((x) => x.name === name)}`]
  return modelNames.map((m) => {
    const stored = opts.models!.get(m) as StoredModel
    const params = stored.params as unknown as PropensityParams
    const contributions = params.columns.map((c, j) => {
      const v = value(c.feature)
      const type = params.types[c.feature]
      const x = type === 'number' ? ((v === null ? params.means[c.feature]! : Number(v)) - params.means[c.feature]!) / params.stddevs[c.feature]! : type === 'boolean' ? (v === true ? 1 : 0) : v === c.level ? 1 : 0
      return {feature: c.feature, ...(c.level !== undefined ? {level: c.level} : {}), value: v, x, contribution: params.coefficients[j]! * x}
    })
    // the levels the entity does not hold add nothing: only its own level is shown
    const shown = contributions.filter((c) => c.level === undefined || c.x !== 0)
    shown.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    const prob = lower[`f${probe.get(m)!}`]
    return {model: m, version: stored.version, probability: prob === null || prob === undefined ? null : Number(prob), intercept: params.intercept, contributions: shown}
  })
}

// fit: propensity (SPEC §17): the goal, horizon, population and features of a logistic
// regression, checked against the rest of the project.
import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {isModelTrait, traitReads, type Condition, type EventDef, type Project, type PropensitySpec, type PropertyFilter, type Trait, type ValueType} from './model.js'
import type {Site} from './site.js'

type Raw = Record<string, unknown>

export interface PropensityContext {
  out: Diagnostic[]
  valueRef(name: string, site: Site): {target: 'trait' | 'attribute'; entity: string; type: ValueType} | undefined
  trait(name: string): Trait | undefined
  eventRef(name: string, site: Site, entity?: string): EventDef | undefined
  segmentEntity(name: string): string | undefined
  isGroup(name: string): boolean
  brokenSegment(name: string): boolean
  segmentNames(): Iterable<string>
  duration(raw: unknown, site: Site): number | undefined
  where(raw: Raw | undefined, site: Site, ev: EventDef): PropertyFilter[]
}

const FEATURE_TYPES: Record<ValueType, PropensitySpec['features'][number]['type'] | undefined> = {number: 'number', integer: 'number', boolean: 'boolean', string: 'string', timestamp: undefined, date: undefined}

/** The spec and entity of a fit: propensity trait, or undefined after reporting every problem. */
export function resolvePropensity(name: string, raw: Raw, site: Site, cx: PropensityContext): {spec: PropensitySpec; entity: string} | undefined {
  const before = cx.out.length
  const fail = (code: Parameters<typeof diag>[0], at: Site, message: string, useKey = false) => void cx.out.push(diag(code, useKey ? at.keyAt : at.at, message))
  if (raw.goal === undefined) fail('missing_key', site.child('fit'), `fit: propensity needs 'goal': an event ({event: upgrade}) or a segment to enter ({segment: pro_customers})`, true)
  if (raw.horizon === undefined) fail('missing_key', site.child('fit'), `fit: propensity needs 'horizon': how long after the cutoff the goal counts, like 30d`, true)
  const names = Array.isArray(raw.features) ? (raw.features as string[]) : []
  if (!names.length) fail('missing_key', site.child('fit'), `fit: propensity needs 'features': the traits and attributes it learns from`, true)
  const l2 = raw.l2 === undefined ? 1 : Number(raw.l2)
  if (!(l2 > 0)) fail('bad_value', site.child('l2'), `l2 must be greater than 0 (the penalty keeps the fit finite when a feature separates the goal perfectly); the default is 1`)
  const horizon = raw.horizon === undefined ? undefined : cx.duration(raw.horizon, site.child('horizon'))
  if (horizon !== undefined && horizon <= 0) fail('bad_value', site.child('horizon'), `horizon must be positive`)

  const entities = new Set<string>()
  const features: PropensitySpec['features'] = []
  names.forEach((f, i) => {
    const at = site.child('features').child(i)
    const ref = cx.valueRef(f, at)
    if (!ref) return
    if (ref.target === 'trait' && isModelTrait(cx.trait(f)!)) return fail('type_mismatch', at, `'${f}' is a fitted model, not a value; use a predict: trait of it`)
    const type = FEATURE_TYPES[ref.type]
    if (!type) return fail('type_mismatch', at, `propensity features are numbers, booleans or strings; '${f}' is a ${ref.type} (use days_since(${f}) in an expr: trait)`)
    if (features.some((x) => x.name === f)) return fail('duplicate_name', at, `feature '${f}' is listed twice`)
    entities.add(ref.entity)
    features.push({name: f, target: ref.target, type})
  })
  if (entities.size > 1) fail('entity_mismatch', site.child('features'), `propensity features must belong to one entity, not ${[...entities].join(' and ')}`)

  let goal: PropensitySpec['goal'] | undefined
  const g = raw.goal as Raw | undefined
  const entity = [...entities][0]
  if (g !== undefined) {
    const gs = site.child('goal')
    const forms = ['event', 'segment'].filter((k) => g[k] !== undefined)
    if (forms.length !== 1) fail(forms.length ? 'bad_condition' : 'missing_key', gs, `a goal is one of {event: NAME, where: ...} or {segment: NAME}${forms.length ? `, not both` : ''}`, true)
    else if (forms[0] === 'event') {
      const ev = cx.eventRef(String(g.event), gs.child('event'), entity)
      if (ev) goal = {kind: 'event', event: ev.name, where: cx.where(g.where as Raw | undefined, gs.child('where'), ev)}
    } else {
      if (g.where !== undefined) fail('bad_condition', gs.child('where'), `'where' goes with an event goal`, true)
      const seg = segmentRef(String(g.segment), gs.child('segment'), entity, cx)
      if (seg) goal = {kind: 'segment', segment: seg}
    }
  }
  let population: string | undefined
  if (raw.population !== undefined) population = segmentRef(String(raw.population), site.child('population'), entity, cx)
  if (cx.out.slice(before).some((d) => d.severity === 'error') || !goal || horizon === undefined || !entity) return undefined
  const spec: PropensitySpec = {goal, horizonSeconds: horizon, features, l2, levels: (raw.levels as number | undefined) ?? 10, ...(population ? {population} : {})}
  return {spec, entity}
}

function segmentRef(name: string, at: Site, entity: string | undefined, cx: PropensityContext): string | undefined {
  const owner = cx.segmentEntity(name)
  if (owner === undefined) {
    if (!cx.brokenSegment(name)) cx.out.push(diag('unknown_segment', at.at, cx.isGroup(name) ? `'${name}' is a group; name one of its segments` : `unknown segment '${name}'${didYouMean(name, cx.segmentNames())}`))
    return undefined
  }
  if (entity !== undefined && owner !== entity) {
    cx.out.push(diag('entity_mismatch', at.at, `segment '${name}' is of entity '${owner}', but the features are of '${entity}'`))
    return undefined
  }
  return name
}

/**
 * A population whose rule reads a prediction of the model it selects for has no answer: the
 * model is trained on the population, and the population needs the model's scores.
 */
export function checkPopulationCycles(project: Project, out: Diagnostic[]): void {
  for (const t of project.traits.values()) {
    if (t.def.kind !== 'fit' || t.def.model !== 'propensity' || !t.def.propensity.population) continue
    const path = segmentPath(project, t.def.propensity.population, t.name, new Set())
    if (path) out.push(diag('cycle', t.loc, `propensity '${t.name}' is trained on a population that reads its own prediction: ${[t.name, ...path].join(' → ')}`, {cycle: [t.name, ...path]}))
  }
}

/** segment → … → a trait reaching `model`, or undefined */
function segmentPath(project: Project, segment: string, model: string, seen: Set<string>): string[] | undefined {
  if (seen.has(segment)) return undefined
  seen.add(segment)
  const s = project.segments.get(segment)
  if (!s) return undefined
  const conds: Condition[] = [s.rule, ...(s.exclude ? [s.exclude] : [])]
  while (conds.length) {
    const c = conds.pop()!
    if (c.kind === 'trait') {
      const p = traitPath(project, c.trait, model, new Set())
      if (p) return [segment, ...p]
    } else if (c.kind === 'segment') {
      const p = segmentPath(project, c.segment, model, seen)
      if (p) return [segment, ...p]
    } else if (c.kind === 'all' || c.kind === 'any') conds.push(...c.items)
    else if (c.kind === 'not') conds.push(c.item)
  }
  return undefined
}

function traitPath(project: Project, trait: string, model: string, seen: Set<string>): string[] | undefined {
  if (trait === model) return [trait]
  if (seen.has(trait)) return undefined
  seen.add(trait)
  const t = project.traits.get(trait)
  if (!t) return undefined
  for (const r of traitReads(t.def).traits) {
    const p = traitPath(project, r, model, seen)
    if (p) return [trait, ...p]
  }
  return undefined
}

import {diag, type Diagnostic, type Position} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {definitionId, type LoadedDocument} from '../load/load-project.js'
import {MAX_CONDITION_DEPTH} from '../load/source-file.js'
import {hasComparison, isNumeric, isTime, resolveComparisons, resolveWhere} from './comparisons.js'
import {findCycles} from './cycles.js'
import {typeExpr} from './type-expr.js'
import {ExprSyntaxError, parseExpr} from './parse-expr.js'
import {isModelTrait, KEY_KIND} from './model.js'
import type {
  AggregateKind,
  AggregateSpec,
  Attribute,
  Condition,
  Entity,
  EventDef,
  FittedModel,
  Identity,
  IdentityKind,
  NormalizeStep,
  Prediction,
  Project,
  DbtOrigin,
  Relation,
  Segment,
  SegmentMeta,
  Trait,
  TraitDef,
  TransactionSpec,
  ValueType,
  Window,
} from './model.js'
import {Site} from './site.js'
import {resolveProfile} from './resolve-profile.js'
import {checkDbtColumns, dbtRelation, type DbtState} from './dbt.js'
import {parseDuration} from './time.js'
import {checkPopulationCycles, resolvePropensity} from './propensity.js'

type Raw = Record<string, unknown>

/** The column an event with `ids` gets from the identity map: the profile it is attributed to. */
export const IDENTITY_KEY_COLUMN = '__segc_profile_key'

/** SPEC §20's normalization, as the warehouse applies it (exclude values are compared normalized). */
export function normalizeIdentifier(value: string, steps: readonly NormalizeStep[]): string {
  let v = value
  for (const step of steps) v = step === 'trim' ? v.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '') : v.replace(/[A-Z]/g, (c) => c.toLowerCase())
  return v
}

function identityOf(raw: Raw, site: Site): Identity {
  const kinds: IdentityKind[] = Object.entries((raw.ids as Record<string, Raw | null> | undefined) ?? {}).map(([name, spec]) => {
    const normalize = ((spec?.normalize as NormalizeStep[] | undefined) ?? [])
    return {name, normalize, exclude: ((spec?.exclude as unknown[] | undefined) ?? []).map((v) => normalizeIdentifier(String(v), normalize))}
  })
  return {
    kinds,
    edges: [],
    anonymous: raw.anonymous === true,
    salt: typeof raw.salt === 'string' ? raw.salt : '',
    maxDepth: typeof raw.max_depth === 'number' ? raw.max_depth : 64,
    ...(typeof raw.max_ids_per_profile === 'number' ? {maxIdsPerProfile: raw.max_ids_per_profile} : {}),
    loc: site.keyAt,
  }
}

interface Pending {
  name: string
  raw: Raw
  site: Site
}

const CONDITION_FORMS = ['attribute', 'trait', 'event', 'sequence', 'segment', 'all', 'any', 'not'] as const
const WINDOW_KEYS = ['within', 'between', 'before'] as const
const AGGREGATE_KEYS = new Set(['event', 'where', 'within', 'between', 'before', 'aggregate', 'of', 'period', 'min_count'])
const NEEDS_OF: ReadonlySet<AggregateKind> = new Set(['count_distinct', 'sum', 'avg', 'min', 'max', 'first', 'last', 'most_frequent'])

export interface ResolveResult {
  project: Project
  diagnostics: Diagnostic[]
}

/** Builds the typed graph from schema-valid documents and checks every name and type in it. */
export function resolveProject(
  documents: readonly LoadedDocument[],
  invalid: ReadonlySet<string>,
  today = new Date(),
  errorPaths: ReadonlyMap<string, string[][]> = new Map(),
  dbt?: DbtState,
): ResolveResult {
  return new Resolver(documents, invalid, today, errorPaths, dbt).run()
}

/** Schema errors inside a segment's rule or exclude spoil only the conditions they sit in. */
const CONDITION_ROOTS = new Set(['rule', 'exclude'])

class Resolver {
  readonly out: Diagnostic[] = []
  readonly project: Project = {name: '', outputSchema: 'segments', entities: new Map(), events: new Map(), traits: new Map(), segments: new Map(), groups: new Map()}
  /** names defined by documents that failed the schema: references to them are not reported again */
  readonly broken = {entities: new Set<string>(), events: new Set<string>(), traits: new Set<string>(), segments: new Set<string>()}
  private readonly rawTraits = new Map<string, Pending>()
  private readonly rawSegments = new Map<string, Pending & {entity: string}>()
  private readonly traitStack: string[] = []
  /** entities some event names `ids` for, valid or not (no nothing-to-stitch warning then) */
  private readonly stitchedEntities = new Set<string>()

  constructor(
    private readonly documents: readonly LoadedDocument[],
    private readonly invalid: ReadonlySet<string>,
    private readonly today: Date,
    private readonly errorPaths: ReadonlyMap<string, string[][]>,
    private readonly dbt: DbtState,
  ) {}

  /** true when a schema error sits at or below this site (it was reported already) */
  private spoiled(site: Site): boolean {
    const errors = this.errorPathsOf.get(site.file) ?? []
    return errors.some((p) => p.length >= site.path.length && site.path.every((k, i) => String(k) === p[i]))
  }

  private readonly errorPathsOf = new Map<unknown, string[][]>()

  run(): ResolveResult {
    const rawEntities: Pending[] = []
    const rawEvents: Pending[] = []
    const rawGroups: Pending[] = []
    const seen = {entities: new Map<string, Site>(), events: new Map<string, Site>(), traits: new Map<string, Site>(), segments: new Map<string, Site>()}
    const define = (space: keyof typeof seen, name: string, site: Site, label: string): boolean => {
      const first = seen[space].get(name)
      if (first) {
        const p = first.keyAt
        this.out.push(diag('duplicate_name', site.keyAt, `${label} '${name}' is already defined at ${p.file}:${p.line}:${p.col}`))
        return false
      }
      seen[space].set(name, site)
      return true
    }

    for (const doc of this.documents) {
      const root = new Site(doc.file, doc.node, undefined, [`#${doc.index}`])
      if (doc.kind === 'config') {
        if (this.invalid.has(definitionId(doc))) continue
        this.project.name = String(doc.value.name ?? '')
        this.project.outputSchema = String((doc.value.output as Raw | undefined)?.schema ?? 'segments')
      } else if (doc.kind === 'models') {
        for (const space of ['entities', 'events', 'traits'] as const) {
          for (const [name, raw] of Object.entries((doc.value[space] as Raw | undefined) ?? {})) {
            const site = root.child(space).child(name)
            const label = space === 'entities' ? 'entity' : space.slice(0, -1)
            if (!define(space, name, site, label)) continue
            if (this.invalid.has(definitionId(doc, [space, name])) || this.invalid.has(definitionId(doc))) {
              this.broken[space].add(name)
              continue
            }
            const pending = {name, raw: raw as Raw, site}
            if (space === 'entities') rawEntities.push(pending)
            else if (space === 'events') rawEvents.push(pending)
            else this.rawTraits.set(name, pending)
          }
        }
      } else if (doc.kind === 'segment' || doc.kind === 'group') {
        const name = String(doc.value[doc.kind])
        if (!define('segments', name, root.child(doc.kind), doc.kind === 'segment' ? 'segment or group' : 'group or segment')) continue
        const errors = this.errorPaths.get(definitionId(doc)) ?? []
        const onlyInConditions = doc.kind === 'segment' && errors.every((p) => p.length > 1 && CONDITION_ROOTS.has(p[0]!))
        if (this.invalid.has(definitionId(doc)) && !onlyInConditions) {
          this.broken.segments.add(name)
          continue
        }
        if (errors.length) this.errorPathsOf.set(doc.file, [...(this.errorPathsOf.get(doc.file) ?? []), ...errors.map((p) => [`#${doc.index}`, ...p])])
        const pending = {name, raw: doc.value, site: root, spoiled: errors.length > 0}
        if (doc.kind === 'segment') this.rawSegments.set(name, {...pending, entity: String(doc.value.entity)})
        else rawGroups.push(pending)
      }
    }

    for (const p of rawEntities) this.resolveEntity(p)
    for (const p of rawEvents) this.resolveEvent(p)
    for (const p of rawEntities) this.resolveIdentityEdges(p)
    for (const name of this.rawTraits.keys()) this.trait(name)
    for (const g of rawGroups) this.resolveGroup(g)
    for (const p of this.rawSegments.values()) this.resolveSegment(p)
    this.checkSegmentCycles()
    checkPopulationCycles(this.project, this.out)
    for (const p of rawEntities) if (this.project.entities.has(p.name) && p.raw.profile !== undefined) resolveProfile(this.project, this.project.entities.get(p.name)!, p.raw.profile as unknown[], p.site.child('profile'), this.rawTraits.keys(), this.out)
    return {project: this.project, diagnostics: this.out}
  }

  private suggest = (name: string, candidates: Iterable<string>) => didYouMean(name, candidates)

  private relation(raw: Raw, site: Site, what: string): {relation: Relation; dbt?: DbtOrigin} | undefined {
    const given = (['table', 'sql', 'dbt', 'dbt_source'] as const).filter((k) => typeof raw[k] === 'string')
    if (given.length !== 1) {
      this.out.push(diag(given.length ? 'bad_value' : 'missing_key', given.length ? site.child(given[1]!).keyAt : site.keyAt, `${what} needs exactly one of 'table', 'sql', 'dbt' or 'dbt_source'${given.length ? `, not ${given.join(' and ')}` : ''}`))
      return undefined
    }
    const key = given[0]!
    if (key === 'sql') return {relation: {kind: 'sql', sql: raw.sql as string}}
    if (key === 'dbt' || key === 'dbt_source') return dbtRelation(this.dbt, key, raw[key] as string, site, what, this.out)
    const path = (raw.table as string).split('.')
    if (path.some((p) => p.length === 0)) {
      this.out.push(diag('bad_value', site.child('table').at, `'${raw.table as string}' is not a table name (schema.table or table)`))
      return undefined
    }
    return {relation: {kind: 'table', path}}
  }

  /** the columns an entity or event reads, where the YAML names each (for the dbt column check) */
  private reads(columns: Array<[string, Site]>): Array<{column: string; at: Position}> {
    return columns.map(([column, site]) => ({column, at: site.keyAt}))
  }

  private attributes(raw: Raw | undefined): Map<string, Attribute> {
    const map = new Map<string, Attribute>()
    for (const [name, spec] of Object.entries(raw ?? {})) {
      if (typeof spec === 'string') map.set(name, {name, column: name, type: spec as ValueType, sensitive: false})
      else {
        const s = spec as Raw
        map.set(name, {name, column: (s.column as string | undefined) ?? name, type: s.type as ValueType, sensitive: s.sensitive === true, ...(s.label ? {label: String(s.label)} : {})})
      }
    }
    return map
  }

  private resolveEntity({name, raw, site}: Pending) {
    const resolved = this.relation(raw, site, `entity '${name}'`)
    if (!resolved) return void this.broken.entities.add(name)
    const entity: Entity = {name, relation: resolved.relation, key: raw.key as string, attributes: this.attributes(raw.attributes as Raw), loc: site.keyAt}
    if (raw.label) entity.label = String(raw.label)
    if (raw.identity) entity.identity = identityOf(raw.identity as Raw, site.child('identity'))
    if (resolved.dbt) {
      entity.dbt = resolved.dbt
      const attrs = site.child('attributes')
      checkDbtColumns(resolved.dbt, this.reads([[entity.key, site.child('key')], ...[...entity.attributes.values()].map((a): [string, Site] => [a.column, attrs.child(a.name)])]), this.out)
    }
    this.project.entities.set(name, entity)
  }

  private entityRef(name: string, site: Site): Entity | undefined {
    const e = this.project.entities.get(name)
    if (!e && !this.broken.entities.has(name)) {
      this.out.push(diag('unknown_entity', site.at, `unknown entity '${name}'${this.suggest(name, this.project.entities.keys())}`))
    }
    return e
  }

  private resolveEvent({name, raw, site}: Pending) {
    if (raw.ids !== undefined) this.stitchedEntities.add(String(raw.entity))
    const entity = this.entityRef(raw.entity as string, site.child('entity'))
    const resolved = this.relation(raw, site, `event '${name}'`)
    if (!entity || !resolved) return void this.broken.events.add(name)
    const properties = this.attributes(raw.properties as Raw)
    const ids = this.eventIds(raw, site, entity)
    if (ids === null) return void this.broken.events.add(name)
    const event: EventDef = {name, entity: entity.name, relation: resolved.relation, key: ids ? IDENTITY_KEY_COLUMN : (raw.key as string), timestamp: raw.timestamp as string, where: [], properties, loc: site.keyAt}
    if (ids) event.ids = ids
    if (raw.label) event.label = String(raw.label)
    if (typeof raw.loaded_at === 'string') event.loadedAt = raw.loaded_at
    if (resolved.dbt) {
      event.dbt = resolved.dbt
      const props = site.child('properties')
      checkDbtColumns(resolved.dbt, this.reads([...(ids ? ids.map(({kind, column}): [string, Site] => [column, site.child('ids').child(kind)]) : [[event.key, site.child('key')] as [string, Site]]), [event.timestamp, site.child('timestamp')], ...(event.loadedAt ? [[event.loadedAt, site.child('loaded_at')] as [string, Site]] : []), ...[...properties.values()].map((a): [string, Site] => [a.column, props.child(a.name)])]), this.out)
    }
    event.where = resolveWhere(raw.where as Raw | undefined, site.child('where'), event, this.out, this.suggest)
    this.project.events.set(name, event)
  }

  /**
   * An event's identifier columns (SPEC §20) in priority order, undefined for an event with `key`,
   * null when they are wrong (reported).
   */
  private eventIds(raw: Raw, site: Site, entity: Entity): Array<{kind: string; column: string}> | undefined | null {
    const given = raw.ids as Record<string, string> | undefined
    if (given === undefined) {
      if (typeof raw.key === 'string') return undefined
      this.out.push(diag('missing_key', site.keyAt, `event needs 'key' (the column holding the entity key) or 'ids' (identifier kind: column)`))
      return null
    }
    if (raw.key !== undefined) {
      this.out.push(diag('bad_value', site.child('ids').keyAt, `an event takes 'key' or 'ids', not both: with ids, name the entity key as ids.key`))
      return null
    }
    return this.idColumns(given, site.child('ids'), entity, 'event')
  }

  /** kind: column pairs checked against the entity's identity, in its priority order (key first). */
  private idColumns(given: Record<string, string>, site: Site, entity: Entity, what: string): Array<{kind: string; column: string}> | null {
    const identity = entity.identity
    if (!identity) {
      this.out.push(diag('unknown_identifier', site.keyAt, `entity '${entity.name}' declares no identity, so a ${what} cannot name identifiers: use key, or add identity to the entity`))
      return null
    }
    const order = [KEY_KIND, ...identity.kinds.map((k) => k.name)]
    let ok = true
    for (const kind of Object.keys(given)) {
      if (!order.includes(kind)) {
        this.out.push(diag('unknown_identifier', site.child(kind).keyAt, `entity '${entity.name}' has no identifier kind '${kind}'${this.suggest(kind, order)}`))
        ok = false
      }
    }
    return ok ? order.filter((k) => given[k] !== undefined).map((kind) => ({kind, column: given[kind]!})) : null
  }

  /** Edges need the events resolved (an `event:` edge reads the event); then the nothing-to-stitch warning. */
  private resolveIdentityEdges({name, raw, site}: Pending) {
    const entity = this.project.entities.get(name)
    const identity = entity?.identity
    if (!entity || !identity) return
    const edgesSite = site.child('identity').child('edges')
    for (const [i, rawEdge] of (((raw.identity as Raw).edges as Raw[] | undefined) ?? []).entries()) {
      const at = edgesSite.child(i)
      if (typeof rawEdge.event === 'string') {
        if (['table', 'sql', 'dbt', 'dbt_source', 'ids', 'timestamp'].some((k) => rawEdge[k] !== undefined)) {
          this.out.push(diag('bad_value', at.child('event').keyAt, `an event edge reads the event's table, timestamp and ids: it takes no other key`))
          continue
        }
        const ev = this.eventRef(rawEdge.event, at.child('event'), entity.name)
        if (!ev) continue
        const ids = ev.ids ?? [{kind: KEY_KIND, column: ev.key}]
        identity.edges.push({relation: ev.relation, timestamp: ev.timestamp, ids, where: ev.where, event: ev.name, name: `event ${ev.name}`, loc: at.at})
        continue
      }
      const resolved = this.relation(rawEdge, at, `identity edge ${i + 1} of entity '${name}'`)
      if (!resolved) continue
      if (rawEdge.ids === undefined) {
        this.out.push(diag('missing_key', at.at, `an identity edge needs 'ids' (identifier kind: column), or 'event'`))
        continue
      }
      const ids = this.idColumns(rawEdge.ids as Record<string, string>, at.child('ids'), entity, 'edge')
      if (!ids) continue
      const edgeName = resolved.relation.kind === 'table' ? resolved.relation.path.join('.') : `edge ${i + 1}`
      identity.edges.push({relation: resolved.relation, ...(typeof rawEdge.timestamp === 'string' ? {timestamp: rawEdge.timestamp} : {}), ids, where: [], name: edgeName, loc: at.at})
    }
    if (!this.stitchedEntities.has(entity.name)) {
      this.out.push(diag('nothing_to_stitch', site.child('identity').keyAt, `entity '${name}' declares identity but every event of it uses key: there is nothing to stitch (give events ids instead of key)`))
    }
  }

  private eventRef(name: string, site: Site, entity?: string): EventDef | undefined {
    const ev = this.project.events.get(name)
    if (!ev) {
      if (!this.broken.events.has(name)) this.out.push(diag('unknown_event', site.at, `unknown event '${name}'${this.suggest(name, this.project.events.keys())}`))
      return undefined
    }
    if (entity !== undefined && ev.entity !== entity) {
      this.out.push(diag('entity_mismatch', site.at, `event '${name}' belongs to entity '${ev.entity}', not '${entity}'`))
      return undefined
    }
    return ev
  }

  private duration(raw: unknown, site: Site): number | undefined {
    const s = parseDuration(String(raw))
    if (s === undefined) this.out.push(diag('bad_duration', site.at, `'${String(raw)}' is not a duration: an integer and a unit (s, min, h, d, w), like 30d`))
    return s
  }

  /** within / between / before, at most one of them. */
  private window(raw: Raw, site: Site): Window | undefined {
    const given = WINDOW_KEYS.filter((k) => raw[k] !== undefined)
    if (given.length > 1) {
      this.out.push(diag('bad_condition', site.child(given[1]!).keyAt, `use one window: ${given.join(' and ')} cannot be combined`))
      return undefined
    }
    if (given.length === 0) return {from: null, to: 0}
    const key = given[0]!
    if (key === 'within') {
      const s = this.duration(raw.within, site.child('within'))
      return s === undefined ? undefined : {from: s, to: 0}
    }
    if (key === 'before') {
      const s = this.duration(raw.before, site.child('before'))
      return s === undefined ? undefined : {from: null, to: s}
    }
    const pair = raw.between
    if (!Array.isArray(pair) || pair.length !== 2) {
      this.out.push(diag('bad_value', site.child('between').at, `between takes two durations, the older first: [60d, 30d]`))
      return undefined
    }
    const from = this.duration(pair[0], site.child('between').child(0))
    const to = this.duration(pair[1], site.child('between').child(1))
    if (from === undefined || to === undefined) return undefined
    if (from <= to) {
      this.out.push(diag('bad_value', site.child('between').at, `between [${String(pair[0])}, ${String(pair[1])}] is empty: the first duration must be the longer one (as_of − first < ts ≤ as_of − second)`))
      return undefined
    }
    return {from, to}
  }

  /** The aggregate of an event trait or an inline event condition, with its result type. */
  private aggregate(raw: Raw, site: Site, entity: string | undefined): {spec: AggregateSpec; type: ValueType} | undefined {
    const ev = this.eventRef(raw.event as string, site.child('event'), entity)
    const window = this.window(raw, site)
    if (!ev || !window) return undefined
    const aggregate = (raw.aggregate as AggregateKind | undefined) ?? 'count'
    const spec: AggregateSpec = {event: ev.name, where: resolveWhere(raw.where as Raw | undefined, site.child('where'), ev, this.out, this.suggest), window, aggregate}
    const before = this.out.length
    if (NEEDS_OF.has(aggregate)) {
      if (raw.of === undefined) this.out.push(diag('missing_key', site.child('aggregate').keyAt, `aggregate '${aggregate}' needs 'of': the property to aggregate`))
      else {
        const ofName = String(raw.of)
        const prop = ofName === 'timestamp' ? {column: ev.timestamp, type: 'timestamp' as ValueType} : ev.properties.get(ofName)
        if (!prop) {
          this.out.push(diag('unknown_property', site.child('of').at, `event '${ev.name}' has no property '${ofName}'${this.suggest(ofName, [...ev.properties.keys(), 'timestamp'])}`))
        } else {
          spec.of = {name: ofName, column: prop.column, type: prop.type}
          if ((aggregate === 'sum' || aggregate === 'avg') && !isNumeric(prop.type)) {
            this.out.push(diag('type_mismatch', site.child('of').at, `'${aggregate}' needs a numeric property; '${ofName}' is a ${prop.type}`))
          }
          if ((aggregate === 'min' || aggregate === 'max') && prop.type === 'boolean') {
            this.out.push(diag('type_mismatch', site.child('of').at, `'${aggregate}' needs an ordered property; '${ofName}' is a boolean`))
          }
        }
      }
    } else if (raw.of !== undefined) {
      this.out.push(diag('bad_condition', site.child('of').keyAt, `aggregate '${aggregate}' takes no 'of'`))
    }
    if (aggregate === 'active_periods') {
      if (raw.period === undefined) this.out.push(diag('missing_key', site.child('aggregate').keyAt, `'active_periods' needs 'period', like 7d`))
      else {
        const p = this.duration(raw.period, site.child('period'))
        if (p !== undefined) spec.periodSeconds = p
      }
      spec.minCount = (raw.min_count as number | undefined) ?? 1
    } else {
      for (const k of ['period', 'min_count']) {
        if (raw[k] !== undefined) this.out.push(diag('bad_condition', site.child(k).keyAt, `'${k}' goes with aggregate: active_periods`))
      }
    }
    if (this.out.length > before) return undefined
    const type: ValueType = ['count', 'count_distinct', 'active_periods'].includes(aggregate)
      ? 'integer'
      : aggregate === 'sum' || aggregate === 'avg'
        ? 'number'
        : spec.of!.type
    return {spec, type}
  }

  /** Resolves a trait on first use; the stack catches traits that reach themselves. */
  trait(name: string): Trait | undefined {
    const done = this.project.traits.get(name)
    if (done) return done
    if (this.broken.traits.has(name)) return undefined
    const pending = this.rawTraits.get(name)
    if (!pending) return undefined
    const loop = this.traitStack.indexOf(name)
    if (loop >= 0) {
      const cycle = [...this.traitStack.slice(loop), name]
      this.out.push(diag('cycle', pending.site.keyAt, `traits reference each other in a loop: ${cycle.join(' → ')}`, {cycle}))
      this.broken.traits.add(name)
      return undefined
    }
    this.traitStack.push(name)
    try {
      const t = this.resolveTrait(pending)
      if (t && pending.raw.description !== undefined) t.description = String(pending.raw.description)
      if (t) this.project.traits.set(name, t)
      else this.broken.traits.add(name)
      return t
    } finally {
      this.traitStack.pop()
    }
  }

  private resolveTrait({name, raw, site}: Pending): Trait | undefined {
    if (raw.fit !== undefined) return this.fitTrait(name, raw, site)
    if (raw.predict !== undefined) return this.predictTrait(name, raw, site)
    const forms = ['event', 'expr', 'ntile'].filter((k) => raw[k] !== undefined)
    if (forms.length !== 1) {
      this.out.push(diag('bad_condition', site.keyAt, `trait '${name}' needs exactly one of 'event' (an aggregate), 'expr', 'ntile', 'fit' or 'predict'${forms.length ? `, not ${forms.join(' and ')}` : ''}`))
      return undefined
    }
    if (typeof raw.of !== 'string' && raw.of !== undefined) {
      this.out.push(diag('wrong_type', site.child('of').at, `'of' names one property, trait or attribute here; a list is for fit: kmeans`))
      return undefined
    }
    const form = forms[0]!
    const stray = Object.keys(raw).filter((k) => !['label', 'description'].includes(k) && (form === 'event' ? !AGGREGATE_KEYS.has(k) : form === 'expr' ? k !== 'expr' : !['ntile', 'of', 'order'].includes(k)))
    for (const k of stray) this.out.push(diag('bad_condition', site.child(k).keyAt, `'${k}' does not go with ${form === 'event' ? 'an event aggregate' : `'${form}'`}`))
    if (stray.length) return undefined
    const base = {name, loc: site.keyAt, ...(raw.label ? {label: String(raw.label)} : {})}
    if (form === 'event') {
      const agg = this.aggregate(raw, site, undefined)
      if (!agg) return undefined
      return {...base, entity: this.project.events.get(agg.spec.event)!.entity, type: agg.type, def: {kind: 'aggregate', spec: agg.spec}}
    }
    if (form === 'expr') {
      const source = String(raw.expr)
      const exprSite = site.child('expr')
      let ast
      try {
        ast = parseExpr(source)
      } catch (error) {
        if (!(error instanceof ExprSyntaxError)) throw error
        this.out.push(diag('expr_syntax', exprSite.offsetAt(error.offset), `expression does not parse: ${error.message}`))
        return undefined
      }
      const typed = typeExpr(ast, {
        trait: (n) => this.trait(n),
        isKnownTrait: (n) => this.rawTraits.has(n),
        entities: this.project.entities,
        brokenTrait: (n) => this.broken.traits.has(n),
        suggestions: () => [...this.rawTraits.keys(), ...[...this.project.entities.values()].flatMap((e) => [...e.attributes.keys()])],
        at: (offset) => exprSite.offsetAt(offset),
        out: this.out,
      })
      if (!typed) return undefined
      const def: TraitDef = {kind: 'expr', source, expr: typed.expr}
      return {...base, entity: typed.entity, type: typed.type, def}
    }
    const ofName = raw.of as string | undefined
    if (ofName === undefined) {
      this.out.push(diag('missing_key', site.child('ntile').keyAt, `ntile needs 'of': the trait or attribute to score`))
      return undefined
    }
    const of = this.valueRef(ofName, site.child('of'))
    if (!of) return undefined
    if (!isNumeric(of.type) && !isTime(of.type)) {
      this.out.push(diag('type_mismatch', site.child('of').at, `ntile needs a numeric or time value; '${ofName}' is a ${of.type}`))
      return undefined
    }
    return {...base, entity: of.entity, type: 'integer', def: {kind: 'ntile', buckets: raw.ntile as number, of: {name: ofName, target: of.target}, order: (raw.order as 'asc' | 'desc' | undefined) ?? 'asc'}}
  }

  /** Keys a trait form takes besides label and description; any other is reported. */
  private strayKeys(raw: Raw, site: Site, allowed: string[], form: string): boolean {
    const stray = Object.keys(raw).filter((k) => !['label', 'description', ...allowed].includes(k))
    for (const k of stray) this.out.push(diag('bad_condition', site.child(k).keyAt, `'${k}' does not go with ${form}`))
    return stray.length > 0
  }

  /** fit: bgnbd | gamma_gamma (from an event's transaction days) or kmeans (over features). */
  private fitTrait(name: string, raw: Raw, site: Site): Trait | undefined {
    const base = {name, loc: site.keyAt, ...(raw.label ? {label: String(raw.label)} : {})}
    const model = raw.fit as 'bgnbd' | 'gamma_gamma' | 'kmeans' | 'propensity'
    if (model === 'propensity') {
      if (this.strayKeys(raw, site, ['fit', 'goal', 'horizon', 'population', 'features', 'l2', 'levels'], 'fit: propensity')) return undefined
      const spec = resolvePropensity(name, raw, site, {
        out: this.out,
        valueRef: (n, at) => this.valueRef(n, at),
        trait: (n) => this.trait(n),
        eventRef: (n, at, entity) => this.eventRef(n, at, entity),
        segmentEntity: (n) => this.rawSegments.get(n)?.entity,
        isGroup: (n) => this.rawSegmentIsGroup(n),
        brokenSegment: (n) => this.broken.segments.has(n),
        segmentNames: () => this.rawSegments.keys(),
        duration: (v, at) => this.duration(v, at),
        where: (w, at, ev) => resolveWhere(w, at, ev, this.out, this.suggest),
      })
      return spec && {...base, entity: spec.entity, type: 'number', def: {kind: 'fit', model, propensity: spec.spec}}
    }
    if (model === 'kmeans') {
      if (this.strayKeys(raw, site, ['fit', 'k', 'of', 'standardize'], 'fit: kmeans')) return undefined
      if (raw.k === undefined) return void this.out.push(diag('missing_key', site.child('fit').keyAt, `fit: kmeans needs 'k', the number of clusters`))
      const names = raw.of === undefined ? [] : Array.isArray(raw.of) ? (raw.of as string[]) : [String(raw.of)]
      if (!names.length) return void this.out.push(diag('missing_key', site.child('fit').keyAt, `fit: kmeans needs 'of': the numeric traits or attributes to cluster on`))
      const features: Array<{name: string; target: 'trait' | 'attribute'}> = []
      const entities = new Set<string>()
      names.forEach((f, i) => {
        const at = Array.isArray(raw.of) ? site.child('of').child(i) : site.child('of')
        const ref = this.valueRef(f, at)
        if (!ref) return
        if (ref.target === 'trait' && isModelTrait(this.trait(f)!)) return void this.out.push(diag('type_mismatch', at.at, `'${f}' is a fitted model, not a value; use a predict: trait of it`))
        if (!isNumeric(ref.type)) return void this.out.push(diag('type_mismatch', at.at, `kmeans features must be numeric; '${f}' is a ${ref.type}`))
        entities.add(ref.entity)
        features.push({name: f, target: ref.target})
      })
      if (features.length !== names.length) return undefined
      if (entities.size > 1) return void this.out.push(diag('entity_mismatch', site.child('of').at, `kmeans features must belong to one entity, not ${[...entities].join(' and ')}`))
      return {...base, entity: [...entities][0]!, type: 'integer', def: {kind: 'fit', model, k: raw.k as number, features, standardize: raw.standardize !== false}}
    }
    if (this.strayKeys(raw, site, ['fit', 'event', 'where', 'time_unit', ...(model === 'gamma_gamma' ? ['of'] : [])], `fit: ${model}`)) return undefined
    if (raw.event === undefined) return void this.out.push(diag('missing_key', site.child('fit').keyAt, `fit: ${model} needs 'event': the purchases it learns from`))
    const ev = this.eventRef(raw.event as string, site.child('event'))
    const unit = raw.time_unit === undefined ? 7 * 86400 : this.duration(raw.time_unit, site.child('time_unit'))
    if (!ev || unit === undefined) return undefined
    if (unit <= 0) return void this.out.push(diag('bad_value', site.child('time_unit').at, `time_unit must be positive`))
    const transactions: TransactionSpec = {event: ev.name, where: resolveWhere(raw.where as Raw | undefined, site.child('where'), ev, this.out, this.suggest), timeUnitSeconds: unit}
    if (model === 'gamma_gamma') {
      if (raw.of === undefined) return void this.out.push(diag('missing_key', site.child('fit').keyAt, `fit: gamma_gamma needs 'of': the numeric property holding each purchase's value`))
      const prop = ev.properties.get(String(raw.of))
      if (!prop) return void this.out.push(diag('unknown_property', site.child('of').at, `event '${ev.name}' has no property '${String(raw.of)}'${this.suggest(String(raw.of), ev.properties.keys())}`))
      if (!isNumeric(prop.type)) return void this.out.push(diag('type_mismatch', site.child('of').at, `gamma_gamma needs a numeric value; '${prop.name}' is a ${prop.type}`))
      transactions.of = {name: prop.name, column: prop.column, type: prop.type}
    }
    return {...base, entity: ev.entity, type: 'number', def: {kind: 'fit', model, transactions}}
  }

  /** predict: p_alive | expected_purchases | expected_spend | clv from fitted models. */
  private predictTrait(name: string, raw: Raw, site: Site): Trait | undefined {
    const base = {name, loc: site.keyAt, ...(raw.label ? {label: String(raw.label)} : {})}
    const predict = raw.predict as Prediction
    const needs = {p_alive: ['bgnbd'], expected_purchases: ['bgnbd'], expected_spend: ['gamma_gamma'], clv: ['bgnbd', 'gamma_gamma'], probability: ['propensity'], percentile: ['propensity']}[predict] as FittedModel[]
    const allowed = ['predict', 'model', ...(predict === 'expected_purchases' || predict === 'clv' ? ['horizon'] : []), ...(predict === 'clv' ? ['discount_rate'] : [])]
    if (this.strayKeys(raw, site, allowed, `predict: ${predict}`)) return undefined
    if (raw.model === undefined) return void this.out.push(diag('missing_key', site.child('predict').keyAt, `predict: ${predict} needs 'model': ${needs.length === 2 ? 'a list of the bgnbd and the gamma_gamma trait' : `the ${needs[0]} trait`}`))
    const names = Array.isArray(raw.model) ? (raw.model as string[]) : [String(raw.model)]
    const found: Partial<Record<FittedModel, Trait>> = {}
    let ok = true
    names.forEach((m, i) => {
      const at = Array.isArray(raw.model) ? site.child('model').child(i) : site.child('model')
      if (!this.rawTraits.has(m)) return void ((ok = false), this.out.push(diag('unknown_trait', at.at, `unknown trait '${m}'${this.suggest(m, this.rawTraits.keys())}`)))
      const t = this.trait(m)
      if (!t) return void (ok = false)
      if (t.def.kind !== 'fit' || !needs.includes(t.def.model)) {
        ok = false
        return void this.out.push(diag('type_mismatch', at.at, `predict: ${predict} needs ${needs.map((n) => `a fit: ${n} trait`).join(' and ')}; '${m}' is ${t.def.kind === 'fit' ? `a fit: ${t.def.model} trait` : 'not a fitted model'}`))
      }
      found[t.def.model] = t
    })
    if (!ok) return undefined
    const missing = needs.filter((n) => !found[n])
    if (missing.length) return void this.out.push(diag('type_mismatch', site.child('model').at, `predict: ${predict} needs ${missing.map((n) => `a fit: ${n} trait`).join(' and ')} in 'model'`))
    const entities = new Set(Object.values(found).map((t) => t!.entity))
    if (entities.size > 1) return void this.out.push(diag('entity_mismatch', site.child('model').at, `the models of a prediction must belong to one entity, not ${[...entities].join(' and ')}`))
    const def: TraitDef = {kind: 'predict', predict, ...(found.bgnbd ? {bgnbd: found.bgnbd.name} : {}), ...(found.gamma_gamma ? {gammaGamma: found.gamma_gamma.name} : {}), ...(found.propensity ? {propensity: found.propensity.name} : {})}
    if (predict === 'expected_purchases' || predict === 'clv') {
      if (raw.horizon === undefined) return void this.out.push(diag('missing_key', site.child('predict').keyAt, `predict: ${predict} needs 'horizon', like 90d`))
      const h = this.duration(raw.horizon, site.child('horizon'))
      if (h === undefined) return undefined
      if (h <= 0) return void this.out.push(diag('bad_value', site.child('horizon').at, `horizon must be positive`))
      def.horizonSeconds = h
    }
    if (predict === 'clv') def.discountRate = (raw.discount_rate as number | undefined) ?? 0
    return {...base, entity: [...entities][0]!, type: 'number', def}
  }

  /** A name that is a trait, or else an attribute of exactly one entity. */
  private valueRef(name: string, site: Site): {target: 'trait' | 'attribute'; entity: string; type: ValueType} | undefined {
    if (this.rawTraits.has(name)) {
      const t = this.trait(name)
      return t ? {target: 'trait', entity: t.entity, type: t.type} : undefined
    }
    const owners = [...this.project.entities.values()].filter((e) => e.attributes.has(name))
    if (owners.length === 1) return {target: 'attribute', entity: owners[0]!.name, type: owners[0]!.attributes.get(name)!.type}
    if (owners.length > 1) {
      this.out.push(diag('entity_mismatch', site.at, `'${name}' is an attribute of ${owners.map((o) => o.name).join(' and ')}; wrap it in a trait of one entity`))
      return undefined
    }
    const candidates = [...this.rawTraits.keys(), ...[...this.project.entities.values()].flatMap((e) => [...e.attributes.keys()])]
    this.out.push(diag('unknown_trait', site.at, `'${name}' is neither a trait nor an attribute${this.suggest(name, candidates)}`))
    return undefined
  }

  private meta(raw: Raw): SegmentMeta {
    const m: SegmentMeta = {tags: ((raw.tags as unknown[] | undefined) ?? []).map(String)}
    for (const k of ['description', 'owner', 'purpose', 'action', 'kpi'] as const) if (raw[k] !== undefined) m[k] = String(raw[k])
    if (raw.review_by !== undefined) m.reviewBy = String(raw.review_by)
    return m
  }

  private resolveGroup({name, raw, site}: Pending) {
    const entity = this.entityRef(raw.entity as string, site.child('entity'))
    if (!entity) return
    const members: string[] = []
    ;(raw.segments as string[]).forEach((s, i) => {
      const at = site.child('segments').child(i)
      const seg = this.rawSegments.get(s)
      if (!seg) {
        if (this.broken.segments.has(s)) return
        const other = this.project.groups.has(s) || this.rawSegmentIsGroup(s)
        this.out.push(diag('unknown_segment', at.at, other ? `'${s}' is a group; a group lists segments` : `unknown segment '${s}'${this.suggest(s, this.rawSegments.keys())}`))
        return
      }
      if (seg.entity !== entity.name) {
        this.out.push(diag('entity_mismatch', at.at, `segment '${s}' is of entity '${seg.entity}', group '${name}' of '${entity.name}'`))
        return
      }
      const owner = [...this.project.groups.values()].find((g) => g.segments.includes(s))
      if (owner) {
        this.out.push(diag('duplicate_name', at.at, `segment '${s}' is already in group '${owner.name}'; a segment belongs to one group`))
        return
      }
      if (members.includes(s)) {
        this.out.push(diag('duplicate_name', at.at, `segment '${s}' is listed twice`))
        return
      }
      members.push(s)
    })
    this.project.groups.set(name, {name, entity: entity.name, segments: members, loc: site.child('group').keyAt, ...this.meta(raw)})
  }

  private rawSegmentIsGroup(name: string): boolean {
    return this.documents.some((d) => d.kind === 'group' && d.value.group === name)
  }

  private resolveSegment({name, raw, site, spoiled}: Pending & {entity: string; spoiled?: boolean}) {
    const entity = this.entityRef(raw.entity as string, site.child('entity'))
    if (!entity) return void this.broken.segments.add(name)
    const before = this.out.length
    const rule = this.condition(raw.rule, site.child('rule'), entity)
    const exclude = raw.exclude !== undefined ? this.condition(raw.exclude, site.child('exclude'), entity) : undefined
    const consent: string[] = []
    ;((raw.consent as string[] | undefined) ?? []).forEach((a, i) => {
      const at = site.child('consent').child(i)
      const attr = entity.attributes.get(a)
      if (!attr) this.out.push(diag('unknown_attribute', at.at, `entity '${entity.name}' has no attribute '${a}'${this.suggest(a, entity.attributes.keys())}`))
      else if (attr.type !== 'boolean') this.out.push(diag('type_mismatch', at.at, `consent attributes must be boolean; '${a}' is a ${attr.type}`))
      else consent.push(a)
    })
    const segment: Segment = {
      name,
      entity: entity.name,
      rule: rule!,
      consent,
      refresh: (raw.refresh as 'dynamic' | 'static' | undefined) ?? 'dynamic',
      loc: site.child('segment').keyAt,
      ...this.meta(raw),
    }
    if (exclude) segment.exclude = exclude
    const holdout = raw.holdout as Raw | undefined
    if (holdout) segment.holdout = {percent: holdout.percent as number, salt: holdout.salt === undefined ? '' : String(holdout.salt)}
    const expect = raw.expect as Raw | undefined
    if (expect) {
      segment.expect = {loc: site.child('expect').keyAt}
      if (expect.min_size !== undefined) segment.expect.minSize = expect.min_size as number
      if (expect.max_size !== undefined) segment.expect.maxSize = expect.max_size as number
      if (expect.max_share !== undefined) segment.expect.maxShare = expect.max_share as number
      if (expect.max_change !== undefined) segment.expect.maxChange = expect.max_change as number
      if (segment.expect.minSize !== undefined && segment.expect.maxSize !== undefined && segment.expect.minSize > segment.expect.maxSize) {
        this.out.push(diag('bad_value', site.child('expect').keyAt, `expect.min_size ${segment.expect.minSize} is larger than max_size ${segment.expect.maxSize}`))
      }
    }
    if (segment.reviewBy !== undefined) {
      const d = /^\d{4}-\d{2}-\d{2}$/.test(segment.reviewBy) ? new Date(`${segment.reviewBy}T00:00:00Z`) : undefined
      if (!d || Number.isNaN(d.getTime())) this.out.push(diag('bad_time', site.child('review_by').at, `review_by must be an ISO date like 2027-03-31, not '${segment.reviewBy}'`))
      else if (d.getTime() < this.today.getTime()) {
        this.out.push(diag('review_overdue', site.child('review_by').at, `segment '${name}' was due for review on ${segment.reviewBy}${segment.owner ? ` (owner: ${segment.owner})` : ''}`))
      }
    }
    const measure = raw.measure as {outcome: Raw} | undefined
    if (measure && !segment.holdout) {
      this.out.push(diag('measure_without_holdout', site.child('measure').keyAt, `segment '${name}' has measure: but no holdout; lift compares members with a control group, so add holdout: {percent: 10} (or drop measure:)`))
    } else if (measure) {
      const at = site.child('measure').child('outcome')
      const ev = this.eventRef(measure.outcome.event as string, at.child('event'), entity.name)
      const within = this.duration(measure.outcome.within, at.child('within'))
      if (ev && within !== undefined) {
        segment.measure = {event: ev.name, where: resolveWhere(measure.outcome.where as Raw | undefined, at.child('where'), ev, this.out, this.suggest), withinSeconds: within}
      }
    }
    const group = [...this.project.groups.values()].find((g) => g.segments.includes(name))
    if (group) segment.group = {name: group.name, position: group.segments.indexOf(name)}
    if (spoiled || this.out.slice(before).some((d) => d.severity === 'error') || !rule) return void this.broken.segments.add(name)
    this.project.segments.set(name, segment)
  }

  private condition(raw: unknown, site: Site, entity: Entity, depth = 1): Condition | undefined {
    if (depth > MAX_CONDITION_DEPTH) {
      this.out.push(diag('nesting_limit', site.at, `conditions nest more than ${MAX_CONDITION_DEPTH} levels deep here; split the rule into segments that reference each other`))
      return undefined
    }
    if (this.spoiled(site) && !this.spoiledBelowOnly(raw, site)) return undefined
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      this.out.push(diag('bad_condition', site.at, 'a condition is a mapping such as {attribute: country, eq: US}'))
      return undefined
    }
    const r = raw as Raw
    const forms = CONDITION_FORMS.filter((f) => r[f] !== undefined)
    if (forms.length !== 1) {
      const at = forms.length ? site.child(forms[1]!).keyAt : site.at
      this.out.push(
        diag('bad_condition', at, forms.length ? `a condition has one form; ${forms.join(' and ')} cannot be combined (wrap them in all: or any:)` : `a condition needs one of ${CONDITION_FORMS.join(', ')}`),
      )
      return undefined
    }
    const form = forms[0]!
    const loc = site.child(form).keyAt
    const allowed: ReadonlySet<string> =
      form === 'event'
        ? new Set([...AGGREGATE_KEYS, 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'is_null', 'contains', 'starts_with', 'ends_with'])
        : form === 'attribute' || form === 'trait'
          ? new Set([form, 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'between', 'is_null', 'contains', 'starts_with', 'ends_with'])
          : form === 'sequence'
            ? new Set(['sequence', 'within', 'between', 'before', 'max_gap'])
            : new Set([form])
    const stray = Object.keys(r).filter((k) => !allowed.has(k))
    for (const k of stray) this.out.push(diag('bad_condition', site.child(k).keyAt, `'${k}' does not go with a ${form} condition`))
    if (stray.length) return undefined

    switch (form) {
      case 'attribute': {
        const name = r.attribute as string
        const attr = entity.attributes.get(name)
        if (!attr) {
          const elsewhere = [...this.project.entities.values()].find((e) => e.attributes.has(name))
          this.out.push(
            elsewhere
              ? diag('entity_mismatch', site.child('attribute').at, `'${name}' is an attribute of '${elsewhere.name}', not of '${entity.name}'`)
              : diag('unknown_attribute', site.child('attribute').at, `entity '${entity.name}' has no attribute '${name}'${this.suggest(name, entity.attributes.keys())}`),
          )
          return undefined
        }
        const comparisons = this.comparisonsOrDefault(attr.type, r, site, `attribute '${name}'`)
        return comparisons && {kind: 'attribute', attribute: name, type: attr.type, comparisons, loc}
      }
      case 'trait': {
        const name = r.trait as string
        const t = this.trait(name)
        if (!t) {
          if (!this.rawTraits.has(name)) this.out.push(diag('unknown_trait', site.child('trait').at, `unknown trait '${name}'${this.suggest(name, this.rawTraits.keys())}`))
          return undefined
        }
        if (t.entity !== entity.name) {
          this.out.push(diag('entity_mismatch', site.child('trait').at, `trait '${name}' is of entity '${t.entity}', not '${entity.name}'`))
          return undefined
        }
        if (isModelTrait(t)) {
          this.out.push(diag('type_mismatch', site.child('trait').at, `trait '${name}' is a fitted model, not a value; compare a predict: trait of it (p_alive, expected_purchases, expected_spend, clv)`))
          return undefined
        }
        const comparisons = this.comparisonsOrDefault(t.type, r, site, `trait '${name}'`)
        return comparisons && {kind: 'trait', trait: name, type: t.type, comparisons, loc}
      }
      case 'event': {
        const agg = this.aggregate(r, site, entity.name)
        if (!agg) return undefined
        const skip = new Set(['between'])
        // No comparison means "performed at least once".
        const comparisons = hasComparison(r, skip)
          ? resolveComparisons(agg.type, r, site, `the ${agg.spec.aggregate} of event '${agg.spec.event}'`, this.out, skip)
          : [{op: 'gte' as const, value: {type: 'number' as const, value: 1}}]
        if (!hasComparison(r, skip) && agg.spec.aggregate !== 'count') {
          this.out.push(diag('bad_condition', site.child('aggregate').at, `an event condition with aggregate '${agg.spec.aggregate}' needs a comparison such as gte: 1`))
          return undefined
        }
        return {kind: 'event', spec: agg.spec, type: agg.type, comparisons, loc}
      }
      case 'sequence': {
        const steps: Array<{event: string; where: ReturnType<typeof resolveWhere>}> = []
        let ok = true
        ;(r.sequence as Raw[]).forEach((step, i) => {
          const at = site.child('sequence').child(i)
          const ev = this.eventRef(step.event as string, at.child('event'), entity.name)
          if (!ev) return void (ok = false)
          steps.push({event: ev.name, where: resolveWhere(step.where as Raw | undefined, at.child('where'), ev, this.out, this.suggest)})
        })
        const window = this.window(r, site)
        let maxGapSeconds: number | undefined
        if (r.max_gap !== undefined) maxGapSeconds = this.duration(r.max_gap, site.child('max_gap'))
        if (!ok || !window || (r.max_gap !== undefined && maxGapSeconds === undefined)) return undefined
        return {kind: 'sequence', steps, window, ...(maxGapSeconds !== undefined ? {maxGapSeconds} : {}), loc}
      }
      case 'segment': {
        const name = r.segment as string
        const target = this.rawSegments.get(name)
        if (!target) {
          if (!this.broken.segments.has(name)) {
            const isGroup = this.rawSegmentIsGroup(name)
            this.out.push(diag('unknown_segment', site.child('segment').at, isGroup ? `'${name}' is a group; reference one of its segments` : `unknown segment '${name}'${this.suggest(name, this.rawSegments.keys())}`))
          }
          return undefined
        }
        if (target.entity !== entity.name) {
          this.out.push(diag('entity_mismatch', site.child('segment').at, `segment '${name}' is of entity '${target.entity}', not '${entity.name}'`))
          return undefined
        }
        return {kind: 'segment', segment: name, loc}
      }
      case 'all':
      case 'any': {
        const items = (r[form] as unknown[]).map((c, i) => this.condition(c, site.child(form).child(i), entity, depth + 1))
        return items.every((c) => c) ? {kind: form, items: items as Condition[], loc} : undefined
      }
      case 'not': {
        const item = this.condition(r.not, site.child('not'), entity, depth + 1)
        return item && {kind: 'not', item, loc}
      }
    }
  }

  /** A composite (all/any/not) whose error sits in a child: resolve the other children too. */
  private spoiledBelowOnly(raw: unknown, site: Site): boolean {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false
    const keys = Object.keys(raw as Raw)
    if (keys.length !== 1 || !['all', 'any', 'not'].includes(keys[0]!)) return false
    const errors = this.errorPathsOf.get(site.file) ?? []
    const depth = site.path.length
    // an error exactly at this condition or at its list itself is about this node
    return !errors.some((p) => p.length <= depth + 1 && site.path.every((k, i) => String(k) === p[i]))
  }

  /** Comparisons of an attribute or trait condition; a bare boolean means `eq: true`. */
  private comparisonsOrDefault(type: ValueType, r: Raw, site: Site, what: string) {
    if (!hasComparison(r)) {
      if (type === 'boolean') return [{op: 'eq' as const, value: {type: 'boolean' as const, value: true}}]
      this.out.push(diag('bad_condition', site.at, `${what} needs a comparison such as eq, gte or in`))
      return undefined
    }
    const before = this.out.length
    const c = resolveComparisons(type, r, site, what, this.out)
    return this.out.length > before ? undefined : c
  }

  /** Segment references and group priority form a graph over "own" and "resolved" membership; a loop in it has no answer. */
  private checkSegmentCycles() {
    const edges = new Map<string, string[]>()
    const refs = (c: Condition | undefined, acc: string[]) => {
      if (!c) return acc
      if (c.kind === 'segment') acc.push(c.segment)
      else if (c.kind === 'all' || c.kind === 'any') c.items.forEach((i) => refs(i, acc))
      else if (c.kind === 'not') refs(c.item, acc)
      return acc
    }
    for (const s of this.project.segments.values()) {
      const deps = refs(s.exclude, refs(s.rule, []))
      if (s.group) deps.push(...this.project.groups.get(s.group.name)!.segments.slice(0, s.group.position))
      edges.set(s.name, deps)
    }
    for (const cycle of findCycles(edges)) {
      const s = this.project.segments.get(cycle[0]!)!
      this.out.push(diag('cycle', s.loc, `segments reference each other in a loop: ${cycle.join(' → ')}`, {cycle}))
      for (const n of cycle) this.project.segments.delete(n)
    }
  }
}

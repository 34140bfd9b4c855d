// The resolved project: one typed graph of entities, events, traits, segments and groups.
// Every node keeps the source position of the YAML it came from; nothing here holds YAML nodes.
import type {Position} from '../diagnostics/diagnostic.js'

import type {ValueType} from '../warehouse/dialect.js'
export type {ValueType}

export type Relation = {kind: 'table'; path: string[]} | {kind: 'sql'; sql: string; attribution?: Attribution}

/**
 * SPEC §20: an attributed event relation (src/identity/attribute.ts) in the parts its `sql`
 * is made of, so a scan can group the rows by their identifiers before it attributes them
 * (src/generate/pre-aggregate.ts): `base` aliased `src`, then `joins`, and `profile` the
 * expression over them that names each row's profile.
 */
export interface Attribution {
  base: Relation
  /** the identifier columns of `base`, each once, that `joins` and `profile` read */
  columns: string[]
  joins: string
  profile: string
}

/** The dbt node a relation was resolved through (`dbt:` or `dbt_source:`), with where the YAML names it. */
export interface DbtOrigin {
  unique_id: string
  columns: string[]
  at: Position
}

export interface Attribute {
  name: string
  column: string
  type: ValueType
  sensitive: boolean
  label?: string
}

/** A normalization step of an identifier kind (SPEC §20), identical in every dialect. */
export type NormalizeStep = 'trim' | 'lowercase'

/** An identifier kind besides the entity key: how its values are normalized and which are no identifiers. */
export interface IdentityKind {
  name: string
  normalize: NormalizeStep[]
  /** placeholder values, already normalized as the kind says */
  exclude: string[]
}

/** A relation whose rows link identifiers: every two identifiers of one row are an edge. */
export interface IdentityEdge {
  relation: Relation
  /** NULL or later than as_of: the row is not read; absent: read whole */
  timestamp?: string
  /** kind → column, `key` for the entity key */
  ids: Array<{kind: string; column: string}>
  where: PropertyFilter[]
  /** set for an `event:` edge: the event whose rows (where included) are read */
  event?: string
  /** how `why --id` names the edge's relation */
  name: string
  loc: Position
}

export interface Identity {
  /** identifier kinds besides `key`, highest priority first */
  kinds: IdentityKind[]
  edges: IdentityEdge[]
  anonymous: boolean
  /** as written: a `${env:NAME}` is substituted (and registered as a secret) at run time */
  salt: string
  maxDepth: number
  maxIdsPerProfile?: number
  loc: Position
}

/** The kind name of the entity key among identifiers. */
export const KEY_KIND = 'key'

export interface Entity {
  name: string
  relation: Relation
  key: string
  attributes: Map<string, Attribute>
  /** SPEC §20: identifiers stitched into profiles */
  identity?: Identity
  label?: string
  /** set when the relation was named through dbt's manifest */
  dbt?: DbtOrigin
  /** the traits its profile table publishes (SPEC §19), in the order given, each where it was named */
  profile?: Array<{trait: string; loc: Position}>
  loc: Position
}

/** A time from YAML: an absolute instant, or an offset in seconds from the run's as_of (negative = past). */
export type TimeValue = {kind: 'absolute'; iso: string; dateOnly: boolean} | {kind: 'relative'; seconds: number}

export type Scalar = {type: 'string'; value: string} | {type: 'number'; value: number} | {type: 'boolean'; value: boolean} | {type: 'time'; value: TimeValue}

export type ComparisonOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'not_in' | 'between' | 'is_null' | 'contains' | 'starts_with' | 'ends_with'

export type Comparison =
  | {op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; value: Scalar}
  | {op: 'in' | 'not_in'; values: Scalar[]}
  | {op: 'between'; low: Scalar; high: Scalar}
  | {op: 'is_null'; value: boolean}
  | {op: 'contains' | 'starts_with' | 'ends_with'; value: string}

/** A filter on an event's properties (an event's own `where`, or a condition's). */
export interface PropertyFilter {
  property: string
  /** the column in the event's relation, or the timestamp column for `timestamp` */
  column: string
  type: ValueType
  comparisons: Comparison[]
}

/**
 * Which events count: as_of − from < ts ≤ as_of − to, in seconds before as_of.
 * `from` null means no lower bound; no window at all is {from: null, to: 0}.
 */
export interface Window {
  from: number | null
  to: number
}

export interface EventDef {
  name: string
  entity: string
  relation: Relation
  /** the column holding the entity key; for an event with `ids`, the column the identity map adds (see src/identity) */
  key: string
  /** SPEC §20: identifier columns in priority order (`key` first, then the entity's identity.ids order) instead of `key` */
  ids?: Array<{kind: string; column: string}>
  timestamp: string
  /** the column holding when each row landed (SPEC §13), for incremental runs */
  loadedAt?: string
  where: PropertyFilter[]
  properties: Map<string, Attribute>
  label?: string
  /** set when the relation was named through dbt's manifest */
  dbt?: DbtOrigin
  loc: Position
}

export type AggregateKind = 'count' | 'count_distinct' | 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last' | 'most_frequent' | 'active_periods'

/** An aggregate over one event: the shared shape of event traits and inline event conditions. */
export interface AggregateSpec {
  event: string
  where: PropertyFilter[]
  window: Window
  aggregate: AggregateKind
  /** a property name, or the event's timestamp (`{column: timestamp column, type: timestamp}`) */
  of?: {name: string; column: string; type: ValueType}
  periodSeconds?: number
  minCount?: number
}

export type Expr =
  | {kind: 'number'; value: number}
  | {kind: 'ref'; name: string; target: 'trait' | 'attribute'; type: ValueType}
  | {kind: 'neg'; operand: Expr}
  | {kind: 'binary'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr}
  | {kind: 'call'; fn: ExprFunction; args: Expr[]}

export type ExprFunction = 'coalesce' | 'nullif' | 'least' | 'greatest' | 'abs' | 'round' | 'floor' | 'ceil' | 'days_since' | 'hours_since'

export type FittedModel = 'bgnbd' | 'gamma_gamma' | 'kmeans' | 'propensity'
export type Prediction = 'p_alive' | 'expected_purchases' | 'expected_spend' | 'clv' | 'probability' | 'percentile'

/**
 * The transactions a bgnbd or gamma_gamma model is fitted from (SPEC §12): the UTC days with
 * at least one matching event; a day's value is the sum of `of` over its events.
 */
export interface TransactionSpec {
  event: string
  where: PropertyFilter[]
  timeUnitSeconds: number
  of?: {name: string; column: string; type: ValueType}
}

export type TraitDef =
  | {kind: 'aggregate'; spec: AggregateSpec}
  | {kind: 'fit'; model: 'bgnbd' | 'gamma_gamma'; transactions: TransactionSpec}
  | {kind: 'fit'; model: 'kmeans'; k: number; features: Array<{name: string; target: 'trait' | 'attribute'}>; standardize: boolean}
  | {kind: 'fit'; model: 'propensity'; propensity: PropensitySpec}
  | {kind: 'predict'; predict: Prediction; bgnbd?: string; gammaGamma?: string; propensity?: string; horizonSeconds?: number; discountRate?: number}
  | {kind: 'expr'; source: string; expr: Expr}
  | {kind: 'ntile'; buckets: number; of: {name: string; target: 'trait' | 'attribute'}; order: 'asc' | 'desc'}

/**
 * A logistic regression of a goal on features (SPEC §17). The goal is an event in
 * (c, c + horizon] or entering a segment; `population` (a segment) is who is trained and scored.
 */
export interface PropensitySpec {
  goal: {kind: 'event'; event: string; where: PropertyFilter[]} | {kind: 'segment'; segment: string}
  horizonSeconds: number
  population?: string
  features: Array<{name: string; target: 'trait' | 'attribute'; type: 'number' | 'boolean' | 'string'}>
  l2: number
  levels: number
}

/** What a trait's definition reads directly: other traits, attributes of its entity, events. */
export interface TraitReads {
  traits: string[]
  attributes: string[]
  events: string[]
}

/**
 * The one walk over a trait's definition that the definition hash, the dialect check and the
 * models a run needs all follow (each then recurses into `traits` as it needs).
 */
export function traitReads(def: TraitDef): TraitReads {
  const out: TraitReads = {traits: [], attributes: [], events: []}
  const ref = (r: {name: string; target: 'trait' | 'attribute'}) => (r.target === 'trait' ? out.traits : out.attributes).push(r.name)
  const expr = (e: Expr): void => {
    if (e.kind === 'ref') ref(e)
    else if (e.kind === 'neg') expr(e.operand)
    else if (e.kind === 'binary') [e.left, e.right].forEach(expr)
    else if (e.kind === 'call') e.args.forEach(expr)
  }
  if (def.kind === 'aggregate') out.events.push(def.spec.event)
  else if (def.kind === 'expr') expr(def.expr)
  else if (def.kind === 'ntile') ref(def.of)
  else if (def.kind === 'predict') out.traits.push(...[def.bgnbd, def.gammaGamma, def.propensity].filter((m): m is string => m !== undefined))
  else if (def.model === 'kmeans') def.features.forEach(ref)
  else if (def.model === 'propensity') {
    def.propensity.features.forEach(ref)
    if (def.propensity.goal.kind === 'event') out.events.push(def.propensity.goal.event)
  }
  else out.events.push(def.transactions.event)
  return out
}

/** A bgnbd, gamma_gamma or propensity trait is a fitted model, not a value: predict: traits read it. */
export const isModelTrait = (t: Trait): boolean => t.def.kind === 'fit' && t.def.model !== 'kmeans'

export interface Trait {
  name: string
  entity: string
  type: ValueType
  def: TraitDef
  label?: string
  /** the trait's description: its profile column's comment */
  description?: string
  /** set when the relation was named through dbt's manifest */
  dbt?: DbtOrigin
  loc: Position
}

export type Condition =
  | {kind: 'attribute'; attribute: string; type: ValueType; comparisons: Comparison[]; loc: Position}
  | {kind: 'trait'; trait: string; type: ValueType; comparisons: Comparison[]; loc: Position}
  | {kind: 'event'; spec: AggregateSpec; type: ValueType; comparisons: Comparison[]; loc: Position}
  | {kind: 'sequence'; steps: Array<{event: string; where: PropertyFilter[]}>; window: Window; maxGapSeconds?: number; loc: Position}
  | {kind: 'segment'; segment: string; loc: Position}
  | {kind: 'all' | 'any'; items: Condition[]; loc: Position}
  | {kind: 'not'; item: Condition; loc: Position}

export interface SegmentMeta {
  description?: string
  owner?: string
  tags: string[]
  purpose?: string
  action?: string
  kpi?: string
  reviewBy?: string
}

export interface Segment extends SegmentMeta {
  name: string
  entity: string
  rule: Condition
  exclude?: Condition
  consent: string[]
  holdout?: {percent: number; salt: string}
  refresh: 'dynamic' | 'static'
  expect?: {minSize?: number; maxSize?: number; maxShare?: number; maxChange?: number; loc: Position}
  measure?: {event: string; where: PropertyFilter[]; withinSeconds: number}
  /** the group this segment belongs to and its position there (0 = highest priority) */
  group?: {name: string; position: number}
  loc: Position
}

export interface Group extends SegmentMeta {
  name: string
  entity: string
  segments: string[]
  loc: Position
}

export interface Project {
  name: string
  outputSchema: string
  entities: Map<string, Entity>
  events: Map<string, EventDef>
  traits: Map<string, Trait>
  segments: Map<string, Segment>
  groups: Map<string, Group>
}

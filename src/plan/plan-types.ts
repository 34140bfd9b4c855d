// The logical plan: plain, serialisable data. It names no warehouse and holds no SQL;
// generate/ turns it into SQL for one dialect. Tests print it as JSON.
import type {AggregateKind, Relation, ValueType} from '../resolve/model.js'

export type LiteralType = 'string' | 'number' | 'boolean' | 'timestamp' | 'date'

/** Scalar and boolean expressions over the columns of one row. */
export type PlanExpr =
  | {k: 'col'; name: string}
  | {k: 'lit'; type: LiteralType; value: string | number | boolean}
  | {k: 'null'}
  | {k: 'arith'; op: '+' | '-' | '*' | '/'; left: PlanExpr; right: PlanExpr}
  | {k: 'neg'; operand: PlanExpr}
  | {k: 'fn'; fn: 'coalesce' | 'nullif' | 'least' | 'greatest' | 'abs' | 'round' | 'floor' | 'ceil' | 'exp'; args: PlanExpr[]}
  /** whole units elapsed from `value` to as_of: floor(seconds / unit) */
  | {k: 'elapsed'; value: PlanExpr; unitSeconds: number}
  | {k: 'cmp'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: PlanExpr; right: PlanExpr}
  | {k: 'in'; value: PlanExpr; list: PlanExpr[]; negated: boolean}
  | {k: 'match'; mode: 'contains' | 'starts_with' | 'ends_with'; value: PlanExpr; pattern: string}
  | {k: 'is_null'; value: PlanExpr; negated: boolean}
  | {k: 'and' | 'or'; items: PlanExpr[]}
  | {k: 'not'; operand: PlanExpr}
  /** TRUE or FALSE, never NULL: SPEC's two-valued logic */
  | {k: 'truth'; operand: PlanExpr}
  | {k: 'ntile'; buckets: number; value: PlanExpr; order: 'asc' | 'desc'; key: PlanExpr}
  /** the holdout bucket 0..9999 of md5(segment:salt:key) */
  | {k: 'holdout_bucket'; segment: string; salt: string; key: PlanExpr}
  /** `then` where `when` is TRUE, NULL otherwise */
  | {k: 'when'; when: PlanExpr; then: PlanExpr}
  /** cast to the warehouse's string type (entity keys are stored as strings) */
  | {k: 'to_string'; value: PlanExpr}
  /** cast to the warehouse's float type (a model's arithmetic: no exact decimals per row) */
  | {k: 'to_float'; value: PlanExpr}
  /** 1-based index of the nearest centroid (squared Euclidean; ties: the lower index); NULL if a coordinate is */
  | {k: 'nearest'; point: PlanExpr[]; centroids: number[][]}

/** One conditional aggregate of a source scan: `value` over the rows where `when` holds. */
export interface AggregatePlan {
  id: string
  kind: AggregateKind
  value?: PlanExpr
  /** type of `value` */
  valueType?: ValueType
  /** event timestamp column, for first/last and active_periods */
  timestamp: PlanExpr
  when: PlanExpr
  /** `when` without the window: the event's and the aggregate's where (incremental state is kept per filter) */
  filter: PlanExpr
  /** the window in seconds before as_of: from (null: unbounded) and to */
  window: {from: number | null; to: number}
  periodSeconds?: number
  minCount?: number
  /**
   * active_periods in a window: no counted event's period index exceeds this (the window's
   * length over the period), so a warehouse may count the periods in a small bit set
   */
  maxPeriodIndex?: number
  /** value over no matching events: 0 for counts and sums, NULL otherwise */
  emptyValue: 0 | null
}

/** One scan of one event relation: every aggregate on it, in one GROUP BY key. */
export interface SourcePlan {
  id: string
  relation: Relation
  key: string
  /** rows that can matter to any aggregate (events after as_of never do; windows prune older ones) */
  filter: PlanExpr
  aggregates: AggregatePlan[]
  /** the one timestamp column every event on the source reads; null when they read several */
  timestamp: string | null
  /** the one loaded_at column every event on the source declares; null otherwise */
  loadedAt: string | null
  /** set for an incremental run (SPEC §13): how the scan combines kept state with the rows it reads */
  incremental?: IncrementalScan
}

/**
 * A partial aggregate kept in `segment_state_*`. With `window`, a value per key: the running
 * value of count/sum/avg over that window, or the cumulative value of an aggregate with no
 * lower bound, each covering the window's events before `frozen`. Without, partials per key
 * and UTC day, window-free (one slot serves every window of the same event, filter and value),
 * for what cannot be subtracted.
 */
export interface StateSlot {
  /**
   * `times`: the distinct times of a sequence step's events, one row each (sequences need events, not aggregates).
   * `txn` (a fitted model's transactions, SPEC §12): per key the summary of its transaction days
   * before `frozen` — first and last day, number of days, the exact sum of every day's value and
   * of every day's but the first; cumulative, as days freeze and are only ever added.
   */
  kind: 'count' | 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last' | 'distinct' | 'frequent' | 'times' | 'mask' | 'txn'
  filter: PlanExpr
  value?: PlanExpr
  valueType?: ValueType
  /** a value per key over this window (seconds before as_of), not per day */
  window?: {from: number | null; to: number}
  /**
   * `mask` (active_periods): per key one integer holding, for each of the last `days` UTC days
   * before `frozen`, its count of matching events capped at `min` (min_count), in `bits` bits;
   * day d sits in field d mod days (a ring, so a day never moves and a key no event touched
   * keeps its row as it is)
   */
  ring?: {days: number; bits: number; min: number}
}

/** A bound of a time range: `at` (ISO), the bound itself in the range or not. */
export interface Bound {
  at: string
  incl: boolean
}

/** A plain range of an event timestamp: after `after` and before `before` (either may be open). */
export interface Span {
  after?: Bound
  before?: Bound
}

/**
 * How a state write moves every per-key value from the previous run's as_of to this one's:
 * per slot the spans whose events it adds and subtracts, and, with loaded_at, the span whose
 * rows landed since the last run it adds; `slices` are the disjoint ranges read, each its own
 * select, covering every add and subtract span.
 */
export interface KeyedDelta {
  /** the day start state holds the days before, after this run (ISO) */
  frozen: string
  slices: Span[]
  slots: Array<{slot: number; add: Span[]; subtract: Span[]; landed?: Span}>
  /** the span covering every `landed` one, read by load time */
  landed?: Span
}

/**
 * An incremental scan: the days before `frozen` come from the state table, everything else
 * from the source. Per aggregate, the days strictly between its window's edge days come from
 * state, and the edge days are read from the source with the window's exact bounds.
 */
export interface IncrementalScan {
  table: string[]
  slots: StateSlot[]
  /** a UTC day start: state holds the days before it, the source is read from it on */
  frozen: string
  /** with loaded_at: state holds only rows landed at or before this; later ones are read from the source */
  loadedUntil?: string
  /** the source's rows read: ts ≥ readFrom (null: every row; aggregates kept in no state need them), edge days, late loads */
  readFrom: string | null
  edges: string[]
  aggregates: Array<{
    id: string
    /** the state slot; undefined: read from the source over its whole window */
    slot?: number
    /** the slot holds a value per key (no edge days: state and the rows from `frozen` on) */
    keyed?: boolean
    /** state days strictly after / before these days (UTC day starts, YYYY-MM-DD) */
    after?: string
    before?: string
    /** its edge days before `frozen` (UTC day starts, ISO instants) */
    edges: string[]
    /** active_periods: the days a period boundary falls in (YYYY-MM-DD), read from the source, not state */
    skip?: string[]
  }>
}

/** A sequence step's events in an incremental run: kept times before `frozen`, the source's rows from it on. */
export interface IncrementalStep {
  table: string[]
  slot: number
  frozen: string
  loadedUntil?: string
}

/**
 * An ordered sequence of events: step k's events that follow a reachable step k−1 event
 * (strictly later, within max_gap). Sequences need events, not aggregates, so each step
 * reads its event relation once per distinct sequence.
 */
export interface SequencePlan {
  id: string
  steps: Array<{
    relation: Relation
    key: string
    timestamp: string
    /** where and window */
    filter: PlanExpr
    /** the where alone, and the window in seconds before as_of (incremental state keeps step times per where) */
    where: PlanExpr
    window: {from: number | null; to: number}
    loadedAt: string | null
    incremental?: IncrementalStep
  }>
  maxGapSeconds?: number
}

export interface DerivedColumn {
  name: string
  expr: PlanExpr
}

export interface SegmentOutput {
  segment: string
  /** boolean column: the group-resolved membership */
  member: string
  holdout?: {percent: number; salt: string}
}

/**
 * A fitted bgnbd or gamma_gamma model read by the plan's predictions: the per-entity summary
 * (x, t_x, T, m_x) of its transactions — the UTC days with a matching event — and, for
 * bgnbd, P(alive) and E[X(t)] at each of `horizons` (in time units). Its columns reach the
 * base row as `fit__<model>__<column>`.
 */
export interface ModelPlan {
  model: string
  kind: 'bgnbd' | 'gamma_gamma'
  params: Record<string, number | null>
  relation: Relation
  key: string
  timestamp: string
  filter: PlanExpr
  /** the column summed per day for m_x (gamma_gamma) */
  value?: string
  timeUnitSeconds: number
  horizons: number[]
  /** the event's loaded_at column: a relation with one keeps no transaction state (a late row may land on a day already counted) */
  loadedAt: string | null
  /** set for an incremental run (SPEC §13): the kept transaction days before `frozen` (state slot `slot` of `table`) */
  incremental?: {table: string[]; slot: number; frozen: string}
}

export interface EntityPlan {
  entity: string
  relation: Relation
  key: string
  /** attributes read from the entity relation: output column → source column */
  attributes: Array<{name: string; column: string}>
  sources: SourcePlan[]
  /** base columns `seq__<id>`: non-NULL for entities that performed the sequence */
  sequences: SequencePlan[]
  /** fitted models the predictions read; absent when there are none */
  models?: ModelPlan[]
  /** computed columns in dependency layers: a layer reads only columns of earlier layers */
  layers: DerivedColumn[][]
  segments: SegmentOutput[]
  /** frozen static segments: base columns `stored__<segment>` (non-NULL for stored members) read from this table */
  stored?: {table: string[]; segments: string[]}
  /** erased keys: base column `segc_erased` (non-NULL for a key whose hash this table holds) */
  erased?: {table: string[]}
  /** one entity only (segc why): a condition on the entity relation's columns */
  only?: PlanExpr
  /** the profile's traits (SPEC §19), each a value over the last layer; set when the plan writes profiles */
  profile?: Array<{trait: string; value: PlanExpr}>
  /**
   * set when the run evaluates only the entity's touched keys (SPEC §13): the scratch table
   * holding them (`ek` typed as the entity key, `k` as a string); every scan, the base row and
   * the diff read only those keys
   */
  touched?: string
}

/**
 * The outcome of a segment's `measure:`: rows of the event relation passing `filter` (the
 * event's own where and the measure's), counted for a member when one falls in
 * (entered_at, entered_at + withinSeconds] and not after as_of.
 */
export interface MeasurePlan {
  segment: string
  relation: Relation
  key: string
  timestamp: string
  filter: PlanExpr
  withinSeconds: number
}

export interface Plan {
  asOf: string
  entities: EntityPlan[]
  /** every segment of the project with a holdout and measure:, whatever the selection */
  measures?: MeasurePlan[]
}

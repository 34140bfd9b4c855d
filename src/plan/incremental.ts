// Incremental runs (SPEC §13): which aggregates of a source can be kept as day-bucket state,
// and, for one run, which days come from state and which rows from the source. Plain data, as
// the rest of the plan; docs/architecture.md has the design and why each aggregate is exact.
import {createHash} from 'node:crypto'
import type {AggregatePlan, IncrementalScan, SourcePlan, StateSlot} from './plan-types.js'

const DAY = 86_400_000

/** The UTC day start at or before an instant. */
export const dayStart = (ms: number): number => Math.floor(ms / DAY) * DAY
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const iso = (ms: number) => new Date(ms).toISOString()

/** The slot kind an aggregate is kept in; undefined: kept in no state, read from the source over its window. */
function slotKind(a: AggregatePlan): StateSlot['kind'] | undefined {
  switch (a.kind) {
    case 'count':
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
    case 'first':
    case 'last':
      return a.kind
    case 'count_distinct':
      return 'distinct'
    case 'most_frequent':
      return 'frequent'
    // period indexes count back from as_of in seconds: day buckets do not align with them
    case 'active_periods':
      return undefined
  }
}

/** The state a source keeps: its slots, each aggregate's slot, and the hash naming the shape. */
export interface StateShape {
  /** identifies the source: relation, key, timestamp and loaded_at columns */
  sourceId: string
  /** what the source is, for people reading segment_state_sources */
  describe: string
  slots: StateSlot[]
  slotOf: Map<string, number>
  /** hash of the slots: a different shape is a different table */
  signature: string
  table: string
}

const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex')

/**
 * The state of a source: slots for every aggregate the whole project reads on it (`whole`, so
 * a run of some segments keeps the state every run shares), and the slot of each of `source`'s
 * aggregates. undefined when the source keeps no state: its events read more than one
 * timestamp column, or none of its aggregates can be kept in day buckets.
 */
export function stateShape(source: SourcePlan, whole: SourcePlan = source): StateShape | undefined {
  if (source.timestamp === null || whole.timestamp !== source.timestamp || whole.loadedAt !== source.loadedAt) return undefined
  const slots: StateSlot[] = []
  const byIdentity = new Map<string, number>()
  const slotFor = (a: AggregatePlan): StateSlot | undefined => {
    const kind = slotKind(a)
    return kind && {kind, filter: a.filter, ...(a.value ? {value: a.value, valueType: a.valueType ?? 'string'} : {})}
  }
  for (const a of [...whole.aggregates, ...source.aggregates]) {
    const slot = slotFor(a)
    if (!slot || byIdentity.has(JSON.stringify(slot))) continue
    byIdentity.set(JSON.stringify(slot), slots.length)
    slots.push(slot)
  }
  // nothing to keep (every aggregate is an active_periods): the source is read as in a full run
  if (!slots.length) return undefined
  const slotOf = new Map<string, number>()
  for (const a of source.aggregates) {
    const slot = slotFor(a)
    if (slot) slotOf.set(a.id, byIdentity.get(JSON.stringify(slot))!)
  }
  const identity = {relation: source.relation, key: source.key, timestamp: source.timestamp, loadedAt: source.loadedAt}
  const sourceId = hash(identity).slice(0, 12)
  const signature = hash(slots)
  const rel = source.relation.kind === 'table' ? source.relation.path.join('.') : `(${source.relation.sql.replace(/\s+/g, ' ').slice(0, 80)})`
  return {sourceId, describe: `${rel} by ${source.key} at ${source.timestamp}`, slots, slotOf, signature, table: `segment_state_${sourceId}_${signature.slice(0, 8)}`}
}

/**
 * The earliest day the state must hold for these aggregates at `asOf`: the day after the
 * widest window's lower edge day; null when some kept aggregate has no lower bound.
 */
export function horizon(source: SourcePlan, shape: StateShape, asOf: Date): number | null {
  let h: number | null = Infinity
  for (const a of source.aggregates) {
    if (!shape.slotOf.has(a.id)) continue
    if (a.window.from === null) return null
    h = Math.min(h, dayStart(asOf.getTime() - a.window.from * 1000) + DAY)
  }
  // no kept aggregate: nothing needs state
  return h === Infinity ? dayStart(asOf.getTime()) : h
}

/** The day before which state holds everything at `asOf` (events land at most lateSeconds after their timestamp). */
export const frozenAt = (asOf: Date, lateSeconds: number): number => dayStart(asOf.getTime() - lateSeconds * 1000)

/**
 * The scan of one source in an incremental run: state days before `frozen` (held in `table`),
 * the source's rows from `frozen` on, the edge days of each window, and the whole window of
 * aggregates kept in no state.
 */
export function incrementalScan(source: SourcePlan, shape: StateShape, schema: string, asOf: Date, frozen: number, loadedUntil?: string): IncrementalScan {
  const at = asOf.getTime()
  const allEdges = new Set<number>()
  let readFrom: number | null = frozen
  const aggregates = source.aggregates.map((a) => {
    const slot = shape.slotOf.get(a.id)
    if (slot === undefined) {
      readFrom = a.window.from === null || readFrom === null ? null : Math.min(readFrom, at - a.window.from * 1000)
      return {id: a.id, edges: []}
    }
    const lower = a.window.from === null ? undefined : dayStart(at - a.window.from * 1000)
    const upper = a.window.to > 0 ? dayStart(at - a.window.to * 1000) : undefined
    const edges = [lower, upper].filter((d): d is number => d !== undefined && d < frozen)
    edges.forEach((d) => allEdges.add(d))
    return {
      id: a.id,
      slot,
      ...(lower !== undefined ? {after: isoDay(lower)} : {}),
      ...(upper !== undefined ? {before: isoDay(upper)} : {}),
      edges: [...new Set(edges)].map(iso),
    }
  })
  return {
    table: [schema, shape.table],
    slots: shape.slots,
    frozen: iso(frozen),
    ...(loadedUntil !== undefined ? {loadedUntil} : {}),
    readFrom: readFrom === null ? null : iso(readFrom),
    edges: [...allEdges].filter((d) => readFrom === null || d < readFrom).sort((x, y) => x - y).map(iso),
    aggregates,
  }
}

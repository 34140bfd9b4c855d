// Incremental runs (SPEC §13): which aggregates of a source are kept as a value per key and
// which as day buckets, for one run which days come from state and which rows from the source,
// and which slices of the source move the per-key values. Plain data, as the rest of the plan;
// docs/architecture.md has the design and why each aggregate is exact.
import {createHash} from 'node:crypto'
import type {Relation} from '../resolve/model.js'
import type {AggregatePlan, EntityPlan, IncrementalScan, KeyedDelta, ModelPlan, SourcePlan, Span, StateSlot} from './plan-types.js'

const DAY = 86_400_000

/** The UTC day start at or before an instant. */
export const dayStart = (ms: number): number => Math.floor(ms / DAY) * DAY
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const iso = (ms: number) => new Date(ms).toISOString()

/** Bits of the integer an active_periods mask lives in (a BIGINT, its sign bit left alone). */
const MASK_BITS = 62

/**
 * The ring an active_periods aggregate is kept in: a field per UTC day its window can keep
 * (ceil(window / 1d)), each wide enough for a count capped at min_count. Undefined where the
 * fields do not fit one integer or periods are shorter than a day (every day then holds a
 * period boundary and is read from the source anyway): its window is read from the source.
 */
export function maskRing(a: AggregatePlan): StateSlot['ring'] {
  if (a.kind !== 'active_periods' || a.window.from === null || a.periodSeconds! < 86_400) return undefined
  const min = a.minCount ?? 1
  const days = Math.ceil(a.window.from / 86_400)
  const bits = Math.floor(Math.log2(min)) + 1
  return days * bits <= MASK_BITS ? {days, bits, min} : undefined
}

/**
 * Whether an aggregate is kept as one value per key: count, sum and avg over any window (their
 * parts add and subtract), and min/max/first/last with no lower bound (nothing ever leaves
 * their window, so nothing is subtracted and the value only combines). A most_frequent with no
 * lower bound keeps a count per key and value, cumulative in the same way.
 */
export const keyed = (a: AggregatePlan): boolean =>
  a.kind === 'count' ||
  a.kind === 'sum' ||
  a.kind === 'avg' ||
  (a.window.from === null && (a.kind === 'min' || a.kind === 'max' || a.kind === 'first' || a.kind === 'last' || a.kind === 'most_frequent'))

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
    // a mask of the days with events per key; the days a period boundary falls in are read from the source (edges)
    case 'active_periods':
      return maskRing(a) ? 'mask' : undefined
  }
}

/** What a state table is kept for: a relation read by one key and timestamp (and loaded_at). */
interface Identity {
  relation: Relation
  key: string
  timestamp: string
  loadedAt: string | null
}

/**
 * The state of one event relation: its slots (for every aggregate and sequence step the whole
 * project reads on it, so a run of some segments keeps the state every run shares), the slot
 * of each of this run's aggregates and sequence steps, and the table it lives in.
 */
export interface StateShape {
  /** identifies the relation: relation, key, timestamp and loaded_at columns */
  sourceId: string
  /** what the relation is, for people reading segment_state_sources */
  describe: string
  identity: Identity
  slots: StateSlot[]
  /** the run's aggregate scan over it, when it has one (a relation only sequences read has none) */
  source?: SourcePlan
  slotOf: Map<string, number>
  /** the slot of each sequence step of the run that reads it */
  steps: Array<{sequence: string; step: number; slot: number}>
  /** the slot of each fitted model of the run whose transactions it holds */
  models: Array<{model: string; slot: number}>
  /** hash of the slots: a different shape is a different table */
  signature: string
  table: string
  /** the earliest day state must hold at a given as_of (null: every day) */
  horizon: (asOf: Date) => number | null
}

const hash = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex')
const identityKey = (i: Identity) => JSON.stringify([i.relation, i.key, i.timestamp, i.loadedAt])

function slotFor(a: AggregatePlan): StateSlot | undefined {
  const kind = slotKind(a)
  if (!kind) return undefined
  const ring = maskRing(a)
  // the ring's days, not the window, shape it: windows of as many days share one
  if (ring) return {kind, filter: a.filter, window: {from: ring.days * 86_400, to: 0}, ring}
  const window = keyed(a) ? {window: a.window} : {}
  return kind === 'count' && !a.value ? {kind, filter: a.filter, ...window} : {kind, filter: a.filter, value: a.value!, valueType: a.valueType ?? 'string', ...window}
}

/**
 * A fitted model's transaction days, kept as a summary per key (no lower bound: days freeze and
 * are only added). With loaded_at a late row may land on a day the summary already counts, and
 * a count of distinct days cannot tell: such a model keeps no state and is read whole.
 */
function modelSlot(m: ModelPlan): {identity: Identity; slot: StateSlot} | undefined {
  if (m.loadedAt !== null) return undefined
  return {
    identity: {relation: m.relation, key: m.key, timestamp: m.timestamp, loadedAt: null},
    slot: {kind: 'txn', filter: m.filter, ...(m.value ? {value: {k: 'col', name: m.value}, valueType: 'number'} : {}), window: {from: null, to: 0}},
  }
}

const sourceIdentity = (s: SourcePlan): Identity | undefined => (s.timestamp === null ? undefined : {relation: s.relation, key: s.key, timestamp: s.timestamp, loadedAt: s.loadedAt})

/**
 * The state tables of an entity's plan (`e`), shaped by the plan of every segment (`whole`).
 * A source whose events read several timestamp columns keeps no state (its scan stays full).
 */
export function stateShapes(e: EntityPlan, whole: EntityPlan = e): StateShape[] {
  type Building = {identity: Identity; slots: StateSlot[]; index: Map<string, number>; bounds: Array<(asOf: number) => number | null>}
  const byIdentity = new Map<string, Building>()
  const building = (identity: Identity): Building => {
    const k = identityKey(identity)
    let b = byIdentity.get(k)
    if (!b) byIdentity.set(k, (b = {identity, slots: [], index: new Map(), bounds: []}))
    return b
  }
  const add = (b: Building, slot: StateSlot): void => {
    const k = JSON.stringify(slot)
    if (b.index.has(k)) return
    b.index.set(k, b.slots.length)
    b.slots.push(slot)
  }
  // the whole project's slots first, so a run of some segments writes the tables every run shares
  for (const plan of whole === e ? [e] : [whole, e]) {
    for (const s of plan.sources) {
      const id = sourceIdentity(s)
      if (!id) continue
      const b = building(id)
      for (const a of s.aggregates) {
        const slot = slotFor(a)
        if (!slot) continue
        add(b, slot)
        // a value per key needs no days
        if (slot.window) continue
        // edge days are read from the source: state starts the day after the window's lower edge day
        const from = a.window.from
        b.bounds.push((asOf) => (from === null ? null : dayStart(asOf - from * 1000) + DAY))
      }
    }
    for (const q of plan.sequences) {
      for (const st of q.steps) {
        const b = building({relation: st.relation, key: st.key, timestamp: st.timestamp, loadedAt: st.loadedAt})
        add(b, {kind: 'times', filter: st.where})
        // times are exact: state holds the lower edge day too
        const from = st.window.from
        b.bounds.push((asOf) => (from === null ? null : dayStart(asOf - from * 1000)))
      }
    }
    for (const m of plan.models ?? []) {
      const kept = modelSlot(m)
      if (kept) add(building(kept.identity), kept.slot)
    }
  }
  const shapes: StateShape[] = []
  for (const b of byIdentity.values()) {
    if (!b.slots.length) continue
    const key = identityKey(b.identity)
    const source = e.sources.find((s) => {
      const id = sourceIdentity(s)
      return id !== undefined && identityKey(id) === key
    })
    const slotOf = new Map<string, number>()
    for (const a of source?.aggregates ?? []) {
      const slot = slotFor(a)
      if (slot) slotOf.set(a.id, b.index.get(JSON.stringify(slot))!)
    }
    const steps = e.sequences.flatMap((q) =>
      q.steps.flatMap((st, i) =>
        identityKey({relation: st.relation, key: st.key, timestamp: st.timestamp, loadedAt: st.loadedAt}) === key ? [{sequence: q.id, step: i, slot: b.index.get(JSON.stringify({kind: 'times', filter: st.where}))!}] : [],
      ),
    )
    const models = (e.models ?? []).flatMap((m) => {
      const kept = modelSlot(m)
      return kept && identityKey(kept.identity) === key ? [{model: m.model, slot: b.index.get(JSON.stringify(kept.slot))!}] : []
    })
    if (!slotOf.size && !steps.length && !models.length) continue
    const sourceId = hash(b.identity).slice(0, 12)
    const signature = hash(b.slots)
    const rel = b.identity.relation.kind === 'table' ? b.identity.relation.path.join('.') : `(${b.identity.relation.sql.replace(/\s+/g, ' ').slice(0, 80)})`
    const bounds = b.bounds
    shapes.push({
      sourceId,
      describe: `${rel} by ${b.identity.key} at ${b.identity.timestamp}`,
      identity: b.identity,
      slots: b.slots,
      ...(source && slotOf.size ? {source} : {}),
      slotOf,
      steps,
      models,
      signature,
      table: `segment_state_${sourceId}_${signature.slice(0, 8)}`,
      horizon: (asOf) => {
        let h = Infinity
        for (const f of bounds) {
          const x = f(asOf.getTime())
          if (x === null) return null
          h = Math.min(h, x)
        }
        return h === Infinity ? dayStart(asOf.getTime()) : h
      },
    })
  }
  return shapes
}

/** The day before which state holds everything at `asOf` (events land at most lateSeconds after their timestamp). */
export const frozenAt = (asOf: Date, lateSeconds: number): number => dayStart(asOf.getTime() - lateSeconds * 1000)

/**
 * The scan of one source in an incremental run: state days before `frozen` (held in `table`),
 * the source's rows from `frozen` on, the edge days of each window, and the whole window of
 * aggregates kept in no state.
 */
export function incrementalScan(source: SourcePlan, shape: StateShape, schema: string, asOf: Date, frozen: number, loadedUntil?: string): IncrementalScan {
  if (shape.source !== source) throw new Error('internal: a state shape used for another source')
  const at = asOf.getTime()
  const allEdges = new Set<number>()
  let readFrom: number | null = frozen
  const aggregates = source.aggregates.map((a) => {
    const slot = shape.slotOf.get(a.id)
    if (slot === undefined) {
      readFrom = a.window.from === null || readFrom === null ? null : Math.min(readFrom, at - a.window.from * 1000)
      return {id: a.id, edges: []}
    }
    // a value per key holds the window's rows before `frozen`, exactly: no edge day
    if (shape.slots[slot]!.window && shape.slots[slot]!.kind !== 'mask') return {id: a.id, slot, keyed: true, edges: []}
    const lower = a.window.from === null ? undefined : dayStart(at - a.window.from * 1000)
    const upper = a.window.to > 0 ? dayStart(at - a.window.to * 1000) : undefined
    // active_periods: a day a period boundary (as_of − k·period) falls in holds two periods' events
    const boundaries: number[] = []
    if (a.kind === 'active_periods') {
      const p = a.periodSeconds! * 1000
      for (let k = 1; at - k * p > at - a.window.from! * 1000; k++) boundaries.push(dayStart(at - k * p))
    }
    const inside = boundaries.filter((d) => d < frozen && (lower === undefined || d > lower) && (upper === undefined || d < upper))
    const edges = [lower, upper, ...inside].filter((d): d is number => d !== undefined && d < frozen)
    edges.forEach((d) => allEdges.add(d))
    return {
      id: a.id,
      slot,
      ...(lower !== undefined ? {after: isoDay(lower)} : {}),
      ...(upper !== undefined ? {before: isoDay(upper)} : {}),
      edges: [...new Set(edges)].map(iso),
      ...(inside.length ? {skip: [...new Set(inside)].map(isoDay)} : {}),
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

/** Bounds in milliseconds: ts > t (≥ when incl) below, ts < t (≤ when incl) above. */
interface B {
  t: number
  incl: boolean
}
interface R {
  lo?: B
  hi?: B
}

const higherLo = (a: B | undefined, b: B | undefined): B | undefined => (!a ? b : !b ? a : a.t !== b.t ? (a.t > b.t ? a : b) : {t: a.t, incl: a.incl && b.incl})
const lowerHi = (a: B | undefined, b: B | undefined): B | undefined => (!a ? b : !b ? a : a.t !== b.t ? (a.t < b.t ? a : b) : {t: a.t, incl: a.incl && b.incl})
/** the rows not below an upper bound: its complement, as a lower bound (and the reverse) */
const above = (hi: B): B => ({t: hi.t, incl: !hi.incl})
const below = (lo: B): B => ({t: lo.t, incl: !lo.incl})
const empty = (r: R): boolean => r.lo !== undefined && r.hi !== undefined && (r.lo.t > r.hi.t || (r.lo.t === r.hi.t && !(r.lo.incl && r.hi.incl)))
const span = (r: R): Span => ({...(r.lo ? {after: {at: iso(r.lo.t), incl: r.lo.incl}} : {}), ...(r.hi ? {before: {at: iso(r.hi.t), incl: r.hi.incl}} : {})})

/**
 * The events a per-key value holds at a run: its window's, before `frozen` (the band after it
 * is read from the source at every run). The upper bound is the window's or frozen's,
 * whichever is lower.
 */
function covered(w: NonNullable<StateSlot['window']>, asOf: number, frozen: number): R {
  const hi = lowerHi({t: asOf - w.to * 1000, incl: true}, {t: frozen, incl: false})
  return {...(w.from !== null ? {lo: {t: asOf - w.from * 1000, incl: false}} : {}), hi}
}

/** Merges spans that overlap or touch into disjoint ones (a row in a gap between them is read by none). */
function merged(rs: R[]): R[] {
  const lo = (r: R) => r.lo?.t ?? -Infinity
  // at equal starts an inclusive one first, so the merged span keeps its first instant
  const sorted = rs.filter((r) => !empty(r)).sort((a, b) => lo(a) - lo(b) || Number(b.lo?.incl ?? 0) - Number(a.lo?.incl ?? 0))
  const out: R[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && (last.hi === undefined || lo(r) <= last.hi.t)) {
      last.hi = last.hi === undefined || r.hi === undefined ? undefined : r.hi.t > last.hi.t || (r.hi.t === last.hi.t && r.hi.incl) ? r.hi : last.hi
      if (last.hi === undefined) delete last.hi
    } else out.push({...r})
  }
  return out
}

/**
 * What moves each per-key value of `slots` from the previous run (its as_of and frozen; none:
 * the values are built from nothing) to this run. A value covered C′ = (lo′, hi′] before frozen′
 * and must cover C = (lo, hi] before frozen, both bounds moving only forward: it adds the rows
 * of C above C′ (what the upper bound or the freezing of days took in) and subtracts the rows
 * of C′ below C (the slice the lower bound crossed), two disjoint plain ranges. With loaded_at
 * it also adds the rows of C ∩ C′ that landed since the last run (`landed`).
 */
export function keyedDelta(slots: StateSlot[], now: {asOf: Date; frozen: number}, prev?: {asOf: Date; frozen: number}, loaded = false): KeyedDelta {
  const at = now.asOf.getTime()
  const out: KeyedDelta = {frozen: iso(now.frozen), slices: [], slots: []}
  const reads: R[] = []
  const landed: R[] = []
  slots.forEach((s, slot) => {
    if (!s.window) return
    if (s.ring) {
      // a mask holds the ring's days before frozen: it adds the days that froze since the last
      // run (and with loaded_at the rows landed since on the days it holds); days leaving the
      // ring are overwritten in place, so nothing is subtracted
      const ring: R = {lo: {t: now.frozen - s.ring.days * DAY, incl: true}, hi: {t: now.frozen, incl: false}}
      const add: R = prev ? {lo: higherLo(ring.lo, {t: prev.frozen, incl: true}), hi: ring.hi} : ring
      const entry: KeyedDelta['slots'][number] = {slot, add: empty(add) ? [] : [span(add)], subtract: []}
      if (!empty(add)) reads.push(add)
      const kept: R = {lo: ring.lo, hi: {t: prev?.frozen ?? 0, incl: false}}
      if (prev && loaded && !empty(kept)) {
        entry.landed = span(kept)
        landed.push(kept)
      }
      out.slots.push(entry)
      return
    }
    const c = covered(s.window, at, now.frozen)
    if (!prev) {
      if (!empty(c)) reads.push(c)
      out.slots.push({slot, add: empty(c) ? [] : [span(c)], subtract: []})
      return
    }
    const p = covered(s.window, prev.asOf.getTime(), prev.frozen)
    const add: R = {lo: higherLo(c.lo, above(p.hi!)), hi: c.hi!}
    // with no lower bound nothing leaves the window
    const sub: R | undefined = c.lo ? {...(p.lo ? {lo: p.lo} : {}), hi: lowerHi(p.hi, below(c.lo))!} : undefined
    const both: R = {...(c.lo ? {lo: c.lo} : {}), hi: p.hi!}
    const entry: KeyedDelta['slots'][number] = {slot, add: empty(add) ? [] : [span(add)], subtract: !sub || empty(sub) ? [] : [span(sub)]}
    if (!empty(add)) reads.push(add)
    if (sub && !empty(sub)) reads.push(sub)
    if (loaded && !empty(both)) {
      entry.landed = span(both)
      landed.push(both)
    }
    out.slots.push(entry)
  })
  out.slices = merged(reads).map(span)
  if (landed.length) {
    let lo: B | undefined = landed[0]!.lo
    let hi: B | undefined = landed[0]!.hi
    for (const r of landed) {
      lo = !lo || !r.lo ? undefined : r.lo.t < lo.t ? r.lo : lo
      hi = !hi || !r.hi ? undefined : r.hi.t > hi.t ? r.hi : hi
    }
    out.landed = span({...(lo ? {lo} : {}), ...(hi ? {hi} : {})})
  }
  return out
}

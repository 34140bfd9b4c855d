// Touched keys (SPEC §13): which keys of an entity a run at `now` must evaluate again, given
// the entity's plan at the previous run's as_of. A key's membership can move only where one of
// its inputs moved: its events (new or late rows, a window bound sliding over one), its entity
// row (changed, added, removed), or a condition on an attribute against a time relative to
// as_of (`signup_at gte -30d` crosses keys as as_of moves). Everything else in a plan is the
// same at both as_ofs for every key — or it is global (one key's value depends on others', or
// on as_of itself) and the entity is evaluated whole. Plain data, as the rest of the plan;
// docs/incremental.md lists what is global and why.
import {attrColumn, columnsOf} from './build-plan.js'
import type {EntityPlan, PlanExpr, Span} from './plan-types.js'
import type {Relation} from '../resolve/model.js'

/** The rows of one event relation whose keys are touched: any row in one of `spans`, or (with loaded_at) landed after the last run. */
export interface TouchedRelation {
  relation: Relation
  key: string
  timestamp: string
  loadedAt: string | null
  /** disjoint closed ranges of the timestamp, each read as its own plain range (pruning) */
  spans: Span[]
}

/** A condition whose value moves with as_of on unchanged rows: keys where it differs between the two as_ofs are touched. */
export interface Crossing {
  before: PlanExpr
  now: PlanExpr
}

export type TouchedPlan = {global: string} | {relations: TouchedRelation[]; crossings: Crossing[]}

const iso = (ms: number) => new Date(ms).toISOString()

/** What makes an entity's evaluation global on its own, whatever the as_ofs: undefined when nothing does. */
export function globalConstruct(e: EntityPlan): string | undefined {
  if (e.stored) return 'a static segment keeps the members it had, read from the membership'
  if (e.models?.length) return `a fitted ${e.models[0]!.kind} trait's predictions move with as_of for every key`
  for (const s of e.sources) {
    if (s.timestamp === null) return 'an event relation is read at several timestamp columns'
    if (s.aggregates.some((a) => a.kind === 'active_periods')) return 'active_periods counts periods back from as_of, so every key with events in its window moves'
  }
  const exprs = [...e.layers.flat().map((c) => c.expr), ...(e.profile ?? []).map((p) => p.value)]
  if (exprs.some((x) => has(x, 'ntile'))) return 'an NTILE ranking (a trait `ntile`, a propensity percentile) moves when any key\'s value does'
  if (exprs.some((x) => has(x, 'elapsed'))) return 'days_since (time elapsed until as_of) moves for every key at every run'
  return undefined
}

/** Whether an expression holds a node of kind `k`. */
function has(e: PlanExpr, k: PlanExpr['k']): boolean {
  if (e.k === k) return true
  return children(e).some((c) => has(c, k))
}

function children(e: PlanExpr): PlanExpr[] {
  const out: PlanExpr[] = []
  for (const v of Object.values(e)) {
    if (Array.isArray(v)) out.push(...v.filter(isExpr))
    else if (isExpr(v)) out.push(v)
  }
  return out
}

const isExpr = (v: unknown): v is PlanExpr => typeof v === 'object' && v !== null && typeof (v as {k?: unknown}).k === 'string'

/** An expression with its time literals blanked: what stays the same when only as_of moves. */
function timeless(e: PlanExpr): unknown {
  if (e.k === 'lit' && (e.type === 'timestamp' || e.type === 'date')) return {k: 'lit', type: e.type}
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (isExpr(x) ? timeless(x) : x)) : isExpr(v) ? timeless(v) : v]))
}

/**
 * Compares an expression at the previous as_of with the same at this one. Equal: nothing to do.
 * A comparison over attribute columns alone that differs only in time literals: a crossing.
 * Anything else that differs: undefined (the caller evaluates the entity whole).
 */
function compare(before: PlanExpr, now: PlanExpr, attributes: ReadonlySet<string>, out: Crossing[]): boolean {
  if (JSON.stringify(before) === JSON.stringify(now)) return true
  if (before.k !== now.k) return false
  if ((now.k === 'cmp' || now.k === 'in') && JSON.stringify(timeless(before)) === JSON.stringify(timeless(now))) {
    if (!columnsOf(now).every((c) => attributes.has(c))) return false
    out.push({before, now})
    return true
  }
  const a = Object.entries(before)
  const b = now as unknown as Record<string, unknown>
  for (const [k, v] of a) {
    const w = b[k]
    if (Array.isArray(v)) {
      if (!Array.isArray(w) || w.length !== v.length) return false
      for (let i = 0; i < v.length; i++) {
        if (isExpr(v[i]) && isExpr(w[i])) {
          if (!compare(v[i] as PlanExpr, w[i] as PlanExpr, attributes, out)) return false
        } else if (JSON.stringify(v[i]) !== JSON.stringify(w[i])) return false
      }
    } else if (isExpr(v) && isExpr(w)) {
      if (!compare(v, w, attributes, out)) return false
    } else if (JSON.stringify(v) !== JSON.stringify(w)) return false
  }
  return true
}

/**
 * The parts of a plan that say what is computed, with what only bounds the rows read (a
 * source's filter, an aggregate's window condition, a step's window filter: their time literals
 * follow as_of by construction, and the spans below cover what they move).
 */
function shape(e: EntityPlan): unknown {
  return {
    sources: e.sources.map((s) => ({id: s.id, relation: s.relation, key: s.key, timestamp: s.timestamp, loadedAt: s.loadedAt, aggregates: s.aggregates.map(({when: _w, ...a}) => a)})),
    sequences: e.sequences.map((q) => ({id: q.id, maxGap: q.maxGapSeconds ?? null, steps: q.steps.map(({filter: _f, incremental: _i, ...st}) => st)})),
    relation: e.relation,
    key: e.key,
    attributes: e.attributes,
    segments: e.segments,
    erased: e.erased ?? null,
  }
}

/** Closed ranges [lo, hi] merged where they overlap or touch. */
function mergeRanges(rs: Array<[number, number]>): Array<[number, number]> {
  const sorted = rs.filter(([lo, hi]) => lo <= hi).sort((x, y) => x[0] - y[0])
  const out: Array<[number, number]> = []
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1]
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi)
    else out.push([lo, hi])
  }
  return out
}

/**
 * The touched keys of an entity between the previous run (`beforePlan` at `previous`) and this
 * one (`now` at `asOf`); `lateSeconds` is late_arrival, the longest an event lands after its
 * timestamp. Per event relation: the rows from `previous − late_arrival` to as_of (new and late
 * events), and for every window bound the slice it slid over since the last run (an event
 * entering or leaving a window). The ranges are closed: a key on a bound is touched, which
 * costs nothing but its evaluation.
 */
export function touchedPlan(now: EntityPlan, beforePlan: EntityPlan, asOf: Date, previous: Date, lateSeconds: number): TouchedPlan {
  const global = globalConstruct(now)
  if (global) return {global}
  if (previous.getTime() > asOf.getTime()) return {global: 'the run is earlier than the last one'}
  if (JSON.stringify(shape(now)) !== JSON.stringify(shape(beforePlan))) return {global: 'the plan differs from the last run\'s in more than time bounds'}
  const attributes = new Set(now.attributes.map((a) => attrColumn(a.name)))
  const crossings: Crossing[] = []
  const layersBefore = beforePlan.layers
  if (layersBefore.length !== now.layers.length) return {global: 'the plan\'s layers differ from the last run\'s'}
  for (let i = 0; i < now.layers.length; i++) {
    const a = layersBefore[i]!
    const b = now.layers[i]!
    if (a.length !== b.length) return {global: 'the plan\'s layers differ from the last run\'s'}
    for (let j = 0; j < b.length; j++) {
      if (a[j]!.name !== b[j]!.name || !compare(a[j]!.expr, b[j]!.expr, attributes, crossings)) {
        return {global: `${b[j]!.name} moves with as_of in a way touched keys cannot follow (a relative time over something other than an attribute)`}
      }
    }
  }
  const pb = beforePlan.profile ?? []
  const pn = now.profile ?? []
  if (pb.length !== pn.length || pn.some((p, i) => p.trait !== pb[i]!.trait || !compare(pb[i]!.value, p.value, attributes, crossings))) {
    return {global: 'a profile trait moves with as_of in a way touched keys cannot follow'}
  }
  const n = asOf.getTime()
  const p = previous.getTime()
  const byRelation = new Map<string, {r: Omit<TouchedRelation, 'spans'>; ranges: Array<[number, number]>}>()
  const entry = (relation: Relation, key: string, timestamp: string, loadedAt: string | null) => {
    const k = JSON.stringify([relation, key, timestamp, loadedAt])
    let x = byRelation.get(k)
    if (!x) byRelation.set(k, (x = {r: {relation, key, timestamp, loadedAt}, ranges: [[p - lateSeconds * 1000, n]]}))
    return x
  }
  const bounds = (x: {ranges: Array<[number, number]>}, w: {from: number | null; to: number}) => {
    if (w.from !== null) x.ranges.push([p - w.from * 1000, n - w.from * 1000])
    if (w.to > 0) x.ranges.push([p - w.to * 1000, n - w.to * 1000])
  }
  for (const s of now.sources) {
    const x = entry(s.relation, s.key, s.timestamp!, s.loadedAt)
    for (const a of s.aggregates) bounds(x, a.window)
  }
  for (const q of now.sequences) {
    for (const st of q.steps) bounds(entry(st.relation, st.key, st.timestamp, st.loadedAt), st.window)
  }
  const relations = [...byRelation.values()].map(({r, ranges}) => ({
    ...r,
    spans: mergeRanges(ranges).map(([lo, hi]): Span => ({after: {at: iso(lo), incl: true}, before: {at: iso(Math.min(hi, n)), incl: true}})),
  }))
  return {relations, crossings}
}

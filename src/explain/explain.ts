// Segments in plain English, rendered from the typed rule (never from SQL), for the catalog,
// `segc compile --explain` and the docs site. Model labels are used where the model gives
// them: an entity's label names its members ("Customers"), an event's label is what the
// member did ("placed an order"), a trait's or attribute's label is what it measures.
import type {AggregateSpec, Comparison, Condition, Expr, Group, Project, PropertyFilter, Scalar, Segment, Trait, Window} from '../resolve/model.js'

const humanize = (name: string) => name.replace(/_/g, ' ')
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
const number = (n: number) => n.toLocaleString('en-US', {maximumFractionDigits: 6})
const quoted = (s: string) => `“${s}”`

/** A duration in the largest unit that divides it: 365 days, 36 hours, 90 seconds. */
export function duration(seconds: number): string {
  const units: Array<[number, string]> = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ]
  const [size, unit] = units.find(([u]) => seconds % u === 0) ?? [1, 'second']
  const n = seconds / size
  return `${number(n)} ${unit}${n === 1 ? '' : 's'}`
}

/** The window of an aggregate, as a trailing phrase ("" when it has none). */
export function windowText(w: Window): string {
  if (w.from === null) return w.to === 0 ? '' : ` more than ${duration(w.to)} ago`
  if (w.to === 0) return ` in the last ${duration(w.from)}`
  return ` between ${duration(w.from)} and ${duration(w.to)} ago`
}

function scalar(s: Scalar): string {
  switch (s.type) {
    case 'string':
      return s.value
    case 'number':
      return number(s.value)
    case 'boolean':
      return s.value ? 'true' : 'false'
    case 'time':
      if (s.value.kind === 'absolute') return s.value.dateOnly ? s.value.iso.slice(0, 10) : s.value.iso.replace('T', ' ').replace(/(:00)?\.000Z$|Z$/, ' UTC')
      return s.value.seconds === 0 ? 'the run time' : s.value.seconds < 0 ? `${duration(-s.value.seconds)} ago` : `${duration(s.value.seconds)} after the run time`
  }
}

const list = (items: string[], last: 'or' | 'and') => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`)

/** "is at least 1,000", "is US or CA", "is unknown", "starts with “/pricing”". */
export function comparisonText(c: Comparison): string {
  const past = (s: Scalar) => s.type === 'time' && s.value.kind === 'relative' && s.value.seconds < 0
  switch (c.op) {
    case 'eq':
      return `is ${scalar(c.value)}`
    case 'ne':
      return `is not ${scalar(c.value)}`
    case 'gt':
    case 'gte':
      if (past(c.value)) return `is within the last ${scalar(c.value).replace(/ ago$/, '')}`
      return c.value.type === 'time' ? `is ${c.op === 'gt' ? 'after' : 'on or after'} ${scalar(c.value)}` : `is ${c.op === 'gt' ? 'more than' : 'at least'} ${scalar(c.value)}`
    case 'lt':
    case 'lte':
      if (past(c.value)) return `is more than ${scalar(c.value)}`
      return c.value.type === 'time' ? `is ${c.op === 'lt' ? 'before' : 'on or before'} ${scalar(c.value)}` : `is ${c.op === 'lt' ? 'less than' : 'at most'} ${scalar(c.value)}`
    case 'in':
      return `is ${list(c.values.map(scalar), 'or')}`
    case 'not_in':
      return `is none of ${list(c.values.map(scalar), 'or')}`
    case 'between':
      return `is between ${scalar(c.low)} and ${scalar(c.high)}`
    case 'is_null':
      return c.value ? 'is unknown' : 'is known'
    case 'contains':
      return `contains ${quoted(c.value)}`
    case 'starts_with':
      return `starts with ${quoted(c.value)}`
    case 'ends_with':
      return `ends with ${quoted(c.value)}`
  }
}

const comparisons = (cs: Comparison[]) => cs.map(comparisonText).join(' and ')

/** How many times: "at least 3 times", "exactly once", "fewer than 2 times". */
function times(cs: Comparison[]): string | undefined {
  const n = (s: Scalar) => (s.type === 'number' ? s.value : undefined)
  const t = (v: number) => (v === 1 ? 'once' : v === 2 ? 'twice' : `${number(v)} times`)
  const parts: string[] = []
  for (const c of cs) {
    if ((c.op === 'gte' || c.op === 'gt' || c.op === 'lt' || c.op === 'lte' || c.op === 'eq' || c.op === 'ne') && n(c.value) !== undefined) {
      const v = n(c.value)!
      parts.push({gte: `at least ${t(v)}`, gt: `more than ${t(v)}`, lt: `fewer than ${t(v)}`, lte: `at most ${t(v)}`, eq: `exactly ${t(v)}`, ne: `other than ${t(v)}`}[c.op])
    } else if (c.op === 'between' && n(c.low) !== undefined && n(c.high) !== undefined) parts.push(`between ${number(n(c.low)!)} and ${number(n(c.high)!)} times`)
    else return undefined
  }
  return parts.join(' and ')
}

export class Explainer {
  constructor(private readonly project: Project) {}

  private entityNoun(entity: string): string {
    const e = this.project.entities.get(entity)
    return capitalize(e?.label ?? `${humanize(entity)}s`)
  }

  /** What a member did: the event's label, or a phrase made from its name. */
  did(event: string): string {
    return this.project.events.get(event)?.label ?? `had a ${humanize(event)} event`
  }

  private purchaseEvent(model: string): string {
    const d = this.project.traits.get(model)?.def
    return d?.kind === 'fit' && d.model !== 'kmeans' && d.model !== 'propensity' ? d.transactions.event : model
  }

  private eventNoun(event: string): string {
    return `${humanize(event)} events`
  }

  private where(filters: PropertyFilter[]): string {
    return filters.length ? ` where ${filters.map((f) => `${humanize(f.property)} ${comparisons(f.comparisons)}`).join(' and ')}` : ''
  }

  /** "the total amount of order events in the last 365 days". */
  aggregateText(a: AggregateSpec): string {
    const of = a.of ? (a.of.type === 'timestamp' && a.of.name === 'timestamp' ? 'time' : humanize(a.of.name)) : ''
    const events = `${this.eventNoun(a.event)}${this.where(a.where)}`
    const w = windowText(a.window)
    switch (a.aggregate) {
      case 'count':
        return `number of ${events}${w}`
      case 'count_distinct':
        return `number of distinct ${of} values of ${events}${w}`
      case 'sum':
        return `total ${of} of ${events}${w}`
      case 'avg':
        return `average ${of} of ${events}${w}`
      case 'min':
        return of === 'time' ? `time of the first of their ${events}${w}` : `smallest ${of} of ${events}${w}`
      case 'max':
        return of === 'time' ? `time of the latest of their ${events}${w}` : `largest ${of} of ${events}${w}`
      case 'first':
        return `${of} of the first of their ${events}${w}`
      case 'last':
        return `${of} of the latest of their ${events}${w}`
      case 'most_frequent':
        return `most frequent ${of} of ${events}${w}`
      case 'active_periods':
        return `number of ${duration(a.periodSeconds ?? 86400)} periods with ${a.minCount && a.minCount > 1 ? `at least ${number(a.minCount)} ` : ''}${events}${w}`
    }
  }

  exprText(e: Expr): string {
    switch (e.kind) {
      case 'number':
        return number(e.value)
      case 'ref':
        return this.valueName(e.name, e.target)
      case 'neg':
        return `minus ${this.exprText(e.operand)}`
      case 'binary':
        return `${this.exprText(e.left)} ${{'+': 'plus', '-': 'minus', '*': 'times', '/': 'divided by'}[e.op]} ${this.exprText(e.right)}`
      case 'call':
        if (e.fn === 'days_since' || e.fn === 'hours_since') return `${e.fn === 'days_since' ? 'days' : 'hours'} since ${this.exprText(e.args[0]!)}`
        if (e.fn === 'round') return this.exprText(e.args[0]!)
        return `${e.fn}(${e.args.map((a) => this.exprText(a)).join(', ')})`
    }
  }

  /** A trait or attribute named for people: its label, else a description made from its definition. */
  valueName(name: string, target: 'trait' | 'attribute', entity?: string): string {
    if (target === 'attribute') {
      const attr = entity ? this.project.entities.get(entity)?.attributes.get(name) : [...this.project.entities.values()].map((e) => e.attributes.get(name)).find(Boolean)
      return attr?.label ?? humanize(name)
    }
    const t = this.project.traits.get(name)
    return t ? this.traitName(t) : humanize(name)
  }

  traitName(t: Trait): string {
    if (t.label) return t.label
    switch (t.def.kind) {
      case 'aggregate':
        return this.aggregateText(t.def.spec)
      case 'expr':
        return humanize(t.name)
      case 'ntile': {
        const of = this.valueName(t.def.of.name, t.def.of.target, t.entity)
        return `${humanize(t.name)} (1 to ${t.def.buckets} by ${of}, ${t.def.buckets} = ${t.def.order === 'desc' ? 'lowest' : 'highest'})`
      }
      case 'fit':
        if (t.def.model === 'kmeans') return `cluster (one of ${t.def.k} groups of look-alikes by ${list(t.def.features.map((f) => this.valueName(f.name, f.target, t.entity)), 'and')})`
        return `${humanize(t.name)} model`
      case 'predict': {
        const d = t.def
        const horizon = d.horizonSeconds !== undefined ? duration(d.horizonSeconds) : ''
        const of = (m?: string) => (m ? this.did(this.purchaseEvent(m)) : '')
        switch (d.predict) {
          case 'p_alive':
            return `predicted probability of still being a customer`
          case 'expected_purchases':
            return `predicted number of days in the next ${horizon} on which they ${of(d.bgnbd)}`
          case 'expected_spend':
            return `predicted average spend per purchase`
          case 'clv':
            return `predicted customer value over the next ${horizon}${d.discountRate ? ` (discounted ${number(d.discountRate * 100)}% a year)` : ''}`
          case 'probability':
          case 'percentile':
            return `${d.predict === 'probability' ? 'predicted probability' : 'percentile of the predicted probability'} of ${this.goalText(d.propensity!)}`
        }
      }
    }
  }

  /** "placing an order within 30 days": what a propensity model predicts, in words. */
  goalText(model: string): string {
    const d = this.project.traits.get(model)?.def
    if (d?.kind !== 'fit' || d.model !== 'propensity') return humanize(model)
    const g = d.propensity.goal
    const what = g.kind === 'event' ? `"${this.did(g.event)}"` : `"entered ${humanize(g.segment)}"`
    return `the goal ${what} within ${duration(d.propensity.horizonSeconds)}`
  }

  private scoreNote(t: Trait | undefined): string {
    if (!t || t.def.kind !== 'ntile' || !t.label) return ''
    const of = this.valueName(t.def.of.name, t.def.of.target, t.entity)
    return ` (1 to ${t.def.buckets} by ${of}, ${t.def.buckets} = ${t.def.order === 'desc' ? 'lowest' : 'highest'})`
  }

  /** A relative clause: "who placed an order in the last 60 days", "whose country is US or CA". */
  clause(c: Condition, depth = 0): string {
    switch (c.kind) {
      case 'attribute':
        return `whose ${this.valueName(c.attribute, 'attribute')} ${comparisons(c.comparisons)}`
      case 'trait': {
        const t = this.project.traits.get(c.trait)
        return `whose ${t ? this.traitName(t) : humanize(c.trait)}${this.scoreNote(t)} ${comparisons(c.comparisons)}`
      }
      case 'event':
        return this.eventClause(c.spec, c.comparisons, false)
      case 'sequence': {
        const steps = c.steps.map((s, i) => `${i === 0 ? '' : 'then '}${this.did(s.event)}${this.where(s.where)}`)
        const gap = c.maxGapSeconds !== undefined ? `, each step within ${duration(c.maxGapSeconds)} of the one before` : ''
        return `who ${steps.join(', ')}${gap}${windowText(c.window)}`
      }
      case 'segment':
        return `who are in ${this.segmentName(c.segment)}`
      case 'not':
        return this.negated(c.item, depth)
      case 'all':
      case 'any': {
        const parts = c.items.map((i) => this.clause(i, depth + 1))
        const joined = c.kind === 'all' ? list(parts, 'and') : list(parts, 'or')
        if (depth === 0) return joined
        return c.kind === 'any' ? `either ${parts.join(' or ')}` : `(${joined})`
      }
    }
  }

  private eventClause(spec: AggregateSpec, cs: Comparison[], negate: boolean): string {
    const w = `${this.where(spec.where)}${windowText(spec.window)}`
    if (spec.aggregate === 'count') {
      const none = cs.length === 1 && ((cs[0]!.op === 'eq' && isNumber(cs[0]!.value, 0)) || (cs[0]!.op === 'lt' && isNumber(cs[0]!.value, 1)))
      const some = cs.length === 1 && ((cs[0]!.op === 'gte' && isNumber(cs[0]!.value, 1)) || (cs[0]!.op === 'gt' && isNumber(cs[0]!.value, 0)))
      if ((none && !negate) || (some && negate)) return `who have not ${this.did(spec.event)}${w}`
      if (some || none) return `who ${this.did(spec.event)}${w}`
      const t = times(cs)
      if (t) return `who ${negate ? 'did not ' : ''}${this.did(spec.event)} ${t}${w}`
    }
    return `whose ${this.aggregateText(spec)} ${negate ? 'does not satisfy: ' : ''}${comparisons(cs)}`
  }

  private negated(c: Condition, depth: number): string {
    switch (c.kind) {
      case 'segment':
        return `who are not in ${this.segmentName(c.segment)}`
      case 'event':
        return this.eventClause(c.spec, c.comparisons, true)
      case 'not':
        return this.clause(c.item, depth)
      case 'attribute':
      case 'trait':
        if (c.comparisons.length === 1) {
          const flipped = flip(c.comparisons[0]!)
          if (flipped) return this.clause({...c, comparisons: [flipped]}, depth)
        }
        return `who are not among those ${this.clause(c, depth + 1)}`
      default:
        return `who are not among those ${this.clause(c, depth + 1)}`
    }
  }

  segmentName(name: string): string {
    return capitalize(humanize(name))
  }

  /** The whole segment: rule, exclusion, consent, holdout, group, refresh and measure. */
  segment(s: Segment): string {
    const group = s.group ? this.project.groups.get(s.group.name) : undefined
    let text = `${this.entityNoun(s.entity)} ${this.clause(s.rule)}`
    if (s.exclude) text += ` — excluding those ${this.clause(s.exclude)}`
    if (s.consent.length) text += `; only those who consented (${list(s.consent.map((a) => this.valueName(a, 'attribute', s.entity)), 'and')})`
    text += '.'
    if (group && s.group!.position > 0) {
      const before = group.segments.slice(0, s.group!.position).map((n) => this.segmentName(n))
      text += ` In group ${this.segmentName(group.name)}, where each member has one segment: not those already in ${list(before, 'or')}.`
    } else if (group) text += ` In group ${this.segmentName(group.name)}, where each member has one segment: this one comes first.`
    if (s.holdout) text += ` ${number(s.holdout.percent)}% are held out as a control group and not contacted.`
    if (s.refresh === 'static') text += ' Membership is fixed at the first run and kept (static).'
    if (s.measure) text += ` Success is measured as those who ${this.did(s.measure.event)}${this.where(s.measure.where)} within ${duration(s.measure.withinSeconds)} of entering.`
    return text
  }

  group(g: Group): string {
    return `${this.entityNoun(g.entity)} in at most one of these segments each, the first that applies, in this order: ${g.segments.map((n) => this.segmentName(n)).join(', ')}.`
  }
}

const isNumber = (s: Scalar, n: number) => s.type === 'number' && s.value === n

/** The comparison that holds exactly when `c` does not (for non-NULL values), where one exists. */
function flip(c: Comparison): Comparison | undefined {
  switch (c.op) {
    case 'eq':
      return {op: 'ne', value: c.value}
    case 'ne':
      return {op: 'eq', value: c.value}
    case 'gt':
      return {op: 'lte', value: c.value}
    case 'gte':
      return {op: 'lt', value: c.value}
    case 'lt':
      return {op: 'gte', value: c.value}
    case 'lte':
      return {op: 'gt', value: c.value}
    case 'in':
      return {op: 'not_in', values: c.values}
    case 'not_in':
      return {op: 'in', values: c.values}
    case 'is_null':
      return {op: 'is_null', value: !c.value}
    default:
      return undefined
  }
}

/** Plain-English rule of a segment of a project. */
export function explainSegment(project: Project, name: string): string {
  return new Explainer(project).segment(project.segments.get(name)!)
}

import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import type {Comparison, ComparisonOp, PropertyFilter, Scalar, ValueType} from './model.js'
import type {Site} from './site.js'
import {parseTime} from './time.js'

export const COMPARISON_OPS: readonly ComparisonOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'between', 'is_null', 'contains', 'starts_with', 'ends_with']
const ORDERED: ReadonlySet<ValueType> = new Set(['string', 'number', 'integer', 'timestamp', 'date'])

export const isNumeric = (t: ValueType) => t === 'number' || t === 'integer'
export const isTime = (t: ValueType) => t === 'timestamp' || t === 'date'

function describe(raw: unknown): string {
  if (typeof raw === 'string') return `the string '${raw}'`
  if (typeof raw === 'number') return `the number ${raw}`
  if (typeof raw === 'boolean') return `${raw}`
  return JSON.stringify(raw)
}

/** A YAML scalar typed against the value it is compared to. */
export function typedScalar(type: ValueType, raw: unknown, site: Site, what: string, out: Diagnostic[]): Scalar | undefined {
  if (isTime(type)) {
    if (typeof raw !== 'string') {
      out.push(diag('type_mismatch', site.at, `${what} is a ${type}; compare it to an ISO date/timestamp or a relative time like -30d, not ${describe(raw)}`))
      return undefined
    }
    const value = parseTime(raw)
    if (!value) {
      out.push(diag('bad_time', site.at, `'${raw}' is not an ISO date (2026-01-01), timestamp (2026-01-01T08:00:00Z) or relative time (-30d)`))
      return undefined
    }
    return {type: 'time', value}
  }
  if (isNumeric(type) && typeof raw === 'number') {
    if (!Number.isFinite(raw)) {
      out.push(diag('bad_value', site.at, `${what} cannot be compared to ${raw}: only finite numbers`))
      return undefined
    }
    return {type: 'number', value: raw}
  }
  if (type === 'string' && typeof raw === 'string') return {type: 'string', value: raw}
  if (type === 'boolean' && typeof raw === 'boolean') return {type: 'boolean', value: raw}
  out.push(diag('type_mismatch', site.at, `${what} is ${type === 'integer' ? 'an' : 'a'} ${type}; it cannot be compared to ${describe(raw)}`))
  return undefined
}

/** The comparison keys of a mapping (all of them must hold), typed against `type`. */
export function resolveComparisons(
  type: ValueType,
  raw: Record<string, unknown>,
  site: Site,
  what: string,
  out: Diagnostic[],
  skip: ReadonlySet<string> = new Set(),
): Comparison[] {
  const result: Comparison[] = []
  for (const op of COMPARISON_OPS) {
    if (!(op in raw) || skip.has(op)) continue
    const v = raw[op]
    const at = site.child(op)
    const before = out.length
    switch (op) {
      case 'eq':
      case 'ne':
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        if (op !== 'eq' && op !== 'ne' && !ORDERED.has(type)) {
          out.push(diag('type_mismatch', at.keyAt, `'${op}' needs an ordered value; ${what} is a ${type}`))
          break
        }
        const s = typedScalar(type, v, at, what, out)
        if (s) result.push({op, value: s})
        break
      }
      case 'in':
      case 'not_in': {
        const values = (v as unknown[]).map((x, i) => typedScalar(type, x, at.child(i), what, out))
        if (out.length === before) result.push({op, values: values as Scalar[]})
        break
      }
      case 'between': {
        if (!ORDERED.has(type)) {
          out.push(diag('type_mismatch', at.keyAt, `'between' needs an ordered value; ${what} is a ${type}`))
          break
        }
        const [lo, hi] = v as unknown[]
        const low = typedScalar(type, lo, at.child(0), what, out)
        const high = typedScalar(type, hi, at.child(1), what, out)
        if (low && high) result.push({op, low, high})
        break
      }
      case 'is_null':
        result.push({op, value: v as boolean})
        break
      case 'contains':
      case 'starts_with':
      case 'ends_with':
        if (type !== 'string') out.push(diag('type_mismatch', at.keyAt, `'${op}' applies to strings; ${what} is a ${type}`))
        else result.push({op, value: v as string})
        break
    }
  }
  return result
}

export function hasComparison(raw: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): boolean {
  return COMPARISON_OPS.some((op) => op in raw && !skip.has(op))
}

/** `where: {prop: value | {op: value}}` on an event. */
export function resolveWhere(
  raw: Record<string, unknown> | undefined,
  site: Site,
  event: {name: string; properties: Map<string, {column: string; type: ValueType}>},
  out: Diagnostic[],
  suggest: (name: string, candidates: Iterable<string>) => string,
): PropertyFilter[] {
  if (!raw) return []
  const filters: PropertyFilter[] = []
  for (const [property, spec] of Object.entries(raw)) {
    const at = site.child(property)
    const prop = event.properties.get(property)
    if (!prop) {
      out.push(diag('unknown_property', at.keyAt, `event '${event.name}' has no property '${property}'${suggest(property, event.properties.keys())}`))
      continue
    }
    const what = `property '${property}'`
    const comparisons =
      spec !== null && typeof spec === 'object'
        ? resolveComparisons(prop.type, spec as Record<string, unknown>, at, what, out)
        : [typedScalar(prop.type, spec, at, what, out)].filter((s): s is Scalar => !!s).map((value) => ({op: 'eq' as const, value}))
    filters.push({property, column: prop.column, type: prop.type, comparisons})
  }
  return filters
}

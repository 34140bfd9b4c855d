import type {TimeValue} from './model.js'

const UNITS: Record<string, number> = {s: 1, min: 60, h: 3600, d: 86400, w: 604800}

/** `30d` → seconds. Units are fixed lengths (a day is 86,400 s), so windows mean elapsed time in every dialect. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d{1,9})\s*(s|min|h|d|w)\s*$/.exec(text)
  if (!m) return undefined
  return Number(m[1]) * UNITS[m[2]!]!
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$/i

/** An ISO date or timestamp (zone-less means UTC), or a time relative to as_of such as `-30d` or `now`. */
export function parseTime(text: string): TimeValue | undefined {
  const t = text.trim()
  if (t === 'now') return {kind: 'relative', seconds: 0}
  const rel = /^([+-])\s*(.+)$/.exec(t)
  if (rel) {
    const seconds = parseDuration(rel[2]!)
    return seconds === undefined ? undefined : {kind: 'relative', seconds: rel[1] === '-' ? -seconds : seconds}
  }
  if (ISO_DATE.test(t)) {
    const d = new Date(`${t}T00:00:00Z`)
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== t) return undefined
    return {kind: 'absolute', iso: d.toISOString(), dateOnly: true}
  }
  const m = ISO_TIMESTAMP.exec(t)
  if (!m) return undefined
  let zone = m[8] ?? 'Z'
  if (/^utc$/i.test(zone)) zone = 'Z'
  else if (zone !== 'Z' && zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`
  const frac = m[7] ? m[7].slice(0, 4).padEnd(4, '0') : '.000'
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${frac}${zone}`)
  if (Number.isNaN(d.getTime())) return undefined
  // Reject calendar overflow such as 2026-02-30, which Date would roll into March.
  if (zone === 'Z' && d.toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) return undefined
  return {kind: 'absolute', iso: d.toISOString(), dateOnly: false}
}

/** The instant a time value denotes for a run at asOf (ms since epoch). */
export function resolveTime(value: TimeValue, asOf: Date): Date {
  return value.kind === 'absolute' ? new Date(value.iso) : new Date(asOf.getTime() + value.seconds * 1000)
}

/** Parses a --as-of flag: an ISO timestamp or date (UTC), truncated to the second. */
export function parseAsOf(text: string | undefined, now = new Date()): Date | undefined {
  if (text === undefined) return new Date(Math.floor(now.getTime() / 1000) * 1000)
  const t = parseTime(text)
  if (!t || t.kind !== 'absolute') return undefined
  return new Date(Math.floor(new Date(t.iso).getTime() / 1000) * 1000)
}

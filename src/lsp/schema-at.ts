import type {DocumentKind} from '../load/load-project.js'
import {ALL_SCHEMAS} from '../validate/schemas.js'

// Keys and enumerated values come from the JSON Schemas `segc schema` prints, walked along the
// cursor's path: a key a later issue adds to a schema is completed without touching the server.

type Schema = Record<string, unknown>

/** The schemas a document of a kind may follow; a new document in segments/ may become either kind. */
export function schemasFor(kind: DocumentKind | 'segments-folder' | undefined): Schema[] {
  switch (kind) {
    case 'config':
      return [ALL_SCHEMAS.config]
    case 'models':
      return [ALL_SCHEMAS.models]
    case 'segment':
      return [ALL_SCHEMAS.segment]
    case 'group':
      return [ALL_SCHEMAS.group]
    case 'test':
      return [ALL_SCHEMAS.test]
    case 'sync':
      return [ALL_SCHEMAS.sync]
    case 'segments-folder':
      return [ALL_SCHEMAS.segment, ALL_SCHEMAS.group]
    default:
      return []
  }
}

/** Every subschema that applies at a path (anyOf/oneOf branches and $refs followed). */
export function schemasAt(root: Schema, path: ReadonlyArray<string | number>): Schema[] {
  let current = expand(root, root)
  for (const step of path) {
    const next: Schema[] = []
    for (const s of current) {
      if (typeof step === 'number') {
        if (s.items && typeof s.items === 'object') next.push(...expand(root, s.items as Schema))
        continue
      }
      const props = s.properties as Record<string, Schema> | undefined
      if (props && props[step]) next.push(...expand(root, props[step]!))
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') next.push(...expand(root, s.additionalProperties as Schema))
    }
    current = next
    if (current.length === 0) break
  }
  return current
}

function expand(root: Schema, s: Schema, depth = 0): Schema[] {
  if (depth > 20) return []
  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref)
    const target = m ? (root.$defs as Record<string, Schema> | undefined)?.[m[1]!] : undefined
    return target ? expand(root, target, depth + 1) : []
  }
  const branches = [...((s.anyOf as Schema[] | undefined) ?? []), ...((s.oneOf as Schema[] | undefined) ?? [])]
  return [s, ...branches.flatMap((b) => expand(root, b, depth + 1))]
}

export interface KeyOption {
  key: string
  description?: string
}

/** The keys a map at a path may hold. */
export function keysAt(roots: readonly Schema[], path: ReadonlyArray<string | number>): KeyOption[] {
  const out = new Map<string, KeyOption>()
  for (const root of roots) {
    for (const s of schemasAt(root, path)) {
      for (const [k, v] of Object.entries((s.properties as Record<string, Schema> | undefined) ?? {})) {
        if (out.has(k)) continue
        const description = describe(root, v)
        out.set(k, {key: k, ...(description ? {description} : {})})
      }
    }
  }
  return [...out.values()]
}

/** The enumerated values at a path (`aggregate`, `fit`, `predict`, `refresh`, a target's `type`...). */
export function enumsAt(roots: readonly Schema[], path: ReadonlyArray<string | number>): string[] {
  const out = new Set<string>()
  for (const root of roots) {
    for (const s of schemasAt(root, path)) {
      for (const v of (s.enum as unknown[] | undefined) ?? []) if (typeof v === 'string') out.add(v)
      if (typeof s.const === 'string') out.add(s.const)
      if (s.type === 'boolean') ['true', 'false'].forEach((b) => out.add(b))
    }
  }
  return [...out]
}

function describe(root: Schema, s: Schema): string | undefined {
  for (const e of expand(root, s)) if (typeof e.description === 'string') return e.description
  const enums = expand(root, s).flatMap((e) => (e.enum as unknown[] | undefined) ?? [])
  return enums.length ? `one of ${enums.join(', ')}` : undefined
}

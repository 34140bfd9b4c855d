import {isMap, isPair, isScalar, isSeq} from 'yaml'
import type {DocumentKind, LoadedDocument} from '../load/load-project.js'
import type {Project} from './model.js'

/** What a name in the YAML names. `value` is an operand that is a trait or else an attribute (expr, ntile of, kmeans of). */
export type NameKind = 'entity' | 'attribute' | 'event' | 'property' | 'trait' | 'segment' | 'group' | 'value'

/** What the scalar at a path of a document names, and in which scope. */
export interface NameRole {
  kind: NameKind
  /** a definition's own name (a key under entities:, `segment: NAME`, ...) rather than a use of it */
  defines: boolean
  /** attributes and values: the entity they belong to, where the document says */
  entity?: string
  /** properties: the event they belong to */
  event?: string
}

export interface NameSite {
  kind: Exclude<NameKind, 'value'>
  name: string
  /** attributes: entity; properties: event */
  scope?: string
  defines: boolean
  /** path relative to the project root, as in diagnostics */
  file: string
  /** character offsets in the file's text */
  start: number
  end: number
  /** definitions: offsets of the whole definition (its key and value, or its document) */
  span?: [number, number]
}

/** Every definition and every use of a name across the project, from the YAML as written (broken definitions included). */
export interface NameIndex {
  sites: NameSite[]
  /** entity of each trait, event, segment and group (where known) */
  entityOf: Map<string, string>
  /** attribute names per entity, property names per event */
  attributes: Map<string, string[]>
  properties: Map<string, string[]>
  /** the traits each entity's `profile:` publishes (SPEC §19): what a sync's trait fields may name */
  profiles: Map<string, string[]>
  /** fitted models (bgnbd, gamma_gamma traits): the names `model:` takes */
  models: Set<string>
  /** segment, group, trait, event, entity definitions by name */
  definitions: Map<string, NameSite>
}

type Path = ReadonlyArray<string | number>
type ValueAt = (path: Path) => unknown

const key = (kind: string, name: string, scope?: string) => `${kind}:${scope ?? ''}:${name}`
export const siteKey = (s: {kind: string; name: string; scope?: string | undefined}) => key(s.kind, s.name, s.kind === 'attribute' || s.kind === 'property' ? s.scope : undefined)

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const CONDITION_ROOTS = new Set(['rule', 'exclude'])

/**
 * The role of the name at `path` of a document of `kind` (onKey: the path ends at a key), or
 * undefined where no name goes. One table of where names go, shared by the index, completion
 * and hover, so the three cannot disagree.
 */
export function nameRoleAt(kind: DocumentKind | undefined, path: Path, onKey: boolean, valueAt: ValueAt): NameRole | undefined {
  const last = path[path.length - 1]
  const parent = path.slice(0, -1)
  const siblingEvent = () => str((valueAt(parent) as Record<string, unknown> | undefined)?.event)
  // a `where` map's keys are properties of the event beside it
  if (onKey && path.length >= 2 && path[path.length - 2] === 'where') {
    const event = kind === 'models' && path[0] === 'events' ? String(path[1]) : str((valueAt(path.slice(0, -2)) as Record<string, unknown> | undefined)?.event)
    return {kind: 'property', defines: false, ...(event ? {event} : {})}
  }
  if (kind === 'segment' || kind === 'group') {
    const entity = str(valueAt(['entity']))
    const ent = entity ? {entity} : {}
    if (path.length === 1 && !onKey) {
      if (last === 'segment' && kind === 'segment') return {kind: 'segment', defines: true}
      if (last === 'group' && kind === 'group') return {kind: 'group', defines: true}
      if (last === 'entity') return {kind: 'entity', defines: false}
    }
    if (kind === 'group' && path[0] === 'segments' && path.length === 2) return {kind: 'segment', defines: false, ...ent}
    if (path[0] === 'consent' && path.length === 2) return {kind: 'attribute', defines: false, ...ent}
    if (onKey) return undefined
    if (path[0] === 'measure' && last === 'event') return {kind: 'event', defines: false, ...ent}
    if (!CONDITION_ROOTS.has(String(path[0])) || path.length < 2) return undefined
    if (last === 'trait') return {kind: 'trait', defines: false, ...ent}
    if (last === 'segment') return {kind: 'segment', defines: false, ...ent}
    if (last === 'event') return {kind: 'event', defines: false, ...ent}
    if (last === 'attribute') return {kind: 'attribute', defines: false, ...ent}
    if (last === 'of') {
      const event = siblingEvent()
      return {kind: 'property', defines: false, ...(event ? {event} : {})}
    }
    return undefined
  }
  if (kind === 'models') {
    const [section, name, field, sub] = path
    if (path.length === 2 && onKey) {
      if (section === 'entities') return {kind: 'entity', defines: true}
      if (section === 'events') return {kind: 'event', defines: true}
      if (section === 'traits') return {kind: 'trait', defines: true}
    }
    if (section === 'entities' && field === 'attributes' && path.length === 4 && onKey) return {kind: 'attribute', defines: true, entity: String(name)}
    if (section === 'events' && field === 'properties' && path.length === 4 && onKey) return {kind: 'property', defines: true, event: String(name)}
    if (onKey) return undefined
    if (section === 'events' && field === 'entity' && path.length === 3) return {kind: 'entity', defines: false}
    // a profile lists traits of its entity (SPEC §19)
    if (section === 'entities' && field === 'profile' && path.length === 4 && typeof sub === 'number') return {kind: 'trait', defines: false, entity: String(name)}
    if (section !== 'traits' || path.length < 3) return undefined
    if (field === 'event' && path.length === 3) return {kind: 'event', defines: false}
    if (field === 'model' && (path.length === 3 || (path.length === 4 && typeof sub === 'number'))) return {kind: 'trait', defines: false}
    // a propensity's features are traits or attributes, its population a segment, its goal an event or a segment (SPEC §17)
    if (field === 'features' && path.length === 4 && typeof sub === 'number') return {kind: 'value', defines: false}
    if (field === 'population' && path.length === 3) return {kind: 'segment', defines: false}
    if (field === 'goal' && path.length === 4 && (sub === 'event' || sub === 'segment')) return {kind: sub, defines: false}
    if (field === 'of') {
      const event = str((valueAt(['traits', String(name)]) as Record<string, unknown> | undefined)?.event)
      if (event && path.length === 3) return {kind: 'property', defines: false, event}
      if (path.length === 3 || (path.length === 4 && typeof sub === 'number')) return {kind: 'value', defines: false}
    }
    return undefined
  }
  if (kind === 'test' && onKey && path.length === 2) {
    if (path[0] === 'expect') return {kind: 'segment', defines: false}
    if (path[0] === 'models') return {kind: 'trait', defines: false}
  }
  if (kind === 'sync' && !onKey) {
    if (path[0] === 'segments' && path.length === 2) return {kind: 'segment', defines: false}
    if (path[0] === 'group' && path.length === 1) return {kind: 'group', defines: false}
    if ((path[0] === 'identify_by' && path.length === 1) || (path[0] === 'consent' && path.length === 2)) return {kind: 'attribute', defines: false}
    // a bare field is an attribute, a built-in or a profile trait (SPEC §19); `{trait, round}` names a trait
    if (path[0] === 'fields' && path.length === 2) return {kind: 'value', defines: false}
    if (path[0] === 'fields' && path.length === 3 && path[2] === 'trait') return {kind: 'trait', defines: false}
  }
  return undefined
}

/** A JS value's member at a path (the document's plain value, as load keeps it). */
export function valueAtPath(root: unknown, path: Path): unknown {
  let v: unknown = root
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string | number, unknown>)[step]
  }
  return v
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g

/** Builds the index over the loaded documents; `project` (the resolved graph) supplies the entity of traits it could type. */
export function buildNameIndex(documents: readonly LoadedDocument[], project?: Project): NameIndex {
  const index: NameIndex = {sites: [], entityOf: new Map(), attributes: new Map(), profiles: new Map(), properties: new Map(), models: new Set(), definitions: new Map()}
  const traitNames = new Set<string>()
  for (const d of documents) {
    if (d.kind !== 'models') continue
    for (const name of Object.keys(asRecord(d.value.traits))) traitNames.add(name)
  }
  const pending: Array<Omit<NameSite, 'kind'> & {kind: NameKind}> = []
  for (const d of documents) {
    const valueAt: ValueAt = (p) => valueAtPath(d.value, p)
    const visit = (node: unknown, path: Array<string | number>) => {
      if (isMap(node)) {
        for (const item of node.items) {
          if (!isPair(item) || !isScalar(item.key)) continue
          const k = String(item.key.value)
          const here = [...path, k]
          record(d, here, true, item.key, valueAt, pending, [item.key.range?.[0] ?? 0, (item.value as {range?: number[]} | null)?.range?.[1] ?? item.key.range?.[1] ?? 0])
          if (isScalar(item.value)) {
            record(d, here, false, item.value, valueAt, pending, [d.node.range?.[0] ?? 0, d.node.range?.[1] ?? 0])
            if (d.kind === 'models' && here.length === 3 && here[0] === 'traits' && k === 'expr') exprSites(d, item.value, String(here[1]), pending)
          } else visit(item.value, here)
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => {
          if (isScalar(item)) record(d, [...path, i], false, item, valueAt, pending)
          else visit(item, [...path, i])
        })
      }
    }
    visit(d.node, [])
    if (d.kind === 'models') {
      for (const [name, e] of Object.entries(asRecord(d.value.entities))) {
        index.attributes.set(name, Object.keys(asRecord(asRecord(e).attributes)))
        const profile = asRecord(e).profile
        if (Array.isArray(profile)) index.profiles.set(name, profile.filter((t): t is string => typeof t === 'string'))
      }
      for (const [name, e] of Object.entries(asRecord(d.value.events))) {
        const ev = asRecord(e)
        index.properties.set(name, [...Object.keys(asRecord(ev.properties)), 'timestamp'])
        if (typeof ev.entity === 'string') index.entityOf.set(`event:${name}`, ev.entity)
      }
      for (const [name, t] of Object.entries(asRecord(d.value.traits))) {
        const tr = asRecord(t)
        if (tr.fit === 'bgnbd' || tr.fit === 'gamma_gamma') index.models.add(name)
      }
    } else if (d.kind === 'segment' || d.kind === 'group') {
      const name = d.value[d.kind]
      if (typeof name === 'string' && typeof d.value.entity === 'string') index.entityOf.set(`${d.kind}:${name}`, d.value.entity)
    }
  }
  // a trait's entity: from the resolved graph, else from its event
  for (const name of traitNames) {
    const entity = project?.traits.get(name)?.entity
    if (entity) index.entityOf.set(`trait:${name}`, entity)
  }
  for (const d of documents) {
    if (d.kind !== 'models') continue
    for (const [name, t] of Object.entries(asRecord(d.value.traits))) {
      const event = asRecord(t).event
      const entity = typeof event === 'string' ? index.entityOf.get(`event:${event}`) : undefined
      if (entity && !index.entityOf.has(`trait:${name}`)) index.entityOf.set(`trait:${name}`, entity)
    }
  }
  for (const s of pending) {
    const kind = s.kind === 'value' ? (traitNames.has(s.name) ? 'trait' : 'attribute') : s.kind
    const site: NameSite = {...s, kind}
    if (kind === 'attribute' && site.scope === undefined) {
      const owner = [...index.attributes].find(([, attrs]) => attrs.includes(s.name))
      if (owner) site.scope = owner[0]
    }
    if (kind === 'trait') delete site.scope
    index.sites.push(site)
    if (site.defines && !index.definitions.has(siteKey(site))) index.definitions.set(siteKey(site), site)
  }
  return index
}

function record(d: LoadedDocument, path: Array<string | number>, onKey: boolean, node: unknown, valueAt: ValueAt, out: Array<Omit<NameSite, 'kind'> & {kind: NameKind}>, span?: [number, number]): void {
  if (!isScalar(node) || !node.range || typeof node.value !== 'string' || node.value === '') return
  const role = nameRoleAt(d.kind, path, onKey, valueAt)
  if (!role) return
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0
  const scope = role.kind === 'property' ? role.event : role.kind === 'attribute' || role.kind === 'value' ? role.entity : undefined
  out.push({kind: role.kind, name: node.value, ...(scope ? {scope} : {}), defines: role.defines, file: d.file.path, start: node.range[0] + quoted, end: node.range[1] - quoted, ...(role.defines && span ? {span} : {})})
}

/** Names an `expr` reads: traits or attributes; a name followed by `(` is a function. */
function exprSites(d: LoadedDocument, node: unknown, _trait: string, out: Array<Omit<NameSite, 'kind'> & {kind: NameKind}>): void {
  if (!isScalar(node) || !node.range || typeof node.value !== 'string') return
  // only plain or double-quoted scalars keep offsets that map one to one onto the source
  if (node.type !== 'PLAIN' && node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE') return
  const text = node.value
  const base = node.range[0] + (node.type === 'PLAIN' ? 0 : 1)
  if (d.file.text.slice(base, base + text.length) !== text) return
  for (const m of text.matchAll(IDENT)) {
    const after = text.slice(m.index + m[0].length).trimStart()
    if (after.startsWith('(')) continue
    out.push({kind: 'value', name: m[0], defines: false, file: d.file.path, start: base + m.index, end: base + m.index + m[0].length})
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

/** The definition a site names, and every site naming the same thing. */
export function definitionOf(index: NameIndex, site: Pick<NameSite, 'kind' | 'name' | 'scope'>): NameSite | undefined {
  return index.definitions.get(siteKey(site))
}

export function referencesOf(index: NameIndex, site: Pick<NameSite, 'kind' | 'name' | 'scope'>): NameSite[] {
  const k = siteKey(site)
  return index.sites.filter((s) => siteKey(s) === k)
}

import {CompletionItemKind, type CompletionItem} from 'vscode-languageserver'
import type {NameIndex} from '../resolve/name-index.js'
import {valueAtPath} from '../resolve/name-index.js'
import {BUILTIN_FIELDS} from '../resolve/resolve-syncs.js'
import {namesFor, type Cursor} from './cursor.js'
import {enumsAt, keysAt, schemasFor} from './schema-at.js'

const NAME_KIND: Record<string, CompletionItemKind> = {
  entity: CompletionItemKind.Class,
  event: CompletionItemKind.Event,
  trait: CompletionItemKind.Field,
  segment: CompletionItemKind.Reference,
  group: CompletionItemKind.Folder,
  attribute: CompletionItemKind.Property,
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Field,
}

/**
 * A sync field's names: its entity's attributes, the built-ins and the traits its profile
 * publishes (a bare field), or only those traits (`{trait: ...}`) — the names the sync accepts
 * (SPEC §11, §19). The entity is its segments' or group's; unknown, every entity's.
 */
function syncFieldNames(cursor: Cursor, index: NameIndex): string[] {
  const v = cursor.value
  const first = typeof v.group === 'string' ? `group:${v.group}` : Array.isArray(v.segments) && typeof v.segments[0] === 'string' ? `segment:${v.segments[0]}` : undefined
  const entity = first ? index.entityOf.get(first) : undefined
  const pick = <T>(m: Map<string, T[]>) => (entity ? (m.get(entity) ?? []) : [...new Set([...m.values()].flat())])
  const traits = pick(index.profiles)
  return cursor.path.length === 3 ? traits : [...pick(index.attributes), ...BUILTIN_FIELDS, ...traits]
}

/** Names where a name goes, else keys where a key goes, plus enumerated values: all from the index and the schemas. */
export function complete(cursor: Cursor, index: NameIndex): CompletionItem[] {
  const items: CompletionItem[] = []
  const seen = new Set<string>()
  const add = (item: CompletionItem) => {
    if (seen.has(item.label)) return
    seen.add(item.label)
    items.push(item)
  }
  const schemas = schemasFor(cursor.kind)
  const role = cursor.role
  if (role && !role.defines) {
    const models = cursor.kind === 'models' && cursor.path[0] === 'traits' && cursor.path[2] === 'model'
    const fields = cursor.kind === 'sync' && cursor.path[0] === 'fields' ? syncFieldNames(cursor, index) : undefined
    const names = models ? [...index.models] : (fields ?? namesFor(index, role))
    const builtin = new Set<string>(fields && cursor.path.length === 2 ? BUILTIN_FIELDS : [])
    for (const name of names) add({label: name, kind: NAME_KIND[role.kind], detail: builtin.has(name) ? 'built-in' : role.kind === 'value' ? (index.definitions.has(`trait::${name}`) ? 'trait' : 'attribute') : role.kind})
  }
  if (cursor.onKey) {
    const parent = cursor.path.slice(0, -1)
    const present = valueAtPath(cursor.value, parent)
    const taken = present && typeof present === 'object' && !Array.isArray(present) ? new Set(Object.keys(present)) : new Set<string>()
    if (!role) {
      for (const k of keysAt(schemas, parent)) {
        if (taken.has(k.key) && k.key !== cursor.word.text) continue
        add({label: k.key, kind: CompletionItemKind.Keyword, insertText: `${k.key}: `, ...(k.description ? {detail: k.description} : {})})
      }
    }
  } else {
    for (const v of enumsAt(schemas, cursor.path)) add({label: v, kind: CompletionItemKind.EnumMember})
  }
  return items
}

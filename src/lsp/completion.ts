import {CompletionItemKind, type CompletionItem} from 'vscode-languageserver'
import type {NameIndex} from '../resolve/name-index.js'
import {valueAtPath} from '../resolve/name-index.js'
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
    const names = models ? [...index.models] : namesFor(index, role)
    for (const name of names) add({label: name, kind: NAME_KIND[role.kind], detail: role.kind === 'value' ? (index.definitions.has(`trait::${name}`) ? 'trait' : 'attribute') : role.kind})
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

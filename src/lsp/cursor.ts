import {isMap, isScalar, type Document, type LineCounter} from 'yaml'
import {kindOf, type DocumentKind, type Folder} from '../load/load-project.js'
import {lookupDocuments, mapPathAtIndent, nodeAtOffset} from '../load/node-at.js'
import {nameRoleAt, valueAtPath, type NameIndex, type NameRole} from '../resolve/name-index.js'

/** What the editor's cursor is on: the document, the YAML path, and the name there if one goes there. */
export interface Cursor {
  kind: DocumentKind | 'segments-folder' | undefined
  value: Record<string, unknown>
  path: Array<string | number>
  onKey: boolean
  /** the word being typed or pointed at, and its offsets */
  word: {text: string; start: number; end: number}
  role?: NameRole
  document?: Document.Parsed
}

export function folderOf(path: string): Folder | undefined {
  if (path === 'segc.yaml') return 'config'
  const top = path.split('/')[0]
  return top === 'models' ? 'models' : top === 'segments' ? 'segments' : top === 'syncs' ? 'syncs' : undefined
}

const BLOCK_KEY = /^(\s*)(-\s+)?([A-Za-z_][\w]*)?$/
const BLOCK_VALUE = /^(\s*)(-\s+)?([A-Za-z_][\w]*):[ \t]+([\w.-]*)$/
const WORD = /[\w.-]/

/** The cursor at an offset of a project file's text (any text: half-typed, broken, empty). */
export function cursorAt(path: string, text: string, offset: number): Cursor | undefined {
  const folder = folderOf(path)
  if (!folder) return undefined
  offset = Math.max(0, Math.min(offset, text.length))
  const {documents, lineCounter} = lookupDocuments(text)
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  const prefix = text.slice(lineStart, offset)
  let start = offset
  while (start > lineStart && WORD.test(text[start - 1]!)) start--
  let end = offset
  while (end < text.length && WORD.test(text[end]!)) end++
  const word = {text: text.slice(start, end), start, end}
  const at = nodeAtOffset(documents, offset)
  const document = at ? documents[at.document] : documents[documents.length - 1]
  const value = documentValue(document)
  const firstKey = document && isMap(document.contents) && isScalar(document.contents.items[0]?.key) ? String(document.contents.items[0]!.key.value) : ''
  let kind: Cursor['kind'] = kindOf(folder, firstKey, path)
  if (kind === undefined && folder === 'segments') kind = 'segments-folder'
  const base = {kind, value, word, ...(document ? {document} : {})}
  const key = BLOCK_KEY.exec(prefix)
  const val = key ? null : BLOCK_VALUE.exec(prefix)
  let cursor: Cursor
  if (key && !insideFlow(document, offset)) {
    const indent = key[1]!.length + (key[2]?.length ?? 0)
    const parent = document ? blockParent(document, lineCounter, lineStart, indent, key[2] !== undefined) : []
    cursor = {...base, path: [...parent, word.text], onKey: true}
  } else if (val && !insideFlow(document, offset)) {
    const indent = val[1]!.length + (val[2]?.length ?? 0)
    const parent = document ? blockParent(document, lineCounter, lineStart, indent, val[2] !== undefined) : []
    cursor = {...base, path: [...parent, val[3]!], onKey: false}
  } else if (at) {
    cursor = {...base, path: at.path, onKey: at.onKey}
    if (at.onKey && at.scalar === undefined) cursor.path = [...at.path, word.text]
  } else return {...base, path: [word.text], onKey: true}
  const kindForRole = cursor.kind === 'segments-folder' ? undefined : cursor.kind
  const role = nameRoleAt(kindForRole, cursor.path, cursor.onKey, (p) => valueAtPath(value, p))
  if (role) cursor.role = role
  else if (kindForRole === 'models' && cursor.path[0] === 'traits' && cursor.path[2] === 'expr' && cursor.path.length === 3 && !cursor.onKey) {
    const ident = /^[A-Za-z_]\w*$/.test(word.text) && text[end]?.trimStart() !== '(' ? word : undefined
    if (ident) cursor.role = {kind: 'value', defines: false}
  }
  return cursor
}

function blockParent(document: Document.Parsed, lineCounter: LineCounter, lineStart: number, indent: number, dash: boolean): Array<string | number> {
  const parent = mapPathAtIndent(document, lineCounter, lineStart, indent)
  if (!dash) return parent
  // "- key" starts a new item of the list under the parent's last key
  const list = valueAtPath(documentValue(document), parent)
  return Array.isArray(list) ? [...parent, list.length] : parent
}

/** Inside `{...}` or `[...]` on this line: the AST knows the structure there, the indentation does not. */
function insideFlow(document: Document.Parsed | undefined, offset: number): boolean {
  if (!document) return false
  let inside = false
  const walk = (n: unknown): void => {
    if (inside || !n || typeof n !== 'object') return
    const node = n as {flow?: boolean; range?: [number, number, number]; items?: unknown[]; key?: unknown; value?: unknown}
    if (node.flow && node.range && node.range[0] < offset && offset <= node.range[1]) inside = true
    if (Array.isArray(node.items)) node.items.forEach(walk)
    if ('key' in node) walk(node.key)
    if ('value' in node) walk(node.value)
  }
  walk(document.contents)
  return inside
}

function documentValue(document: Document.Parsed | undefined): Record<string, unknown> {
  try {
    const v = document?.toJS({maxAliasCount: 100}) as unknown
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** The names that may go where the cursor's role says, scoped by entity and event. */
export function namesFor(index: NameIndex, role: NameRole): string[] {
  const defined = (kind: string) => [...index.definitions.values()].filter((s) => s.kind === kind).map((s) => s.name)
  const ofEntity = (kind: string, names: string[]) => (role.entity ? names.filter((n) => (index.entityOf.get(`${kind}:${n}`) ?? role.entity) === role.entity) : names)
  const attributes = () => (role.entity ? (index.attributes.get(role.entity) ?? []) : [...new Set([...index.attributes.values()].flat())])
  switch (role.kind) {
    case 'entity':
      return defined('entity')
    case 'event':
      return ofEntity('event', defined('event'))
    case 'trait':
      return ofEntity('trait', defined('trait').filter((n) => !index.models.has(n) || role.entity === undefined))
    case 'segment':
      return ofEntity('segment', defined('segment'))
    case 'group':
      return ofEntity('group', defined('group'))
    case 'attribute':
      return attributes()
    case 'property':
      return role.event ? (index.properties.get(role.event) ?? []) : [...new Set([...index.properties.values()].flat())]
    case 'value':
      return [...ofEntity('trait', defined('trait')), ...attributes()]
  }
}

import {isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node} from 'yaml'

/** What sits at a character offset of a YAML text: the path from the document root, and whether the offset is on a key. */
export interface NodeAt {
  /** index of the document (`---` separated) holding the offset */
  document: number
  /** keys and list indices from the document root to the node; for a key, ends with the key itself */
  path: Array<string | number>
  /** on a map key (or where a new key goes) rather than a value */
  onKey: boolean
  /** the scalar under the offset, when there is one */
  scalar?: {value: string; start: number; end: number}
  /** the map holding the key or value at the offset (its keys are the siblings) */
  parent?: Node
}

/**
 * Documents of a text as the editor sees it, kept even when they have errors: a document
 * being typed is broken most of the time, and a lookup must still find what it can.
 * Same parser and options as load (source-file.ts), so positions agree.
 */
export function lookupDocuments(text: string): {documents: Document.Parsed[]; lineCounter: LineCounter} {
  const lineCounter = new LineCounter()
  const parsed = parseAllDocuments(text, {lineCounter, prettyErrors: false, uniqueKeys: false, schema: 'core'})
  return {documents: Array.isArray(parsed) ? parsed : [], lineCounter}
}

/** The node at an offset of one of the documents; undefined where no document covers it. */
export function nodeAtOffset(documents: readonly Document.Parsed[], offset: number): NodeAt | undefined {
  const index = documents.findIndex((d) => d.range[0] <= offset && offset <= d.range[2])
  const doc = documents[index === -1 ? documents.length - 1 : index]
  if (!doc) return undefined
  const out: NodeAt = {document: index === -1 ? documents.length - 1 : index, path: [], onKey: false}
  descend(doc.contents, offset, out)
  return out
}

const within = (node: unknown, offset: number): boolean => isNode(node) && node.range !== undefined && node.range !== null && node.range[0] <= offset && offset <= node.range[1]

function descend(node: unknown, offset: number, out: NodeAt): void {
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue
      const key = isScalar(item.key) ? String(item.key.value ?? '') : ''
      if (within(item.key, offset)) {
        out.path.push(key)
        out.onKey = true
        out.parent = node
        setScalar(item.key, out)
        return
      }
      if (within(item.value, offset)) {
        out.path.push(key)
        out.parent = node
        if (isScalar(item.value)) return setScalar(item.value, out)
        return descend(item.value, offset, out)
      }
    }
    // between keys of a block map: a new key goes here
    out.onKey = true
    out.parent = node
    return
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (within(item, offset) && out.scalar === undefined && !out.onKey) {
        out.path.push(i)
        if (isScalar(item)) setScalar(item, out)
        else descend(item, offset, out)
      }
    })
    return
  }
  if (isScalar(node)) setScalar(node, out)
}

function setScalar(node: unknown, out: NodeAt): void {
  if (!isScalar(node) || !node.range) return
  const value = node.value === null || node.value === undefined ? '' : String(node.value)
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0
  out.scalar = {value, start: node.range[0] + quoted, end: node.range[1] - quoted}
}

/**
 * The path of the block map a key typed at `indent` (0-based column) on the line of `offset`
 * belongs to: the text of a half-typed line says little, the indentation says where it goes.
 */
export function mapPathAtIndent(doc: Document.Parsed, lineCounter: LineCounter, offset: number, indent: number): Array<string | number> {
  const path: Array<string | number> = []
  const column = (n: unknown) => (isNode(n) && n.range ? lineCounter.linePos(n.range[0]).col - 1 : -1)
  let node: unknown = doc.contents
  for (;;) {
    if (isMap(node)) {
      const first = node.items[0]?.key
      if (node.flow || column(first) >= indent) return path
      const before = node.items.filter((p) => isNode(p.key) && p.key.range && p.key.range[0] < offset)
      const last = before[before.length - 1]
      if (!last || !isScalar(last.key)) return path
      path.push(String(last.key.value))
      node = last.value
      if (!isMap(node) && !isSeq(node)) return path
    } else if (isSeq(node)) {
      const items = node.items.filter((it) => isNode(it) && it.range && it.range[0] < offset)
      const i = items.length - 1
      if (i < 0 || !isMap(items[i])) return path
      path.push(node.items.indexOf(items[i]!))
      node = items[i]
    } else return path
  }
}

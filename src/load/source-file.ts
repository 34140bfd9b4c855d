import {isMap, isNode, isPair, isScalar, LineCounter, parseAllDocuments, type Document, type Node, type Pair} from 'yaml'
import {diag, type Diagnostic, type Position} from '../diagnostics/diagnostic.js'

/** One YAML file as parsed: every document keeps its nodes, so any value can be traced back to line and column. */
export interface SourceFile {
  /** Path relative to the project root, as printed in diagnostics. */
  path: string
  text: string
  lineCounter: LineCounter
  documents: Document.Parsed[]
}

export const MAX_FILE_BYTES = 16 * 1024 * 1024
/** all/any/not may nest this deep; the SQL of deeper rules would hit warehouses' expression depth limits */
export const MAX_CONDITION_DEPTH = 200

export function parseSource(path: string, text: string): {file: SourceFile; diagnostics: Diagnostic[]} {
  const lineCounter = new LineCounter()
  const diagnostics: Diagnostic[] = []
  const file: SourceFile = {path, text, lineCounter, documents: []}
  if (text.length > MAX_FILE_BYTES) {
    diagnostics.push(diag('yaml_limit', {file: path, line: 1, col: 1}, `file is ${text.length} bytes; segc reads files up to ${MAX_FILE_BYTES} bytes`))
    return {file, diagnostics}
  }
  // Dates and times stay strings (yaml 1.2 core schema): segc parses them itself so a
  // bad timestamp gets a positioned error instead of becoming an Invalid Date.
  const documents = parseAllDocuments(text, {lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core'})
  const docs = Array.isArray(documents) ? documents : []
  for (const doc of docs) {
    for (const e of doc.errors) {
      const [line, col] = positionOf(lineCounter, e.pos[0])
      // the yaml parser recurses per nesting level; absurd nesting ends there, not in a crash
      if (/Maximum call stack size exceeded/.test(e.message)) diagnostics.push(diag('nesting_limit', {file: path, line, col}, `the YAML nests too deeply to read; conditions may nest at most ${MAX_CONDITION_DEPTH} levels`))
      else diagnostics.push(diag('yaml_syntax', {file: path, line, col}, firstLine(e.message)))
    }
    if (doc.errors.length === 0) file.documents.push(doc)
  }
  return {file, diagnostics}
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
}

function positionOf(lineCounter: LineCounter, offset: number): [number, number] {
  const p = lineCounter.linePos(offset)
  return [p.line, p.col]
}

/** Position of a node (or of a pair's key) inside its file. */
export function positionAt(file: SourceFile, node: unknown): Position {
  const target = isPair(node) ? (node as Pair).key : node
  if (isNode(target) && target.range) {
    const [line, col] = positionOf(file.lineCounter, target.range[0])
    return {file: file.path, line, col}
  }
  return {file: file.path, line: 1, col: 1}
}

/** Walk a JSON-pointer-like path (keys and indices) into a document, returning the deepest node reached and the pair whose key matched last. */
export function nodeAtPath(root: unknown, path: readonly (string | number)[]): {node: unknown; pair?: Pair; reached: number} {
  let node: unknown = root
  let pair: Pair | undefined
  let reached = 0
  for (const step of path) {
    if (isMap(node)) {
      const p = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(step))
      if (!p) break
      pair = p as Pair
      node = p.value
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as {items: unknown[]}).items)) {
      const item = (node as {items: unknown[]}).items[Number(step)]
      if (item === undefined) break
      pair = undefined
      node = item
    } else break
    reached++
  }
  return {node, pair, reached}
}

export type YamlNode = Node

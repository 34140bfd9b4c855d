import {SymbolKind, type DocumentSymbol} from 'vscode-languageserver'
import {isMap, isPair, isScalar, type Node, type Pair} from 'yaml'
import {lookupDocuments} from '../load/node-at.js'
import {lineStarts, rangeOf} from './text-position.js'

const SECTIONS: Record<string, {kind: SymbolKind; label: string; children?: {key: string; kind: SymbolKind}}> = {
  entities: {kind: SymbolKind.Class, label: 'entity', children: {key: 'attributes', kind: SymbolKind.Property}},
  events: {kind: SymbolKind.Event, label: 'event', children: {key: 'properties', kind: SymbolKind.Property}},
  traits: {kind: SymbolKind.Field, label: 'trait'},
}
const NAMED: Record<string, SymbolKind> = {segment: SymbolKind.Object, group: SymbolKind.Array, sync: SymbolKind.Function, test: SymbolKind.Method}

/** The outline of a file as written: definitions of models files, the segment, group, sync or test of each document. */
export function documentSymbols(text: string): DocumentSymbol[] {
  const {documents} = lookupDocuments(text)
  const starts = lineStarts(text)
  const out: DocumentSymbol[] = []
  const range = (n: {range?: [number, number, number] | null | undefined}) => rangeOf(starts, n.range?.[0] ?? 0, n.range?.[1] ?? 0)
  const pairRange = (p: Pair) => rangeOf(starts, (p.key as Node | null)?.range?.[0] ?? 0, (p.value as Node | null)?.range?.[1] ?? (p.key as Node | null)?.range?.[1] ?? 0)
  for (const doc of documents) {
    const root = doc.contents
    if (!isMap(root)) continue
    const first = root.items[0]
    const firstKey = first && isScalar(first.key) ? String(first.key.value) : ''
    if (NAMED[firstKey] !== undefined && first && isScalar(first.value)) {
      out.push({name: String(first.value.value ?? ''), detail: firstKey, kind: NAMED[firstKey]!, range: range(root as never), selectionRange: range(first.value as never)})
      continue
    }
    for (const section of root.items) {
      if (!isPair(section) || !isScalar(section.key)) continue
      const spec = SECTIONS[String(section.key.value)]
      if (!spec || !isMap(section.value)) continue
      for (const def of section.value.items) {
        if (!isPair(def) || !isScalar(def.key)) continue
        const children: DocumentSymbol[] = []
        if (spec.children && isMap(def.value)) {
          const sub = def.value.items.find((p) => isScalar(p.key) && p.key.value === spec.children!.key)
          if (sub && isMap(sub.value)) {
            for (const c of sub.value.items) if (isPair(c) && isScalar(c.key)) children.push({name: String(c.key.value), kind: spec.children.kind, range: pairRange(c as Pair), selectionRange: range(c.key as never)})
          }
        }
        out.push({name: String(def.key.value), detail: spec.label, kind: spec.kind, range: pairRange(def as Pair), selectionRange: range(def.key as never), ...(children.length ? {children} : {})})
      }
    }
  }
  return out
}

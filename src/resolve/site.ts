import {isMap, isScalar, isSeq, type Pair} from 'yaml'
import type {Position} from '../diagnostics/diagnostic.js'
import {positionAt, type SourceFile} from '../load/source-file.js'

/** A YAML node together with its file: lets the resolver point diagnostics at the exact key or value. */
export class Site {
  constructor(
    readonly file: SourceFile,
    readonly node: unknown,
    private readonly keyNode?: unknown,
    /** keys and indices from the document root, to match schema errors against */
    readonly path: readonly (string | number)[] = [],
  ) {}

  /** The value under a key (or list index). */
  child(key: string | number): Site {
    if (isMap(this.node)) {
      const pair = this.node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key)) as Pair | undefined
      if (pair) return new Site(this.file, pair.value ?? pair.key, pair.key, [...this.path, key])
    } else if (isSeq(this.node) && typeof key === 'number' && this.node.items[key] !== undefined) {
      return new Site(this.file, this.node.items[key], undefined, [...this.path, key])
    }
    return this
  }

  /** Position of the value. */
  get at(): Position {
    return positionAt(this.file, this.node)
  }

  /** Position of the key that introduced the value (falls back to the value). */
  get keyAt(): Position {
    return positionAt(this.file, this.keyNode ?? this.node)
  }

  /** Position of a character offset inside a scalar string value (for expression errors). */
  offsetAt(offset: number): Position {
    const n = this.node as {range?: [number, number, number]; type?: string}
    if (!isScalar(n) || !n.range) return this.at
    const quoted = n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE' ? 1 : 0
    const p = this.file.lineCounter.linePos(n.range[0] + quoted + offset)
    return {file: this.file.path, line: p.line, col: p.col}
  }
}

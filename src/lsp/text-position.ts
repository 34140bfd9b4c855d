import type {Range} from 'vscode-languageserver'

// segc's positions are 1-based line and column (diagnostics); the protocol's are 0-based, in
// UTF-16 code units, which is what JavaScript string offsets already count.

/** Offsets of every line start of a text. */
export function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1)
  return starts
}

export function offsetToPosition(starts: readonly number[], offset: number): {line: number; character: number} {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return {line: lo, character: offset - starts[lo]!}
}

export function rangeOf(starts: readonly number[], start: number, end: number): Range {
  return {start: offsetToPosition(starts, start), end: offsetToPosition(starts, end)}
}

const TOKEN_END = /[\s,{}[\]#]/

/**
 * The range of a diagnostic at a 1-based line and column: from there to the end of the
 * token (a scalar, a key) it points at, or one character where there is none.
 */
export function diagnosticRange(text: string, starts: readonly number[], line: number, col: number): Range {
  const l = Math.max(0, Math.min(line - 1, starts.length - 1))
  const lineStart = starts[l]!
  const lineEnd = l + 1 < starts.length ? starts[l + 1]! - 1 : text.length
  const start = Math.min(lineStart + Math.max(0, col - 1), lineEnd)
  let end = start
  const quote = text[start]
  if (quote === '"' || quote === "'") {
    end = text.indexOf(quote, start + 1)
    end = end === -1 || end > lineEnd ? lineEnd : end + 1
  } else {
    while (end < lineEnd && !TOKEN_END.test(text[end]!) && !(text[end] === ':' && (end + 1 >= lineEnd || /\s/.test(text[end + 1]!)))) end++
  }
  if (end === start) end = Math.min(start + 1, lineEnd)
  return {start: {line: l, character: start - lineStart}, end: {line: l, character: end - lineStart}}
}

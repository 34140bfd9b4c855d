import {CODES, type Code} from './codes.js'

/** A problem as a value: collected, sorted and printed together, never thrown. */
export interface Diagnostic {
  code: Code
  severity: 'error' | 'warning'
  file: string
  line: number
  col: number
  message: string
  data?: Record<string, unknown>
}

export interface Position {
  file: string
  line: number
  col: number
}

export const NO_POSITION: Position = {file: 'segc.yaml', line: 1, col: 1}

export function diag(code: Code, at: Position, message: string, data?: Record<string, unknown>): Diagnostic {
  return {code, severity: CODES[code].severity, file: at.file, line: at.line, col: at.col, message, ...(data ? {data} : {})}
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error')
}

export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>()
  return [...diagnostics]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code))
    .filter((d) => {
      const key = `${d.file}:${d.line}:${d.col}:${d.code}:${d.message}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}[${d.code}]: ${d.message}`
}

/** Thrown only across the command boundary: carries diagnostics to the CLI, which prints them and exits. */
export class DiagnosticsError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly exitCode = 1,
  ) {
    super(diagnostics.map(formatDiagnostic).join('\n'))
  }
}

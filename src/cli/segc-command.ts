import {Command, Flags, type Interfaces} from '@oclif/core'
import {DiagnosticsError, formatDiagnostic, type Diagnostic} from '../diagnostics/diagnostic.js'
import {redact, redactDeep} from '../project/redact.js'
import {ExpectationsFailed} from '../project/expectations.js'
import {WarehouseError} from '../warehouse/warehouse.js'
import {PartialFailure} from '../diagnostics/partial.js'

/** Exit codes of SPEC §7. */
export const EXIT = {ok: 0, invalid: 1, runFailed: 2, expectations: 3} as const


/**
 * The shared shell of every command: --json and --project, and one place that turns
 * failures into positioned messages and SPEC exit codes, never a stack trace.
 */
export abstract class SegcCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    project: Flags.directory({description: 'project directory (default: the nearest directory upward holding segc.yaml)', helpGroup: 'GLOBAL', exists: true}),
  }

  protected jsonMode(): boolean {
    return this.argv.includes('--json')
  }

  protected projectOpts(flags: {project?: string | undefined}): {project?: string} {
    return flags.project ? {project: flags.project} : {}
  }

  protected out(text: string): void {
    this.log(redact(text))
  }

  protected warn_(diagnostics: readonly Diagnostic[]): void {
    for (const d of diagnostics) process.stderr.write(redact(formatDiagnostic(d)) + '\n')
  }

  override async catch(error: Interfaces.CommandError): Promise<unknown> {
    const json = this.jsonMode()
    const fail = (code: number, payload: Record<string, unknown>, text: string) => {
      if (json) process.stdout.write(JSON.stringify(redactDeep({status: 'error', exit_code: code, ...payload}), null, 2) + '\n')
      else process.stderr.write(redact(text) + '\n')
      return this.exit(code)
    }
    if (error instanceof DiagnosticsError) {
      return fail(error.exitCode, {diagnostics: error.diagnostics}, [...error.diagnostics.map(formatDiagnostic), summaryLine(error.diagnostics)].join('\n'))
    }
    if (error instanceof WarehouseError) {
      return fail(EXIT.runFailed, {error: error.message}, `error: ${error.message}`)
    }
    if (error instanceof PartialFailure) {
      return fail(error.exitCode, {error: error.message, result: error.result}, `error: ${error.message}`)
    }
    if (error instanceof ExpectationsFailed) {
      return fail(EXIT.expectations, {error: error.message, result: error.result}, `error: ${error.message}`)
    }
    // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 1.
    const oclif = (error as {oclif?: {exit?: number}}).oclif
    if (oclif?.exit !== undefined && (error as {code?: string}).code === 'EEXIT') throw error
    if (oclif || /flag|argument|Expected/i.test(error.message ?? '')) {
      return fail(EXIT.invalid, {error: error.message}, `error: ${error.message.split('\n')[0]}\nSee more help with --help`)
    }
    const message = error instanceof Error ? error.message : String(error)
    return fail(EXIT.runFailed, {error: message}, `error: ${message}\n(this is a bug in segc if it is not about your warehouse; please report it)`)
  }
}

export function summaryLine(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length
  const warnings = diagnostics.length - errors
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`
}

/** A plain text table with right-aligned numbers. */
export function textTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'))
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

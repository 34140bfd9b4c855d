import {randomBytes} from 'node:crypto'
import {adapterFor} from '../../adapters/index.js'
import {diag, DiagnosticsError, hasErrors, type Diagnostic} from '../diagnostics/diagnostic.js'
import {buildPlan} from '../plan/build-plan.js'
import type {Plan} from '../plan/plan-types.js'
import {runStatements} from '../generate/run-statements.js'
import {parseAsOf} from '../resolve/time.js'
import {validateProject, type Validated} from '../validate/validate-project.js'
import {SEGC_VERSION} from '../version.js'
import {redact} from './redact.js'
import {resolveTarget} from './targets.js'
import {WarehouseError, type Adapter, type TargetConfig, type WarehouseConnection} from './warehouse.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'

export interface RunOptions {
  cwd?: string
  project?: string
  target?: string
  asOf?: string
  select?: string[]
  /** an already open connection (fixture tests and the demo share one in-memory database) */
  connection?: WarehouseConnection
  env?: NodeJS.ProcessEnv
}

export interface SegmentSummary {
  segment: string
  entity: string
  size: number
  holdout_size: number
  entered: number
  exited: number
}

export interface RunResult {
  run_id: string
  as_of: string
  target: string
  status: 'success'
  segments: SegmentSummary[]
  warnings: Diagnostic[]
}

/** Validates, plans and compiles; throws DiagnosticsError (exit 1) on any invalid input. */
export function prepareRun(opts: RunOptions): {v: Validated; target: TargetConfig; adapter: Adapter; plan: Plan; asOf: Date} {
  const v = validateProject({...(opts.cwd ? {cwd: opts.cwd} : {}), ...(opts.project ? {project: opts.project} : {})})
  if (hasErrors(v.diagnostics)) throw new DiagnosticsError(v.diagnostics)
  const target = resolveTarget(v, opts.target, opts.env)
  const adapter = adapterFor(target.type)
  if (!adapter) throw new DiagnosticsError([diag('bad_value', {file: 'segc.yaml', line: 1, col: 1}, `target '${target.name}' has type '${target.type}', which this build of segc cannot run`)])
  const asOf = parseAsOf(opts.asOf)
  if (!asOf) throw new DiagnosticsError([diag('bad_flag', {file: '--as-of', line: 1, col: 1}, `--as-of '${opts.asOf}' is not an ISO timestamp or date, like 2026-06-01T00:00:00Z`)])
  checkSelection(v, opts.select)
  return {v, target, adapter, plan: buildPlan(v.project, asOf, opts.select), asOf}
}

export function checkSelection(v: Validated, select: string[] | undefined): void {
  const unknown = (select ?? []).filter((s) => !v.project.segments.has(s))
  if (unknown.length) {
    throw new DiagnosticsError(
      unknown.map((s) => diag('unknown_selection', {file: '--select', line: 1, col: 1}, `no segment '${s}'${v.project.groups.has(s) ? ' (that is a group; select its segments)' : didYouMean(s, v.project.segments.keys())}`)),
    )
  }
}

function newRunId(asOf: Date): string {
  return `${asOf.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`
}

/** One run: every selected segment at one as_of, in one transaction. */
export async function runProject(opts: RunOptions = {}): Promise<RunResult> {
  const {v, target, adapter, plan, asOf} = prepareRun(opts)
  const runId = newRunId(asOf)
  const segments = plan.entities.flatMap((e) => e.segments.map((s) => s.segment))
  const startedAt = new Date().toISOString()
  const ctx = {runId, asOf: asOf.toISOString(), schema: v.project.outputSchema, target: target.name, version: SEGC_VERSION, startedAt, segments}
  const statements = runStatements(adapter.dialect, plan, ctx)
  const conn = opts.connection ?? (await adapter.connect(target, v.root))
  let inTransaction = false
  try {
    await conn.execute(adapter.begin)
    inTransaction = true
    for (const s of [...statements.setup, ...statements.compute]) await conn.execute(s)
    const sizes = statements.summary ? await conn.query(statements.summary) : []
    for (const s of statements.write) await conn.execute(s)
    await conn.execute(statements.record('success', null))
    await conn.execute(adapter.commit)
    inTransaction = false
    const bySegment = new Map(sizes.map((r) => [String(r.segment), r]))
    return {
      run_id: runId,
      as_of: asOf.toISOString(),
      target: target.name,
      status: 'success',
      segments: segments.map((name) => {
        const r = bySegment.get(name)
        return {
          segment: name,
          entity: v.project.segments.get(name)!.entity,
          size: Number(r?.size ?? 0),
          holdout_size: Number(r?.holdout_size ?? 0),
          entered: Number(r?.entered ?? 0),
          exited: Number(r?.exited ?? 0),
        }
      }),
      warnings: v.diagnostics.filter((d) => d.severity === 'warning'),
    }
  } catch (error) {
    if (inTransaction) await conn.execute(adapter.rollback).catch(() => undefined)
    const message = redact(error instanceof Error ? error.message : String(error))
    // Record the failure in its own small transaction; if even that fails, the tables are as before.
    await conn.execute(runStatements(adapter.dialect, plan, ctx).record('failed', message)).catch(() => undefined)
    if (error instanceof WarehouseError) throw error
    throw new WarehouseError(message)
  } finally {
    if (!opts.connection) await conn.close()
  }
}

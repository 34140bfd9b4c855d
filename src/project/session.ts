// The project session every command stands on: the project loaded and checked, its target
// picked and opened, --as-of read, the stored model versions a plan needs. Below every stage
// that uses a project (run, fit, sync, docs, catalog, lineage, dbt, why, impact, forget), so
// none of them reaches into another's room for it.
import {setTimeout as sleep} from 'node:timers/promises'
import {adapterFor} from '../../adapters/index.js'
import {diag, DiagnosticsError, hasErrors, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {RunStatements} from '../generate/run-statements.js'
import {modelsReached, type PlanOptions, type StoredModel} from '../plan/build-plan.js'
import type {Entity} from '../resolve/model.js'
import {parseAsOf} from '../resolve/time.js'
import {validateProject, type Validated} from '../validate/validate-project.js'
import {ERASURES} from '../warehouse/tables.js'
import {WarehouseError, type Adapter, type TargetConfig, type WarehouseConnection} from '../warehouse/warehouse.js'
import {loadModels} from './models.js'
import {registerSecret} from './redact.js'
import {resolveTarget} from './targets.js'

/** What every command that opens a project takes. */
export interface SessionOptions {
  cwd?: string
  project?: string
  target?: string
  asOf?: string
  select?: string[]
  /** wait for another run holding the target instead of failing at once */
  wait?: boolean
  waitTimeoutSeconds?: number
  /** an already open connection (fixture tests and the demo share one database) */
  connection?: WarehouseConnection
  env?: NodeJS.ProcessEnv
}

export interface Prepared {
  v: Validated
  target: TargetConfig
  adapter: Adapter
}

export const FLAG = (flag: string) => ({file: flag, line: 1, col: 1})

/** Validates the project and picks the target; throws DiagnosticsError (exit 1) on any invalid input. */
export function prepare(opts: SessionOptions): Prepared {
  const v = validateProject({...(opts.cwd ? {cwd: opts.cwd} : {}), ...(opts.project ? {project: opts.project} : {})})
  if (hasErrors(v.diagnostics)) throw new DiagnosticsError(v.diagnostics)
  const target = resolveTarget(v, opts.target, opts.env)
  const adapter = adapterFor(target.type)
  if (!adapter) throw new DiagnosticsError([diag('bad_value', FLAG('segc.yaml'), `target '${target.name}' has type '${target.type}', which this build of segc cannot run`)])
  // BigQuery's dataset is the output schema (SPEC §2)
  if (target.type === 'bigquery' && typeof target.dataset === 'string') v.project.outputSchema = target.dataset
  checkSelection(v, opts.select)
  return {v, target, adapter}
}

export function checkSelection(v: Validated, select: string[] | undefined): void {
  const unknown = (select ?? []).filter((s) => !v.project.segments.has(s))
  if (unknown.length) {
    throw new DiagnosticsError(
      unknown.map((s) => diag('unknown_selection', FLAG('--select'), `no segment '${s}'${v.project.groups.has(s) ? ' (that is a group; select its segments)' : didYouMean(s, v.project.segments.keys())}`)),
    )
  }
}

export function asOfFlag(text: string | undefined, flag = '--as-of'): Date {
  const asOf = parseAsOf(text)
  if (!asOf) throw new DiagnosticsError([diag('bad_flag', FLAG(flag), `${flag} '${text}' is not an ISO timestamp or date, like 2026-06-01T00:00:00Z`)])
  return asOf
}

/** Opens the target; with --wait, retries while another process holds it. */
export async function connectTarget(p: Prepared, opts: SessionOptions): Promise<WarehouseConnection> {
  const deadline = Date.now() + (opts.waitTimeoutSeconds ?? 3600) * 1000
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await p.adapter.connect(p.target, p.v.root)
    } catch (error) {
      if (!(error instanceof WarehouseError && error.locked && opts.wait && Date.now() + delay < deadline)) throw error
      await sleep(delay)
    }
  }
}

/** An in-memory DuckDB for work beside the target (the file destination writes its files with it). */
export async function scratchEngine(root: string): Promise<WarehouseConnection> {
  return adapterFor('duckdb')!.connect({name: 'scratch', type: 'duckdb', path: ':memory:'}, root)
}

/** The plan option that keeps erased keys out (SPEC §15); undefined when nothing was erased or the table is not there yet. */
export async function erasedEntities(conn: WarehouseConnection, st: RunStatements, schema: string): Promise<PlanOptions['erased']> {
  if (!(await conn.tableExists(schema, ERASURES.name))) return undefined
  const entities = new Set((await conn.query(st.erasedEntities())).map((r) => String(r.entity)))
  return entities.size ? {entities, table: [schema, ERASURES.name]} : undefined
}

/** model → version, for the definition hashes */
export const modelVersions = (models: ReadonlyMap<string, StoredModel>) => new Map([...models].map(([k, m]) => [k, m.version]))


/**
 * The stored versions of the fitted models the selection reaches; a model never fitted for
 * its current definition stops the run before anything is written (exit 1).
 */
export async function requireModels(p: Prepared, conn: WarehouseConnection, select?: string[], loaded?: ReadonlyMap<string, StoredModel>): Promise<Map<string, StoredModel>> {
  const needed = modelsReached(p.v.project, select)
  if (!needed.length) return new Map()
  const models = loaded ?? (await loadModels(conn, p.v.project, p.adapter.dialect))
  const missing = needed.filter((n) => !models.has(n))
  if (missing.length) {
    throw new DiagnosticsError(
      missing.map((n) =>
        diag('not_fitted', p.v.project.traits.get(n)!.loc, `model '${n}' has no version fitted for its current definition on target '${p.target.name}': run \`segc fit ${n}${p.target.name === 'local' ? '' : ` --target ${p.target.name}`}\` first`),
      ),
    )
  }
  return new Map(needed.map((n) => [n, models.get(n)!]))
}

/**
 * An entity's identity salt with ${env:NAME} substituted (SPEC §20): a secret, registered so it
 * is redacted from anything printed; a variable that is not set is a positioned error.
 */
export function identitySalt(entity: Entity, env: NodeJS.ProcessEnv = process.env): string {
  const identity = entity.identity!
  const problems: Diagnostic[] = []
  const salt = identity.salt.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
    const found = env[variable]
    if (found === undefined || found === '') {
      problems.push(diag('env_missing', identity.loc, `entity '${entity.name}': identity.salt needs the environment variable ${variable}, which is not set`))
      return ''
    }
    registerSecret(found)
    return found
  })
  if (problems.length) throw new DiagnosticsError(problems)
  return salt
}

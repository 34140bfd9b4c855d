import {diag, sortDiagnostics, type Diagnostic} from '../diagnostics/diagnostic.js'
import {findProjectRoot, loadProject, type LoadedProject} from '../load/load-project.js'
import type {Project} from '../resolve/model.js'
import {resolveProject} from '../resolve/resolve-project.js'
import {resolveSyncs, type SyncDef} from '../resolve/resolve-syncs.js'
import {checkSchemas} from './check-schema.js'
import {readManifest} from '../load/dbt-manifest.js'
import type {DbtState} from '../resolve/dbt.js'
import {Site} from '../resolve/site.js'
import {parseDuration} from '../resolve/time.js'

export interface Validated {
  root: string
  loaded: LoadedProject
  /** the resolved graph: definitions with errors are left out of it */
  project: Project
  config: Record<string, unknown>
  /** syncs/*.yaml, checked against the project and segc.yaml's destinations */
  syncs: Map<string, SyncDef>
  diagnostics: Diagnostic[]
}

/** load → schema → names and types, every problem collected. */
export function validateProject(opts: {cwd?: string; project?: string; today?: Date; tests?: boolean; overlay?: ReadonlyMap<string, string>} = {}): Validated {
  const start = opts.project ?? opts.cwd ?? process.cwd()
  const root = opts.project ?? findProjectRoot(start)
  if (!root) {
    const d = diag('project_not_found', {file: 'segc.yaml', line: 1, col: 1}, `no segc.yaml in ${start} or any parent directory (run 'segc init' to create a project, or pass --project DIR)`)
    return {
      root: start,
      loaded: {root: start, files: [], documents: [], diagnostics: [d]},
      project: {name: '', outputSchema: 'segments', entities: new Map(), events: new Map(), traits: new Map(), segments: new Map(), groups: new Map()},
      config: {},
      syncs: new Map(),
      diagnostics: [d],
    }
  }
  // overlay: absolute path → unsaved text of a file open in an editor (segc lsp)
  const loaded = loadProject(root, {tests: opts.tests ?? false, ...(opts.overlay ? {overlay: opts.overlay} : {})})
  const schema = checkSchemas(loaded.documents)
  const configDoc = loaded.documents.find((d) => d.kind === 'config')
  const configInvalid = configDoc !== undefined && schema.invalid.has(`${configDoc.file.path}#${configDoc.index}`)
  // dbt's manifest, when segc.yaml names one: read before resolve, which looks names up in it
  const manifestPath = (configDoc?.value.dbt as {manifest?: unknown} | undefined)?.manifest
  let dbt: DbtState
  const dbtDiagnostics: Diagnostic[] = []
  if (configDoc && !configInvalid && typeof manifestPath === 'string') {
    const read = readManifest(root, manifestPath, new Site(configDoc.file, configDoc.node).child('dbt').child('manifest').at)
    dbt = read.manifest ?? 'unreadable'
    dbtDiagnostics.push(...read.diagnostics)
  } else if (configInvalid && configDoc?.value.dbt !== undefined) dbt = 'unreadable'
  const resolved = resolveProject(loaded.documents, schema.invalid, opts.today, schema.errorPaths, dbt)
  const synced = resolveSyncs(loaded.documents, resolved.project, configInvalid ? {destinations: null} : (configDoc?.value ?? {}), schema.invalid)
  // retention: durations segc can read (the schema only knows they are strings)
  const retention = (configDoc && !configInvalid ? configDoc.value.retention : undefined) as Record<string, unknown> | undefined
  for (const [key, value] of Object.entries(retention ?? {})) {
    const seconds = parseDuration(String(value))
    if (seconds === undefined || seconds <= 0) dbtDiagnostics.push(diag('bad_duration', new Site(configDoc!.file, configDoc!.node).child('retention').child(key).at, `retention.${key} '${String(value)}' is not a duration: an integer and a unit (s, min, h, d, w), like 400d`))
  }
  // incremental: a duration segc can read; 0 promises that no event lands late
  const incremental = (configDoc && !configInvalid ? configDoc.value.incremental : undefined) as Record<string, unknown> | undefined
  if (incremental?.late_arrival !== undefined) {
    const seconds = parseDuration(String(incremental.late_arrival))
    if (seconds === undefined) dbtDiagnostics.push(diag('bad_duration', new Site(configDoc!.file, configDoc!.node).child('incremental').child('late_arrival').at, `incremental.late_arrival '${String(incremental.late_arrival)}' is not a duration: an integer and a unit (s, min, h, d, w), like 2d`))
  }
  const diagnostics = [...loaded.diagnostics, ...schema.diagnostics, ...dbtDiagnostics, ...resolved.diagnostics, ...synced.diagnostics]
  if (!configDoc && !loaded.diagnostics.some((d) => d.file === 'segc.yaml')) {
    diagnostics.push(diag('missing_key', {file: 'segc.yaml', line: 1, col: 1}, 'segc.yaml is empty: it needs at least a name'))
  }
  if (loaded.documents.every((d) => d.kind !== 'segment') && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push(diag('no_segments', {file: 'segc.yaml', line: 1, col: 1}, 'the project defines no segment (add one under segments/)'))
  }
  return {root, loaded, project: resolved.project, config: configDoc?.value ?? {}, syncs: synced.syncs, diagnostics: sortDiagnostics(diagnostics)}
}

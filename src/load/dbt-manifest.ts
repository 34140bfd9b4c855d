// dbt's target/manifest.json, read for the `dbt:` and `dbt_source:` relations of models (SPEC §16).
// Only what segc needs is kept: each model, seed, snapshot and source with its relation parts
// and declared columns. Reading is the load stage's; looking names up is resolve's (resolve/dbt.ts).
import {readFileSync} from 'node:fs'
import {isAbsolute, join} from 'node:path'
import type {Position} from '../diagnostics/diagnostic.js'
import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'

/** The manifest schema segc reads: dbt 1.8 and later write v12 (https://schemas.getdbt.com/dbt/manifest/v12.json). */
export const MANIFEST_SCHEMA = 'https://schemas.getdbt.com/dbt/manifest/v12.json'

export interface DbtNode {
  unique_id: string
  resource_type: 'model' | 'seed' | 'snapshot' | 'source'
  name: string
  package_name: string
  database: string | null
  schema: string
  /** alias for models, seeds and snapshots; identifier for sources */
  identifier: string
  /** for sources: the source's name (SOURCE in SOURCE.TABLE) */
  source_name?: string
  /** NULL for ephemeral models, which have no relation in the warehouse */
  relation_name: string | null
  materialized?: string
  /** declared column names, as written in the dbt project's YAML */
  columns: string[]
  description: string
}

export interface DbtManifest {
  /** as written in segc.yaml, for messages */
  path: string
  projectName: string | null
  adapterType: string | null
  nodes: DbtNode[]
}

type Raw = Record<string, unknown>

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)

function node(raw: Raw): DbtNode | undefined {
  const type = raw.resource_type
  if (type !== 'model' && type !== 'seed' && type !== 'snapshot' && type !== 'source') return undefined
  const columns = raw.columns && typeof raw.columns === 'object' ? Object.values(raw.columns as Record<string, Raw>).map((c) => String(c.name)) : []
  const config = (raw.config ?? {}) as Raw
  return {
    unique_id: String(raw.unique_id),
    resource_type: type,
    name: String(raw.name),
    package_name: String(raw.package_name),
    database: str(raw.database),
    schema: String(raw.schema),
    identifier: String((type === 'source' ? raw.identifier : raw.alias) ?? raw.name),
    ...(type === 'source' ? {source_name: String(raw.source_name)} : {}),
    relation_name: str(raw.relation_name),
    ...(typeof config.materialized === 'string' ? {materialized: config.materialized} : {}),
    columns,
    description: str(raw.description) ?? '',
  }
}

/**
 * Reads the manifest named by `dbt.manifest` (relative to the project root). A missing or
 * unreadable file, one that is not JSON, or a manifest of another schema version is one
 * diagnostic at that key, naming what was found.
 */
export function readManifest(root: string, manifestPath: string, at: Position): {manifest?: DbtManifest; diagnostics: Diagnostic[]} {
  const full = isAbsolute(manifestPath) ? manifestPath : join(root, manifestPath)
  const fail = (message: string) => ({diagnostics: [diag('dbt_manifest', at, message)]})
  let text: string
  try {
    text = readFileSync(full, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return fail(code === 'ENOENT' ? `dbt manifest '${manifestPath}' does not exist (run 'dbt parse' or 'dbt compile' in the dbt project to write target/manifest.json)` : `cannot read dbt manifest '${manifestPath}': ${(error as Error).message}`)
  }
  let raw: Raw
  try {
    raw = JSON.parse(text) as Raw
  } catch (error) {
    return fail(`dbt manifest '${manifestPath}' is not JSON: ${(error as Error).message}`)
  }
  const metadata = (raw && typeof raw === 'object' ? raw.metadata : undefined) as Raw | undefined
  const version = str(metadata?.dbt_schema_version)
  if (version !== MANIFEST_SCHEMA) {
    const found = version ? `schema ${version.replace(/^.*\/(v\d+)\.json$/, '$1')} (${version}${str(metadata?.dbt_version) ? `, written by dbt ${str(metadata?.dbt_version)}` : ''})` : 'no dbt_schema_version in its metadata'
    return fail(`dbt manifest '${manifestPath}' has ${found}; segc reads manifest v12, written by dbt 1.8 and later: run 'dbt parse' with dbt 1.8 or later`)
  }
  const nodes = [...Object.values((raw.nodes ?? {}) as Record<string, Raw>), ...Object.values((raw.sources ?? {}) as Record<string, Raw>)].flatMap((n) => {
    const x = n && typeof n === 'object' ? node(n) : undefined
    return x ? [x] : []
  })
  return {manifest: {path: manifestPath, projectName: str(metadata?.project_name), adapterType: str(metadata?.adapter_type), nodes}, diagnostics: []}
}

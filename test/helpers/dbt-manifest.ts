import {existsSync, readFileSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {fileURLToPath} from 'node:url'
import Ajv2020 from 'ajv/dist/2020.js'

// dbt manifests as a real dbt project writes them (`dbt parse`, manifest v12), for tests of
// `dbt:` and `dbt_source:`. Each is checked against dbt's published schema (../shared/specs/dbt).

export const MANIFEST_SCHEMA_FILE = fileURLToPath(new URL('../../../shared/specs/dbt/manifest-v12.schema.json', import.meta.url))
export const DBT_SCHEMA_PRESENT = existsSync(MANIFEST_SCHEMA_FILE)

export type Flavour = 'duckdb' | 'snowflake' | 'bigquery'

interface NodeSpec {
  kind: 'model' | 'seed' | 'snapshot'
  name: string
  /** the relation's identifier (the node's alias) when it differs from its name */
  alias?: string
  schema?: string
  materialized?: string
  columns?: Array<[string, string]>
  description?: string
}

interface SourceSpec {
  source: string
  name: string
  identifier?: string
  schema: string
  columns?: Array<[string, string]>
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex')

/** how each adapter's relation_name quotes: DuckDB and Snowflake "…", BigQuery `…` */
function relationName(flavour: Flavour, database: string, schema: string, identifier: string): string {
  const q = flavour === 'bigquery' ? (s: string) => `\`${s}\`` : (s: string) => `"${s}"`
  return [database, schema, identifier].map(q).join('.')
}

function columns(spec: Array<[string, string]> | undefined): Record<string, unknown> {
  return Object.fromEntries((spec ?? []).map(([name, type]) => [name, {name, description: '', meta: {}, data_type: type, constraints: [], quote: null, tags: [], granularity: null}]))
}

/** A manifest of the project `shop` for one adapter: models, seeds, snapshots and sources. */
export function manifest(flavour: Flavour, spec: {database: string; schema: string; nodes: NodeSpec[]; sources?: SourceSpec[]; version?: string}): Record<string, unknown> {
  const pkg = 'shop'
  const nodes: Record<string, unknown> = {}
  for (const n of spec.nodes) {
    const folder = n.kind === 'seed' ? 'seeds' : n.kind === 'snapshot' ? 'snapshots' : 'models'
    const file = `${n.name}.${n.kind === 'seed' ? 'csv' : 'sql'}`
    const schema = n.schema ?? spec.schema
    const alias = n.alias ?? n.name
    const materialized = n.materialized ?? (n.kind === 'seed' ? 'seed' : n.kind === 'snapshot' ? 'snapshot' : 'view')
    const uid = `${n.kind}.${pkg}.${n.name}`
    const raw = n.kind === 'seed' ? '' : `select * from {{ ref('x') }}`
    nodes[uid] = {
      database: spec.database,
      schema,
      name: n.name,
      resource_type: n.kind,
      package_name: pkg,
      path: file,
      original_file_path: `${folder}/${file}`,
      unique_id: uid,
      fqn: [pkg, n.name],
      alias,
      checksum: {name: 'sha256', checksum: hash(uid)},
      config: {enabled: true, alias: null, schema: null, database: null, tags: [], meta: {}, materialized, persist_docs: {}, quoting: {}, column_types: {}, full_refresh: null, unique_key: null, on_schema_change: 'ignore', grants: {}, packages: [], docs: {show: true, node_color: null}, contract: {enforced: false, alias_types: true}, ...(n.kind === 'snapshot' ? {strategy: 'timestamp', unique_key: 'id', updated_at: 'updated_at', target_schema: schema} : {})},
      tags: [],
      description: n.description ?? '',
      columns: columns(n.columns),
      meta: {},
      docs: {show: true, node_color: null},
      patch_path: n.columns ? `${pkg}://models/schema.yml` : null,
      build_path: null,
      unrendered_config: n.kind === 'snapshot' ? {strategy: 'timestamp', unique_key: 'id', updated_at: 'updated_at', target_schema: schema} : {materialized},
      created_at: 1764720000.0,
      relation_name: materialized === 'ephemeral' ? null : relationName(flavour, spec.database, schema, alias),
      raw_code: raw,
      ...(n.kind === 'seed' ? {root_path: '/srv/shop'} : {language: 'sql', refs: [], sources: [], metrics: [], depends_on: {macros: [], nodes: []}, compiled_path: null}),
    }
  }
  const sources: Record<string, unknown> = {}
  for (const s of spec.sources ?? []) {
    const uid = `source.${pkg}.${s.source}.${s.name}`
    const identifier = s.identifier ?? s.name
    sources[uid] = {
      database: spec.database,
      schema: s.schema,
      name: s.name,
      resource_type: 'source',
      package_name: pkg,
      path: 'models/sources.yml',
      original_file_path: 'models/sources.yml',
      unique_id: uid,
      fqn: [pkg, s.source, s.name],
      source_name: s.source,
      source_description: '',
      loader: 'fivetran',
      identifier,
      quoting: {database: null, schema: null, identifier: null, column: null},
      loaded_at_field: null,
      freshness: {warn_after: {count: null, period: null}, error_after: {count: null, period: null}, filter: null},
      external: null,
      description: '',
      columns: columns(s.columns),
      meta: {},
      source_meta: {},
      tags: [],
      config: {enabled: true},
      patch_path: null,
      unrendered_config: {},
      relation_name: relationName(flavour, spec.database, s.schema, identifier),
      created_at: 1764720000.0,
    }
  }
  return {
    metadata: {
      dbt_schema_version: spec.version ?? 'https://schemas.getdbt.com/dbt/manifest/v12.json',
      dbt_version: '1.8.7',
      generated_at: '2026-12-03T09:00:00.000000Z',
      invocation_id: '6f1c1b53-7d4b-4a0e-9a53-1c1f0e4f2a10',
      env: {},
      project_name: pkg,
      project_id: hash(pkg).slice(0, 32),
      user_id: null,
      send_anonymous_usage_stats: false,
      adapter_type: flavour,
    },
    nodes,
    sources,
    macros: {},
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: {},
    child_map: {},
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  }
}

let validator: ((data: unknown) => boolean) & {errors?: unknown} | undefined

/** dbt's published manifest schema, compiled once (ajv, draft 2020-12) */
export function validateManifest(m: unknown): unknown[] {
  if (!validator) {
    const ajv = new Ajv2020({strict: false, allErrors: true, validateFormats: false})
    validator = ajv.compile(JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, 'utf8')))
  }
  return validator(m) ? [] : ((validator.errors as unknown[]) ?? [])
}

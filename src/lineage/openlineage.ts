// OpenLineage run events (SPEC §16): `segc run`, `segc sync` and `segc fit` say what they read and
// wrote to an OpenLineage endpoint (Marquez, DataHub, OpenMetadata, an orchestrator's backend).
// Lineage is a by-product: a failing, slow or unreachable endpoint costs one warning and never
// the command's exit code.
import {randomUUID} from 'node:crypto'
import {isAbsolute, resolve} from 'node:path'
import type {Plan} from '../plan/plan-types.js'
import type {Relation} from '../resolve/model.js'
import {profileColumns, profileEntities, profileTable} from '../resolve/resolve-profile.js'
import {redact, redactDeep, registerSecret} from '../project/redact.js'
import type {Prepared} from '../project/session.js'
import {SEGC_VERSION} from '../version.js'
import type {TargetConfig} from '../warehouse/warehouse.js'
import {identitiesTable} from '../warehouse/tables.js'

const PRODUCER = `https://github.com/segc/segc/tree/v${SEGC_VERSION}`
const SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent'
const FACET = {
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  schema: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  outputStatistics: 'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
} as const

export interface LineageConfig {
  url: string
  namespace: string
  apiKey?: string
  timeoutMs: number
}

export interface Dataset {
  namespace: string
  name: string
  /** the columns read (inputs), or written where they follow from the definitions (profiles) */
  fields?: Array<{name: string; type?: string}>
  /** rows written by this command (outputs), where segc knows the number exactly */
  rowCount?: number
}

const ENV = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

/** lineage.openlineage from segc.yaml with ${env:...} substituted, or why it cannot be used (a warning). */
export function lineageConfig(p: Prepared, env: NodeJS.ProcessEnv = process.env): {config?: LineageConfig; warning?: string} {
  const raw = ((p.v.config.lineage as Record<string, unknown> | undefined)?.openlineage ?? undefined) as Record<string, unknown> | undefined
  if (!raw) return {}
  const missing: string[] = []
  const sub = (v: unknown) =>
    typeof v !== 'string'
      ? undefined
      : v.replace(ENV, (_, name: string) => {
          const found = env[name]
          if (found === undefined || found === '') missing.push(name)
          else registerSecret(found)
          return found ?? ''
        })
  const url = sub(raw.url)
  const apiKey = sub(raw.api_key)
  if (missing.length) return {warning: `lineage: not sent, the environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set`}
  return {config: {url: url!.replace(/\/+$/, ''), namespace: sub(raw.namespace) || p.v.project.name || 'segc', ...(apiKey ? {apiKey} : {}), timeoutMs: Math.round(Number(raw.timeout_seconds ?? 5) * 1000)}}
}

/**
 * The parent run an orchestrator set, in the form OpenLineage's integrations pass it on
 * (Airflow's `lineage_parent_id` macro, dbt-ol): OPENLINEAGE_PARENT_ID = namespace/job/runId, and
 * OPENLINEAGE_ROOT_PARENT_ID likewise for the root of the tree.
 */
function parentFacet(env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const parse = (v: string | undefined) => {
    const m = v ? /^(.+)\/(.+)\/([0-9a-fA-F-]{36})$/.exec(v.trim()) : null
    return m ? {namespace: m[1]!, name: m[2]!, runId: m[3]!.toLowerCase()} : undefined
  }
  const parent = parse(env.OPENLINEAGE_PARENT_ID)
  if (!parent) return undefined
  const root = parse(env.OPENLINEAGE_ROOT_PARENT_ID)
  return {
    _producer: PRODUCER,
    _schemaURL: FACET.parent,
    run: {runId: parent.runId},
    job: {namespace: parent.namespace, name: parent.name},
    ...(root ? {root: {run: {runId: root.runId}, job: {namespace: root.namespace, name: root.name}}} : {}),
  }
}

/** OpenLineage's dataset naming for the target: namespace per warehouse, name database.schema.table. */
export function warehouseNamespace(target: TargetConfig, root: string): string {
  if (target.type === 'snowflake') return `snowflake://${String(target.account).toLowerCase()}`
  if (target.type === 'bigquery') return 'bigquery'
  const path = String(target.path ?? '')
  return `duckdb://${path === ':memory:' || !path ? ':memory:' : isAbsolute(path) ? path : resolve(root, path)}`
}

/** What names a relation's dataset: the path, with the target's database where the path has none. */
function datasetName(target: TargetConfig, path: readonly string[]): string {
  if (path.length >= 3) return path.join('.')
  const database = target.type === 'bigquery' ? target.project : target.type === 'snowflake' ? target.database : undefined
  return [...(database !== undefined ? [String(database)] : []), ...(path.length === 1 ? [target.type === 'duckdb' ? 'main' : ''] : []), ...path].filter(Boolean).join('.')
}

/** segc's own table as a dataset */
export function outputDataset(p: Prepared, table: string, rowCount?: number): Dataset {
  return {namespace: warehouseNamespace(p.target, p.v.root), name: datasetName(p.target, [p.v.project.outputSchema, table]), ...(rowCount !== undefined ? {rowCount} : {})}
}

/**
 * The profile tables a run writes (SPEC §19), each with its columns as the definitions give
 * them: a BI tool's lineage then shows where each column comes from.
 */
export function profileDatasets(p: Prepared): Dataset[] {
  return profileEntities(p.v.project).map((e) => ({
    ...outputDataset(p, profileTable(e)),
    fields: profileColumns(p.v.project, e).map((c) => ({name: c.name, type: c.type === 'exact' ? 'decimal' : c.type})),
  }))
}

/** The identity maps a run writes (SPEC §20), one per entity with identity, with their columns. */
export function identityDatasets(p: Prepared): Dataset[] {
  return [...p.v.project.entities.values()]
    .filter((e) => e.identity)
    .map((e) => {
      const def = identitiesTable(e.name)
      return {...outputDataset(p, def.name), fields: def.columns.map((c) => ({name: c.name, type: c.type}))}
    })
}

/** The relations identity's edges read (SPEC §20): a run reads them besides the plan's relations. */
export function identityInputs(p: Prepared): Relation[] {
  return [...p.v.project.entities.values()].flatMap((e) => (e.identity?.edges ?? []).filter((x) => !x.event).map((x) => x.relation))
}

/**
 * The relations a plan reads, each with the columns its entities and events declare (every
 * table-relation anywhere in the plan: entities, event sources, sequences, models, measures).
 * A `sql:` relation is a query, not a dataset: it is left out.
 */
export function inputDatasets(p: Prepared, plan: Plan | undefined, extra: readonly Relation[] = []): Dataset[] {
  const paths = new Map<string, string[]>()
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk)
    else if (x && typeof x === 'object') {
      const r = (x as {relation?: Relation}).relation
      if (r && r.kind === 'table') paths.set(r.path.join('.'), r.path)
      Object.values(x).forEach(walk)
    }
  }
  walk(plan)
  for (const r of extra) if (r.kind === 'table') paths.set(r.path.join('.'), r.path)
  const fields = new Map<string, Map<string, string>>()
  const add = (relation: Relation, name: string, type: string) => {
    if (relation.kind !== 'table') return
    const key = relation.path.join('.')
    if (!fields.has(key)) fields.set(key, new Map())
    fields.get(key)!.set(name, type)
  }
  for (const e of p.v.project.entities.values()) {
    add(e.relation, e.key, 'string')
    for (const a of e.attributes.values()) add(e.relation, a.column, a.type)
  }
  for (const e of p.v.project.entities.values()) {
    for (const edge of e.identity?.edges ?? []) {
      for (const {column} of edge.ids) add(edge.relation, column, 'string')
      if (edge.timestamp) add(edge.relation, edge.timestamp, 'timestamp')
    }
  }
  for (const ev of p.v.project.events.values()) {
    for (const {column} of ev.ids ?? [{column: ev.key}]) add(ev.relation, column, 'string')
    add(ev.relation, ev.timestamp, 'timestamp')
    for (const a of ev.properties.values()) add(ev.relation, a.column, a.type)
  }
  const ns = warehouseNamespace(p.target, p.v.root)
  return [...paths.entries()].map(([key, path]) => ({namespace: ns, name: datasetName(p.target, path), fields: [...(fields.get(key) ?? new Map()).entries()].map(([name, type]) => ({name, type}))}))
}

export interface Emitter {
  /** false when segc.yaml names no lineage endpoint: nothing is sent, so nothing needs computing */
  readonly enabled: boolean
  /** warnings to print once the command is done (at most one) */
  readonly warnings: string[]
  start(inputs: Dataset[], outputs?: Dataset[]): Promise<void>
  complete(inputs: Dataset[], outputs: Dataset[]): Promise<void>
  fail(error: unknown, inputs: Dataset[]): Promise<void>
}

type Fetch = typeof fetch

/** An emitter that does nothing: lineage is not configured. */
const NONE: Emitter = {enabled: false, warnings: [], start: async () => undefined, complete: async () => undefined, fail: async () => undefined}

/**
 * The run events of one command run (START, then COMPLETE or FAIL, sharing a runId) for job
 * `segc.<command>`. Each event is POSTed with a timeout and two retries; once one cannot be
 * delivered the rest are not tried, and one warning says why.
 */
export function emitter(p: Prepared, command: 'run' | 'sync' | 'fit', opts: {env?: NodeJS.ProcessEnv; fetch?: Fetch; quiet?: boolean; off?: boolean} = {}): Emitter {
  if (opts.off) return NONE
  const env = opts.env ?? process.env
  const {config, warning} = lineageConfig(p, env)
  if (!config) {
    if (warning && opts.quiet !== true) process.stderr.write(`warning: ${warning}\n`)
    return warning ? {...NONE, warnings: [warning]} : NONE
  }
  const runId = randomUUID()
  const parent = parentFacet(env)
  const send = opts.fetch ?? fetch
  const warnings: string[] = []
  let broken = false
  const job = {
    namespace: config.namespace,
    name: `segc.${command}`,
    facets: {jobType: {_producer: PRODUCER, _schemaURL: FACET.jobType, processingType: 'BATCH', integration: 'SEGC', jobType: 'JOB'}},
  }
  const event = (eventType: 'START' | 'COMPLETE' | 'FAIL', inputs: Dataset[], outputs: Dataset[], error?: string) => ({
    eventType,
    eventTime: new Date().toISOString(),
    producer: PRODUCER,
    schemaURL: SCHEMA_URL,
    run: {runId, facets: {...(parent ? {parent} : {}), ...(error !== undefined ? {errorMessage: {_producer: PRODUCER, _schemaURL: FACET.errorMessage, message: error, programmingLanguage: 'TypeScript'}} : {})}},
    job,
    inputs: inputs.map((d) => ({namespace: d.namespace, name: d.name, ...(d.fields ? {facets: {schema: {_producer: PRODUCER, _schemaURL: FACET.schema, fields: d.fields}}} : {})})),
    outputs: outputs.map((d) => ({
      namespace: d.namespace,
      name: d.name,
      ...(d.fields ? {facets: {schema: {_producer: PRODUCER, _schemaURL: FACET.schema, fields: d.fields}}} : {}),
      ...(d.rowCount !== undefined ? {outputFacets: {outputStatistics: {_producer: PRODUCER, _schemaURL: FACET.outputStatistics, rowCount: d.rowCount}}} : {}),
    })),
  })
  const post = async (body: unknown) => {
    if (broken) return
    // secrets (an api_key, values from ${env:...}) never leave in an event
    const text = JSON.stringify(redactDeep(body))
    let last = ''
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await send(`${config.url}/api/v1/lineage`, {
          method: 'POST',
          headers: {'content-type': 'application/json', ...(config.apiKey ? {authorization: `Bearer ${config.apiKey}`} : {})},
          body: text,
          signal: AbortSignal.timeout(config.timeoutMs),
        })
        await r.arrayBuffer().catch(() => undefined)
        if (r.ok) return
        last = `HTTP ${r.status}`
        // a request the endpoint refuses will not be accepted by sending it again
        if (r.status < 500 && r.status !== 408 && r.status !== 429) break
      } catch (error) {
        const e = error as Error
        last = e.name === 'TimeoutError' ? `no answer within ${config.timeoutMs / 1000} s` : (e.cause as Error | undefined)?.message ?? e.message
      }
      if (attempt < 2) await new Promise((r) => setTimeout(r, 200 * 2 ** attempt))
    }
    broken = true
    const w = redact(`lineage: could not send the ${(body as {eventType: string}).eventType} event of segc.${command} to ${config.url}/api/v1/lineage (${last}); the ${command} itself is unaffected`)
    warnings.push(w)
    // printed at once: a failing command would not get to print it later
    if (opts.quiet !== true) process.stderr.write(`warning: ${w}\n`)
  }
  return {
    enabled: true,
    warnings,
    start: (inputs, outputs = []) => post(event('START', inputs, outputs)),
    complete: (inputs, outputs) => post(event('COMPLETE', inputs, outputs)),
    fail: (error, inputs) => post(event('FAIL', inputs, [], redact(error instanceof Error ? error.message : String(error)))),
  }
}

/**
 * A sync's destination as an output dataset, named as OpenLineage names the kind where it can:
 * PostgreSQL postgres://host:port with database.schema.table, a file by its path, a SaaS
 * destination by its kind and the destination's name in segc.yaml.
 */
export function destinationDataset(kind: string, name: string, syncName: string, config: Record<string, unknown>, rowCount: number): Dataset {
  if (kind === 'postgres') {
    try {
      const u = new URL(String(config.url))
      return {namespace: `postgres://${u.hostname}:${u.port || '5432'}`, name: `${decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres'}.${String(config.schema ?? 'public')}.${String(config.table ?? syncName)}`, rowCount}
    } catch {
      // an unparsable URL is reported by the sync itself
    }
  }
  if (kind === 'file') return {namespace: 'file', name: String(config.path), rowCount}
  return {namespace: kind, name, rowCount}
}

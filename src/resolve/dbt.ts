// `dbt: MODEL` and `dbt_source: SOURCE.TABLE` in models (SPEC §16): names looked up in the dbt
// manifest, resolved to the relation dbt builds (database, schema, alias or identifier), and the
// columns segc reads checked against the columns the dbt project declares for that node.
import {diag, type Diagnostic, type Position} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import type {DbtManifest, DbtNode} from '../load/dbt-manifest.js'
import type {DbtOrigin, Relation} from './model.js'
import type {Site} from './site.js'

/** The manifest as resolve sees it: read, configured but unreadable (already reported), or not configured. */
export type DbtState = DbtManifest | 'unreadable' | undefined

const BUILT = new Set(['model', 'seed', 'snapshot'])

/** The relation of a `dbt:` or `dbt_source:` key, or a diagnostic pushed to `out`. */
export function dbtRelation(state: DbtState, key: 'dbt' | 'dbt_source', name: string, site: Site, what: string, out: Diagnostic[]): {relation: Relation; dbt: DbtOrigin} | undefined {
  const at = site.child(key).at
  if (state === 'unreadable') return undefined
  if (state === undefined) {
    out.push(diag('dbt_unknown', site.child(key).keyAt, `${what} names a dbt ${key === 'dbt' ? 'model' : 'source'}, but segc.yaml has no dbt: {manifest: …} to find it in`))
    return undefined
  }
  let found: DbtNode[]
  if (key === 'dbt') {
    const built = state.nodes.filter((n) => BUILT.has(n.resource_type))
    found = built.filter((n) => n.name === name)
    // a package may ship a model of the same name: the root project's wins
    if (found.length > 1) found = found.filter((n) => n.package_name === state.projectName)
    if (found.length === 0) {
      out.push(diag('dbt_unknown', at, `no dbt model, seed or snapshot '${name}' in ${state.path}${didYouMean(name, built.map((n) => n.name))}`))
      return undefined
    }
  } else {
    const dot = name.indexOf('.')
    const sources = state.nodes.filter((n) => n.resource_type === 'source')
    if (dot <= 0 || dot === name.length - 1) {
      out.push(diag('dbt_unknown', at, `dbt_source takes SOURCE.TABLE (the source's name, a dot, the table's name), not '${name}'`))
      return undefined
    }
    const [source, table] = [name.slice(0, dot), name.slice(dot + 1)]
    found = sources.filter((n) => n.source_name === source && n.name === table)
    if (found.length === 0) {
      out.push(diag('dbt_unknown', at, `no dbt source '${name}' in ${state.path}${didYouMean(name, sources.map((n) => `${n.source_name}.${n.name}`))}`))
      return undefined
    }
  }
  if (found.length > 1) {
    out.push(diag('dbt_unknown', at, `'${name}' names ${found.length} dbt nodes (${found.map((n) => n.unique_id).join(', ')}); none is in the root project '${state.projectName ?? '?'}'`))
    return undefined
  }
  const n = found[0]!
  if (n.resource_type !== 'source' && (n.materialized === 'ephemeral' || n.relation_name === null)) {
    out.push(diag('dbt_ephemeral', at, `dbt model '${name}' (${n.unique_id}) is ephemeral: dbt inlines it into other models and builds no relation segc could read; materialize it as a view or table, or name the model that selects from it`))
    return undefined
  }
  return {relation: {kind: 'table', path: [...(n.database ? [n.database] : []), n.schema, n.identifier]}, dbt: {unique_id: n.unique_id, columns: n.columns, at}}
}

/**
 * The columns segc reads from a dbt relation, against the columns its node declares: an error for
 * each one the node does not list (compared case-insensitively, as warehouses fold names), a
 * warning when the node declares none.
 */
export function checkDbtColumns(origin: DbtOrigin | undefined, reads: ReadonlyArray<{column: string; at: Position}>, out: Diagnostic[]): void {
  if (!origin) return
  const {unique_id, columns, at} = origin
  if (columns.length === 0) {
    out.push(diag('dbt_columns_undeclared', at, `${unique_id} declares no columns in the dbt project, so the ${reads.length} columns segc reads from it cannot be checked; add them to its YAML (columns:)`))
    return
  }
  const declared = new Set(columns.map((c) => c.toLowerCase()))
  const seen = new Set<string>()
  for (const r of reads) {
    const c = r.column.toLowerCase()
    if (declared.has(c) || seen.has(c)) continue
    seen.add(c)
    out.push(diag('dbt_column', r.at, `column '${r.column}' is not among the columns dbt declares for ${unique_id} (${columns.join(', ')})${didYouMean(r.column, columns)}`))
  }
}

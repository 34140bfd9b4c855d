// `segc why KEY` (SPEC §14): why one entity is, or is not, in each segment — the rule as a tree with
// each condition's outcome and the values it compared, exclude, consent, the group's earlier
// stages and the holdout draw. One read-only query; `member` is what a run at that as_of writes.
import {readOnlyProject, type IdentityMapUsed} from '../identity/read-only.js'
import {sql} from 'kysely'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {Explainer} from '../explain/explain.js'
import {explainPropensity, propensityModelsOf, type PropensityWhy} from './propensity-why.js'
import {compilerFor, featureQuery, render} from '../generate/generate-sql.js'
import {EraseStatements, keyHash} from '../generate/erase-sql.js'
import {RunStatements} from '../generate/run-statements.js'
import {explainPlan, onlyKey, type ExplainNode} from '../plan/build-plan.js'
import {loadModels} from '../project/models.js'
import {definitionHashes} from '../resolve/definition-hash.js'
import {DEFINITIONS, ERASURES, MEMBERSHIP} from '../warehouse/tables.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {asOfFlag, identitySalt, modelVersions, prepare, requireModels, type SessionOptions} from '../project/session.js'

export type Outcome = 'true' | 'false' | 'unknown'

export interface WhyNode {
  kind: string
  text: string
  outcome: Outcome
  /** the value compared: a trait's or attribute's value, an event aggregate (count in the window, days since, ...) */
  value?: unknown
  items?: WhyNode[]
}

export interface WhySegment {
  segment: string
  member: boolean
  holdout: boolean
  rule: WhyNode
  exclude?: WhyNode
  consent?: WhyNode[]
  /** in a group: the earlier stage that took the entity, if one did */
  taken_by?: string
  /** a static segment the target keeps frozen: `member` is the stored membership, the rule is evaluated now */
  frozen?: boolean
}

export interface Why {
  entity: string
  key: string
  as_of: string
  target: string
  /** the key was erased (segc forget): no segment admits it, whatever its rules say */
  erased?: {request_id: string; requested_at: string}
  segments: WhySegment[]
  /** the propensity scores the segments read: the probability and each feature's share of the log-odds */
  propensity?: PropensityWhy[]
  /** per entity with identity (SPEC §20): the stored map of the last run, or one labelled for this as_of */
  identity_map?: Record<string, IdentityMapUsed>
}

const FLAG = (flag: string) => ({file: flag, line: 1, col: 1})

const plainIso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString()

const plainValue = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v)

export async function explainEntity(opts: SessionOptions & {key: string; entity?: string; segments?: string[]}): Promise<Why> {
  const p = prepare(opts)
  const project = p.v.project
  // the entity: named, implied by the segments named, or the only one segments use
  const named = (opts.segments ?? []).map((s) => {
    const seg = project.segments.get(s)
    if (!seg) throw new DiagnosticsError([diag('unknown_selection', FLAG('--segment'), `no segment '${s}'${didYouMean(s, project.segments.keys())}`)])
    return seg
  })
  const used = [...new Set([...project.segments.values()].map((s) => s.entity))]
  const entity = opts.entity ?? named[0]?.entity ?? (used.length === 1 ? used[0] : undefined)
  if (!entity) throw new DiagnosticsError([diag('bad_flag', FLAG('--entity'), `segments are defined for ${used.join(', ')}: pass --entity to say which one '${opts.key}' is`)])
  if (!project.entities.has(entity)) throw new DiagnosticsError([diag('unknown_entity', FLAG('--entity'), `no entity '${entity}'${didYouMean(entity, project.entities.keys())}`)])
  const other = named.filter((s) => s.entity !== entity)
  if (other.length) throw new DiagnosticsError(other.map((s) => diag('entity_mismatch', FLAG('--segment'), `segment '${s.name}' is a segment of ${s.entity}, not ${entity}`)))
  const segments = named.length ? named : [...project.segments.values()].filter((s) => s.entity === entity)

  const conn = opts.connection ?? (await p.adapter.connect(p.target, p.v.root, {readOnly: true}))
  try {
    const schema = project.outputSchema
    const st = new RunStatements(p.adapter.dialect, schema)
    const {ran, asOf} = await readAsOf(conn, st, schema, opts.asOf)
    // static segments a run keeps frozen are read back from membership, as a run reads them
    const recorded = ran ? new Map((await conn.query(st.definitions())).filter((r) => r.removed_run_id === null).map((r) => [String(r.segment), String(r.definition_hash)])) : new Map<string, string>()
    const stored = await loadModels(conn, p.v.project, p.adapter.dialect)
    const hashes = definitionHashes(project, modelVersions(stored))
    const frozen = new Set([...project.segments.values()].filter((s) => s.refresh === 'static' && recorded.get(s.name) === hashes.get(s.name)).map((s) => s.name))
    const models = await requireModels(p, conn, segments.map((s) => s.name), stored)
    // events with ids read through the last run's identity map where it fits this as_of, else one labelled now (SPEC §20)
    const identity = await readOnlyProject(conn, p.adapter.dialect, project, asOf, (x) => identitySalt(x))
    const e = explainPlan(identity.project, entity, asOf, segments, {models, frozen: {segments: frozen, table: [schema, MEMBERSHIP.name]}})
    const db = compilerFor(p.adapter.dialect)
    // one key's rows only, unless an NTILE ranks it against everyone (then every entity is evaluated)
    const q = featureQuery(db, p.adapter.dialect, e.asOf, onlyKey(e.plan, opts.key), e.values)
    const [row] = await conn.query(render(db, sql`SELECT * FROM ${q} AS w WHERE CAST(w.segc_key AS ${sql.raw(p.adapter.dialect.stringType)}) = ${sql.lit(opts.key)}`))
    if (!row) {
      const where = project.entities.get(entity)!.relation
      throw new DiagnosticsError([diag('bad_flag', FLAG('KEY'), `no ${entity} with key '${opts.key}' in ${where.kind === 'table' ? where.path.join('.') : `the ${entity} query`}`)])
    }
    const lower = Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]))
    const at = (i: number) => plainValue(lower[`f${i}`])
    const truth = (i: number) => at(i) === true
    const explainer = new Explainer(project)
    const tree = (n: ExplainNode): WhyNode => {
      const value = n.value >= 0 ? at(n.value) : undefined
      const outcome: Outcome = n.value >= 0 && value === null && n.kind !== 'consent' ? 'unknown' : truth(n.outcome) ? 'true' : 'false'
      const c = n.condition
      const text =
        n.kind === 'all' ? 'all of' : n.kind === 'any' ? 'any of' : n.kind === 'not' ? 'not' : c ? explainer.clause(c, 1) : n.kind === 'consent' ? `consented: ${n.name}` : `in ${n.name}`
      return {kind: n.kind, text, outcome, ...(n.value >= 0 ? {value} : {}), ...(n.items.length ? {items: n.items.map(tree)} : {})}
    }
    const erasure = (await conn.tableExists(schema, ERASURES.name)) ? (await conn.query(new EraseStatements(p.adapter.dialect, schema).erasedKey(entity, keyHash(entity, opts.key))))[0] : undefined
    const propensity = await explainPropensity(conn, p, entity, opts.key, asOf, propensityModelsOf(project, segments), {models})
    const erased = erasure ? {request_id: String(erasure.request_id), requested_at: plainIso(erasure.requested_at)} : undefined
    return {
      entity,
      key: opts.key,
      ...(erased ? {erased} : {}),
      as_of: asOf.toISOString(),
      target: p.target.name,
      segments: e.segments.map((s) => {
        const taken = s.earlier.find((x) => truth(x.outcome))
        return {
          segment: s.segment,
          member: !erased && truth(s.member),
          holdout: !erased && s.holdout >= 0 && truth(s.holdout),
          rule: tree(s.rule),
          ...(s.exclude ? {exclude: tree(s.exclude)} : {}),
          ...(s.consent.length ? {consent: s.consent.map(tree)} : {}),
          ...(taken ? {taken_by: taken.name!} : {}),
          ...(frozen.has(s.segment) ? {frozen: true} : {}),
        }
      }),
      ...(propensity.length ? {propensity} : {}),
      ...(Object.keys(identity.maps).length ? {identity_map: identity.maps} : {}),
    }
  } finally {
    if (!opts.connection) await conn.close()
  }
}

/** `--as-of`, else the last successful run's as_of, else now; and whether any run wrote the output tables. */
export async function readAsOf(conn: WarehouseConnection, st: RunStatements, schema: string, flag: string | undefined): Promise<{ran: boolean; asOf: Date}> {
  const ran = await conn.tableExists(schema, DEFINITIONS.name)
  const lastRaw = ran ? (await conn.query(st.lastSuccessfulAsOf()))[0]?.as_of : undefined
  return {ran, asOf: flag ? asOfFlag(flag) : lastRaw !== null && lastRaw !== undefined ? new Date(String(lastRaw)) : asOfFlag(undefined)}
}

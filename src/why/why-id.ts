// `segc why --id KIND:VALUE` (SPEC §20): where one identifier landed and why — its status, its
// profile, and one shortest path to its key as hops with the edge relation of each, or for an
// ambiguous one its nearest keys. Read-only: the labelling runs into temporary tables at the
// as_of asked (default the last run's), so the answer is the rule applied, not a stored guess.
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {RunStatements} from '../generate/run-statements.js'
import {labelWith} from '../identity/label.js'
import {readAsOf} from './why.js'
import {FLAG, identitySalt, prepare, type SessionOptions} from '../project/session.js'
import {KEY_KIND} from '../resolve/model.js'
import {normalizeIdentifier} from '../resolve/resolve-project.js'
import {sql} from 'kysely'
import {ERASED_IDENTIFIERS} from '../warehouse/tables.js'
import {WarehouseError} from '../warehouse/warehouse.js'

export interface IdRef {
  kind: string
  value: string
}

export interface WhyId {
  entity: string
  as_of: string
  target: string
  /** the identifier as asked, its value normalized as its kind says */
  id: IdRef
  /** none: not an identifier (empty or excluded after normalizing, or in no edge row and no entity row) */
  status: 'key' | 'stitched' | 'anonymous' | 'ambiguous' | 'erased' | 'none'
  /** the profile's key (an entity key or an anon_ key); NULL when ambiguous, erased or none */
  profile: string | null
  /** edges to the nearest key; NULL for anonymous, erased and none */
  distance: number | null
  /** stitched: one shortest path from the identifier to its key, hop by hop */
  path?: Array<{from: IdRef; to: IdRef; relation: string}>
  /** ambiguous: the keys at the nearest distance (an erased profile shows as `erased`) */
  nearest_keys?: string[]
  /** why status none */
  reason?: string
}

const ref = (node: string): IdRef => {
  const i = node.indexOf(':')
  return {kind: node.slice(0, i), value: node.slice(i + 1)}
}

export async function explainIdentifier(opts: SessionOptions & {id: string; entity?: string}): Promise<WhyId> {
  const p = prepare(opts)
  const project = p.v.project
  const stitched = [...project.entities.values()].filter((e) => e.identity)
  const name = opts.entity ?? (stitched.length === 1 ? stitched[0]!.name : undefined)
  if (!name) throw new DiagnosticsError([diag('bad_flag', FLAG('--entity'), stitched.length ? `entities ${stitched.map((e) => e.name).join(', ')} declare identity: pass --entity to say which one` : 'no entity declares identity (SPEC §20): --id needs one')])
  const entity = project.entities.get(name)
  if (!entity) throw new DiagnosticsError([diag('unknown_entity', FLAG('--entity'), `no entity '${name}'${didYouMean(name, project.entities.keys())}`)])
  if (!entity.identity) throw new DiagnosticsError([diag('bad_flag', FLAG('--entity'), `entity '${name}' declares no identity: --id needs one`)])
  const colon = opts.id.indexOf(':')
  const kinds = [KEY_KIND, ...entity.identity.kinds.map((k) => k.name)]
  const kind = colon > 0 ? opts.id.slice(0, colon) : ''
  // the message names the kind only: identifier values never appear in errors
  if (!kinds.includes(kind)) throw new DiagnosticsError([diag('unknown_identifier', FLAG('--id'), `--id takes KIND:VALUE with KIND one of ${kinds.join(', ')}${kind ? `; no kind '${kind}'${didYouMean(kind, kinds)}` : ''}`)])
  const spec = entity.identity.kinds.find((k) => k.name === kind)
  const value = spec ? normalizeIdentifier(opts.id.slice(colon + 1), spec.normalize) : opts.id.slice(colon + 1)
  const id = {kind, value}

  const conn = opts.connection ?? (await p.adapter.connect(p.target, p.v.root, {readOnly: true}))
  try {
    const schema = project.outputSchema
    const st = new RunStatements(p.adapter.dialect, schema)
    const {asOf} = await readAsOf(conn, st, schema, opts.asOf)
    const base = {entity: name, as_of: asOf.toISOString(), target: p.target.name, id}
    if (value === '' || (spec?.exclude ?? []).includes(value)) return {...base, status: 'none', profile: null, distance: null, reason: value === '' ? 'empty after normalizing' : `excluded (identity.ids.${kind}.exclude)`}
    const erased = (await conn.tableExists(schema, ERASED_IDENTIFIERS.name)) ? {erased: sql`(SELECT kind, value_hash FROM ${sql.id(schema, ERASED_IDENTIFIERS.name)} WHERE entity = ${sql.lit(name)})`} : {}
    try {
      const {q} = await labelWith(conn, p.adapter.dialect, schema, {project, entity, asOf, salt: identitySalt(entity), ...erased})
      const [row] = await conn.query(q.lookup(kind, value))
      if (!row) return {...base, status: 'none', profile: null, distance: null, reason: `in no row of an edge relation${kind === KEY_KIND ? ' and no row of the entity table' : ''} at this as_of`}
      const status = String(row.status) as WhyId['status']
      const distance = row.distance === null || row.distance === undefined ? null : Number(row.distance)
      const out: WhyId = {...base, status, profile: status === 'erased' || row.entity_key === null ? null : String(row.entity_key), distance: status === 'erased' ? null : distance}
      if ((status !== 'stitched' && status !== 'ambiguous') || distance === null) return out
      // a breadth-first search from the identifier up to its distance: the seeds found there are its nearest keys
      const start = `${kind}:${value}`
      await conn.execute(q.searchStart(start))
      for (let d = 1; d <= distance; d++) await conn.execute(q.searchLevel(d))
      const found = await conn.query(q.searchFound(distance))
      if (status === 'ambiguous') {
        out.nearest_keys = [...new Set(found.map((f) => (String(f.k) === 'e' ? 'erased' : ref(String(f.n)).value)))]
        return out
      }
      const key = found.find((f) => String(f.k) === `k${out.profile}`) ?? found[0]!
      const nodes: string[] = [String(key.n)]
      while (nodes[0] !== start) nodes.unshift(String((await conn.query(q.searchParent(nodes[0]!)))[0]!.p))
      out.path = []
      for (let i = 0; i + 1 < nodes.length; i++) {
        const [a, b] = [ref(nodes[i]!), ref(nodes[i + 1]!)]
        const holding = q.edgeHolding([a.kind, a.value], [b.kind, b.value])
        const at = holding === undefined ? null : (await conn.query(holding))[0]?.i
        out.path.push({from: a, to: b, relation: at === null || at === undefined ? '?' : entity.identity.edges[Number(at)]!.name})
      }
      return out
    } catch (error) {
      // the failing statement holds the identifier: report the error without it
      if (error instanceof WarehouseError) throw new WarehouseError(error.message.split('\n')[0]!.replace(value, '***'))
      throw error
    }
  } finally {
    if (!opts.connection) await conn.close()
  }
}

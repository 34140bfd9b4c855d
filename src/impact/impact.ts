// `segc plan --impact` (SPEC §14): what a definition change does to people, before it is merged.
import {readOnlyProject, storedMapFit, type IdentityMapUsed} from '../identity/read-only.js'
import {RunStatements} from '../generate/run-statements.js'
import {impactQuery} from '../generate/impact-sql.js'
import {buildPlan, segmentRefs} from '../plan/build-plan.js'
import {definitionHashes} from '../resolve/definition-hash.js'
import type {Project} from '../resolve/model.js'
import {loadModels} from '../project/models.js'
import {DEFINITIONS, MEMBERSHIP} from '../warehouse/tables.js'
import {asOfFlag, erasedEntities, identitySalt, modelVersions, prepare, requireModels, type SessionOptions} from '../project/session.js'

export interface SegmentImpact {
  segment: string
  /** added, changed, removed (its definition), or affected (it reads one of those, or shares a group with one) */
  status: 'added' | 'changed' | 'removed' | 'affected'
  size_before: number
  size_after: number
  entering: number
  exiting: number
}

export interface Impact {
  as_of: string
  target: string
  /** the as_of of the target's last successful run; null when it has never run */
  last_run_as_of: string | null
  segments: SegmentImpact[]
  groups: Array<{group: string; from: string | null; to: string | null; count: number}>
  /** what a reader should know about the numbers */
  notes: string[]
  /** per entity with identity (SPEC §20): the stored map of the last run, or one labelled for this as_of and definition */
  identity_map?: Record<string, IdentityMapUsed>
}

/** The segments whose membership a run of the working tree could change: the changed ones, what reads them, their groups. */
export function affectedSegments(project: Project, changed: ReadonlySet<string>): Set<string> {
  const affected = new Set([...changed].filter((s) => project.segments.has(s)))
  for (let grew = true; grew; ) {
    grew = false
    for (const s of project.segments.values()) {
      if (affected.has(s.name)) {
        // a group resolves whole: every stage of a touched group can gain or lose people
        if (s.group) for (const g of project.groups.get(s.group.name)!.segments) if (!affected.has(g)) (affected.add(g), (grew = true))
        continue
      }
      const refs = [...segmentRefs(s.rule), ...(s.exclude ? segmentRefs(s.exclude) : [])]
      if (refs.some((r) => affected.has(r))) {
        affected.add(s.name)
        grew = true
      }
    }
  }
  return affected
}

export async function planImpact(opts: SessionOptions): Promise<Impact> {
  const p = prepare(opts)
  const conn = opts.connection ?? (await p.adapter.connect(p.target, p.v.root, {readOnly: true}))
  try {
    const schema = p.v.project.outputSchema
    const st = new RunStatements(p.adapter.dialect, schema)
    const ran = await conn.tableExists(schema, DEFINITIONS.name)
    const recorded = ran ? (await conn.query(st.definitions())).filter((r) => r.removed_run_id === null) : []
    const lastRaw = ran ? (await conn.query(st.lastSuccessfulAsOf()))[0]?.as_of : undefined
    const last = lastRaw === null || lastRaw === undefined ? null : new Date(String(lastRaw)).toISOString()
    const asOf = opts.asOf ? asOfFlag(opts.asOf) : last ? new Date(last) : asOfFlag(undefined)
    const models = await loadModels(conn, p.v.project, p.adapter.dialect)
    const hashes = definitionHashes(p.v.project, modelVersions(models))
    const before = new Map(recorded.map((r) => [String(r.segment), String(r.definition_hash)]))
    const status = new Map<string, SegmentImpact['status']>()
    for (const [name, hash] of hashes) {
      const prev = before.get(name)
      if (prev === undefined) status.set(name, 'added')
      else if (prev !== hash) status.set(name, 'changed')
    }
    for (const name of before.keys()) if (!hashes.has(name)) status.set(name, 'removed')
    // an edited identity: (SPEC §20) changes no segment's hash but can move every segment of its entity
    const fits = await storedMapFit(conn, p.adapter.dialect, p.v.project, asOf, (x) => identitySalt(x))
    const restitched = new Set([...fits].filter(([, f]) => f === 'definition').map(([e]) => e))
    const affected = affectedSegments(p.v.project, new Set([...status.keys(), ...[...p.v.project.segments.values()].filter((s) => restitched.has(s.entity)).map((s) => s.name)]))
    for (const s of affected) if (!status.has(s)) status.set(s, 'affected')
    const removed = [...status].filter(([, v]) => v === 'removed').map(([k]) => k)
    const evaluated = [...affected]
    const notes: string[] = []
    if (!last) notes.push(`target '${p.target.name}' has never run: it holds no membership, so every member of every segment enters`)
    else if (asOf.toISOString() !== last) notes.push(`the target's membership is from its last run at ${last}, the working tree is evaluated at ${asOf.toISOString()}: entering and exiting mix the definition change with the data's movement between them`)
    else notes.push(`evaluated at the last run's as_of (${last}); events loaded since that run count too, so segments the change does not touch can still move a little`)
    if (restitched.size) notes.push(`identity: of ${[...restitched].join(', ')} changed since the last run: every segment of ${restitched.size === 1 ? 'that entity' : 'those entities'} is evaluated through a map labelled now`)
    const out: Impact = {as_of: asOf.toISOString(), target: p.target.name, last_run_as_of: last, segments: [], groups: [], notes}
    if (!evaluated.length && !removed.length) return out
    // static segments whose definition did not change keep their frozen members, as in a run
    const frozen = new Set([...p.v.project.segments.values()].filter((s) => s.refresh === 'static' && before.get(s.name) === hashes.get(s.name)).map((s) => s.name))
    const erased = await erasedEntities(conn, new RunStatements(p.adapter.dialect, schema), schema)
    // events with ids read through the last run's identity map where it fits, else one labelled now (SPEC §20)
    const identity = await readOnlyProject(conn, p.adapter.dialect, p.v.project, asOf, (x) => identitySalt(x), fits)
    out.identity_map = identity.maps
    if (!Object.keys(identity.maps).length) delete out.identity_map
    const labelled = Object.entries(identity.maps).filter(([, m]) => m === 'labelled').map(([e]) => e)
    const fresh = labelled.filter((e) => !restitched.has(e))
    if (fresh.length) notes.push(`the identity map of ${fresh.join(', ')} was labelled afresh at ${asOf.toISOString()}: the last run's map does not fit (another as_of, an erasure since, or no map yet)`)
    const plan = buildPlan(identity.project, asOf, evaluated, {models: await requireModels(p, conn, evaluated, models), frozen: {segments: frozen, table: [schema, MEMBERSHIP.name]}, erased})
    const groups = [...p.v.project.groups.values()].filter((g) => g.segments.some((s) => affected.has(s))).flatMap((g) => g.segments.map((segment) => ({group: g.name, segment})))
    const hasMembership = ran && (await conn.tableExists(schema, MEMBERSHIP.name))
    const rows = await conn.query(impactQuery(p.adapter.dialect, plan, schema, {segments: [...evaluated, ...removed], groups}, hasMembership))
    const bySegment = new Map(rows.filter((r) => r.kind === 'segment').map((r) => [String(r.a), r]))
    const order = (s: SegmentImpact) => s.entering + s.exiting
    out.segments = [...evaluated, ...removed]
      .map((segment) => {
        const r = bySegment.get(segment)
        return {segment, status: status.get(segment)!, size_before: Number(r?.size_before ?? 0), size_after: Number(r?.size_after ?? 0), entering: Number(r?.entering ?? 0), exiting: Number(r?.exiting ?? 0)}
      })
      .sort((a, b) => order(b) - order(a) || a.segment.localeCompare(b.segment))
    out.groups = rows
      .filter((r) => r.kind === 'group')
      .map((r) => ({group: String(r.a), from: r.b === null ? null : String(r.b), to: r.c === null ? null : String(r.c), count: Number(r.size_after)}))
      .sort((a, b) => b.count - a.count || a.group.localeCompare(b.group) || String(a.from).localeCompare(String(b.from)) || String(a.to).localeCompare(String(b.to)))
    return out
  } finally {
    if (!opts.connection) await conn.close()
  }
}


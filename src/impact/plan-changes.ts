import {membershipSelect, RunStatements} from '../generate/run-statements.js'
import {buildPlan, modelsReached, placeholderModels} from '../plan/build-plan.js'
import {loadModels} from '../project/models.js'
import {definitionHashes} from '../resolve/definition-hash.js'
import {DEFINITIONS} from '../warehouse/tables.js'
import {modelVersions, prepare, type SessionOptions} from '../project/session.js'

export interface PlanChanges {
  target: string
  added: string[]
  changed: string[]
  removed: string[]
  unchanged: string[]
  /** where the warehouse can say without running it (BigQuery dry run): bytes the membership query would read */
  estimated_bytes_processed?: number
}

/** `segc plan`: the project's segments against the definitions the target recorded. Writes nothing. */
export async function planChanges(opts: SessionOptions): Promise<PlanChanges> {
  const p = prepare(opts)
  const conn = opts.connection ?? (await p.adapter.connect(p.target, p.v.root, {readOnly: true}))
  try {
    const schema = p.v.project.outputSchema
    const recorded = (await conn.tableExists(schema, DEFINITIONS.name))
      ? (await conn.query(new RunStatements(p.adapter.dialect, schema).definitions())).filter((r) => r.removed_run_id === null)
      : []
    const before = new Map(recorded.map((r) => [String(r.segment), String(r.definition_hash)]))
    // the latest fitted versions: a refit shows here as the segments it would move
    const models = await loadModels(conn, p.v.project, p.adapter.dialect)
    const hashes = definitionHashes(p.v.project, modelVersions(models))
    const out: PlanChanges = {target: p.target.name, added: [], changed: [], removed: [], unchanged: []}
    for (const [name, hash] of hashes) {
      const prev = before.get(name)
      ;(prev === undefined ? out.added : prev === hash ? out.unchanged : out.changed).push(name)
    }
    out.removed = [...before.keys()].filter((n) => !hashes.has(n))
    for (const list of [out.added, out.changed, out.removed, out.unchanged]) list.sort()
    if (conn.estimateBytes) {
      // the scan of the sources is what a run pays for; segc's own tables are small beside it
      // the bytes a scan reads do not depend on the fitted parameters: stand-ins do until a fit
      const params = modelsReached(p.v.project).every((m) => models.has(m)) ? models : placeholderModels(p.v.project)
      const membership = membershipSelect(p.adapter.dialect, buildPlan(p.v.project, new Date(), undefined, {models: params}))
      if (membership) out.estimated_bytes_processed = await conn.estimateBytes(membership)
    }
    return out
  } finally {
    if (!opts.connection) await conn.close()
  }
}

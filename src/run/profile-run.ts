// Profiles (SPEC §19), the run's side: materialize each entity's last layer once (the diff
// reads it too), compute the profile rows, decide whether the table's columns changed, and
// write it in the run's transaction.
import {commentedProfileColumns} from '../catalog/profile-columns.js'
import {layerTable, profileTable, ProfileStatements, type ProfileTableColumn, type ProfileWrite, type RecordedColumn} from '../generate/profile-sql.js'
import type {Plan} from '../plan/plan-types.js'
import type {Project} from '../resolve/model.js'
import {profileEntities} from '../resolve/resolve-profile.js'
import type {Dialect} from '../warehouse/dialect.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'

export interface ProfileRun {
  /** entities whose last layer is materialized: the diff reads them */
  layers: Set<string>
  writes: ProfileWrite[]
  /**
   * rows or columns the writes change: a same-as_of run that moves nobody still writes them
   * (compared only for such a run: any other writes anyway)
   */
  moved: boolean
}

/** The last layers, materialized before the diff reads them. */
export async function materializeLayers(conn: WarehouseConnection, dialect: Dialect, schema: string, project: Project, plan: Plan): Promise<Set<string>> {
  const ps = new ProfileStatements(dialect, schema)
  const wanted = new Set(profileEntities(project))
  const layers = new Set<string>()
  for (const e of plan.entities) {
    if (!wanted.has(e.entity)) continue
    await conn.execute(ps.layer(plan, e))
    layers.add(e.entity)
  }
  return layers
}

const same = (a: RecordedColumn, b: ProfileTableColumn) => a.column_name === b.name && a.kind === b.kind && a.value_type === b.type && a.comment === b.comment

/**
 * What each profile write will be, its fresh rows computed into scratch tables. `whole`: the
 * run plans every segment and the profile traits; a --select run writes only its segments'
 * flags and leaves every other column as it was. `retry`: the run has the last run's as_of, so
 * whether a profile row changes decides whether it writes at all; any other run writes anyway,
 * and `moved` is not worth the comparison of every row it costs (BENCHMARKS.md, Profiles).
 */
export async function planProfiles(conn: WarehouseConnection, dialect: Dialect, schema: string, project: Project, plan: Plan, layers: ReadonlySet<string>, whole: boolean, retry = true): Promise<ProfileRun> {
  const ps = new ProfileStatements(dialect, schema)
  const writes: ProfileWrite[] = []
  let moved = false
  for (const e of plan.entities) {
    if (!layers.has(e.entity)) continue
    const columns = commentedProfileColumns(project, e.entity)
    const planned = new Set(e.segments.map((s) => s.segment))
    const written = columns.filter((c) => {
      if (c.kind === 'key' || c.kind === 'run') return false
      if (whole) return true
      if (c.kind === 'in' || c.kind === 'holdout') return planned.has(c.segment)
      if (c.kind === 'stage') return c.segments.every((s) => planned.has(s))
      return false
    })
    const exists = await conn.tableExists(schema, profileTable(e.entity))
    const recorded = exists ? ((await conn.query(ps.recorded(e.entity))) as unknown as RecordedColumn[]) : []
    const rebuild = !exists || recorded.length !== columns.length || recorded.some((r, i) => !same(r, columns[i]!))
    // a column keeps its values across a rebuild when its name, kind and type stay
    const carried = columns.filter((c) => c.kind !== 'key' && c.kind !== 'run' && recorded.some((r) => r.column_name === c.name && r.kind === c.kind && r.value_type === c.type)).map((c) => c.name)
    if (rebuild && e.touched) throw new Error(`internal: the profile of ${e.entity} changed columns in a run that evaluated touched keys only`)
    const w: ProfileWrite = {entity: e.entity, columns, written, rebuild, carried, exists, ...(e.touched ? {touched: e.touched} : {})}
    await conn.execute(ps.fresh(e, w))
    if (rebuild) moved = true
    else if (retry && !moved) {
      const r = (await conn.query(ps.changes(w)))[0]!
      if (Number(r.gone) + Number(r.changed) > 0) moved = true
    }
    writes.push(w)
  }
  return {layers: new Set(layers), writes, moved}
}

export function profileStatements(dialect: Dialect, schema: string, run: ProfileRun, runId: string): string[] {
  const ps = new ProfileStatements(dialect, schema)
  return run.writes.flatMap((w) => ps.write(w, runId))
}

export {layerTable}

/**
 * The profile statements of a first run on an empty target (segc compile): each last layer
 * materialized, the fresh rows, then each table created and filled. `layers` go before the
 * diff (which reads them), `fresh` after it, `write` after the membership is written.
 */
export function compileProfiles(dialect: Dialect, schema: string, project: Project, plan: Plan, whole: boolean): {layers: Set<string>; materialize: string[]; fresh: string[]; write: string[]} {
  const ps = new ProfileStatements(dialect, schema)
  const wanted = new Set(profileEntities(project))
  const out = {layers: new Set<string>(), materialize: [] as string[], fresh: [] as string[], write: [] as string[]}
  for (const e of plan.entities) {
    if (!wanted.has(e.entity)) continue
    out.layers.add(e.entity)
    out.materialize.push(ps.layer(plan, e))
    const columns = commentedProfileColumns(project, e.entity)
    const planned = new Set(e.segments.map((s) => s.segment))
    const written = columns.filter((c) => c.kind !== 'key' && c.kind !== 'run' && (whole || ((c.kind === 'in' || c.kind === 'holdout') && planned.has(c.segment))))
    const w: ProfileWrite = {entity: e.entity, columns, written, rebuild: true, carried: [], exists: false}
    out.fresh.push(ps.fresh(e, w))
    out.write.push(...ps.write(w, '{{run_id}}'))
  }
  return out
}

// `segc stats --identity` (SPEC §20): what the last run's identity map holds, per entity with
// identity — identifiers by kind and status, profiles known and anonymous, the events with ids
// no profile got, and the largest profiles. Counts only, read from the stored map; the one
// identifier-shaped thing it prints is a profile's key.
import {sql} from 'kysely'
import {ExprWriter} from '../generate/expr-writer.js'
import {compilerFor, render} from '../generate/generate-sql.js'
import {eventWhere} from '../plan/build-plan.js'
import type {Project} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import {identitiesTable} from '../warehouse/tables.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {attributedEventSql, identityEntities, mapSource, storedMap} from './attribute.js'

export interface IdentityStats {
  entity: string
  /** false before a run has written this entity's map (then every count is 0) */
  mapped: boolean
  /** identifiers by kind and status */
  nodes: Array<{kind: string; status: string; identifiers: number}>
  profiles: {known: number; anonymous: number}
  /** per event with ids: rows at or before the as_of that count for no entity (no identifier belongs to a profile; under anonymous: false, an anonymous profile's too; an erased profile's) */
  unattributed_events: Array<{event: string; rows: number}>
  /** the profiles with the most identifiers, most first (at most `top`) */
  largest: Array<{profile: string; status: string; identifiers: number}>
}

export async function identityStats(conn: WarehouseConnection, dialect: Dialect, project: Project, asOf: Date, top = 10): Promise<IdentityStats[]> {
  const db = compilerFor(dialect)
  const q = (s: ReturnType<typeof sql>) => conn.query(render(db, s))
  const out: IdentityStats[] = []
  for (const entity of identityEntities(project)) {
    const table = identitiesTable(entity.name).name
    const mapped = await conn.tableExists(project.outputSchema, table)
    const map = storedMap(dialect, entity, project.outputSchema, mapped)
    const nodes = (await q(sql`SELECT kind, status, COUNT(*) AS n FROM ${map} AS m GROUP BY kind, status ORDER BY kind, status`)).map((r) => ({kind: String(r.kind), status: String(r.status), identifiers: Number(r.n)}))
    const [p] = await q(sql`SELECT COUNT(DISTINCT CASE WHEN status IN ('key', 'stitched') THEN entity_key END) AS known, COUNT(DISTINCT CASE WHEN status = 'anonymous' THEN entity_key END) AS anon FROM ${map} AS m`)
    const largest = (
      await q(sql`SELECT entity_key, MAX(CASE WHEN status = 'anonymous' THEN 'anonymous' ELSE 'known' END) AS status, COUNT(*) AS n FROM ${map} AS m WHERE entity_key IS NOT NULL GROUP BY entity_key ORDER BY n DESC, entity_key LIMIT ${sql.lit(top)}`)
    ).map((r) => ({profile: String(r.entity_key), status: String(r.status), identifiers: Number(r.n)}))
    const unattributed: IdentityStats['unattributed_events'] = []
    for (const ev of project.events.values()) {
      if (ev.entity !== entity.name || !ev.ids) continue
      const w = new ExprWriter(dialect, asOf.toISOString())
      const rows = sql`(${attributedEventSql(dialect, entity, ev, mapSource(entity, map))})`
      const [c] = await q(
        sql`SELECT COUNT(*) AS n FROM ${rows} AS ev WHERE ${sql.id('ev', ev.key)} IS NULL AND ${sql.id('ev', ev.timestamp)} <= ${dialect.timestamp(asOf.toISOString())} AND ${w.writeCondition(eventWhere(project, ev.name, asOf))}`,
      )
      unattributed.push({event: ev.name, rows: Number(c?.n ?? 0)})
    }
    out.push({entity: entity.name, mapped, nodes, profiles: {known: Number(p?.known ?? 0), anonymous: Number(p?.anon ?? 0)}, unattributed_events: unattributed, largest})
  }
  return out
}

// The identity maps read-only commands attribute through (SPEC §20): `why` and `plan --impact`
// read the last successful run's map where it fits the question — the run was at the same
// as_of and labelled from the same identity definition — and otherwise label afresh into
// temporary tables, as a run at that as_of would, so the answer never depends on when the
// target last ran. `compile --membership` opens no target and always reads the stored map.
import {sql} from 'kysely'
import {compilerFor, render} from '../generate/generate-sql.js'
import {RunStatements} from '../generate/run-statements.js'
import {identityHash} from '../resolve/definition-hash.js'
import type {Entity, Project} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import {ERASED_IDENTIFIERS, ERASURES, identitiesTable, RUNS} from '../warehouse/tables.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {attributedProject, identityEntities, labelledAttribution, storedAttribution, type AttributionSource} from './attribute.js'
import {labelIdentities} from './label.js'

/** Which map an entity's events were attributed through: the target's stored one, or one labelled for this command. */
export type IdentityMapUsed = 'stored' | 'labelled'

export interface ReadOnlyIdentity {
  /** the project to plan: events with ids and entities with identity over the chosen maps */
  project: Project
  /** per entity with identity */
  maps: Record<string, IdentityMapUsed>
}

/** Why an entity's stored map does not fit (`unrecorded`: its run, by an earlier segc, recorded no hash), or `fits`. */
export type MapFit = 'fits' | 'no_map' | 'unrecorded' | 'as_of' | 'definition' | 'erased'

/**
 * Per entity with identity, whether the stored map fits a question at `asOf`: the last
 * committed run was at that as_of, recorded the same identityHash, and no segc forget came
 * after it. `salt` substitutes an
 * entity's salt (the session's identitySalt; this room does not read the environment).
 */
export async function storedMapFit(conn: WarehouseConnection, dialect: Dialect, project: Project, asOf: Date, salt: (entity: Entity) => string): Promise<Map<string, MapFit>> {
  const out = new Map<string, MapFit>()
  const entities = identityEntities(project)
  if (!entities.length) return out
  const schema = project.outputSchema
  const last = (await conn.tableExists(schema, RUNS.name)) ? (await conn.query(new RunStatements(dialect, schema).lastMapRun()))[0] : undefined
  const lower = Object.fromEntries(Object.entries(last ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  const at = (v: unknown) => (v === null || v === undefined ? undefined : new Date(String(v)).getTime())
  const lastAsOf = at(lower.as_of)
  const finished = at(lower.finished_at)
  const recorded = typeof lower.identity_hashes === 'string' ? (JSON.parse(lower.identity_hashes) as Record<string, string>) : {}
  // segc forget deletes an erased profile's rows from the stored map, where they no longer stop
  // attribution as they do in a run: after a forget the stored map does not fit either
  const erasures = await conn.tableExists(schema, ERASURES.name)
  const erasedSince = async (entity: string): Promise<boolean> => {
    if (!erasures || finished === undefined) return false
    const t = (await conn.query(render(compilerFor(dialect), sql`SELECT MAX(requested_at) AS t FROM ${sql.id(schema, ERASURES.name)} WHERE entity = ${sql.lit(entity)}`)))[0]?.t
    return (at(t) ?? -Infinity) >= finished
  }
  for (const entity of entities) {
    const fit: MapFit =
      lastAsOf === undefined || !(await conn.tableExists(schema, identitiesTable(entity.name).name))
        ? 'no_map'
        : recorded[entity.name] === undefined
          ? 'unrecorded'
          : recorded[entity.name] !== identityHash(entity, salt(entity))
          ? 'definition'
          : lastAsOf !== asOf.getTime()
            ? 'as_of'
            : (await erasedSince(entity.name))
              ? 'erased'
              : 'fits'
    out.set(entity.name, fit)
  }
  return out
}

/** The project as `why` and `plan --impact` plan it at `asOf`: each entity over its stored map where it fits, else over one labelled now. */
export async function readOnlyProject(conn: WarehouseConnection, dialect: Dialect, project: Project, asOf: Date, salt: (entity: Entity) => string, fits?: Map<string, MapFit>): Promise<ReadOnlyIdentity> {
  const fit = fits ?? (await storedMapFit(conn, dialect, project, asOf, salt))
  if (!fit.size) return {project, maps: {}}
  const schema = project.outputSchema
  const erasedIds = await conn.tableExists(schema, ERASED_IDENTIFIERS.name)
  const sources = new Map<string, AttributionSource>()
  const maps: Record<string, IdentityMapUsed> = {}
  for (const entity of identityEntities(project)) {
    if (fit.get(entity.name) === 'fits') {
      sources.set(entity.name, storedAttribution(dialect, entity, schema))
      maps[entity.name] = 'stored'
      continue
    }
    // erased profiles claim their identifiers in the fresh labelling too, as in a run and `why --id`
    const erased = erasedIds ? {erased: sql`(SELECT kind, value_hash FROM ${sql.id(schema, ERASED_IDENTIFIERS.name)} WHERE entity = ${sql.lit(entity.name)})`} : {}
    const outcome = await labelIdentities(conn, dialect, schema, {project, entity, asOf, salt: salt(entity), ...erased})
    sources.set(entity.name, labelledAttribution(dialect, outcome))
    maps[entity.name] = 'labelled'
  }
  return {project: attributedProject(project, dialect, sources), maps}
}

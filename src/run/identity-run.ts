// A run's identity (SPEC §20): each entity with identity labelled before the run's transaction
// opens (the working tables are DDL, which commits on Snowflake), the profiles of the previous
// map that merged found, and the project the plan reads rebuilt over the attributed relations.
import {diag, NO_POSITION, type Diagnostic} from '../diagnostics/diagnostic.js'
import {attributedProject, identityEntities, labelledAttribution, type AttributionSource} from '../identity/attribute.js'
import {identitiesTable, labelIdentities, type LabelOutcome} from '../identity/label.js'
import {identitySalt} from '../project/session.js'
import {identityHash} from '../resolve/definition-hash.js'
import type {Project} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {sql} from 'kysely'

export interface IdentityRun {
  outcomes: LabelOutcome[]
  /** the project for planning: events with ids and entities with identity over attributed relations */
  project: Project
  warnings: Diagnostic[]
  /** per entity, identityHash of what its map is labelled from: the run records it (segment_runs.identity_hashes) */
  hashes: Record<string, string>
}

export async function labelForRun(conn: WarehouseConnection, dialect: Dialect, schema: string, project: Project, asOf: Date, opts: {erased?: string} = {}): Promise<IdentityRun> {
  const outcomes: LabelOutcome[] = []
  const warnings: Diagnostic[] = []
  const sources = new Map<string, AttributionSource>()
  const hashes: Record<string, string> = {}
  for (const entity of identityEntities(project)) {
    const stored = identitiesTable(entity.name).name
    const previous = (await conn.tableExists(schema, stored)) ? {previousMap: sql.id(schema, stored)} : {}
    const erased = opts.erased ? {erased: sql`(SELECT kind, value_hash FROM ${sql.id(schema, opts.erased)} WHERE entity = ${sql.lit(entity.name)})`} : {}
    const salt = identitySalt(entity)
    const outcome = await labelIdentities(conn, dialect, schema, {project, entity, asOf, salt, ...previous, ...erased})
    outcomes.push(outcome)
    hashes[entity.name] = identityHash(entity, salt)
    sources.set(entity.name, labelledAttribution(dialect, outcome))
    const max = entity.identity!.maxIdsPerProfile
    if (outcome.oversized && max !== undefined) {
      // counts only: identifier values never appear in a message
      warnings.push(diag('identity_too_large', NO_POSITION, `entity '${entity.name}': ${outcome.oversized.profiles} profile${outcome.oversized.profiles === 1 ? '' : 's'} hold more than max_ids_per_profile (${max}) identifiers, the largest ${outcome.oversized.largest}; a shared or placeholder identifier may be chaining people together (segc stats --identity lists the largest profiles)`))
    }
  }
  return {outcomes, project: attributedProject(project, dialect, sources), warnings, hashes}
}

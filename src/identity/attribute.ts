// Attribution (SPEC §20) at the relation level: an event relation with `ids` becomes the
// relation joined to the identity map, with the profile each row belongs to in one more
// column, and an entity with identity becomes its table with the key as a string (the map's
// profiles are strings) plus, under `anonymous: true`, one row per anonymous profile. Every
// stage that reads relations (conditions, traits, NTILE, holdouts, fitted models, profiles,
// why, plan --impact, compile --membership, syncs) then sees stitched profiles without
// knowing identity exists.
import {sql} from 'kysely'
import {relationSql} from '../generate/expr-writer.js'
import {compilerFor, render} from '../generate/generate-sql.js'
import {profileColumnType} from '../generate/profile-sql.js'
import {KEY_KIND, type Entity, type EventDef, type Project, type Relation, type ValueType} from '../resolve/model.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {identitiesTable} from '../warehouse/tables.js'
import type {LabelOutcome} from './label.js'
import {normalizedSql, profileOf} from './label-sql.js'

/**
 * Where an entity's identifiers are read from for attribution: per identifier kind, a relation
 * of (value, profile) holding every identifier of that kind that stops attribution (any status
 * but ambiguous; profile NULL where its events count for no entity), and the relation of the
 * anonymous profiles' keys (entity_key).
 */
export interface AttributionSource {
  kind(kind: string): Sql
  anonymous: Sql
}

/**
 * The last successful run's map (kind, value, entity_key, status) as a relation (read-only
 * commands; SPEC §20); an empty map where no run wrote one yet (then every event with ids is
 * unattributed).
 */
export function storedMap(dialect: Dialect, entity: Entity, schema: string, exists = true): Sql {
  const s = sql.raw(dialect.stringType)
  return exists
    ? sql.id(schema, identitiesTable(entity.name).name)
    : sql`(SELECT CAST(NULL AS ${s}) AS kind, CAST(NULL AS ${s}) AS value, CAST(NULL AS ${s}) AS entity_key, CAST(NULL AS ${s}) AS status FROM (SELECT 1 AS one) AS z WHERE 1 = 0)`
}

/** A map relation (kind, value, entity_key, status) as an attribution source. */
export function mapSource(entity: Entity, map: Sql): AttributionSource {
  return {
    kind: (kind) => sql`(SELECT value, ${profileOf(entity)} AS profile FROM ${map} AS m WHERE kind = ${sql.lit(kind)} AND status <> 'ambiguous')`,
    anonymous: sql`(SELECT DISTINCT entity_key FROM ${map} AS m WHERE status = 'anonymous')`,
  }
}

/**
 * A labelling's working tables as an attribution source: what runs read, and read-only
 * commands where the stored map does not fit. The per-kind attribution tables hold the erased
 * profile's identifiers too (profile NULL), which a map relation never does.
 */
export function labelledAttribution(dialect: Dialect, outcome: LabelOutcome): AttributionSource {
  const tables = outcome.attributionTables
  const s = sql.raw(dialect.stringType)
  const none = sql`(SELECT CAST(NULL AS ${s}) AS value, CAST(NULL AS ${s}) AS profile FROM (SELECT 1 AS one) AS z WHERE 1 = 0)`
  return {kind: (k) => (tables.has(k) ? sql.id(tables.get(k)!) : none), anonymous: sql`(SELECT DISTINCT entity_key FROM ${sql.id(outcome.mapTable)} AS m WHERE status = 'anonymous')`}
}

/** The last successful run's map as an attribution source. */
export function storedAttribution(dialect: Dialect, entity: Entity, schema: string, exists = true): AttributionSource {
  return mapSource(entity, storedMap(dialect, entity, schema, exists))
}

/**
 * The project as `compile --membership` plans it: attributed through the map of the target's
 * last successful run, which it cannot check against its as_of (it opens no target). `why` and
 * `plan --impact` choose per entity (read-only.ts). `exists` says, per entity, whether that map
 * is there (compile assumes it is).
 */
export function storedProject(project: Project, dialect: Dialect, exists: (entity: string) => boolean = () => true): Project {
  return attributedProject(project, dialect, new Map(identityEntities(project).map((e) => [e.name, storedAttribution(dialect, e, project.outputSchema, exists(e.name))])))
}

/** An event's rows with the profile they belong to: its first identifier, in priority order, that belongs to a profile. */
export function attributedEventSql(dialect: Dialect, entity: Entity, ev: EventDef, source: AttributionSource): Sql {
  const {joins, profile} = attributionParts(dialect, entity, ev, source)
  return sql`SELECT src.*, ${profile} AS ${sql.id(ev.key)} FROM ${relationSql(ev.relation)} AS src${joins}`
}

/** The joins of `src` (the event's rows) to the per-kind attribution relations, and the profile they give a row. */
function attributionParts(dialect: Dialect, entity: Entity, ev: EventDef, source: AttributionSource): {joins: Sql; profile: Sql} {
  const kinds = new Map(entity.identity!.kinds.map((k) => [k.name, k]))
  const joins: Sql[] = []
  const whens: Sql[] = []
  ev.ids!.forEach(({kind, column}, i) => {
    const a = `a${i}`
    const value = normalizedSql(dialect, sql.id('src', column), kind === KEY_KIND ? undefined : kinds.get(kind))
    joins.push(sql` LEFT JOIN ${source.kind(kind)} AS ${sql.id(a)} ON ${sql.id(a, 'value')} = ${value}`)
    whens.push(sql`WHEN ${sql.id(a, 'value')} IS NOT NULL THEN ${sql.id(a, 'profile')}`)
  })
  return {joins: sql.join(joins, sql``), profile: sql`CASE ${sql.join(whens, sql` `)} END`}
}

/** The entity's rows keyed by the key as a string, and under `anonymous: true` the anonymous profiles with NULL attributes. */
export function attributedEntitySql(dialect: Dialect, entity: Entity, source: AttributionSource): Sql {
  const s = sql.raw(dialect.stringType)
  const attrs = [...entity.attributes.values()].filter((a) => a.column !== entity.key)
  const columns = [sql`CAST(${sql.id('ent', entity.key)} AS ${s}) AS ${sql.id(entity.key)}`, ...attrs.map((a) => sql`${sql.id('ent', a.column)} AS ${sql.id(a.column)}`)]
  const known = sql`SELECT ${sql.join(columns)} FROM ${relationSql(entity.relation)} AS ent`
  if (!entity.identity!.anonymous) return known
  const anonRows = sql`SELECT entity_key AS p FROM ${source.anonymous} AS m`
  const nulls = [sql`CAST(an.p AS ${s}) AS ${sql.id(entity.key)}`, ...attrs.map((a) => sql`CAST(NULL AS ${sql.raw(profileColumnType(dialect, a.type))}) AS ${sql.id(a.column)}`)]
  return sql`${known} UNION ALL SELECT ${sql.join(nulls)} FROM (${anonRows}) AS an`
}

/**
 * The project as the plan should read it: events with `ids` and entities with identity over
 * their attributed relations. Definitions, hashes and lineage keep reading the original
 * project (the relations a user wrote), so only planning gets this one.
 */
export function attributedProject(project: Project, dialect: Dialect, sources: ReadonlyMap<string, AttributionSource>): Project {
  if (sources.size === 0) return project
  const db = compilerFor(dialect)
  const rel = (q: Sql): Relation => ({kind: 'sql', sql: render(db, q)})
  const entities = new Map(project.entities)
  for (const [name, source] of sources) {
    const e = project.entities.get(name)!
    entities.set(name, {...e, relation: rel(attributedEntitySql(dialect, e, source))})
  }
  const events = new Map(project.events)
  for (const [name, ev] of project.events) {
    const s = sources.get(ev.entity)
    if (!ev.ids || !s) continue
    const entity = project.entities.get(ev.entity)!
    const parts = attributionParts(dialect, entity, ev, s)
    const attribution = {base: ev.relation, columns: [...new Set(ev.ids.map((i) => i.column))], joins: render(db, parts.joins), profile: render(db, parts.profile)}
    events.set(name, {...ev, relation: {kind: 'sql', sql: render(db, attributedEventSql(dialect, entity, ev, s)), attribution}})
  }
  return {...project, entities, events}
}

/** Entities of the project with identity. */
export const identityEntities = (project: Project): Entity[] => [...project.entities.values()].filter((e) => e.identity !== undefined)

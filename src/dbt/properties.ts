// `segc dbt`: dbt properties YAML (SPEC §16) declaring segc's output tables as a dbt source and
// each sync as an exposure, so `dbt docs` shows what segc builds and where it goes.
import {stringify} from 'yaml'
import {commentedProfileColumns} from '../catalog/profile-columns.js'
import {redact} from '../project/redact.js'
import {profileEntities, profileTable} from '../resolve/resolve-profile.js'
import {ERASED_IDENTIFIERS, identitiesTable, OUTPUT_TABLES, MEMBERSHIP} from '../warehouse/tables.js'
import type {TargetConfig} from '../warehouse/warehouse.js'
import type {Validated} from '../validate/validate-project.js'

/** The source's name in dbt: models select from {{ source('segc', 'segment_membership') }}. */
export const DBT_SOURCE = 'segc'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** dbt's owner: an email where the owner is one, else a name */
function owner(text: string): {email: string} | {name: string} {
  return EMAIL.test(text) ? {email: text} : {name: text}
}

const sentence = (text: string) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`)

/** Where the target keeps segc's schema, as dbt names it: the database (catalog, project) and schema (dataset). */
function location(v: Validated, target: TargetConfig): {database?: string; schema: string} {
  const schema = v.project.outputSchema
  if (target.type === 'bigquery') return {database: String(target.project), schema: String(target.dataset ?? schema)}
  if (target.type === 'snowflake') return {database: String(target.database), schema}
  // DuckDB's catalog is the database file's name without its extension
  const path = String(target.path ?? '')
  const file = path.split(/[\\/]/).pop() ?? ''
  return file && file !== ':memory:' ? {database: file.replace(/\.[^.]*$/, ''), schema} : {schema}
}

export function dbtProperties(v: Validated, target: TargetConfig): {yaml: string; sources: number; tables: number; exposures: number} {
  const where = location(v, target)
  const source = {
    name: DBT_SOURCE,
    description: `Segment membership, history and transitions written by segc (project ${v.project.name || 'segc'}, target ${target.name}). segc owns these tables: read them, never write them.`,
    ...where,
    tables: [
      ...OUTPUT_TABLES.map((t) => ({
        name: t.name,
        description: t.comment,
        columns: t.columns.map((c) => ({name: c.name, description: c.comment})),
      })),
      // the profiles (SPEC §19): their columns follow the definitions, as the next run writes them
      ...profileEntities(v.project).map((e) => ({
        name: profileTable(e),
        description: `One row per ${e} at the latest successful run's as_of: the published traits, a member flag per segment, a holdout flag per segment with a holdout, the stage of each group.`,
        columns: commentedProfileColumns(v.project, e).map((c) => ({name: c.name, description: c.comment})),
      })),
      // the identity maps (SPEC §20), and the erased identifiers' hashes once a forget wrote them
      ...[...v.project.entities.values()]
        .filter((e) => e.identity)
        .flatMap((e, i) => [identitiesTable(e.name), ...(i === 0 ? [ERASED_IDENTIFIERS] : [])])
        .map((t) => ({name: t.name, description: t.comment, columns: t.columns.map((c) => ({name: c.name, description: c.comment}))})),
    ],
  }
  const exposures = [...v.syncs.values()].map((s) => {
    const owners = [...new Set(s.segments.map((seg) => v.project.segments.get(seg)?.owner).filter((o): o is string => typeof o === 'string'))]
    const who = s.owner ?? owners[0] ?? v.project.name ?? 'segc'
    return {
      name: s.name,
      label: `${s.name} (segc sync to ${s.destination})`,
      type: 'application',
      owner: owner(who),
      description: [sentence(s.description ?? `Members of ${s.segments.join(', ')} pushed by segc to the ${s.destinationType} destination '${s.destination}' (mode ${s.mode})`), owners.length > 1 ? `Segment owners: ${owners.join(', ')}.` : ''].filter(Boolean).join(' '),
      depends_on: [`source('${DBT_SOURCE}', '${MEMBERSHIP.name}')`, ...(s.fields.some((f) => f.source.kind === 'trait') ? [`source('${DBT_SOURCE}', '${profileTable(s.entity)}')`] : [])],
      meta: {segc: {destination: s.destination, destination_type: s.destinationType, mode: s.mode, segments: s.segments}},
    }
  })
  const doc = {version: 2, sources: [source], ...(exposures.length ? {exposures} : {})}
  const header = '# Written by `segc dbt`: segc\'s output tables as a dbt source and its syncs as exposures.\n# Regenerate after changing segments, syncs or targets; do not edit by hand.\n'
  return {yaml: redact(header + stringify(doc, {lineWidth: 0})), sources: 1, tables: source.tables.length, exposures: exposures.length}
}

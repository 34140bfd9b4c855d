// Sync definitions (syncs/*.yaml, SPEC §11) checked against the resolved project and the
// destinations of segc.yaml: every name a sync uses must exist and have the right type, with
// the problem pointed at the key at fault.
import {diag, type Diagnostic, type Position} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import type {LoadedDocument} from '../load/load-project.js'
import type {Attribute, Project} from './model.js'
import {profileColumns, type ProfileColumnType} from './resolve-profile.js'
import {Site} from './site.js'

export const SYNC_MODES = ['audience', 'upsert', 'mirror', 'events'] as const
export type SyncMode = (typeof SYNC_MODES)[number]

/** Values a field can take besides an entity attribute. */
export const BUILTIN_FIELDS = ['in_segment', 'segment', 'entered_at', 'as_of', 'entity_key'] as const
export type BuiltinField = (typeof BUILTIN_FIELDS)[number]

/**
 * A trait of the entity's profile (SPEC §19), read from `segment_profiles_<entity>`; `round`:
 * decimals, half away from zero, sent as a number.
 */
export interface TraitField {
  kind: 'trait'
  trait: string
  /** the profile column's type */
  type: ProfileColumnType
  round?: number
}

export type FieldSource = {kind: 'builtin'; name: BuiltinField} | {kind: 'attribute'; attribute: Attribute} | TraitField

/** The type a field's value has when it is sent: what each destination types its column or property by. */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'timestamp' | 'date'

export function fieldType(source: FieldSource): FieldType {
  if (source.kind === 'builtin') return ({in_segment: 'boolean', segment: 'string', entered_at: 'timestamp', as_of: 'timestamp', entity_key: 'string'} as const)[source.name]
  if (source.kind === 'attribute') return source.attribute.type as FieldType
  // an exact decimal or a rounded number is sent as a number (JSON has no decimals)
  if (source.type === 'exact' || source.round !== undefined) return 'number'
  return source.type as FieldType
}

/** Modes that send fields on every change: the only ones a trait field may be used in. */
const FIELD_MODES: readonly SyncMode[] = ['upsert', 'mirror']

export interface SyncGuards {
  /** share of the state one sync may remove (undefined: no limit) */
  maxRemovals?: number
  minSize?: number
  allowEmpty: boolean
  /** share of operations that may be rejected before the sync exits 2 */
  maxRejected: number
}

export interface SyncDef {
  name: string
  destination: string
  destinationType: string
  /** the segments sent (a group's, in priority order) */
  segments: string[]
  /** those of `segments` that keep a holdout (their members in it are never sent) */
  holdouts: string[]
  group?: string
  entity: string
  mode: SyncMode
  /** the attribute that identifies the record at the destination; undefined: the entity key */
  identifyBy?: Attribute
  /** loc: where the field's value is written (a trait field's `trait:` for the object form) */
  fields: Array<{name: string; source: FieldSource; loc: Position}>
  consent: Attribute[]
  guards: SyncGuards
  afterRun: boolean
  description?: string
  owner?: string
  loc: Position
}

/** Destinations that write segc's own columns beside the fields: a field may not take their names. */
const KEY_COLUMNS: Record<string, readonly string[]> = {file: ['segment', 'entity_key', 'id'], postgres: ['segment', 'entity_key', 'id', 'synced_at']}

/** Destinations whose audience is a list they keep (list_id). */
const LISTS = new Set(['klaviyo', 'hubspot'])

/** The destination types whose records hold no per-row history: events are not a snapshot. */
const SNAPSHOT_ONLY = new Set(['file', 'klaviyo', 'hubspot'])

export function resolveSyncs(documents: readonly LoadedDocument[], project: Project, config: Record<string, unknown>, invalid: ReadonlySet<string>): {syncs: Map<string, SyncDef>; diagnostics: Diagnostic[]} {
  const out: Diagnostic[] = []
  const syncs = new Map<string, SyncDef>()
  const destinations = (config.destinations ?? {}) as Record<string, {type?: string}>
  for (const doc of documents) {
    if (doc.kind !== 'sync' || invalid.has(`${doc.file.path}#${doc.index}`)) continue
    const v = doc.value as Record<string, unknown>
    const site = new Site(doc.file, doc.node)
    const name = String(v.sync)
    const before = out.length
    const prior = syncs.get(name)
    if (prior) {
      out.push(diag('duplicate_name', site.child('sync').at, `sync '${name}' is already defined at ${prior.loc.file}:${prior.loc.line}:${prior.loc.col}`))
      continue
    }
    const destination = String(v.destination)
    const dest = destinations[destination]
    // a segc.yaml with shape errors (destinations: null) has reported them already
    if (!dest && config.destinations === null) continue
    if (!dest) out.push(diag('unknown_destination', site.child('destination').at, `no destination '${destination}' in segc.yaml${didYouMean(destination, Object.keys(destinations))}`))

    let segments: string[] = []
    let group: string | undefined
    if (v.segments !== undefined && v.group !== undefined) out.push(diag('bad_value', site.child('group').keyAt, 'give segments: or group:, not both'))
    else if (v.group !== undefined) {
      group = String(v.group)
      const g = project.groups.get(group)
      if (!g) out.push(diag('unknown_segment', site.child('group').at, `no group '${group}'${didYouMean(group, project.groups.keys())}`))
      else segments = [...g.segments]
    } else if (Array.isArray(v.segments)) {
      ;(v.segments as string[]).forEach((s, i) => {
        if (!project.segments.has(s)) out.push(diag('unknown_segment', site.child('segments').child(i).at, `no segment '${s}'${project.groups.has(s) ? ` ('${s}' is a group: use group: ${s})` : didYouMean(s, project.segments.keys())}`))
        else if (segments.includes(s)) out.push(diag('duplicate_name', site.child('segments').child(i).at, `segment '${s}' is listed twice`))
        else segments.push(s)
      })
    } else out.push(diag('missing_key', site.child('sync').keyAt, `sync '${name}' needs segments: or group:`))

    const entities = [...new Set(segments.map((s) => project.segments.get(s)!.entity))]
    if (entities.length > 1) out.push(diag('entity_mismatch', site.child(group ? 'group' : 'segments').keyAt, `a sync sends one entity; these segments are of ${entities.join(' and ')}`))
    const entity = project.entities.get(entities[0] ?? '')
    const attribute = (path: Array<string | number>, attr: string, what: string): Attribute | undefined => {
      if (!entity) return undefined
      const a = entity.attributes.get(attr)
      if (!a) out.push(diag('unknown_attribute', path.reduce<Site>((s, k) => s.child(k), site).at, `${what}: entity '${entity.name}' has no attribute '${attr}'${didYouMean(attr, entity.attributes.keys())}`))
      return a
    }
    const identifyBy = v.identify_by === undefined ? undefined : attribute(['identify_by'], String(v.identify_by), 'identify_by')
    const fields: SyncDef['fields'] = []
    const mode = v.mode as SyncMode
    for (const [field, from] of Object.entries((v.fields ?? {}) as Record<string, string | {trait: string; round?: number}>)) {
      const at = site.child('fields').child(field)
      if (typeof from === 'object' && from !== null) {
        const t = entity ? traitField(project, entity.name, from.trait, at.child('trait'), field, out) : undefined
        if (!t) continue
        if (from.round !== undefined && t.type !== 'number' && t.type !== 'exact' && t.type !== 'integer') {
          out.push(diag('type_mismatch', at.child('round').at, `field '${field}': round applies to numbers; trait '${t.trait}' is ${t.type === 'timestamp' ? 'a timestamp' : `a ${t.type}`}`))
          continue
        }
        if (!FIELD_MODES.includes(mode)) out.push(diag('unsupported', at.child('trait').at, modeMessage(field, mode)))
        else fields.push({name: field, source: from.round === undefined ? t : {...t, round: from.round}, loc: at.child('trait').at})
        continue
      }
      if ((BUILTIN_FIELDS as readonly string[]).includes(from)) fields.push({name: field, source: {kind: 'builtin', name: from as BuiltinField}, loc: at.at})
      else if (entity) {
        const a = entity.attributes.get(from)
        if (a) fields.push({name: field, source: {kind: 'attribute', attribute: a}, loc: at.at})
        else if (project.traits.has(from)) {
          const t = traitField(project, entity.name, from, at, field, out)
          if (t && !FIELD_MODES.includes(mode)) out.push(diag('unsupported', at.at, modeMessage(field, mode)))
          else if (t) fields.push({name: field, source: t, loc: at.at})
        } else {
          const published = (entity.profile ?? []).map((p) => p.trait)
          out.push(diag('unknown_attribute', at.at, `field '${field}': '${from}' is neither an attribute of '${entity.name}'${published.length ? ', a trait of its profile' : ''} nor a built-in (${BUILTIN_FIELDS.join(', ')})${didYouMean(from, [...entity.attributes.keys(), ...published, ...BUILTIN_FIELDS])}`))
        }
      }
    }
    const consent: Attribute[] = []
    ;((v.consent ?? []) as string[]).forEach((c, i) => {
      const a = attribute(['consent', i], c, 'consent')
      if (a && a.type !== 'boolean') out.push(diag('type_mismatch', site.child('consent').child(i).at, `consent attribute '${c}' is ${a.type}; consent needs a boolean attribute`))
      else if (a) consent.push(a)
    })
    if (dest && SNAPSHOT_ONLY.has(String(dest.type)) && mode === 'events') {
      out.push(diag('unsupported', site.child('mode').at, `destination '${destination}' is a ${String(dest.type)}: it holds the current sendable set (lists, records), not a stream of changes, so use mode audience, upsert or mirror`))
    }
    for (const f of fields) {
      const reserved = dest ? KEY_COLUMNS[String(dest.type)] : undefined
      if (reserved?.includes(f.name)) out.push(diag('bad_value', site.child('fields').child(f.name).keyAt, `field '${f.name}': a ${String(dest!.type)} destination writes its own '${f.name}' column (${reserved.join(', ')}); name the field otherwise`))
    }
    if (dest && LISTS.has(String(dest.type)) && (mode === 'audience' || mode === 'mirror') && (dest as {list_id?: unknown}).list_id === undefined) {
      out.push(diag('missing_key', site.child('mode').at, `mode ${mode} keeps a ${String(dest.type)} list: destination '${destination}' needs list_id in segc.yaml`))
    }
    const g = (v.guards ?? {}) as Record<string, number | boolean | undefined>
    if (out.length > before) continue
    syncs.set(name, {
      name,
      destination,
      destinationType: String(dest!.type),
      segments,
      holdouts: segments.filter((s) => project.segments.get(s)?.holdout !== undefined),
      ...(group ? {group} : {}),
      entity: entity!.name,
      mode,
      ...(identifyBy ? {identifyBy} : {}),
      fields,
      consent,
      guards: {
        ...(g.max_removals !== undefined ? {maxRemovals: Number(g.max_removals)} : {}),
        ...(g.min_size !== undefined ? {minSize: Number(g.min_size)} : {}),
        allowEmpty: g.allow_empty === true,
        maxRejected: g.max_rejected === undefined ? 0.01 : Number(g.max_rejected),
      },
      afterRun: v.after_run === true,
      ...(typeof v.description === 'string' ? {description: v.description} : {}),
      ...(typeof v.owner === 'string' ? {owner: v.owner} : {}),
      loc: site.child('sync').at,
    })
  }
  return {syncs, diagnostics: out}
}

function modeMessage(field: string, mode: SyncMode): string {
  return `field '${field}': trait fields are sent only by mode upsert or mirror, which send every field again when a value changes; mode ${mode} sends ${mode === 'events' ? 'each change once' : 'membership only'}`
}

/** A trait as a sync field: one of its entity's profile (SPEC §19), or an error at `site`. */
function traitField(project: Project, entity: string, name: string, site: Site, field: string, out: Diagnostic[]): TraitField | undefined {
  const t = project.traits.get(name)
  const e = project.entities.get(entity)!
  if (!t) {
    out.push(diag('unknown_trait', site.at, `field '${field}': no trait '${name}' in the profile of entity '${entity}'${didYouMean(name, (e.profile ?? []).map((p) => p.trait))}`))
    return undefined
  }
  if (t.entity !== entity) {
    out.push(diag('entity_mismatch', site.at, `field '${field}': trait '${name}' belongs to entity '${t.entity}'; this sync sends '${entity}'`))
    return undefined
  }
  const column = profileColumns(project, entity).find((c) => c.kind === 'trait' && c.trait === name)
  if (!column) {
    const where = e.profile === undefined ? `entity '${entity}' has no profile: add profile: [${name}] to it` : `add it to the profile of entity '${entity}' (profile: at ${e.loc.file}:${e.loc.line})`
    out.push(diag('unknown_trait', site.at, `field '${field}': trait '${name}' is not in its entity's profile, and a sync sends only the values a run publishes; ${where}`))
    return undefined
  }
  return {kind: 'trait', trait: name, type: column.type as ProfileColumnType}
}

// Profiles (SPEC §19): which traits an entity publishes, checked against the graph, and the
// columns of its `segment_profiles_<entity>` table, which follow from the graph alone so that
// run, dbt, docs and lineage agree on them without reading a target.
import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {isModelTrait, type Entity, type Project, type ValueType} from './model.js'
import type {Site} from './site.js'

export const profileTable = (entity: string) => `segment_profiles_${entity}`

/** `exact`: a sum or average of numbers, kept in the dialect's fixed-point type */
export type ProfileColumnType = ValueType | 'exact'

export type ProfileColumn =
  | {kind: 'key' | 'run'; name: string; type: 'string'}
  | {kind: 'trait'; name: string; type: ProfileColumnType; trait: string}
  | {kind: 'in' | 'holdout'; name: string; type: 'boolean'; segment: string}
  | {kind: 'stage'; name: string; type: 'string'; group: string; segments: string[]}

const FIXED = ['entity_key', 'changed_run_id']

/** The generated columns of an entity's profile, apart from its traits. */
function generated(project: Project, entity: string): ProfileColumn[] {
  const segments = [...project.segments.values()].filter((s) => s.entity === entity)
  return [
    ...segments.map((s): ProfileColumn => ({kind: 'in', name: `in_${s.name}`, type: 'boolean', segment: s.name})),
    ...segments.filter((s) => s.holdout).map((s): ProfileColumn => ({kind: 'holdout', name: `holdout_${s.name}`, type: 'boolean', segment: s.name})),
    ...[...project.groups.values()].filter((g) => g.entity === entity).map((g): ProfileColumn => ({kind: 'stage', name: `stage_${g.name}`, type: 'string', group: g.name, segments: [...g.segments]})),
  ]
}

/** The entities that have a profile table: those declaring `profile` or having segments, by name. */
export function profileEntities(project: Project): string[] {
  const segmented = new Set([...project.segments.values()].map((s) => s.entity))
  return [...project.entities.values()].filter((e) => e.profile?.length || segmented.has(e.name)).map((e) => e.name).sort()
}

/** The columns of an entity's profile table, in table order. */
export function profileColumns(project: Project, entity: string): ProfileColumn[] {
  const e = project.entities.get(entity)!
  const traits = (e.profile ?? []).map(({trait}): ProfileColumn => {
    const t = project.traits.get(trait)!
    const exact = t.def.kind === 'aggregate' && (t.def.spec.aggregate === 'sum' || t.def.spec.aggregate === 'avg')
    return {kind: 'trait', name: trait, type: exact ? 'exact' : t.type, trait}
  })
  return [{kind: 'key', name: 'entity_key', type: 'string'}, {kind: 'run', name: 'changed_run_id', type: 'string'}, ...traits, ...generated(project, entity)]
}

/**
 * Sets `entity.profile` from the YAML list: traits of this entity only, each once, none named
 * like a column the table has anyway. A trait that failed to resolve was reported already.
 */
export function resolveProfile(project: Project, entity: Entity, raw: unknown[], site: Site, allTraits: Iterable<string>, out: Diagnostic[]): void {
  const reserved = new Map<string, string>([
    ...FIXED.map((n): [string, string] => [n, 'a column every profile has']),
    ...generated(project, entity.name).map((c): [string, string] => [c.name, c.kind === 'stage' ? `the stage column of group '${c.group}'` : `the ${c.kind} column of segment '${(c as {segment: string}).segment}'`]),
  ])
  const own = [...project.traits.values()].filter((t) => t.entity === entity.name).map((t) => t.name)
  const known = new Set(allTraits)
  const seen = new Set<string>()
  const profile: Array<{trait: string; loc: ReturnType<Site['child']>['at']}> = []
  raw.forEach((value, i) => {
    const name = String(value)
    const at = site.child(i).at
    const t = project.traits.get(name)
    if (!t) {
      if (!known.has(name)) out.push(diag('unknown_trait', at, `unknown trait '${name}' in the profile of entity '${entity.name}'${didYouMean(name, own.length ? own : known)}`))
      return
    }
    if (t.entity !== entity.name) return void out.push(diag('entity_mismatch', at, `trait '${name}' belongs to entity '${t.entity}', not '${entity.name}': a profile publishes its own entity's traits`))
    if (isModelTrait(t)) return void out.push(diag('bad_value', at, `trait '${name}' is a fitted ${t.def.kind === 'fit' ? t.def.model : ''} model, not a value: publish a prediction from it (predict: p_alive, clv, ...)`))
    const clash = reserved.get(name)
    if (clash) return void out.push(diag('duplicate_name', at, `trait '${name}' would be named like ${clash} in ${profileTable(entity.name)}; rename the trait`))
    if (seen.has(name)) return void out.push(diag('duplicate_name', at, `trait '${name}' is already in the profile of entity '${entity.name}'`))
    seen.add(name)
    profile.push({trait: name, loc: at})
  })
  entity.profile = profile
}

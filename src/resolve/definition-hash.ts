import {createHash} from 'node:crypto'
import {traitReads, type Condition, type Entity, type Project, type Segment, type Trait} from './model.js'

/** Keys that describe a definition to people but never decide membership. */
const COSMETIC = new Set(['loc', 'label', 'description', 'owner', 'tags', 'purpose', 'action', 'kpi', 'reviewBy', 'expect', 'measure', 'source'])

/** JSON with sorted keys, Maps as objects, cosmetic keys dropped: equal meaning, equal text. */
function canonical(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Map) return norm(Object.fromEntries(v))
    if (Array.isArray(v)) return v.map(norm)
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .filter((k) => !COSMETIC.has(k) && (v as Record<string, unknown>)[k] !== undefined)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      )
    }
    return v
  }
  return JSON.stringify(norm(value))
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The definition hash of every segment (SPEC §5): the rule, exclude, consent, holdout,
 * refresh and group position, with every trait, event, attribute and segment they reach
 * expanded into the hashed text — so editing a trait changes the hash of each segment
 * that uses it, and editing a description changes none.
 */
export function definitionHashes(project: Project, models?: ReadonlyMap<string, number>): Map<string, string> {
  const hashes = new Map<string, string>()
  const hashOf = (s: Segment): string => {
    const known = hashes.get(s.name)
    if (known) return known
    const traits = new Map<string, Trait>()
    const events = new Set<string>()
    const attributes = new Set<string>()
    const segments = new Map<string, string>()
    const fitted = new Map<string, number | null>()
    const visitTrait = (name: string): void => {
      const t = project.traits.get(name)!
      if (traits.has(name)) return
      traits.set(name, t)
      const reads = traitReads(t.def)
      reads.events.forEach((e) => events.add(e))
      reads.attributes.forEach((a) => attributes.add(a))
      reads.traits.forEach(visitTrait)
      // a refit is a new definition: the version scored with is part of the hash (SPEC §12)
      if (t.def.kind === 'fit') fitted.set(name, models?.get(name) ?? null)
    }
    const visit = (c: Condition): void => {
      switch (c.kind) {
        case 'attribute':
          return void attributes.add(c.attribute)
        case 'trait':
          return visitTrait(c.trait)
        case 'event':
          return void events.add(c.spec.event)
        case 'sequence':
          return c.steps.forEach((st) => events.add(st.event))
        case 'segment':
          return void segments.set(c.segment, hashOf(project.segments.get(c.segment)!))
        case 'all':
        case 'any':
          return c.items.forEach(visit)
        case 'not':
          return visit(c.item)
      }
    }
    visit(s.rule)
    if (s.exclude) visit(s.exclude)
    s.consent.forEach((a) => attributes.add(a))
    const entity = project.entities.get(s.entity)!
    const group = s.group && {
      name: s.group.name,
      position: s.group.position,
      earlier: project.groups.get(s.group.name)!.segments.slice(0, s.group.position).map((e) => hashOf(project.segments.get(e)!)),
    }
    const text = canonical({
      entity: {name: entity.name, relation: entity.relation, key: entity.key, attributes: [...attributes].sort().map((a) => entity.attributes.get(a))},
      // properties are left out: the ones that matter appear, with their columns, in the filters and aggregates
      events: [...events].sort().map((e) => ({...project.events.get(e)!, properties: undefined})),
      traits: [...traits.keys()].sort().map((t) => traits.get(t)),
      segments: Object.fromEntries(segments),
      rule: s.rule,
      exclude: s.exclude,
      consent: s.consent,
      holdout: s.holdout,
      refresh: s.refresh,
      group,
      // only when a fitted model is reached, so hashes of other segments are as before
      ...(fitted.size ? {models: Object.fromEntries([...fitted.entries()].sort())} : {}),
    })
    const h = sha256(text)
    hashes.set(s.name, h)
    return h
  }
  for (const s of project.segments.values()) hashOf(s)
  return hashes
}

/**
 * What an entity's identity map is labelled from (SPEC §20): `identity:`, the entity's key
 * and relation, and the salt as substituted (hashed first, so the stored text never holds it).
 * A run records it per entity (segment_runs.identity_hashes); read-only commands trust the
 * stored map only where it is unchanged.
 */
export function identityHash(entity: Entity, salt: string): string {
  const identity = {...entity.identity!, salt: sha256(salt)}
  return sha256(canonical({key: entity.key, relation: entity.relation, identity}))
}

import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import {selectionClosure} from '../plan/build-plan.js'
import {traitReads, type AggregateSpec, type Condition, type Project} from '../resolve/model.js'
import type {Dialect, Unsupported} from './dialect.js'

const WHAT: Record<Unsupported, string> = {
  most_frequent: 'aggregate most_frequent',
  active_periods_min_count: 'active_periods with min_count above 1',
}

/**
 * What the selected segments need that the dialect cannot express exactly, positioned at the
 * condition or trait that asks for it (STYLE: a diagnostic, never approximate SQL).
 */
export function checkDialect(project: Project, dialect: Dialect, selected?: readonly string[]): Diagnostic[] {
  if (dialect.unsupported.size === 0) return []
  const out: Diagnostic[] = []
  const seenTraits = new Set<string>()
  const need = (spec: AggregateSpec): Unsupported | undefined =>
    spec.aggregate === 'most_frequent' ? 'most_frequent' : spec.aggregate === 'active_periods' && (spec.minCount ?? 1) > 1 ? 'active_periods_min_count' : undefined
  const report = (u: Unsupported | undefined, loc: Diagnostic, what: string) => {
    if (u && dialect.unsupported.has(u)) out.push({...loc, message: `${WHAT[u]} (${what}) cannot be computed exactly on ${dialect.name}`})
  }
  const visitTrait = (name: string): void => {
    if (seenTraits.has(name)) return
    seenTraits.add(name)
    const t = project.traits.get(name)!
    if (t.def.kind === 'aggregate') report(need(t.def.spec), diag('unsupported', t.loc, ''), `trait '${name}'`)
    traitReads(t.def).traits.forEach(visitTrait)
  }
  const visit = (c: Condition): void => {
    if (c.kind === 'trait') visitTrait(c.trait)
    else if (c.kind === 'event') report(need(c.spec), diag('unsupported', c.loc, ''), `an event condition on '${c.spec.event}'`)
    else if (c.kind === 'all' || c.kind === 'any') c.items.forEach(visit)
    else if (c.kind === 'not') visit(c.item)
  }
  for (const name of selectionClosure(project, selected)) {
    const s = project.segments.get(name)!
    visit(s.rule)
    if (s.exclude) visit(s.exclude)
  }
  return out
}

import {Explainer} from '../explain/explain.js'
import type {Project} from '../resolve/model.js'

/** A segment_catalog row (SPEC §5). */
export interface CatalogRow {
  segment: string
  entity: string
  description: string | null
  owner: string | null
  tags: string
  purpose: string | null
  kpi: string | null
  review_by: string | null
  rule_text: string
  definition_hash: string
  refresh: string
  holdout_percent: number | null
}

/** One row per segment of the project, in project order. */
export function catalogRows(project: Project, hashes: ReadonlyMap<string, string>): CatalogRow[] {
  const explain = new Explainer(project)
  return [...project.segments.values()].map((s) => ({
    segment: s.name,
    entity: s.entity,
    description: s.description ?? null,
    owner: s.owner ?? null,
    tags: JSON.stringify(s.tags),
    purpose: s.purpose ?? null,
    kpi: s.kpi ?? null,
    review_by: s.reviewBy ?? null,
    rule_text: explain.segment(s),
    definition_hash: hashes.get(s.name)!,
    refresh: s.refresh,
    holdout_percent: s.holdout?.percent ?? null,
  }))
}

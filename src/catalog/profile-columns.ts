// The comments of a profile table's columns (SPEC §19): what a BI user reads in the warehouse's
// column browser without opening segc's YAML — a trait's description (or its definition in
// plain English), and each segment's rule as segment_catalog words it.
import {Explainer} from '../explain/explain.js'
import type {Project} from '../resolve/model.js'
import {profileColumns, profileTable, type ProfileColumn} from '../resolve/resolve-profile.js'

export type CommentedColumn = ProfileColumn & {comment: string}

/** The columns of `segment_profiles_<entity>` in table order, each with its comment. */
export function commentedProfileColumns(project: Project, entity: string): CommentedColumn[] {
  const explain = new Explainer(project)
  return profileColumns(project, entity).map((c): CommentedColumn => {
    switch (c.kind) {
      case 'key':
        return {...c, comment: `the ${entity} key, as a string`}
      case 'run':
        return {...c, comment: 'the successful run (segment_runs.run_id) that last changed any value of this row'}
      case 'trait': {
        const t = project.traits.get(c.trait)!
        const text = explain.traitName(t)
        return {...c, comment: t.description ? `${t.description} (${text})` : text}
      }
      case 'in':
        return {...c, comment: `member of segment ${c.segment} after group resolution, holdout members included: ${explain.segment(project.segments.get(c.segment)!)}`}
      case 'holdout':
        return {...c, comment: `in the holdout (control group) of segment ${c.segment}; FALSE for non-members`}
      case 'stage':
        return {...c, comment: `the stage of group ${c.group} (the segment this ${entity} is in), NULL for none: ${explain.group(project.groups.get(c.group)!)}`}
    }
  })
}

export {profileTable}

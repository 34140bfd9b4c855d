import type {Dialect} from '../warehouse/dialect.js'
import {membershipSelect, RunStatements} from '../generate/run-statements.js'
import type {Plan} from '../plan/plan-types.js'
import type {Validated} from '../validate/validate-project.js'
import {SEGC_VERSION} from '../version.js'
import {catalogRows} from '../catalog/catalog.js'
import {definitionHashes} from '../resolve/definition-hash.js'
import {liftRows, runGroups, runSegments} from './run-project.js'
import {compileProfiles} from './profile-run.js'

export const COMPILE_RUN_ID = '{{run_id}}'

/**
 * Every statement a run would execute for this plan, in order, as a first run on an empty
 * target (causes and definitions depend on the target's state, which compile never reads),
 * plus the read-only membership SELECT.
 */
export function compileRun(v: Validated, dialect: Dialect, plan: Plan, target = 'compile'): {run: string[]; membership: string | undefined} {
  const {segments, definitions} = runSegments(v, plan, new Map(), COMPILE_RUN_ID, true)
  const ctx = {runId: COMPILE_RUN_ID, asOf: plan.asOf, schema: v.project.outputSchema, target, version: SEGC_VERSION, startedAt: plan.asOf, segments, definitions, groups: runGroups(v, plan)}
  const st = new RunStatements(dialect, v.project.outputSchema)
  const universe = [...new Set(plan.entities.map((e) => e.entity))].map((e) => st.universe(v.project.entities.get(e)!.relation))
  // on an empty target every measured segment starts with no members: the lift rows a first run writes
  const counts = st.liftCounts(plan)
  const lift = counts ? st.lift(ctx, liftRows((plan.measures ?? []).map((m) => ({segment: m.segment, members: 0, members_converted: 0, holdout: 0, holdout_converted: 0})))) : undefined
  const catalog = [...st.catalog(catalogRows(v.project, definitionHashes(v.project))), ...st.overlap(ctx), ...(counts ? [counts] : []), ...(lift ? [lift] : [])]
  // the profiles (SPEC §19): each last layer materialized once, read by the diff and the profile
  const profiles = compileProfiles(dialect, v.project.outputSchema, v.project, plan, plan.entities.some((e) => e.profile !== undefined))
  const run = [
    ...st.setup(),
    st.lastSuccessfulAsOf(),
    st.definitions(),
    ...profiles.materialize,
    ...st.compute(plan, ctx, profiles.layers),
    ...profiles.fresh,
    st.sizes(),
    ...universe,
    ...st.write(ctx),
    ...profiles.write,
    ...catalog,
    st.record(ctx, 'success', null),
  ]
  return {run, membership: membershipSelect(dialect, plan)}
}

import {fileURLToPath} from 'node:url'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {buildPlan, placeholderModels} from '../../src/plan/build-plan.js'
import {compileRun} from '../../src/run/compile-run.js'
import {SyncStatements} from '../../src/generate/sync-sql.js'
import {RunStatements} from '../../src/generate/run-statements.js'
import {SYNC_MODES} from '../../src/resolve/resolve-syncs.js'
import {CASES} from '../language/condition-cases.js'
import * as aggregates from '../language/aggregate-cases.js'
import {AS_OF, MODELS} from '../language/fixture-shop.js'
import {languageDocsProject} from './language-docs.js'
import {validOrThrow, writeProject} from './project.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** The projects whose SQL every dialect must produce correctly: the example, the recipes, the condition and aggregate conformance cases, every construct of docs/language.md. */
export function suiteProjects(): Array<{name: string; dir: string}> {
  const cases = CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
  const aggregateCases = aggregates.CASES.map(([, rule], i) => `segment: agg_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
  return [
    {name: 'example', dir: REPO},
    {name: 'recipes', dir: `${REPO}/test/conformance/recipes`},
    {name: 'conditions', dir: writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': cases})},
    {name: 'aggregates', dir: writeProject({'models/m.yaml': aggregates.MODELS, 'segments/s.yaml': aggregateCases})},
    {name: 'language docs', dir: languageDocsProject()},
  ]
}

/** Every statement a run of the project executes in the dialect, plus its membership SELECT. */
export function statementsFor(dir: string, dialect: Dialect): string[] {
  const v = validOrThrow(dir)
  const plan = buildPlan(v.project, new Date(AS_OF), undefined, {models: placeholderModels(v.project)})
  const {run, membership} = compileRun(v, dialect, plan)
  // a daily run's overlap pairs only the entities that moved since the previous run
  const daily = new RunStatements(dialect, v.project.outputSchema).overlap({runId: 'r2', asOf: AS_OF, schema: v.project.outputSchema, target: 't', version: '0', startedAt: AS_OF, segments: [], groups: [], definitions: []}, 'r1')
  const retention = new RunStatements(dialect, v.project.outputSchema).retention(AS_OF, AS_OF)
  return [...run, ...(membership ? [membership] : []), ...daily, ...retention, ...syncStatementsFor(v, dialect)]
}

/** The statements of `segc sync` for each of the project's syncs, in every mode. */
function syncStatementsFor(v: ReturnType<typeof validOrThrow>, dialect: Dialect): string[] {
  const st = new SyncStatements(dialect, v.project.outputSchema)
  const out: string[] = [...st.setup(), st.latestRun(), st.sizes('r1')]
  const at = new Date(AS_OF).toISOString()
  for (const sync of v.syncs.values()) {
    for (const mode of SYNC_MODES) out.push(st.plan({...sync, mode}, v.project.entities.get(sync.entity)!, at))
    out.push(st.stateSize(sync.name), st.forgetState(sync.name), st.closeAbandoned(sync.name, at), st.universe(v.project.entities.get(sync.entity)!))
    const row = {sync_run_id: 's1', sync: sync.name, destination: sync.destination, mode: sync.mode, segment_run_id: 'r1', started_at: at, finished_at: null, status: 'running', planned_add: 2, planned_remove: 1, planned_update: 0, succeeded: 0, rejected: 0, skipped: 0, pending: 0, error: null}
    out.push(st.insertRun(row), st.finishRun({...row, status: 'success', error: "it's done"}))
    out.push(...st.applyState(sync.name, [{segment: sync.segments[0]!, entity_key: 'k1', dest_key: "o'brien@example.test", payload_hash: 'ab'}], [{segment: sync.segments[0]!, entity_key: 'k2'}], at))
    out.push(...st.insertLog('s1', sync.name, [{segment: sync.segments[0]!, entity_key: 'k1', op: 'add', idempotency_key: 'x', status: 'rejected', attempts: 2, http_status: 422, reason: 'bad "email"\nline'}], at))
  }
  return out
}

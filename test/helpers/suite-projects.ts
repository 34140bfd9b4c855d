import {fileURLToPath} from 'node:url'
import type {Dialect} from '../../src/generate/dialect.js'
import {checkDialect} from '../../src/generate/check-dialect.js'
import {buildPlan, placeholderModels} from '../../src/plan/build-plan.js'
import {compileRun} from '../../src/run/compile-run.js'
import {CASES} from '../language/condition-cases.js'
import {AS_OF, MODELS} from '../language/fixture-shop.js'
import {validOrThrow, writeProject} from './project.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** The projects whose SQL every dialect must produce correctly: the example, the recipes, the condition conformance cases. */
export function suiteProjects(): Array<{name: string; dir: string}> {
  const cases = CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
  return [
    {name: 'example', dir: REPO},
    {name: 'recipes', dir: `${REPO}/test/conformance/recipes`},
    {name: 'conditions', dir: writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': cases})},
  ]
}

/** Every statement a run of the project executes in the dialect, plus its membership SELECT (segments the dialect refuses are left out). */
export function statementsFor(dir: string, dialect: Dialect): string[] {
  const v = validOrThrow(dir)
  const refused = new Set(checkDialect(v.project, dialect).map((d) => d.file + d.line))
  const selectable = [...v.project.segments.values()].filter((s) => checkDialect(v.project, dialect, [s.name]).every((d) => !refused.has(d.file + d.line))).map((s) => s.name)
  const plan = buildPlan(v.project, new Date(AS_OF), selectable, {models: placeholderModels(v.project)})
  const {run, membership} = compileRun(v, dialect, plan)
  return [...run, ...(membership ? [membership] : [])]
}

import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {buildPlan} from '../../src/plan/build-plan.js'
import {compileRun} from '../../src/run/compile-run.js'
import {validateProject} from '../../src/validate/validate-project.js'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {membership, writeProject} from '../helpers/project.js'
import {AS_OF, MODELS, ROWS} from '../language/fixture-shop.js'

// The limits docs/security.md states: handled, or refused with a positioned error, never a crash.
const nested = (depth: number) => '{not: '.repeat(depth) + '{attribute: country, eq: US}' + '}'.repeat(depth)

describe('limits', () => {
  it('conditions nested 200 deep compile and run on DuckDB', async () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': `segment: deep\nentity: customer\nrule: ${nested(199)}\n`})
    // 199 nots: the same members as one not
    expect((await membership(dir, AS_OF, ROWS)).members.deep).toEqual(['c2', 'c3', 'c4', 'c5'])
  })

  it('deeper nesting is refused at the place it goes too deep', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': `segment: deep\nentity: customer\nrule: ${nested(300)}\n`})
    const ds = validateProject({project: dir}).diagnostics
    expect(ds.map((d) => [d.code, d.file, d.line])).toEqual([['nesting_limit', 'segments/s.yaml', 3]])
  })

  it('absurd nesting that the YAML reader cannot hold is a positioned error too', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': `segment: deep\nentity: customer\nrule: ${nested(20_000)}\n`})
    const ds = validateProject({project: dir}).diagnostics
    expect(ds.map((d) => [d.code, d.file, d.line])).toEqual([['nesting_limit', 'segments/s.yaml', 3]])
  })

  it('10,000 segments validate and compile', () => {
    const docs = Array.from({length: 10_000}, (_, i) => stringify({segment: `s${i}`, entity: 'customer', rule: {event: 'order', within: `${(i % 90) + 1}d`, gte: (i % 5) + 1}})).join('---\n')
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': docs})
    const v = validateProject({project: dir})
    expect(v.diagnostics).toEqual([])
    const plan = buildPlan(v.project, new Date(AS_OF))
    // 90 windows: identical aggregates are shared however many segments use them
    expect(plan.entities[0]!.sources[0]!.aggregates).toHaveLength(90)
    expect(compileRun(v, duckdbAdapter.dialect, plan).run.length).toBeGreaterThan(10)
  })

  it('a 5 MB YAML file is read', () => {
    const values = Array.from({length: 400_000}, (_, i) => `value_${i}_xx`)
    const text = `segment: big_list\nentity: customer\nrule: {attribute: country, in: [${values.join(', ')}]}\n`
    expect(text.length).toBeGreaterThan(5_000_000)
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': text})
    expect(validateProject({project: dir}).diagnostics).toEqual([])
  })
})

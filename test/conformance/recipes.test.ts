import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {runFixtureTests} from '../../src/fixtures/run-fixture-tests.js'

describe('behavioural cohort recipes (docs/language.md) as segc fixture tests', () => {
  it('every recipe fixture passes', async () => {
    const run = await runFixtureTests({project: fileURLToPath(new URL('./recipes', import.meta.url))})
    expect(run.results.map((r) => [r.test, r.failures])).toEqual([
      ['behavioural_cohorts', []],
      ['a_week_boundary_is_elapsed_time', []],
    ])
  })
})

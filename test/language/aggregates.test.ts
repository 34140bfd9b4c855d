import {beforeAll, describe, expect, it} from 'vitest'
import {membership, writeProject} from '../helpers/project.js'
import {CASES, MODELS, ROWS} from './aggregate-cases.js'

describe('first, last, most_frequent, active_periods', () => {
  let m: Record<string, string[]>
  beforeAll(async () => {
    const segments = CASES.map(([, rule], i) => `segment: agg_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    m = (await membership(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': segments}), '2026-06-01T00:00:00Z', ROWS)).members
  })
  CASES.forEach(([name, rule, expected], i) => it(`${name}: ${rule}`, () => expect(m[`agg_${i}`]).toEqual(expected)))
})

import {beforeAll, describe, expect, it} from 'vitest'
import {membership, writeProject} from '../helpers/project.js'
import {AS_OF, MODELS, ROWS} from './fixture-shop.js'

import {CASES} from './condition-cases.js'

describe('conditions on DuckDB (hand-derived fixture)', () => {
  let result: Record<string, string[]>
  beforeAll(async () => {
    const segments = CASES.map(([, rule], i) => `segment: case_${i}\nentity: customer\nrule: ${rule}\n`).join('---\n')
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': segments})
    result = (await membership(dir, AS_OF, ROWS)).members
  })
  CASES.forEach(([name, rule, expected], i) => {
    it(`${name}: ${rule}`, () => {
      expect(result[`case_${i}`]).toEqual(expected)
    })
  })
})

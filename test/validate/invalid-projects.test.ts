import {describe, expect, it} from 'vitest'
import {validateProject} from '../../src/validate/validate-project.js'
import {writeProject} from '../helpers/project.js'
import {MODELS} from '../language/fixture-shop.js'
import {ACCOUNT_MODELS, CASES} from './invalid-cases.js'

describe('invalid projects give positioned diagnostics', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const dir = writeProject({'models/m.yaml': MODELS, 'models/acc.yaml': ACCOUNT_MODELS, [c.file]: c.text})
      const v = validateProject({project: dir})
      const got = v.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.line, d.col])
      expect(got, JSON.stringify(v.diagnostics, null, 1)).toEqual(c.expect)
      for (const d of v.diagnostics) expect(d.file).toBe(c.file)
    })
  }

  it('a typo gets a did-you-mean', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': 'segment: a\nentity: customer\nrule: {trait: revenue_356d, gt: 1}\n'})
    const [d] = validateProject({project: dir}).diagnostics
    expect(d!.message).toContain("did you mean 'revenue_365d'?")
  })

  it('an unknown key gets a did-you-mean', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': 'segment: a\nentity: customer\nrule: {trial: x}\n'})
    const [d] = validateProject({project: dir}).diagnostics
    expect(d!.message).toContain("did you mean 'trait'?")
  })

  it('a cycle message names the whole loop', () => {
    const dir = writeProject({
      'models/m.yaml': MODELS,
      'segments/a.yaml': 'segment: a\nentity: customer\nrule: {segment: b}\n---\nsegment: b\nentity: customer\nrule: {segment: c}\n---\nsegment: c\nentity: customer\nrule: {segment: a}\n',
    })
    const cycles = validateProject({project: dir}).diagnostics.filter((d) => d.code === 'cycle')
    expect(cycles).toHaveLength(1)
    expect(cycles[0]!.message).toContain('a → b → c → a')
  })

  it('a missing project is reported, not thrown', () => {
    const v = validateProject({cwd: '/'})
    expect(v.diagnostics.map((d) => d.code)).toEqual(['project_not_found'])
  })

  it('an overdue review_by is a warning, not an error', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'segments/a.yaml': 'segment: a\nentity: customer\nreview_by: 2020-01-01\nrule: {attribute: age, eq: 1}\n'})
    const ds = validateProject({project: dir}).diagnostics
    expect(ds.map((d) => [d.code, d.severity, d.line, d.col])).toEqual([['review_overdue', 'warning', 3, 12]])
  })
})

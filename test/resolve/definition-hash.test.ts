import {describe, expect, it} from 'vitest'
import {definitionHashes} from '../../src/resolve/definition-hash.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {MODELS} from '../language/fixture-shop.js'

const BLOCK = `# a comment
segment: a
entity: customer
description: one
owner: x@acme.example
tags: [one]
rule:
  all:
    - trait: revenue_365d
      gte: 100
    - attribute: country
      in: [US, CA]
---
segment: b
entity: customer
rule: {segment: a}
---
segment: c
entity: customer
rule: {attribute: age, gt: 1}
`

const hashes = (models: string, segments: string) => definitionHashes(validOrThrow(writeProject({'models/m.yaml': models, 'segments/s.yaml': segments})).project)

describe('definition hash', () => {
  const base = hashes(MODELS, BLOCK)

  it('ignores description, owner, tags, comments, key order and flow vs block style', () => {
    const cosmetic = `segment: a
rule: {all: [{gte: 100, trait: revenue_365d}, {in: [US, CA], attribute: country}]}
entity: customer
description: two
tags: [x, y]
---
segment: b
entity: customer
rule:
  segment: a
---
segment: c
rule: {gt: 1, attribute: age}
entity: customer
`
    expect(hashes(MODELS, cosmetic)).toEqual(base)
  })

  it('changes with the rule, and with everything it reaches', () => {
    const edited = hashes(MODELS, BLOCK.replace('gte: 100', 'gte: 101'))
    expect(edited.get('a')).not.toBe(base.get('a'))
    expect(edited.get('b')).not.toBe(base.get('b')) // b references a
    expect(edited.get('c')).toBe(base.get('c'))
    const traitEdited = hashes(MODELS.replace('revenue_365d:  { event: order, within: 365d', 'revenue_365d:  { event: order, within: 366d'), BLOCK)
    expect(traitEdited.get('a')).not.toBe(base.get('a'))
    expect(traitEdited.get('c')).toBe(base.get('c'))
    const columnEdited = hashes(MODELS.replace('      country: string', '      country: { type: string, column: country_code }'), BLOCK)
    expect(columnEdited.get('a')).not.toBe(base.get('a'))
    expect(columnEdited.get('c')).toBe(base.get('c'))
  })

  it('changes with holdout, consent, exclude and refresh', () => {
    for (const extra of ['holdout: {percent: 5}', 'consent: [vip]', 'exclude: {attribute: age, lt: 18}', 'refresh: static']) {
      expect(hashes(MODELS, BLOCK.replace('segment: c\nentity: customer\n', `segment: c\nentity: customer\n${extra}\n`)).get('c'), extra).not.toBe(base.get('c'))
    }
  })
})

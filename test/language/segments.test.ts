import {createHash} from 'node:crypto'
import {beforeAll, describe, expect, it} from 'vitest'
import {membership, writeProject, type Membership} from '../helpers/project.js'
import {AS_OF, MODELS, ROWS} from './fixture-shop.js'

const SEGMENTS = `
segment: us
entity: customer
rule: {attribute: country, eq: US}
---
segment: us_or_old
entity: customer
rule: {any: [{segment: us}, {attribute: age, gt: 50}]}
---
segment: buyers_not_us
entity: customer
rule: {event: order}
exclude: {segment: us}
---
segment: consenting_buyers
entity: customer
rule: {event: order}
consent: [opt_in]
---
group: age_band
entity: customer
segments: [senior, adult]
---
segment: senior
entity: customer
rule: {attribute: age, gte: 40}
---
segment: adult
entity: customer
rule: {attribute: age, gte: 18}
---
segment: adult_ref
entity: customer
rule: {segment: adult}
---
segment: everyone_held
entity: customer
rule: {any: [{attribute: age, is_null: true}, {attribute: age, is_null: false}]}
holdout: {percent: 50, salt: q4}
`

/** SPEC §4 holdout, computed with node's md5 independently of the SQL. */
function inHoldout(segment: string, salt: string, key: string, percent: number): boolean {
  const hex = createHash('md5').update(`${segment}:${salt}:${key}`).digest('hex')
  return parseInt(hex.slice(0, 8), 16) % 10000 < percent * 100
}

describe('segment references, exclude, consent, groups, holdout', () => {
  let m: Membership
  beforeAll(async () => {
    m = await membership(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS}), AS_OF, ROWS)
  })
  it('a segment reference sees the other segment in the same run', () => expect(m.members.us_or_old).toEqual(['c1', 'c5']))
  it('exclude removes whoever matches it', () => expect(m.members.buyers_not_us).toEqual(['c2', 'c5']))
  it('consent keeps only TRUE (not NULL, not FALSE)', () => expect(m.members.consenting_buyers).toEqual(['c1', 'c2', 'c5']))
  it('a group puts each entity in its first matching segment', () => {
    expect(m.members.senior).toEqual(['c2', 'c5'])
    expect(m.members.adult).toEqual(['c1', 'c4'])
  })
  it('references see the group-resolved membership', () => expect(m.members.adult_ref).toEqual(['c1', 'c4']))
  it('holdout members stay members, flagged by the md5 bucket', () => {
    const all = ['c1', 'c2', 'c3', 'c4', 'c5']
    expect(m.members.everyone_held).toEqual(all)
    const expected = all.filter((k) => inHoldout('everyone_held', 'q4', k, 50))
    expect(expected.length).toBeGreaterThan(0)
    expect(expected.length).toBeLessThan(5)
    expect(m.holdout.everyone_held).toEqual(expected)
  })
  it('--select runs the named segments and what they reference', async () => {
    const sel = await membership(writeProject({'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS}), AS_OF, ROWS, ['adult_ref'])
    expect(Object.keys(sel.members).sort()).toEqual(['adult', 'adult_ref', 'senior'])
    expect(sel.members.adult_ref).toEqual(['c1', 'c4'])
  })
})

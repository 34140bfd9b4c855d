import {stringify} from 'yaml'
import {beforeAll, describe, expect, it} from 'vitest'
import {membership, writeProject} from '../helpers/project.js'

// Values that break naive SQL splicing; each is compared for exact, literal meaning.
const NASTY = ["O'Brien", "it''s", 'back\\slash', 'trailing\\', '100%', 'a_b', '%', '_', "'; DROP TABLE main.people; --", 'line\nbreak', '/* c */', 'ünï 🚀', '"dq"', '$1', '?']
const PEOPLE = NASTY.map((name, i) => ({id: `p${i}`, name}))

const ops: Array<[string, (v: string, p: string) => boolean]> = [
  ['eq', (v, p) => v === p],
  ['contains', (v, p) => v.includes(p)],
  ['starts_with', (v, p) => v.startsWith(p)],
  ['ends_with', (v, p) => v.endsWith(p)],
]

describe('values from YAML reach SQL only as escaped literals', () => {
  let members: Record<string, string[]>
  const cases: Array<{segment: string; expected: string[]; op: string; pattern: string}> = []
  beforeAll(async () => {
    const docs: string[] = []
    NASTY.forEach((pattern, i) => {
      for (const [op, test] of ops) {
        const segment = `s_${op}_${i}`
        docs.push(stringify({segment, entity: 'person', rule: {attribute: 'name', [op]: pattern}}))
        cases.push({segment, op, pattern, expected: PEOPLE.filter((p) => test(p.name, pattern)).map((p) => p.id).sort()})
      }
    })
    docs.push(stringify({segment: 's_in', entity: 'person', rule: {attribute: 'name', in: NASTY.slice(0, 5)}}))
    cases.push({segment: 's_in', op: 'in', pattern: '', expected: PEOPLE.slice(0, 5).map((p) => p.id).sort()})
    docs.push(stringify({segment: 's_where', entity: 'person', rule: {event: 'tag', where: {label: NASTY[8]}}}))
    cases.push({segment: 's_where', op: 'where', pattern: NASTY[8]!, expected: ['p8']})
    const models = stringify({
      entities: {person: {table: 'main.people', key: 'id', attributes: {name: 'string'}}},
      events: {tag: {entity: 'person', table: 'main.tags', key: 'pid', timestamp: 'ts', properties: {label: 'string'}}},
    })
    const dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': docs.join('---\n')})
    const tags = PEOPLE.map((p) => ({pid: p.id, ts: '2026-01-01T00:00:00Z', label: p.name}))
    members = (await membership(dir, '2026-06-01T00:00:00Z', {'main.people': PEOPLE, 'main.tags': tags})).members
  })

  it('every comparison gives exactly the literal answer', () => {
    expect(cases.length).toBe(NASTY.length * ops.length + 2)
    for (const c of cases) expect(members[c.segment], `${c.op} ${JSON.stringify(c.pattern)}`).toEqual(c.expected)
  })

})

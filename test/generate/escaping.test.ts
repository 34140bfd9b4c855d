import {stringify} from 'yaml'
import {beforeAll, describe, expect, it} from 'vitest'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {membershipSelect} from '../../src/generate/run-statements.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import {groupMembership, membership, validOrThrow, writeProject} from '../helpers/project.js'
import {evaluateBigQuery, startZetaSQL} from '../helpers/zetasql.js'

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
  let dir: string
  let tags: Array<Record<string, unknown>>
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
      // root-level tables, so ZetaSQL can evaluate the BigQuery version too
      entities: {person: {table: 'people', key: 'id', attributes: {name: 'string'}}},
      events: {tag: {entity: 'person', table: 'tags', key: 'pid', timestamp: 'ts', properties: {label: 'string'}}},
    })
    dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': docs.join('---\n')})
    tags = PEOPLE.map((p) => ({pid: p.id, ts: '2026-01-01T00:00:00Z', label: p.name}))
    members = (await membership(dir, '2026-06-01T00:00:00Z', {people: PEOPLE, tags})).members
  })

  it('every comparison gives exactly the literal answer', () => {
    expect(cases.length).toBe(NASTY.length * ops.length + 2)
    for (const c of cases) expect(members[c.segment], `${c.op} ${JSON.stringify(c.pattern)}`).toEqual(c.expected)
  })


  it('BigQuery escaping gives the same literal answers (executed by ZetaSQL)', async () => {
    const z = await startZetaSQL()
    try {
      const v = validOrThrow(dir)
      const sql = membershipSelect(bigqueryDialect, buildPlan(v.project, new Date('2026-06-01T00:00:00Z')))!
      const rows = await evaluateBigQuery(v.project, {people: PEOPLE, tags}, sql)
      expect(groupMembership(rows, Object.keys(members)).members).toEqual(members)
    } finally {
      z.stop()
    }
  })

  it('Snowflake literals double quotes and backslashes, as its string constants require', () => {
    const v = validOrThrow(dir)
    const sql = membershipSelect(snowflakeDialect, buildPlan(v.project, new Date('2026-06-01T00:00:00Z'), ['s_eq_0', 's_eq_2']))!
    // https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants
    expect(sql).toContain("'O''Brien'")
    expect(sql).toContain("'back\\\\slash'")
  })
})

// Identity YAML (SPEC §20): every problem positioned, the warning when nothing is stitched.
// Positions are 1-based and worked out by reading each text.
import {describe, expect, it} from 'vitest'
import {validateProject} from '../../src/validate/validate-project.js'
import {writeProject} from '../helpers/project.js'

const ENTITY = `entities:
  customer:
    table: main.customers
    key: customer_id
    identity:
      ids:
        email: { normalize: [trim, lowercase], exclude: [' None '] }
        anonymous_id: { exclude: ['', undefined] }
      edges:
        - { table: main.identifies, timestamp: ts, ids: { key: user_id, anonymous_id: anonymous_id, email: email } }
        - { event: page_view }
      anonymous: true
      max_depth: 10
`
const PAGE_VIEW = `events:
  page_view:
    entity: customer
    table: main.web_events
    timestamp: ts
    ids: { key: user_id, anonymous_id: anonymous_id }
`

function problems(files: Record<string, string>) {
  const v = validateProject({project: writeProject({'segments/s.yaml': 'segment: s\nentity: customer\nrule: {event: page_view}\n', ...files})})
  return {v, got: v.diagnostics.map((d) => [d.code, d.severity, d.file, d.line, d.col])}
}

describe('identity in the YAML', () => {
  it('a well-formed identity resolves: kinds in priority order, exclusions normalized, event edges read the event', () => {
    const {v, got} = problems({'models/m.yaml': ENTITY + PAGE_VIEW})
    expect(got).toEqual([])
    const c = v.project!.entities.get('customer')!.identity!
    expect(c.kinds.map((k) => [k.name, k.normalize, k.exclude])).toEqual([
      ['email', ['trim', 'lowercase'], ['none']],
      ['anonymous_id', [], ['', 'undefined']],
    ])
    expect(c.anonymous).toBe(true)
    expect(c.maxDepth).toBe(10)
    expect(c.edges.map((e) => [e.name, e.timestamp, e.ids])).toEqual([
      ['main.identifies', 'ts', [{kind: 'key', column: 'user_id'}, {kind: 'email', column: 'email'}, {kind: 'anonymous_id', column: 'anonymous_id'}]],
      ['event page_view', 'ts', [{kind: 'key', column: 'user_id'}, {kind: 'anonymous_id', column: 'anonymous_id'}]],
    ])
    expect(v.project!.events.get('page_view')!.ids).toEqual([{kind: 'key', column: 'user_id'}, {kind: 'anonymous_id', column: 'anonymous_id'}])
  })

  it('an event with both key and ids', () => {
    const {got} = problems({'models/m.yaml': ENTITY + PAGE_VIEW.replace('    ids:', '    key: user_id\n    ids:')})
    expect(got).toEqual([['bad_value', 'error', 'models/m.yaml', 20, 5]])
  })

  it('an event with neither key nor ids', () => {
    const {got} = problems({'models/m.yaml': ENTITY + PAGE_VIEW.replace('    ids: { key: user_id, anonymous_id: anonymous_id }\n', '')})
    expect(got.filter((g) => g[1] === 'error')).toEqual([['missing_key', 'error', 'models/m.yaml', 15, 3]])
  })

  it('a kind the entity does not declare, in an event and in an edge', () => {
    const {got, v} = problems({
      'models/m.yaml': ENTITY.replace('anonymous_id: anonymous_id, email: email }', 'anonymous_id: anonymous_id, phone: phone }') + PAGE_VIEW.replace('anonymous_id: anonymous_id }', 'anonymus_id: anonymous_id }'),
    })
    expect(got).toEqual([
      ['unknown_identifier', 'error', 'models/m.yaml', 10, 101],
      ['unknown_identifier', 'error', 'models/m.yaml', 19, 26],
    ])
    expect(v.diagnostics[1]!.message).toContain("did you mean 'anonymous_id'?")
  })

  it('ids on an event whose entity declares no identity', () => {
    const noIdentity = 'entities:\n  customer:\n    table: main.customers\n    key: customer_id\n'
    const {got} = problems({'models/m.yaml': noIdentity + PAGE_VIEW})
    expect(got).toEqual([['unknown_identifier', 'error', 'models/m.yaml', 10, 5]])
  })

  it('an unknown normalize step', () => {
    const {got} = problems({'models/m.yaml': ENTITY.replace('[trim, lowercase]', '[trim, upcase]') + PAGE_VIEW})
    expect(got.filter((g) => g[1] === 'error')).toEqual([['bad_value', 'error', 'models/m.yaml', 7, 36]])
  })

  it('an edge naming an unknown event', () => {
    const {got} = problems({'models/m.yaml': ENTITY.replace('{ event: page_view }', '{ event: page_veiw }') + PAGE_VIEW})
    expect(got).toEqual([['unknown_event', 'error', 'models/m.yaml', 11, 20]])
  })

  it('an edge relation without any identifier column', () => {
    const {got} = problems({'models/m.yaml': ENTITY.replace('{ event: page_view }', '{ table: main.devices, timestamp: ts }') + PAGE_VIEW})
    expect(got).toEqual([['missing_key', 'error', 'models/m.yaml', 11, 11]])
  })

  it('identity on an entity whose events all use key is a warning: nothing to stitch', () => {
    const {got} = problems({'models/m.yaml': ENTITY.replace('        - { event: page_view }\n', '') + PAGE_VIEW.replace('ids: { key: user_id, anonymous_id: anonymous_id }', 'key: user_id')})
    expect(got).toEqual([['nothing_to_stitch', 'warning', 'models/m.yaml', 5, 5]])
  })

  it('identifier kind key cannot be redeclared, and max_depth must be positive', () => {
    const {got} = problems({'models/m.yaml': ENTITY.replace('        email:', '        key: {}\n        email:').replace('max_depth: 10', 'max_depth: 0') + PAGE_VIEW})
    expect(got.map((g) => g[0]).sort()).toEqual(['bad_value', 'bad_value'])
  })
})

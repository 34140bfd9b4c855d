import {describe, expect, it} from 'vitest'
import {validateProject} from '../../src/validate/validate-project.js'
import {writeProject} from '../helpers/project.js'

// fit: propensity's bad input: each case gives the YAML and the code, line and column of the
// node at fault. A position is where `needle` starts in the text (its nth occurrence).

const MODELS = `
entities:
  user:
    table: main.users
    key: id
    attributes: {plan: string, opt_in: boolean, signup_at: timestamp, age: integer}
  account:
    table: main.accounts
    key: id
    attributes: {seats: integer}
events:
  session: {entity: user, table: main.events, key: user_id, timestamp: ts}
  upgrade: {entity: user, table: main.upgrades, key: user_id, timestamp: ts, properties: {plan: string}}
  login: {entity: account, table: main.logins, key: account_id, timestamp: ts}
traits:
  sessions_30d: {event: session, within: 30d}
`

function at(text: string, needle: string, nth = 1): [number, number] {
  let i = -1
  for (let k = 0; k < nth; k++) i = text.indexOf(needle, i + 1)
  if (i < 0) throw new Error(`no '${needle}' in the case`)
  const before = text.slice(0, i).split('\n')
  return [before.length, before[before.length - 1]!.length + 1]
}

const TRAIT = (body: string) => `traits:\n  will_upgrade: {fit: propensity, ${body}}\n`
const OK_GOAL = 'goal: {event: upgrade}, horizon: 30d'

interface Case {
  name: string
  files: Record<string, string>
  /** [code, file, needle, nth] */
  expect: Array<[string, string, string, number?]>
}

const CASES: Case[] = [
  {name: 'unknown feature', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [sessions_30d, sesions_7d]`)}, expect: [['unknown_trait', 'models/p.yaml', 'sesions_7d']]},
  {name: 'a timestamp attribute as a feature', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [signup_at]`)}, expect: [['type_mismatch', 'models/p.yaml', 'signup_at']]},
  {name: 'no goal', files: {'models/p.yaml': TRAIT(`horizon: 30d, features: [age]`)}, expect: [['missing_key', 'models/p.yaml', 'fit']]},
  {name: 'no horizon', files: {'models/p.yaml': TRAIT(`goal: {event: upgrade}, features: [age]`)}, expect: [['missing_key', 'models/p.yaml', 'fit']]},
  {name: 'no features', files: {'models/p.yaml': TRAIT(OK_GOAL)}, expect: [['missing_key', 'models/p.yaml', 'fit']]},
  {name: 'a goal with both forms', files: {'models/p.yaml': TRAIT(`goal: {event: upgrade, segment: pro}, horizon: 30d, features: [age]`), 'segments/pro.yaml': 'segment: pro\nentity: user\nrule: {attribute: plan, eq: pro}\n'}, expect: [['bad_condition', 'models/p.yaml', 'goal']]},
  {name: 'an unknown goal event', files: {'models/p.yaml': TRAIT(`goal: {event: upgrad}, horizon: 30d, features: [age]`)}, expect: [['unknown_event', 'models/p.yaml', 'upgrad}']]},
  {name: 'a goal event of another entity', files: {'models/p.yaml': TRAIT(`goal: {event: login}, horizon: 30d, features: [age]`)}, expect: [['entity_mismatch', 'models/p.yaml', 'login']]},
  {name: 'an unknown goal property', files: {'models/p.yaml': TRAIT(`goal: {event: upgrade, where: {plann: pro}}, horizon: 30d, features: [age]`)}, expect: [['unknown_property', 'models/p.yaml', 'plann']]},
  {
    name: 'a population of another entity',
    files: {'models/p.yaml': TRAIT(`${OK_GOAL}, population: big_accounts, features: [age]`), 'segments/b.yaml': 'segment: big_accounts\nentity: account\nrule: {attribute: seats, gte: 10}\n'},
    expect: [['entity_mismatch', 'models/p.yaml', 'big_accounts']],
  },
  {name: 'an unknown population', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, population: trials, features: [age]`)}, expect: [['unknown_segment', 'models/p.yaml', 'trials']]},
  {name: 'features of two entities', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age, seats]`)}, expect: [['entity_mismatch', 'models/p.yaml', '[age']]},
  {name: 'l2 of 0', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age], l2: 0`)}, expect: [['bad_value', 'models/p.yaml', '0}']]},
  {name: 'negative l2', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age], l2: -1`)}, expect: [['bad_value', 'models/p.yaml', '-1']]},
  {name: 'a stray key', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age], k: 3`)}, expect: [['bad_condition', 'models/p.yaml', 'k:']]},
  {
    name: 'a feature that reads the propensity itself (a cycle)',
    files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age, upgrade_score]`) + '  upgrade_score: {predict: probability, model: will_upgrade}\n'},
    expect: [['cycle', 'models/p.yaml', 'will_upgrade']],
  },
  {
    name: 'a population that reads the propensity itself (a cycle)',
    files: {
      'models/p.yaml': TRAIT(`${OK_GOAL}, population: keen, features: [age]`) + '  upgrade_score: {predict: probability, model: will_upgrade}\n',
      'segments/keen.yaml': 'segment: keen\nentity: user\nrule: {trait: upgrade_score, gte: 0.5}\n',
    },
    expect: [['cycle', 'models/p.yaml', 'will_upgrade']],
  },
  {name: 'a propensity compared as a value', files: {'models/p.yaml': TRAIT(`${OK_GOAL}, features: [age]`), 'segments/s.yaml': 'segment: s\nentity: user\nrule: {trait: will_upgrade, gte: 0.5}\n'}, expect: [['type_mismatch', 'segments/s.yaml', 'will_upgrade']]},
  {name: 'probability of a bgnbd model', files: {'models/p.yaml': 'traits:\n  buys: {fit: bgnbd, event: upgrade}\n  s: {predict: probability, model: buys}\n'}, expect: [['type_mismatch', 'models/p.yaml', 'buys}']]},
]

describe('fit: propensity: positioned errors', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const dir = writeProject({'models/m.yaml': MODELS, ...c.files})
      const got = validateProject({project: dir})
        .diagnostics.filter((d) => d.severity === 'error')
        .map((d) => [d.code, d.file.replace(`${dir}/`, ''), d.line, d.col])
      const want = c.expect.map(([code, file, needle, nth]) => [code, file, ...at(c.files[file]!, needle, nth)])
      expect(got).toEqual(want)
    })
  }

  it('a valid definition resolves with its defaults (l2 1, levels 10)', () => {
    const dir = writeProject({'models/m.yaml': MODELS, 'models/p.yaml': TRAIT(`goal: {event: upgrade, where: {plan: pro}}, horizon: 30d, features: [sessions_30d, plan, opt_in, age]`) + '  s: {predict: percentile, model: will_upgrade}\n'})
    const v = validateProject({project: dir})
    expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
    const d = v.project.traits.get('will_upgrade')!.def
    expect(d.kind === 'fit' && d.model === 'propensity' && d.propensity).toMatchObject({l2: 1, levels: 10, horizonSeconds: 30 * 86400, features: [{name: 'sessions_30d', type: 'number'}, {name: 'plan', type: 'string'}, {name: 'opt_in', type: 'boolean'}, {name: 'age', type: 'number'}]})
  })
})

import {beforeAll, describe, expect, it} from 'vitest'
import {membership, writeProject} from '../helpers/project.js'
import {AS_OF, MODELS, ROWS} from './fixture-shop.js'

// Each case: a rule (YAML flow mapping) and the members worked out by hand from fixture-shop.ts.
const CASES: Array<[string, string, string[]]> = [
  // attribute comparisons; c3 has NULLs everywhere, c4's country is lower-case 'us'
  ['eq is case-sensitive', '{attribute: country, eq: US}', ['c1']],
  ['ne is FALSE for NULL', '{attribute: country, ne: US}', ['c2', 'c4', 'c5']],
  ['not turns FALSE into TRUE for NULL', '{not: {attribute: country, eq: US}}', ['c2', 'c3', 'c4', 'c5']],
  ['gt', '{attribute: age, gt: 30}', ['c2', 'c5']],
  ['gte boundary', '{attribute: age, gte: 30}', ['c1', 'c2', 'c5']],
  ['lt', '{attribute: age, lt: 30}', ['c4']],
  ['lte boundary', '{attribute: age, lte: 18}', ['c4']],
  ['in', '{attribute: country, in: [US, CA]}', ['c1', 'c2']],
  ['not_in is FALSE for NULL', '{attribute: country, not_in: [US, CA]}', ['c4', 'c5']],
  ['between inclusive', '{attribute: age, between: [18, 45]}', ['c1', 'c2', 'c4']],
  ['is_null true', '{attribute: age, is_null: true}', ['c3']],
  ['is_null false', '{attribute: age, is_null: false}', ['c1', 'c2', 'c4', 'c5']],
  ['contains', '{attribute: country, contains: S}', ['c1']],
  ['starts_with', '{attribute: country, starts_with: G}', ['c5']],
  ['ends_with', '{attribute: country, ends_with: A}', ['c2']],
  ['several comparisons all hold', '{attribute: age, gt: 18, lt: 60}', ['c1', 'c2']],
  ['number lt', '{attribute: score, lt: 0}', ['c5']],
  ['number eq 0', '{attribute: score, eq: 0}', ['c4']],
  ['boolean eq true', '{attribute: vip, eq: true}', ['c1', 'c4']],
  ['boolean eq false (NULL is not false)', '{attribute: vip, eq: false}', ['c2', 'c5']],
  ['bare boolean means eq true', '{attribute: vip}', ['c1', 'c4']],
  ['relative time gte (boundary and future)', '{attribute: signup_at, gte: -7d}', ['c1', 'c4', 'c5']],
  ['absolute date on a timestamp', '{attribute: signup_at, lt: 2026-01-01}', ['c2']],
  ['between absolute times', "{attribute: signup_at, between: ['2026-05-01', '2026-06-01T00:00:00Z']}", ['c1', 'c4']],
  ['date attribute', '{attribute: birthday, lt: 2000-01-01}', ['c1', 'c5']],
  ['date attribute, relative (as_of − 9200d is 2001-03-24)', '{attribute: birthday, gte: -9200d}', ['c3']],
  // event conditions
  ['performed: ts ≤ as_of only, unknown keys ignored', '{event: order}', ['c1', 'c2', 'c5']],
  ['within: lower edge excluded, as_of included', '{event: order, within: 30d}', ['c1', 'c2']],
  ['within with a count', '{event: order, within: 30d, gte: 2}', ['c1']],
  ['zero times includes entities without events', '{event: order, within: 30d, eq: 0}', ['c3', 'c4', 'c5']],
  ['between window: upper edge included', '{event: order, between: [200d, 30d]}', ['c1', 'c2', 'c5']],
  ['before', '{event: order, before: 100d}', ['c2']],
  ['before nothing', '{event: order, before: 200d}', []],
  ['where eq', '{event: order, where: {category: shoes}}', ['c1', 'c2']],
  ['where comparison', '{event: order, where: {amount: {gte: 100}}}', ['c1', 'c2']],
  ['sum', '{event: order, aggregate: sum, of: amount, gte: 150}', ['c1', 'c2']],
  ['sum over no events (or only NULLs) is 0', '{event: order, aggregate: sum, of: amount, eq: 0}', ['c3', 'c4', 'c5']],
  ['count_distinct', '{event: order, aggregate: count_distinct, of: category, gte: 2}', ['c1', 'c2']],
  ['count_distinct over no events is 0', '{event: order, aggregate: count_distinct, of: category, eq: 0}', ['c3', 'c4', 'c5']],
  ['avg', '{event: order, aggregate: avg, of: amount, gt: 100}', ['c2']],
  ['avg over no events is NULL', '{event: order, aggregate: avg, of: amount, is_null: true}', ['c3', 'c4', 'c5']],
  ['min', '{event: order, aggregate: min, of: amount, lt: 15}', ['c2']],
  ['max', '{event: order, aggregate: max, of: amount, gte: 100}', ['c1', 'c2']],
  ['max of timestamp vs relative time', '{event: order, aggregate: max, of: timestamp, gte: -1d}', ['c1', 'c2']],
  ['min of timestamp over no events is NULL', '{event: order, aggregate: min, of: timestamp, is_null: true}', ['c3', 'c4']],
  ['event-level where', '{event: visit}', ['c1', 'c2']],
  ['literal % and _ in starts_with', '{event: visit, where: {path: {contains: "%_"}}}', ['c2']],
  ['where eq string', '{event: visit, where: {path: /pricing}}', ['c1']],
  // sequences: e1 < e2 strictly, all in the window, each within max_gap of the one before
  ['sequence', '{sequence: [{event: visit}, {event: order}]}', ['c1', 'c2']],
  ['sequence with max_gap', '{sequence: [{event: visit}, {event: order}], max_gap: 2d}', ['c1']],
  ['sequence the other way round', '{sequence: [{event: order}, {event: visit}]}', ['c1', 'c2']],
  ['sequence inside a window', '{sequence: [{event: order}, {event: visit}], within: 30d}', ['c1']],
  ['the same event twice needs two events', '{sequence: [{event: order}, {event: order}]}', ['c1', 'c2']],
  ['max_gap edge is included', '{sequence: [{event: order}, {event: order}], max_gap: 1s}', ['c1']],
  ['steps with where', '{sequence: [{event: order, where: {category: books}}, {event: order, where: {category: shoes}}]}', ['c1']],
  ['equal timestamps are not a sequence', '{sequence: [{event: visit}, {event: visit}]}', []],
  ['three steps', '{sequence: [{event: order}, {event: visit}, {event: order}]}', ['c1', 'c2']],
  ['sequence before', '{sequence: [{event: order}, {event: visit}], before: 2d}', ['c1', 'c2']],
  // traits
  ['sum trait', '{trait: revenue_365d, gte: 500}', ['c2']],
  ['expr division', '{trait: avg_value, gt: 100}', ['c2']],
  ['division by zero is NULL', '{trait: avg_value, is_null: true}', ['c3', 'c4']],
  ['days_since is elapsed days, floored', '{trait: days_since_last, eq: 0}', ['c1', 'c2']],
  ['days_since over months', '{trait: days_since_last, eq: 92}', ['c5']],
  ['hours_since', '{trait: hours_since_signup, eq: 168}', ['c1']],
  ['hours_since is negative for the future', '{trait: hours_since_signup, lt: 0}', ['c5']],
  ['ntile asc', '{trait: age_half, eq: 2}', ['c2', 'c5']],
  ['ntile NULL value gets NULL', '{trait: age_half, is_null: true}', ['c3']],
  ['ntile desc', '{trait: age_half_desc, eq: 1}', ['c2', 'c5']],
  ['ntile ties broken by key', '{trait: orders_rank, eq: 1}', ['c3']],
  ['ntile over counts', '{trait: orders_rank, eq: 5}', ['c1']],
  ['coalesce', '{trait: score_or_zero, gte: 0}', ['c1', 'c2', 'c3', 'c4']],
  ['round', '{trait: score_quarter, eq: 0.4}', ['c1']],
  ['greatest is NULL with a NULL argument', '{trait: age_floor40, eq: 40}', ['c1', 'c4']],
  ['nullif', '{trait: age_not18, is_null: true}', ['c3', 'c4']],
  ['abs floor ceil', '{trait: neg_abs, eq: 4}', ['c5']],
  // logic
  ['all', '{all: [{attribute: vip}, {event: order}]}', ['c1']],
  ['any', '{any: [{attribute: age, gte: 60}, {attribute: country, eq: CA}]}', ['c2', 'c5']],
  ['nested not/any', '{not: {any: [{attribute: vip}, {attribute: age, is_null: true}]}}', ['c2', 'c5']],
]

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

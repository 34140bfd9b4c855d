import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'
import {writeProject} from './project.js'

// A project made of docs/language.md's own examples: every condition in its tables, every
// trait in its YAML blocks, one segment per documented aggregate, comparison and expression
// function. What the page teaches is what every dialect must compile.

const DOC = readFileSync(fileURLToPath(new URL('../../docs/language.md', import.meta.url)), 'utf8')

function section(title: string): string {
  const start = DOC.indexOf(`\n${title}\n`)
  if (start < 0) throw new Error(`docs/language.md has no section '${title}'`)
  const next = DOC.slice(start + title.length + 2).search(/\n#{2,3} /)
  return DOC.slice(start, next < 0 ? undefined : start + title.length + 2 + next)
}

/** the documented names: aggregates (the table's first column), comparisons, expression functions */
export function documented(): {aggregates: string[]; comparisons: string[]; functions: string[]; conditions: string[]} {
  // a row's names come before its parenthesis: `active_periods` (`period`, optional `min_count`)
  const aggregates = [...section('### Aggregates (event traits and inline event conditions)').matchAll(/^\| (`[^|(]+)/gm)].flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!))
  const comparisons = section('### Conditions').match(/Comparisons: `([^`]+)`/)![1]!.split(/\s+/)
  const exprs = section('### Expressions').match(/parentheses, and `([^`]+)`/)![1]!
  const functions = [...exprs.matchAll(/([a-z_]+)(?:\(|\s|$)/g)].map((m) => m[1]!)
  // every example condition in the conditions and recipes tables that is whole (not `{all: [..]}`)
  const conditions = [section('### Conditions'), section('## Recipes: behavioural cohorts by composition')].flatMap((s) =>
    [...s.matchAll(/^\|[^|]+\| `(\{.*\})`/gm)].map((m) => m[1]!).filter((c) => !c.includes('..')),
  )
  return {aggregates, comparisons, functions, conditions}
}

/** The YAML blocks of docs/language.md that define traits. */
function documentedTraits(): Record<string, unknown> {
  const blocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Record<string, unknown>)
  return Object.assign({}, ...blocks.filter((b) => b && typeof b === 'object' && 'traits' in b).map((b) => b.traits))
}

const MODELS = (traits: Record<string, unknown>) => `
entities:
  customer:
    table: main.customers
    key: customer_id
    attributes:
      country: string
      email_opt_in: boolean
      signup_at: timestamp
      birthday: date
      age: integer
      ltv: { type: number, column: lifetime_value }
events:
  order:
    entity: customer
    table: main.orders
    key: customer_id
    timestamp: ordered_at
    where: { status: complete }
    properties: { amount: number, category: string, channel: string, status: string }
  page_view: { entity: customer, table: main.web_events, key: customer_id, timestamp: ts, where: { event_type: page_view }, properties: { path: string, event_type: string } }
  session:   { entity: customer, table: main.web_events, key: customer_id, timestamp: ts, where: { event_type: session }, properties: { event_type: string } }
  purchase:  { entity: customer, table: main.orders, key: customer_id, timestamp: ordered_at, properties: { amount: number } }
  login:     { entity: customer, table: main.logins, key: customer_id, timestamp: at }
traits:
  orders_365d:  { event: order, within: 365d, aggregate: count }
  last_order_at: { event: order, aggregate: max, of: timestamp }
  days_since_last_order: { expr: "days_since(last_order_at)" }
${Object.entries(traits).map(([name, def]) => `  ${name}: ${JSON.stringify(def)}`).join('\n')}
`

const OF: Record<string, string> = {count_distinct: 'of: category', sum: 'of: amount', avg: 'of: amount', min: 'of: amount', max: 'of: timestamp', first: 'of: channel', last: 'of: amount', most_frequent: 'of: category', active_periods: 'period: 7d, min_count: 2'}
const OPERAND: Record<string, string> = {eq: 'US', ne: 'US', gt: 'M', gte: 'M', lt: 'M', lte: 'M', in: '[US, CA]', not_in: '[US, CA]', between: '[A, M]', is_null: 'false', contains: "'%'", starts_with: 'U_', ends_with: 'S'}
const ARGS: Record<string, string> = {coalesce: 'ltv, 0', nullif: 'ltv, 0', least: 'ltv, 5', greatest: 'ltv, 5', abs: 'ltv', round: 'ltv, 2', floor: 'ltv', ceil: 'ltv', days_since: 'signup_at', hours_since: 'signup_at'}

/** The project: one segment per documented construct, with a group, a holdout, a static segment and consent. */
export function languageDocsProject(prefix = 'main.'): string {
  const d = documented()
  const segments: string[] = []
  const add = (name: string, rule: string, extra = '') => segments.push(`segment: ${name}\nentity: customer\nrule: ${rule}\n${extra}`)
  add('suppression_list', '{attribute: email_opt_in, eq: false}')
  d.conditions.forEach((c, i) => add(`doc_condition_${i}`, c))
  add('doc_all_any_not', `{all: [${d.conditions[0]}, {any: [${d.conditions[1]}, {not: ${d.conditions[2]}}]}]}`, 'exclude: { segment: suppression_list }\nconsent: [email_opt_in]\nholdout: { percent: 10, salt: docs }\n')
  d.aggregates.forEach((a) => add(`doc_aggregate_${a}`, `{event: order, within: 90d, aggregate: ${a}${OF[a] ? `, ${OF[a]}` : ''}, is_null: false}`))
  d.comparisons.forEach((c) => add(`doc_comparison_${c}`, `{attribute: country, ${c}: ${OPERAND[c]}}`))
  const traits: Record<string, unknown> = {...documentedTraits()}
  d.functions.forEach((f) => (traits[`doc_fn_${f}`] = {expr: `${f}(${ARGS[f]})`}))
  d.functions.forEach((f) => add(`doc_function_${f}`, `{trait: doc_fn_${f}, is_null: false}`))
  Object.keys(documentedTraits()).forEach((t) => add(`doc_trait_${t}`, `{trait: ${t}, is_null: false}`))
  add('doc_static', '{attribute: age, gte: 18}', 'refresh: static\n')
  add('doc_stage_a', '{attribute: age, gte: 40}')
  add('doc_stage_b', '{attribute: age, gte: 18}')
  return writeProject({
    'models/m.yaml': MODELS(traits).replaceAll('table: main.', `table: ${prefix}`),
    'segments/s.yaml': segments.join('---\n') + '---\ngroup: doc_stages\nentity: customer\nsegments: [doc_stage_a, doc_stage_b]\n',
  })
}

/** Rows for the docs project's relations: a few customers with orders, web events and logins over a year. */
export function languageDocsRows(asOf: string, prefix = 'main.'): Record<string, Array<Record<string, unknown>>> {
  let seed = 7
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!
  const at = (daysBack: number) => new Date(Date.parse(asOf) - daysBack * 86400_000).toISOString()
  const customers = Array.from({length: 24}, (_, i) => ({
    customer_id: `c${i}`,
    country: pick(['US', 'CA', 'DE', 'U_K', null]),
    email_opt_in: pick([true, true, false, null]),
    signup_at: at(Math.floor(next() * 900)),
    birthday: at(9000 + Math.floor(next() * 9000)).slice(0, 10),
    age: pick([17, 25, 41, 66, null]),
    lifetime_value: pick([0, 12.345, 250, null]),
  }))
  const orders = customers.flatMap((c) =>
    Array.from({length: Math.floor(next() * 8)}, () => ({customer_id: c.customer_id, ordered_at: at(Math.floor(next() * 400 * 24) / 24), amount: pick([5, 20, 120, null]), category: pick(['shoes', 'books', null]), channel: pick(['web', 'app']), status: pick(['complete', 'complete', 'cancelled'])})),
  )
  const web = customers.flatMap((c) =>
    Array.from({length: Math.floor(next() * 10)}, () => ({customer_id: c.customer_id, ts: at(Math.floor(next() * 120 * 24) / 24), event_type: pick(['page_view', 'session']), path: pick(['/pricing', '/home', null])})),
  )
  const logins = customers.flatMap((c) => Array.from({length: Math.floor(next() * 12)}, () => ({customer_id: c.customer_id, at: at(Math.floor(next() * 100 * 24) / 24)})))
  return {[`${prefix}customers`]: customers, [`${prefix}orders`]: orders, [`${prefix}web_events`]: web, [`${prefix}logins`]: logins}
}

/**
 * Two active_periods segments whose windows an incremental run keeps as a mask per key (the
 * docs project's 90-day one is too long for one): 60 days of one bit, 31 of two (min_count 2),
 * so the fields reach the integer's 62nd bit. Appended to the docs project by the dialect tests.
 */
export const MASK_SEGMENTS = `---
segment: mask_weeks
entity: customer
rule: {event: order, within: 60d, aggregate: active_periods, period: 7d, gte: 1}
---
segment: mask_busy
entity: customer
rule: {event: order, within: 31d, aggregate: active_periods, period: 7d, min_count: 2, gte: 1}
`

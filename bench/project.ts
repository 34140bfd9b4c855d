// The benchmark's project: the example shop's models and 15 segments, plus segments of the
// kinds teams actually run on such a shop (category buyers, cart abandoners, engagement,
// regional, trial and account segments). More than the listed ones are made by varying
// windows and thresholds, as a growing project does.
import {copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse, stringify} from 'yaml'
import {exampleProjectRoot} from '../src/demo/run-demo.js'

/** The example's segment files that read fitted traits: a run needs `segc fit` before them. */
export const FITTED_SEGMENTS = ['value.yaml', 'likely_to_order.yaml']

type Seg = {segment: string; entity?: string; description: string; rule: unknown; exclude?: unknown; consent?: string[]}

const cat = (c: string, within: string, gte = 1): Seg => ({
  segment: `${c}_buyers_${within}`,
  description: `Bought ${c} in the last ${within}`,
  rule: {event: 'order', where: {category: c}, within, gte},
})

const EXTRA: Seg[] = [
  cat('shoes', '90d'),
  cat('apparel', '90d'),
  cat('books', '365d'),
  cat('home', '30d'),
  {segment: 'electronics_big_spenders', description: 'Spent 300+ on electronics this year', rule: {event: 'order', where: {category: 'electronics'}, within: '365d', aggregate: 'sum', of: 'amount', gte: 300}},
  {segment: 'app_shoppers', description: 'Two or more app orders in 90 days', rule: {event: 'order', where: {channel: 'app'}, within: '90d', gte: 2}},
  {segment: 'store_only', description: 'Bought in store but never on the web this year', rule: {all: [{event: 'order', where: {channel: 'store'}, within: '365d'}, {not: {event: 'order', where: {channel: 'web'}, within: '365d'}}]}},
  {segment: 'cart_abandoners', description: 'Filled a cart in 3 days without ordering', rule: {all: [{event: 'add_to_cart', within: '3d'}, {not: {event: 'order', within: '3d'}}]}, exclude: {segment: 'suppression_list'}, consent: ['email_opt_in']},
  {segment: 'browsers_no_buy', description: 'Five page views in two weeks, never bought', rule: {all: [{event: 'page_view', within: '14d', gte: 5}, {trait: 'orders_total', eq: 0}]}},
  {segment: 'pricing_researchers', description: 'Three pricing views in 30 days', rule: {event: 'page_view', where: {path: {starts_with: '/pricing'}}, within: '30d', gte: 3}},
  {segment: 'docs_readers', description: 'Read the docs twice this month', rule: {event: 'page_view', where: {path: {starts_with: '/docs'}}, within: '30d', gte: 2}},
  {segment: 'blog_readers', description: 'Read the blog in 60 days', rule: {event: 'page_view', where: {path: '/blog'}, within: '60d'}},
  {segment: 'us_vip', description: 'US customers with 1,000+ revenue this year', rule: {all: [{attribute: 'country', eq: 'US'}, {trait: 'revenue_365d', gte: 1000}]}},
  {segment: 'eu_active', description: 'European customers who ordered in 180 days', rule: {all: [{attribute: 'country', in: ['GB', 'DE', 'FR']}, {event: 'order', within: '180d'}]}},
  {segment: 'br_new_signups', description: 'Brazilian sign-ups this month', rule: {all: [{attribute: 'country', eq: 'BR'}, {attribute: 'signup_at', gte: '-30d'}]}},
  {segment: 'new_signups_no_order', description: 'Signed up in 14 days, no order yet', rule: {all: [{attribute: 'signup_at', gte: '-14d'}, {trait: 'orders_total', eq: 0}]}},
  {segment: 'trial_engaged', description: 'Trials using key features 3+ times this week', rule: {all: [{attribute: 'plan', eq: 'trial'}, {event: 'feature_used', within: '7d', gte: 3}]}},
  {segment: 'pro_quiet', description: 'Pro customers with no page view in 30 days', rule: {all: [{attribute: 'plan', eq: 'pro'}, {not: {event: 'page_view', within: '30d'}}]}},
  {segment: 'frequent_buyers', description: 'Eight or more orders this year', rule: {trait: 'orders_365d', gte: 8}},
  {segment: 'one_time_buyers', description: 'One order, more than 90 days ago', rule: {all: [{trait: 'orders_total', eq: 1}, {trait: 'days_since_last_order', gt: 90}]}},
  {segment: 'high_aov', description: 'Average order value of 120+', rule: {trait: 'avg_order_value', gte: 120}},
  {segment: 'weekly_visitors', description: 'A page view in each of the last 4 weeks', rule: {event: 'page_view', within: '28d', aggregate: 'active_periods', period: '7d', gte: 4}},
  {segment: 'shoe_fans', description: 'Shoes are their most frequent category', rule: {event: 'order', aggregate: 'most_frequent', of: 'category', eq: 'shoes'}},
  {segment: 'app_first', description: 'First order came through the app', rule: {event: 'order', aggregate: 'first', of: 'channel', eq: 'app'}},
  {segment: 'cart_then_order', description: 'Ordered within a day of filling a cart, this month', rule: {sequence: [{event: 'add_to_cart'}, {event: 'order'}], within: '30d', max_gap: '1d'}},
  {segment: 'opted_out_buyers', description: 'Buyers who opted out of email', rule: {all: [{attribute: 'email_opt_in', eq: false}, {trait: 'orders_365d', gte: 1}]}},
  {segment: 'big_accounts', entity: 'account', description: 'Accounts with 50+ seats', rule: {attribute: 'seats', gte: 50}},
  {segment: 'idle_accounts', entity: 'account', description: 'Accounts without a login in 30 days', rule: {trait: 'logins_30d', eq: 0}},
]

/**
 * The segments of a project smaller than the example. It reads the same three sources as the
 * larger projects (orders, and product events by customer and by account), so that growing
 * the project from 10 to 200 segments adds segments, not sources to scan.
 */
const SMALL: Seg[] = ['browsers_no_buy', 'pricing_researchers', 'trial_engaged', 'weekly_visitors', 'idle_accounts']
  .map((name) => EXTRA.find((e) => e.segment === name)!)

/** Variants beyond the listed segments: other categories, windows and thresholds. */
function variant(i: number): Seg {
  const cats = ['shoes', 'apparel', 'books', 'electronics', 'home']
  const windows = ['7d', '14d', '30d', '60d', '90d', '180d', '365d']
  const c = cats[i % cats.length]!
  const w = windows[Math.floor(i / cats.length) % windows.length]!
  const n = 1 + Math.floor(i / (cats.length * windows.length))
  return {...cat(c, w, n), segment: `v${i}_${c}_${w}_x${n}`}
}


/**
 * Writes the bench project into `dir`: `segments` segments in all (the example's first, then
 * the list above, then variants), a DuckDB target at `database`. With `loadedAt`, every event
 * declares that column as its `loaded_at` (SPEC §13: when the row landed).
 */
export function writeBenchProject(dir: string, segments: number, database: string, duckdb: {threads?: number; memoryLimit?: string; schema?: string; loadedAt?: string} = {}): string[] {
  mkdirSync(join(dir, 'models'), {recursive: true})
  mkdirSync(join(dir, 'segments'), {recursive: true})
  const target: Record<string, unknown> = {type: 'duckdb', path: database}
  if (duckdb.threads) target.threads = duckdb.threads
  if (duckdb.memoryLimit) target.memory_limit = duckdb.memoryLimit
  writeFileSync(join(dir, 'segc.yaml'), stringify({name: 'bench', output: {schema: duckdb.schema ?? 'segments'}, default_target: 'bench', targets: {bench: target}}))
  const repo = exampleProjectRoot()
  if (duckdb.loadedAt) {
    const models = parse(readFileSync(join(repo, 'models/shop.yaml'), 'utf8')) as {events: Record<string, Record<string, unknown>>}
    for (const e of Object.values(models.events)) e.loaded_at = duckdb.loadedAt
    writeFileSync(join(dir, 'models/shop.yaml'), stringify(models))
  } else copyFileSync(join(repo, 'models/shop.yaml'), join(dir, 'models/shop.yaml'))
  const exampleDir = join(repo, 'segments')
  const extra: Seg[] = []
  let base: number
  if (segments >= 15) {
    // the example's 15 rule segments come first (they include groups, which run whole); its
    // fitted-trait segments (value.yaml, likely_to_order.yaml) need `segc fit` first and are
    // measured by bench:fit and bench:propensity
    const example = readdirSync(exampleDir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml') && !FITTED_SEGMENTS.includes(f))
    for (const f of example) copyFileSync(join(exampleDir, f), join(dir, 'segments', f))
    base = 15
  } else {
    // a small project reads the same sources: the lifecycle group (orders), event and account segments
    copyFileSync(join(exampleDir, 'lifecycle.yaml'), join(dir, 'segments', 'lifecycle.yaml'))
    base = 5
    extra.push(...SMALL.slice(0, Math.max(0, segments - base)))
  }
  for (let i = 0; base + extra.length < segments; i++) extra.push(i < EXTRA.length ? EXTRA[i]! : variant(i - EXTRA.length))
  const names: string[] = []
  writeFileSync(
    join(dir, 'segments/bench.yaml'),
    extra.map((s) => stringify({segment: s.segment, entity: s.entity ?? 'customer', description: s.description, owner: 'bench@acme.example', rule: s.rule, ...(s.exclude ? {exclude: s.exclude} : {}), ...(s.consent ? {consent: s.consent} : {})})).join('---\n') || '',
  )
  names.push(...extra.map((s) => s.segment))
  return names
}

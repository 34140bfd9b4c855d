// A deterministic synthetic shop (customers, accounts, orders, product events), generated
// inside DuckDB with SQL so a million customers take seconds. No randomness from the
// machine: every value comes from DuckDB's hash() of row numbers and a salt, so every run
// of `segc demo --customers N` with the pinned DuckDB version builds the same warehouse.

/** The instant the demo data is anchored at, and the as_of `segc demo` runs at. */
export const DEMO_AS_OF = '2026-06-01T00:00:00Z'

export interface DemoOptions {
  /** another seed, another warehouse (same shape) */
  seed?: number
  /** mean product events per customer (default 16) */
  eventsPerCustomer?: number
  /**
   * also anonymous browsing (SPEC §20): main.web_sessions (page views under an anonymous_id,
   * before signup and after it) and main.identifies (the signup linking the two); visitors who
   * never sign up too. Off by default, so the default warehouse (the benches' baseline) is unchanged.
   */
  identity?: boolean
}

const anchor = `TIMESTAMP '${DEMO_AS_OF.replace('T', ' ').replace('Z', '')}'`
const daysBefore = (days: string) => `${anchor} - to_microseconds(CAST(${days} * 86400000000 AS BIGINT))`

export function demoStatements(customers: number, opts: DemoOptions = {}): string[] {
  const seed = Math.floor(opts.seed ?? 0)
  /** A pseudo-random number in [0, 1) from an integer SQL expression and a salt. */
  const rnd = (n: string, salt: number) => `((hash(${n}, ${salt + seed * 1000}) % 1000003) / 1000003.0)`
  const pick = (n: string, salt: number, values: string[]) => `(['${values.join("', '")}'])[1 + CAST(floor(${rnd(n, salt)} * ${values.length}) AS INTEGER)]`
  // each customer gets floor(r * span) events, so the mean is span / 2
  const span = Math.max(1, Math.round(2 * (opts.eventsPerCustomer ?? 16)))
  const n = Math.max(1, Math.floor(customers))
  const accounts = Math.max(1, Math.floor(n / 20))
  return [
    `CREATE SCHEMA IF NOT EXISTS main`,
    `CREATE OR REPLACE TABLE main.accounts AS
      SELECT 'a' || lpad(CAST(i AS VARCHAR), 7, '0') AS account_id,
        'Account ' || i AS name,
        ${pick('i', 1, ['team', 'team', 'business', 'enterprise'])} AS plan,
        CAST(5 + floor(${rnd('i', 2)} * 95) AS INTEGER) AS seats,
        CAST(least(5 + floor(${rnd('i', 2)} * 95), floor((5 + floor(${rnd('i', 2)} * 95)) * (0.5 + ${rnd('i', 3)} * 0.6))) AS INTEGER) AS seats_used,
        ${pick('i', 4, ['retail', 'software', 'finance', 'health', 'education'])} AS industry,
        ${daysBefore(`(30 + ${rnd('i', 5)} * 900)`)} AS created_at
      FROM range(${accounts}) AS t(i)`,
    `CREATE OR REPLACE TABLE main.customers AS
      SELECT 'c' || lpad(CAST(i AS VARCHAR), 8, '0') AS customer_id,
        CASE WHEN ${rnd('i', 11)} < 0.01 THEN 'qa' || i || '@example.test' ELSE 'user' || i || '@mail.example' END AS email,
        ${pick('i', 12, ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'])} AS first_name,
        ${pick('i', 13, ['US', 'US', 'US', 'CA', 'GB', 'DE', 'FR', 'BR'])} AS country,
        CASE WHEN ${rnd('i', 14)} < 0.6 THEN 'free' WHEN ${rnd('i', 14)} < 0.75 THEN 'trial' ELSE 'pro' END AS plan,
        ${daysBefore(`(${rnd('i', 15)} * 730)`)} AS signup_at,
        ${rnd('i', 16)} < 0.7 AS email_opt_in,
        ${rnd('i', 17)} < 0.02 AS do_not_contact,
        'a' || lpad(CAST(i % ${accounts} AS VARCHAR), 7, '0') AS account_id
      FROM range(${n}) AS t(i)`,
    // Order counts are skewed (most customers buy rarely); each customer has a "lapse" in days
    // after which they stop buying, so every lifecycle stage is populated.
    `CREATE OR REPLACE TABLE main.orders AS
      SELECT 'o' || (c.i * 16 + j) AS order_id,
        'c' || lpad(CAST(c.i AS VARCHAR), 8, '0') AS customer_id,
        ${daysBefore(`(${rnd('c.i', 21)} * ${rnd('c.i', 21)} * 500 + ${rnd('c.i * 16 + j', 22)} * ${rnd('c.i', 27)} * 400)`)} AS ordered_at,
        round(10 + ${rnd('c.i * 16 + j', 23)} * 150 + CASE WHEN ${rnd('c.i', 24)} < 0.1 THEN 300 ELSE 0 END, 2) AS amount,
        ${pick('c.i * 16 + j', 25, ['shoes', 'apparel', 'books', 'electronics', 'home'])} AS category,
        ${pick('c.i * 16 + j', 26, ['web', 'app', 'store'])} AS channel
      FROM range(${n}) AS c(i), range(16) AS o(j)
      WHERE j < floor(${rnd('c.i', 20)} * ${rnd('c.i', 20)} * 16)`,
    `CREATE OR REPLACE TABLE main.events AS
      SELECT 'e' || (c.i * ${span} + j) AS event_id,
        'c' || lpad(CAST(c.i AS VARCHAR), 8, '0') AS customer_id,
        'a' || lpad(CAST(c.i % ${accounts} AS VARCHAR), 7, '0') AS account_id,
        ${daysBefore(`(${rnd(`c.i * ${span} + j`, 31)} * ${rnd(`c.i * ${span} + j`, 31)} * 60)`)} AS ts,
        -- a third of customers never use a key feature: the trials that never activate
        CASE WHEN ${rnd(`c.i * ${span} + j`, 32)} < 0.55 THEN 'page_view'
             WHEN ${rnd(`c.i * ${span} + j`, 32)} < 0.65 THEN 'add_to_cart'
             WHEN ${rnd(`c.i * ${span} + j`, 32)} < 0.85 THEN 'login'
             WHEN ${rnd(`c.i * ${span} + j`, 32)} < 0.95 THEN CASE WHEN ${rnd('c.i', 34)} < 0.33 THEN 'page_view' ELSE 'feature_used' END
             ELSE 'trial_started' END AS event_type,
        ${pick(`c.i * ${span} + j`, 33, ['/', '/pricing', '/pricing/teams', '/product/shoes', '/product/books', '/docs', '/blog'])} AS path
      FROM range(${n}) AS c(i), range(${span}) AS e(j)
      WHERE j < floor(${rnd('c.i', 30)} * ${span})`,
    ...(opts.identity ? identityStatements(n, rnd, pick) : []),
  ]
}

/**
 * Anonymous browsing: 60% of customers browsed under an anonymous id for up to two weeks before
 * signing up (0–5 views, then the identify row at signup_at, then views under both ids); half as
 * many visitors as customers never signed up; 2% of rows carry the placeholder 'undefined'.
 */
function identityStatements(n: number, rnd: (n: string, salt: number) => string, pick: (n: string, salt: number, values: string[]) => string): string[] {
  const signup = `(${daysBefore(`(${rnd('i', 15)} * 730)`)})`
  const anon = (i: string, prefix: string) => `CASE WHEN ${rnd(`${i} * 7 + j`, 45)} < 0.02 THEN 'undefined' ELSE '${prefix}' || ${i} END`
  const paths = ['/', '/pricing', '/pricing/teams', '/product/shoes', '/blog', '/docs']
  return [
    `CREATE OR REPLACE TABLE main.identifies AS
      SELECT 'c' || lpad(CAST(i AS VARCHAR), 8, '0') AS user_id, 'anon-' || i AS anonymous_id, ${signup} AS ts
      FROM range(${n}) AS t(i) WHERE ${rnd('i', 40)} < 0.6`,
    `CREATE OR REPLACE TABLE main.web_sessions AS
      SELECT NULL::VARCHAR AS user_id, ${anon('i', 'anon-')} AS anonymous_id,
        ${signup} - to_microseconds(CAST(${rnd('i * 7 + j', 41)} * 14 * 86400000000 AS BIGINT)) AS ts,
        ${pick('i * 7 + j', 42, paths)} AS path
      FROM range(${n}) AS t(i), range(5) AS v(j)
      WHERE ${rnd('i', 40)} < 0.6 AND j < floor(${rnd('i', 43)} * 6)
      UNION ALL
      SELECT 'c' || lpad(CAST(i AS VARCHAR), 8, '0'), 'anon-' || i,
        least(${anchor}, ${signup} + to_microseconds(CAST(${rnd('i * 7 + j', 44)} * 30 * 86400000000 AS BIGINT))),
        ${pick('i * 7 + j', 46, paths)}
      FROM range(${n}) AS t(i), range(3) AS v(j)
      WHERE ${rnd('i', 40)} < 0.6 AND j < floor(${rnd('i', 47)} * 4)
      UNION ALL
      SELECT NULL, ${anon('i', 'visitor-')},
        ${daysBefore(`(${rnd('i * 7 + j', 48)} * 60)`)},
        ${pick('i * 7 + j', 49, paths)}
      FROM range(${Math.max(1, Math.floor(n / 2))}) AS t(i), range(4) AS v(j)
      WHERE j < 1 + floor(${rnd('i', 50)} * 4)`,
  ]
}

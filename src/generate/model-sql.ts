// SQL of the fitted models (SPEC §12): the per-entity transaction summary (x, t_x, T, m_x)
// and the closed-form predictions of BG/NBD and Gamma-Gamma, in any dialect.
import {sql} from 'kysely'
import {KEY_COLUMN} from '../plan/build-plan.js'
import type {ModelPlan} from '../plan/plan-types.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {DAY_COLUMN, partColumn} from './state-sql.js'
import {combineTransactions, transactionDays, type TransactionSource} from './transaction-sql.js'

const lit = (n: number) => sql.lit(n)

/**
 * The summary of a model's transactions per entity key, as a SELECT: `segc_key`, `x` (repeat
 * transaction days), `t_x` and `big_t` (first transaction day to the last, and to as_of, in
 * time units) and `m_x` (mean value of the repeat days; NULL when x = 0). A transaction day
 * is a UTC day with at least one matching event at or before as_of. Events whose key is NULL
 * belong to no entity: grouped by key, they would make one pseudo-customer with every such
 * event's days, which the fits (which read this summary without the entity table) would count.
 * Every other read of events by key is joined to the entity relation, where a NULL key never
 * matches. In an incremental run (`m.incremental`) the days before `frozen` come from their kept
 * summary per key and only the days from `frozen` on (the late_arrival band) from the events;
 * both ways m_x is the same fixed-point sum divided once, so the two are equal to the bit.
 */
export function summarySelect(dialect: Dialect, asOf: string, m: ModelPlan): Sql {
  const ts = sql.id(m.timestamp)
  const upTo = sql`${ts} <= ${dialect.timestamp(asOf)}`
  const source: TransactionSource = {relation: m.relation, key: m.key, timestamp: m.timestamp, filter: m.filter, ...(m.value ? {value: {k: 'col', name: m.value}} : {})}
  const inc = m.incremental
  let rows = transactionDays(dialect, asOf, source, inc ? [sql`${ts} >= ${dialect.timestamp(inc.frozen)}`, upTo] : [upTo])
  if (inc) {
    const p = (part: string) => sql.id(partColumn(inc.slot, part))
    rows = sql`SELECT ${sql.id(KEY_COLUMN)} AS k, ${p('f')} AS f, ${p('l')} AS l, ${p('c')} AS c, ${p('s')} AS s, ${p('r')} AS r
      FROM ${sql.id(...inc.table)} AS st WHERE ${sql.id(DAY_COLUMN)} IS NULL AND ${p('c')} IS NOT NULL
      UNION ALL ${rows}`
  }
  const since = (day: Sql) => dialect.secondsUntil(dialect.dayStart(day), asOf)
  const unit = lit(m.timeUnitSeconds)
  return sql`SELECT k AS segc_key, c - 1 AS x,
      (${since(sql`f`)} - ${since(sql`l`)}) / ${unit} AS t_x,
      ${since(sql`f`)} / ${unit} AS big_t,
      CASE WHEN c > 1 THEN CAST(r AS ${sql.raw(dialect.floatType)}) / (c - 1) END AS m_x
    FROM (${combineTransactions(dialect, rows)}) AS tx`
}

/**
 * Terms needed for the series of 2F1(A, B; C; z) (C > 0) to reach 1e-17 of its sum. The term
 * ratio is z·(A+k)/(k+1)·(B+k)/(C+k) ≤ z·(1 + (A−1)⁺/(k+1))·(1 + (B−C)⁺/(C+k)); past
 * K0 = max(A−1, B−C, 0)/(√u − 1) with u = (1+z)/(2z) it is below ρ = (1+z)/2, and m more terms
 * bring the tail below 1e-17 of the largest: m = (39.2 − ln(1−ρ)) / −ln ρ. Generous, so the
 * value is the same in every dialect; bounded so a degenerate z ≈ 1 cannot run away.
 */
function termsNeeded(dialect: Dialect, A: Sql, B: Sql, C: Sql, z: Sql): Sql {
  const int = sql.raw(dialect.integerType)
  const slack = sql`(SQRT((1 + ${z}) / (2 * ${z})) - 1)`
  return sql`LEAST(100000, CAST(CEIL(GREATEST(${A} - 1, ${B} - ${C}, 0) / ${slack}) AS ${int}) + CAST(CEIL((39.2 - LN((1 - ${z}) / 2)) / (-LN((1 + ${z}) / 2))) AS ${int}) + 2)`
}

/**
 * 2F1(r+x, b+x; a+b+x−1; z) with z = t/(α+T+t), for every distinct (x, big_t) of the summary
 * and every horizon t_j, as three SELECTs to be named `names.args`, `names.prefix` and the
 * result (rows x, big_t, j, f). The hypergeometric series is summed term by term: term k is
 * exp(Σ_{i<k} ln((A+i)(B+i)/((C+i)(i+1))) + k·ln z). The log-ratio prefix sums depend on x and
 * k only, so they are computed once per x (`prefix`) and joined to every (x, big_t, t_j): the
 * per-entity work is one EXP per term, no sort. Every factor is positive for C = a+b+x−1 > 0,
 * the only case computed (otherwise the prediction is NULL), so no gamma function is needed and
 * the same SQL runs everywhere.
 */
export function hypergeometricSelects(dialect: Dialect, summary: string, m: ModelPlan, names: {args: string; prefix: string}): {args: Sql; prefix: Sql; result: Sql} {
  const {r, alpha, a, b} = m.params as {r: number; alpha: number; a: number; b: number}
  const horizons = m.horizons.map((t, j) => sql`SELECT ${lit(j)} AS j, ${lit(t)} AS t`)
  const inner = sql`SELECT s.x AS x, s.big_t AS big_t, h.j AS j,
      ${lit(r)} + s.x AS ca, ${lit(b)} + s.x AS cb, ${lit(a + b - 1)} + s.x AS cc,
      h.t / (${lit(alpha)} + s.big_t + h.t) AS z
    FROM (SELECT DISTINCT x, big_t FROM ${sql.id(summary)}) AS s
    CROSS JOIN (${sql.join(horizons, sql` UNION ALL `)}) AS h
    WHERE ${lit(a + b - 1)} + s.x > 0`
  const args = sql`SELECT x, big_t, j, ca, cb, cc, z, ${termsNeeded(dialect, sql`ca`, sql`cb`, sql`cc`, sql`z`)} AS n FROM (${inner}) AS g`
  const perX = dialect.series(sql`g.n`, 'k')
  const prefixRows = sql`SELECT g.x AS x, ${perX.k} AS k, LN(g.ca + ${perX.k}) + LN(g.cb + ${perX.k}) - LN(g.cc + ${perX.k}) - LN(${perX.k} + 1) AS lnf
    FROM (SELECT x, MAX(ca) AS ca, MAX(cb) AS cb, MAX(cc) AS cc, MAX(n) AS n FROM ${sql.id(names.args)} GROUP BY x) AS g ${perX.join}`
  const prefix = sql`SELECT x, k, COALESCE(SUM(lnf) OVER (PARTITION BY x ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prefix FROM (${prefixRows}) AS l`
  const perArg = dialect.series(sql`g.n`, 'k')
  const result = sql`SELECT g.x AS x, g.big_t AS big_t, g.j AS j, SUM(EXP(p.prefix + ${perArg.k} * LN(g.z))) AS f
    FROM ${sql.id(names.args)} AS g ${perArg.join}
    JOIN ${sql.id(names.prefix)} AS p ON p.x = g.x AND p.k = ${perArg.k}
    GROUP BY g.x, g.big_t, g.j`
  return {args, prefix, result}
}

/** A BG/NBD fit stored at its NBD limit: `a` = 0 and `b` not identified (null). */
export const atNbdLimit = (m: ModelPlan): boolean => m.kind === 'bgnbd' && m.params.b === null

/**
 * Per entity: the summary, and for bgnbd P(alive) and E[X(t_j)] (Fader, Hardie & Lee 2005,
 * eq. 10 and the P(alive) of their note), for gamma_gamma the conditional expected spend
 * p(γ + x·m_x)/(p·x + q − 1) (the population mean pγ/(q − 1) when x = 0).
 */
export function predictionSelect(summary: string, hypergeometric: string | undefined, m: ModelPlan, floatType: string): Sql {
  const s = (c: string) => sql.id('s', c)
  if (m.kind === 'gamma_gamma') {
    const {p, q, gamma} = m.params as {p: number; q: number; gamma: number}
    return sql`SELECT s.segc_key, s.x, s.t_x, s.big_t, s.m_x,
        ${lit(p)} * (${lit(gamma)} + s.x * COALESCE(s.m_x, 0)) / NULLIF(${lit(p)} * s.x + ${lit(q - 1)}, 0) AS spend
      FROM ${sql.id(summary)} AS s`
  }
  if (atNbdLimit(m)) {
    // the NBD limit (SPEC §12, boundary fits): every customer alive, E[X(t) | x, T] = (r + x) / (α + T) · t
    const {r, alpha} = m.params as {r: number; alpha: number}
    const expected = m.horizons.map((t, j) => sql`(${lit(r)} + ${s('x')}) / (${lit(alpha)} + ${s('big_t')}) * ${lit(t)} AS ${sql.id(`e${j}`)}`)
    return sql`SELECT s.segc_key, s.x, s.t_x, s.big_t, s.m_x, CAST(1 AS ${sql.raw(floatType)}) AS p_alive${expected.length ? sql`, ${sql.join(expected)}` : sql``}
      FROM ${sql.id(summary)} AS s`
  }
  const {r, alpha, a, b} = m.params as {r: number; alpha: number; a: number; b: number}
  // (a/(b+x−1)) ((α+T)/(α+t_x))^(r+x) for x > 0; 0 for x = 0
  const odds = sql`CASE WHEN ${s('x')} > 0 THEN ${lit(a)} / (${lit(b - 1)} + ${s('x')}) * POWER((${lit(alpha)} + ${s('big_t')}) / (${lit(alpha)} + ${s('t_x')}), ${lit(r)} + ${s('x')}) ELSE 0 END`
  const joins = m.horizons.map((_, j) => sql`LEFT JOIN ${sql.id(hypergeometric!)} AS ${sql.id(`h${j}`)} ON ${sql.id(`h${j}`, 'x')} = s.x AND ${sql.id(`h${j}`, 'big_t')} = s.big_t AND ${sql.id(`h${j}`, 'j')} = ${lit(j)}`)
  const expected = m.horizons.map((t, j) => {
    const f = sql.id(`h${j}`, 'f')
    const lead = Math.abs(a - 1) < 1e-12 ? sql`NULL` : sql`(${lit(a + b - 1)} + ${s('x')}) / ${lit(a - 1)}`
    return sql`${lead} * (1 - POWER((${lit(alpha)} + ${s('big_t')}) / (${lit(alpha)} + ${s('big_t')} + ${lit(t)}), ${lit(r)} + ${s('x')}) * ${f}) / (1 + ${odds}) AS ${sql.id(`e${j}`)}`
  })
  return sql`SELECT s.segc_key, s.x, s.t_x, s.big_t, s.m_x, 1 / (1 + ${odds}) AS p_alive${expected.length ? sql`, ${sql.join(expected)}` : sql``}
    FROM ${sql.id(summary)} AS s ${sql.join(joins, sql` `)}`
}

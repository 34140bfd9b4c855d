import {sql} from 'kysely'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {bigqueryDialect} from '../../adapters/bigquery/dialect.js'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {compilerFor, render} from '../../src/generate/generate-sql.js'
import {roundedHashText} from '../../src/generate/sync-sql.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import {snowflakeToDuckDB} from '../helpers/snowflake-duckdb.js'

// A rounded trait field's text in the payload hash must be the count of 10^-round units the
// exact decimal rounds to, half away from zero, however the warehouse gets there. The oracle
// rounds the decimal's digits as integers (BigInt); the values lean on what a float gets
// wrong: exact halves, a unit of 10^-9 either side of one, 2.675-like decimals a float holds
// below their value, negatives, and magnitudes past the float path's bound.

const SCALE = 9
/** a decimal with 9 places, as its integer count of 10^-9 */
type Nano = bigint

function roundedUnits(v: Nano, round: number): bigint {
  const div = 10n ** BigInt(SCALE - round)
  const neg = v < 0n
  const a = neg ? -v : v
  const q = (a + div / 2n) / div
  return neg ? -q : q
}
const text = (v: Nano) => {
  const neg = v < 0n
  const a = (neg ? -v : v).toString().padStart(SCALE + 1, '0')
  return `${neg ? '-' : ''}${a.slice(0, -SCALE)}.${a.slice(-SCALE)}`
}

/** deterministic values: around halves and whole units at each rounding, and random ones */
function values(round: number): Nano[] {
  let seed = 20261207 + round
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const unit = 10n ** BigInt(SCALE - round)
  const out: Nano[] = [0n, 1n, -1n, unit / 2n, -unit / 2n, 2675n * 10n ** BigInt(SCALE - 3), 1005n * 10n ** BigInt(SCALE - 3)]
  for (let i = 0; i < 40; i++) {
    const whole = BigInt(Math.floor(rand() * 2_000_000)) * unit
    const half = whole + unit / 2n
    for (const v of [half, half - 1n, half + 1n, whole, whole + BigInt(Math.floor(rand() * Number(unit)))]) out.push(rand() < 0.3 ? -v : v)
  }
  // past 10^9 units: the exact path
  for (const v of [10n ** 9n * unit + unit / 2n, 3n * 10n ** 9n * unit + unit / 2n - 1n]) out.push(v, -v)
  return out
}

function query(d: Dialect, vs: Nano[], round: number): string {
  const rows = sql.join(
    vs.map((v, i) => sql`SELECT ${sql.lit(i)} AS id, CAST(${sql.lit(text(v))} AS ${sql.raw(d.exactType)}) AS v`),
    sql` UNION ALL `,
  )
  return render(compilerFor(d), sql`SELECT t.id AS id, ${roundedHashText(d, sql.ref('t.v'), round)} AS h FROM (${rows}) AS t ORDER BY t.id`)
}

function check(vs: Nano[], round: number, rows: Array<Record<string, unknown>>): void {
  const got = new Map(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k.toLowerCase(), x]))).map((r) => [Number(r.id), String(r.h)]))
  expect(got.size).toBe(vs.length)
  const unit = 10n ** BigInt(SCALE - round)
  vs.forEach((v, i) => {
    const n = roundedUnits(v, round)
    const big = (v < 0n ? -v : v) >= 10n ** 9n * unit
    const h = got.get(i)!
    if (big) {
      // the exact rounding's text: its digits are the count's
      expect(h.startsWith('='), text(v)).toBe(true)
      const [whole, frac = ''] = h.slice(1).split('.')
      const digits = BigInt(`${whole}${frac}`)
      const units = frac.length >= round ? digits / 10n ** BigInt(frac.length - round) : digits * 10n ** BigInt(round - frac.length)
      expect(units, text(v)).toBe(n)
    } else expect(h, `${text(v)} to ${round} decimals`).toBe(n.toString())
  })
}

describe('roundedHashText: the count of units a decimal rounds to, on every engine', () => {
  const rounds = [0, 2, 4]
  it('DuckDB', async () => {
    const c = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, process.cwd())
    try {
      for (const r of rounds) {
        const vs = values(r)
        check(vs, r, await c.query(query(duckdbAdapter.dialect, vs, r)))
      }
    } finally {
      await c.close()
    }
  })
  it('Snowflake, translated and run on DuckDB', async () => {
    const c = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, process.cwd())
    try {
      for (const r of rounds) {
        const vs = values(r)
        check(vs, r, await c.query(await snowflakeToDuckDB(query(snowflakeDialect, vs, r))))
      }
    } finally {
      await c.close()
    }
  }, 60_000)
  it('BigQuery, on ZetaSQL', async () => {
    const {startZetaSQL, evaluateTables} = await import('../helpers/zetasql.js')
    const zeta = await startZetaSQL()
    try {
      for (const r of rounds) {
        const vs = values(r)
        check(vs, r, await evaluateTables([], query(bigqueryDialect, vs, r)))
      }
    } finally {
      zeta.stop()
    }
  }, 120_000)
})

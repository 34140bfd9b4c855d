import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {duckdbDialect} from '../../adapters/duckdb/dialect.js'
import {compilerFor, render} from '../../src/generate/generate-sql.js'
import {ExprWriter, neverNull} from '../../src/generate/expr-writer.js'
import type {PlanExpr} from '../../src/plan/plan-types.js'
import {linearPredictor, logistic, type PropensityParams} from '../../src/plan/propensity-plan.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'

// A LEAST or GREATEST is NULL when any argument is (SPEC's reading, which DuckDB alone does
// not share), so the writer checks each argument for NULL, writing it out once more; an
// argument that cannot be NULL is not checked. The logistic of a propensity model caps −η with
// a LEAST, and η is never NULL: it is written out once. Expected values here are derived by hand.

const num = (value: number): PlanExpr => ({k: 'lit', type: 'number', value})
const col = (name: string): PlanExpr => ({k: 'col', name})

describe('neverNull', () => {
  it('holds for literals and arithmetic over them, and for a coalesce with a never-NULL argument', () => {
    expect(neverNull(num(3))).toBe(true)
    expect(neverNull({k: 'neg', operand: num(3)})).toBe(true)
    expect(neverNull({k: 'arith', op: '+', left: num(1), right: {k: 'arith', op: '*', left: num(2), right: {k: 'fn', fn: 'coalesce', args: [col('x'), num(0)]}}})).toBe(true)
    expect(neverNull({k: 'to_float', value: {k: 'fn', fn: 'coalesce', args: [col('x'), num(0)]}})).toBe(true)
    expect(neverNull({k: 'fn', fn: 'exp', args: [{k: 'fn', fn: 'least', args: [num(700), num(1)]}]})).toBe(true)
    expect(neverNull({k: 'truth', operand: col('b')})).toBe(true)
  })

  it('fails for a column, NULL, a division by a column or by zero, nullif, and a CASE without ELSE', () => {
    expect(neverNull(col('x'))).toBe(false)
    expect(neverNull({k: 'null'})).toBe(false)
    expect(neverNull({k: 'arith', op: '+', left: num(1), right: col('x')})).toBe(false)
    // Dialect.divide writes NULLIF(divisor, 0): a zero or a column divisor can give NULL
    expect(neverNull({k: 'arith', op: '/', left: num(1), right: num(0)})).toBe(false)
    expect(neverNull({k: 'arith', op: '/', left: num(1), right: col('x')})).toBe(false)
    expect(neverNull({k: 'arith', op: '/', left: num(1), right: num(4)})).toBe(true)
    expect(neverNull({k: 'fn', fn: 'nullif', args: [num(1), num(2)]})).toBe(false)
    expect(neverNull({k: 'fn', fn: 'coalesce', args: [col('x'), col('y')]})).toBe(false)
    expect(neverNull({k: 'when', when: {k: 'truth', operand: col('b')}, then: num(1)})).toBe(false)
  })
})

describe('the logistic of a propensity model on DuckDB', () => {
  let conn: WarehouseConnection
  const db = compilerFor(duckdbDialect)
  const w = new ExprWriter(duckdbDialect, '2026-06-01T00:00:00.000Z')
  const write = (e: PlanExpr) => render(db, w.write(e))
  // a count (HUGEINT, as DuckDB's count_if returns), an exact sum, a boolean and a string
  const params = {
    types: {n: 'number', s: 'number', b: 'boolean', c: 'string'},
    columns: [{feature: 'n'}, {feature: 's'}, {feature: 'b'}, {feature: 'c', level: 'US'}, {feature: 'c', level: 'FR'}],
    means: {n: 2.5, s: 100.25},
    stddevs: {n: 1.5, s: 40},
    coefficients: [0.75, -0.02, 1.25, -0.5, 0.3],
    intercept: -1.1234567,
  } as unknown as PropensityParams
  const p = logistic(linearPredictor(params, col))
  const rows = [
    {n: 4, s: 180.5, b: true, c: 'US'},
    {n: null, s: null, b: null, c: null},
    {n: 0, s: 12.125, b: false, c: 'FR'},
    {n: 7, s: 1000, b: true, c: 'DE'},
  ]
  // by hand: η = β₀ + Σ βⱼ xⱼ, a NULL number at its mean (x = 0), a NULL boolean or level 0
  const closed = (r: (typeof rows)[number]) => {
    const eta =
      -1.1234567 +
      0.75 * (((r.n ?? 2.5) - 2.5) / 1.5) +
      -0.02 * (((r.s ?? 100.25) - 100.25) / 40) +
      1.25 * (r.b === true ? 1 : 0) +
      -0.5 * (r.c === 'US' ? 1 : 0) +
      0.3 * (r.c === 'FR' ? 1 : 0)
    return 1 / (1 + Math.exp(-eta))
  }
  const table = `(SELECT CAST(n AS HUGEINT) AS n, CAST(s AS DECIMAL(38, 9)) AS s, b, c FROM (VALUES ${rows
    .map((r, i) => `(${i}, ${r.n ?? 'NULL'}, ${r.s ?? 'NULL'}, ${r.b ?? 'NULL'}, ${r.c === null ? 'NULL' : `'${r.c}'`})`)
    .join(', ')}) AS v(i, n, s, b, c) ORDER BY i)`

  beforeAll(async () => {
    conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, mkdtempSync(join(tmpdir(), 'segc-nn-')))
  })
  afterAll(async () => {
    await conn.close()
  })

  it('writes η out once (no NULL check on the capped side) and computes in floats', () => {
    const text = write(p)
    expect(text.split('-1.1234567').length - 1).toBe(1)
    expect(text).not.toMatch(/IS NULL/)
    expect(text).toMatch(/LEAST\(700, /)
  })

  it('equals the closed form for every row, NULL features included', async () => {
    const out = await conn.query(`SELECT ${write(p)} AS p, typeof(${write(p)}) AS t FROM ${table} AS x`)
    expect(out.map((r) => r.t)).toEqual(['DOUBLE', 'DOUBLE', 'DOUBLE', 'DOUBLE'])
    out.forEach((r, i) => expect(Math.abs(Number(r.p) - closed(rows[i]!))).toBeLessThan(1e-12))
  })

  it('a huge η gives 1 and a very negative one 0 without overflow', async () => {
    const big = (eta: number) => write(logistic(num(eta)))
    const [r] = await conn.query(`SELECT ${big(5000)} AS hi, ${big(-5000)} AS lo`)
    expect(Number(r!.hi)).toBe(1)
    expect(Number(r!.lo)).toBeLessThan(1e-300)
  })

  it('still reads a LEAST over a column that can be NULL as NULL', async () => {
    const least = write({k: 'fn', fn: 'least', args: [num(700), {k: 'neg', operand: col('n')}]})
    expect(least).toMatch(/IS NULL/)
    const out = await conn.query(`SELECT ${least} AS v FROM ${table} AS x`)
    expect(out.map((r) => (r.v === null ? null : Number(r.v)))).toEqual([-4, null, 0, -7])
  })
})

import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {formatDiagnostic} from '../../src/diagnostics/diagnostic.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'
import {explainEntity} from '../../src/why/why.js'
import {validateProject} from '../../src/validate/validate-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {invariantViolations} from '../helpers/state.js'
import {AS_OF, FULL_PROFILE, held, ORACLE, PROFILE_MODELS, PROFILE_SEGMENTS, profileRows} from '../helpers/profile-fixture.js'

// Profiles (SPEC §19): every value of segment_profiles_customer against a separately written
// DuckDB query over the fixture rows, the flags against segment_membership and a holdout
// computed here from SPEC §4's formula, changed_run_id across runs, columns following the
// definitions, and erasure.

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(String(v).replace(' ', 'T') + (String(v).endsWith('Z') ? '' : 'Z')).toISOString())
const isoDate = (v: unknown) => (v instanceof Date ? v.toISOString() : iso(v))

async function setup(profile = FULL_PROFILE, rows = profileRows()) {
  const dir = writeProject({'models/m.yaml': PROFILE_MODELS(profile), 'segments/s.yaml': PROFILE_SEGMENTS})
  const v = validOrThrow(dir)
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
  for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, rows)) await conn.execute(s)
  return {dir, conn}
}

const readProfile = (conn: WarehouseConnection) => conn.query('SELECT * FROM segments.segment_profiles_customer ORDER BY entity_key')

async function expectOracle(conn: WarehouseConnection, asOf: string) {
  const oracle = await conn.query(ORACLE(asOf))
  const profile = await readProfile(conn)
  expect(profile.map((r) => r.entity_key)).toEqual(oracle.map((r) => r.id))
  const members = await conn.query('SELECT segment, entity_key, holdout FROM segments.segment_membership')
  const isIn = (s: string, k: unknown) => members.some((m) => m.segment === s && m.entity_key === k)
  oracle.forEach((o, i) => {
    const p = profile[i]!
    expect(num(p.orders_total), `${o.id} orders_total`).toBe(num(o.orders_total))
    expect(num(p.revenue_365d), `${o.id} revenue`).toBeCloseTo(num(o.revenue_365d)!, 6)
    if (o.avg_amount === null) expect(p.avg_amount).toBeNull()
    else expect(num(p.avg_amount), `${o.id} avg`).toBeCloseTo(num(o.avg_amount)!, 6)
    expect(isoDate(p.last_order_at), `${o.id} last`).toBe(isoDate(o.last_order_at))
    expect(num(p.days_since_last), `${o.id} days`).toBe(num(o.days_since_last))
    expect(num(p.f_score), `${o.id} f_score`).toBe(num(o.f_score))
    expect(p.fav_category ?? null).toBe(o.fav_category ?? null)
    for (const s of ['buyer', 'big_spender', 'regular']) expect(p[`in_${s}`], `${o.id} in_${s}`).toBe(isIn(s, o.id))
    // buyer = at least one order by as_of, drawn into the holdout by SPEC §4's md5 buckets
    expect(p.in_buyer).toBe(Number(o.orders_total) >= 1)
    expect(p.holdout_buyer).toBe(Number(o.orders_total) >= 1 && held('buyer', 's1', String(o.id), 30))
    expect(p.stage_lifecycle ?? null).toBe(isIn('big_spender', o.id) ? 'big_spender' : isIn('regular', o.id) ? 'regular' : null)
  })
  // the columns, in order: key, run, traits as listed, in_, holdout_, stage_
  expect(Object.keys(profile[0]!)).toEqual(['entity_key', 'changed_run_id', 'orders_total', 'revenue_365d', 'avg_amount', 'last_order_at', 'days_since_last', 'f_score', 'fav_category', 'in_buyer', 'in_big_spender', 'in_regular', 'holdout_buyer', 'stage_lifecycle'])
}

describe('profile: YAML errors', () => {
  it('an unknown trait, another entity’s trait and a colliding name are errors at their positions', () => {
    const models = PROFILE_MODELS('[orders_totl, acct_size, buyer_x]').replace('traits:\n', 'traits:\n  acct_size: {event: signup, aggregate: count}\n  buyer_x: {expr: "orders_total + 1"}\n') +
      `  account_entity_marker: {expr: "1"}\n`
    const dir = writeProject({
      'models/m.yaml': models.replace('events:\n', 'events:\n  signup: {entity: account, table: main.signups, key: aid, timestamp: ts}\n').replace('entities:\n', 'entities:\n  account: {table: main.accounts, key: aid}\n').replace('acct_size: {event: signup', 'acct_size: {event: signup'),
      'segments/s.yaml': PROFILE_SEGMENTS,
    })
    const problems = validateProject({project: dir}).diagnostics.map(formatDiagnostic)
    const at = (name: string) => problems.find((p) => p.includes(`'${name}'`))
    expect(at('orders_totl'), problems.join('\n')).toMatch(/^models\/m\.yaml:\d+:\d+: error\[unknown_trait\]: .*did you mean 'orders_total'/)
    expect(at('acct_size'), problems.join('\n')).toMatch(/error\[entity_mismatch\]: trait 'acct_size' belongs to entity 'account'/)
    // the error sits on the list item: line of `profile:`, column of the third item
    const line = models.split('\n').findIndex((l) => l.includes('profile:')) + 2
    expect(at('orders_totl')).toContain(`m.yaml:${line}:`)
  })

  it('a trait named like a generated column is an error at its position', () => {
    const models = PROFILE_MODELS('[orders_total, in_buyer]').replace('traits:\n', 'traits:\n  in_buyer: {event: order, aggregate: count}\n')
    const dir = writeProject({'models/m.yaml': models, 'segments/s.yaml': PROFILE_SEGMENTS})
    const problems = validateProject({project: dir}).diagnostics.map(formatDiagnostic)
    expect(problems.join('\n')).toMatch(/m\.yaml:\d+:\d+: error\[duplicate_name\]: trait 'in_buyer' would be named like the in column of segment 'buyer'/)
  })
})

describe('profile: the table a run writes', () => {
  it('every value equals a separately written query; flags equal membership and the holdout formula', async () => {
    const {dir, conn} = await setup()
    try {
      await runProject({project: dir, asOf: AS_OF, connection: conn})
      await expectOracle(conn, AS_OF)
      expect(await invariantViolations(conn)).toEqual([])
      // descriptions and rules become column comments
      const comments = await conn.query("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'segment_profiles_customer'")
      const comment = (c: string) => String(comments.find((r) => r.column_name === c)?.comment)
      expect(comment('revenue_365d')).toMatch(/^Revenue over the last year/)
      expect(comment('in_buyer')).toMatch(/number of order events is at least 1/)
      expect(comment('stage_lifecycle')).toMatch(/lifecycle/)
    } finally {
      await conn.close()
    }
  })

  it('each trait value equals what segc why reports for sampled keys', async () => {
    // one segment per trait, so that why evaluates and reports each of them
    const traits = ['orders_total', 'revenue_365d', 'avg_amount', 'last_order_at', 'days_since_last', 'f_score', 'fav_category']
    const dir = writeProject({
      'models/m.yaml': PROFILE_MODELS(FULL_PROFILE),
      'segments/s.yaml': PROFILE_SEGMENTS + traits.map((t) => `---\nsegment: has_${t}\nentity: customer\nrule: {trait: ${t}, is_null: false}\n`).join(''),
    })
    const v = validOrThrow(dir)
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
    try {
      for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, profileRows())) await conn.execute(s)
      await runProject({project: dir, asOf: AS_OF, connection: conn})
      const profile = await readProfile(conn)
      const norm = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : typeof v === 'string' && /^\d{4}-\d\d-\d\d[T ]/.test(v) ? isoDate(v) : typeof v === 'number' || typeof v === 'bigint' || /^-?\d+(\.\d+)?$/.test(String(v)) ? Math.round(Number(v) * 1e6) / 1e6 : v)
      // every fifth key: buyers and non-buyers both
      const sampled = profile.filter((_, i) => i % 5 === 0)
      expect(sampled.some((r) => r.orders_total === 0 || Number(r.orders_total) === 0)).toBe(true)
      let compared = 0
      for (const row of sampled) {
        const why = await explainEntity({project: dir, key: String(row.entity_key), entity: 'customer', asOf: AS_OF, connection: conn, segments: traits.map((t) => `has_${t}`)})
        for (const [i, t] of traits.entries()) {
          const node = why.segments[i]!.rule
          expect(why.segments[i]!.segment).toBe(`has_${t}`)
          expect(norm(node.value ?? null), `${String(row.entity_key)} ${t}`).toEqual(norm(row[t]))
          compared++
        }
      }
      expect(compared).toBe(sampled.length * traits.length)
    } finally {
      await conn.close()
    }
  })

  it('changed_run_id moves only for rows whose values changed; a same-as_of rerun changes nothing', async () => {
    const {dir, conn} = await setup()
    try {
      const first = await runProject({project: dir, asOf: AS_OF, connection: conn})
      const before = await readProfile(conn)
      const again = await runProject({project: dir, asOf: AS_OF, connection: conn})
      expect(again.status).toBe('unchanged')
      // one customer gets a new order; a day later days_since moves for every buyer too
      await conn.execute(`INSERT INTO main.orders VALUES ('c05', TIMESTAMP '2026-05-31 12:00:00', 10.5, 'hats')`)
      const later = new Date(Date.parse(AS_OF) + 86400_000).toISOString()
      const second = await runProject({project: dir, asOf: later, connection: conn})
      const after = await readProfile(conn)
      await expectOracle(conn, later)
      const strip = (r: Record<string, unknown>) => JSON.stringify({...r, changed_run_id: null})
      for (const [i, row] of after.entries()) {
        const was = before[i]!
        const changed = strip(row) !== strip(was)
        expect(row.changed_run_id, String(row.entity_key)).toBe(changed ? second.run_id : first.run_id)
      }
      // customers without orders keep their row untouched; c05 moved
      expect(after.find((r) => r.entity_key === 'c05')!.changed_run_id).toBe(second.run_id)
      expect(after.filter((r) => r.changed_run_id === first.run_id).length).toBeGreaterThan(0)
    } finally {
      await conn.close()
    }
  })

  it('a definition change adds and drops columns, keeping the other values and their changed_run_id', async () => {
    const {dir, conn} = await setup('[orders_total, revenue_365d]')
    try {
      const first = await runProject({project: dir, asOf: AS_OF, connection: conn})
      writeFileSync(join(dir, 'models/m.yaml'), PROFILE_MODELS('[orders_total, fav_category]'))
      const second = await runProject({project: dir, asOf: AS_OF, connection: conn})
      expect(second.status).toBe('success')
      const rows = await readProfile(conn)
      expect(Object.keys(rows[0]!)).toEqual(['entity_key', 'changed_run_id', 'orders_total', 'fav_category', 'in_buyer', 'in_big_spender', 'in_regular', 'holdout_buyer', 'stage_lifecycle'])
      const oracle = await conn.query(ORACLE(AS_OF))
      rows.forEach((r, i) => {
        expect(num(r.orders_total)).toBe(num(oracle[i]!.orders_total))
        expect(r.fav_category ?? null).toBe(oracle[i]!.fav_category ?? null)
        // a new column's value counts as a change only where it is not NULL
        expect(r.changed_run_id).toBe(oracle[i]!.fav_category === null ? first.run_id : second.run_id)
      })
      const recorded = await conn.query("SELECT column_name FROM segments.segment_profile_columns WHERE entity = 'customer' ORDER BY ordinal")
      expect(recorded.map((r) => r.column_name)).toEqual(Object.keys(rows[0]!))
    } finally {
      await conn.close()
    }
  })

  it('erased keys leave the profile with segc forget and never come back', async () => {
    const {dir, conn} = await setup()
    try {
      await runProject({project: dir, asOf: AS_OF, connection: conn})
      const r = await forget({project: dir, keys: ['c03', 'c04'], entity: 'customer', connection: conn})
      expect(r.exit_code).toBe(0)
      expect(r.tables.segment_profiles_customer).toBe(2)
      expect((await readProfile(conn)).map((x) => x.entity_key)).not.toContain('c03')
      await runProject({project: dir, asOf: new Date(Date.parse(AS_OF) + 3600_000).toISOString(), connection: conn})
      const keys = (await readProfile(conn)).map((x) => x.entity_key)
      expect(keys).not.toContain('c03')
      expect(keys).not.toContain('c04')
      expect(keys).toHaveLength(38)
    } finally {
      await conn.close()
    }
  })

  it('a --select run rewrites only its segments’ columns', async () => {
    const {dir, conn} = await setup()
    try {
      const first = await runProject({project: dir, asOf: AS_OF, connection: conn})
      await conn.execute(`INSERT INTO main.orders VALUES ('c05', TIMESTAMP '2026-06-01 12:00:00', 999, 'hats')`)
      const later = new Date(Date.parse(AS_OF) + 86400_000).toISOString()
      await runProject({project: dir, asOf: later, connection: conn, select: ['buyer']})
      const c05 = (await readProfile(conn)).find((r) => r.entity_key === 'c05')!
      const before = (await conn.query(ORACLE(AS_OF))).find((r) => r.id === 'c05')!
      // orders_total kept the first run's value; in_buyer was written
      expect(num(c05.orders_total)).toBe(num(before.orders_total))
      expect(c05.in_buyer).toBe(true)
      expect(first.status).toBe('success')
    } finally {
      await conn.close()
    }
  })
})

// The hand-written floor of the benchmark (bench/floor-45.sql) must compute what segc's scans
// of the 45-segment bench project compute, column for column; the bench checks it at 50M
// events, this at a size CI runs, and shows the check fails when one window is off by a day.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {generatedFloorStatements, handFloorChecks, handFloorStatements} from '../../bench/floor.js'
import {writeBenchProject} from '../../bench/project.js'
import {demoStatements} from '../../src/demo/demo-data.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import type {Plan} from '../../src/plan/plan-types.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {validateProject} from '../../src/validate/validate-project.js'

const HAND = readFileSync(new URL('../../bench/floor-45.sql', import.meta.url), 'utf8')
let dir: string
let conn: WarehouseConnection
let plan: Plan

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'segc-floor-'))
  const database = join(dir, 'shop.duckdb')
  const gen = await duckdbAdapter.connect({name: 'gen', type: 'duckdb', path: database}, dir)
  for (const s of demoStatements(3000, {seed: 1, eventsPerCustomer: 40})) await gen.execute(s)
  await gen.close()
  writeBenchProject(join(dir, 'project'), 45, database)
  const v = validateProject({project: join(dir, 'project')})
  expect(v.project.segments.size).toBe(45)
  plan = buildPlan(v.project, new Date('2026-05-04T00:00:00Z'))
  conn = await duckdbAdapter.connect({name: 'bench', type: 'duckdb', path: database}, dir)
  for (const s of generatedFloorStatements(plan)) await conn.execute(s)
})

afterAll(async () => {
  await conn?.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('bench/floor-45.sql', () => {
  it('sets as_of and splits into its five statements', () => {
    const statements = handFloorStatements(HAND, plan.asOf)
    expect(statements).toHaveLength(5)
    expect(statements.join('\n')).not.toContain('{{as_of}}')
    expect(statements[0]).toContain("TIMESTAMP '2026-05-04 00:00:00'")
  })

  it("computes every aggregate segc's scans compute, and nothing else", async () => {
    for (const s of handFloorStatements(HAND, plan.asOf)) await conn.execute(s)
    // 23 on orders, 11 on product events by customer, 1 on logins by account
    expect(await handFloorChecks(conn, plan)).toBe(35)
    // and none is the same for everyone here, which would let it match any such column
    for (const t of ['floor_orders', 'floor_product_events', 'floor_logins']) {
      const cols = (await conn.query(`DESCRIBE ${t}`)).map((r) => String(r.column_name)).slice(1)
      const row = (await conn.query(`SELECT ${cols.map((c) => `count(DISTINCT "${c}") AS "${c}"`).join(', ')} FROM ${t}`))[0]!
      for (const c of cols) expect(Number(row[c]), `${t}.${c}`).toBeGreaterThan(1)
    }
  })

  it('fails naming the column when one window is a day off', async () => {
    const off = HAND.replace("category = 'home' AND ordered_at > {{as_of}} - INTERVAL 30 DAY", "category = 'home' AND ordered_at > {{as_of}} - INTERVAL 31 DAY")
    expect(off).not.toBe(HAND)
    for (const s of handFloorStatements(off, plan.asOf)) await conn.execute(s)
    await expect(handFloorChecks(conn, plan)).rejects.toThrow(/floor_orders\.home_30d/)
  })
})

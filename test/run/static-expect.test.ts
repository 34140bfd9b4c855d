import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {ExpectationsFailed} from '../../src/project/expectations.js'
import {runProject} from '../../src/run/run-project.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {writeProject} from '../helpers/project.js'
import {invariantViolations, snapshot} from '../helpers/state.js'

const CONFIG = 'name: t\ntargets:\n  local: {type: duckdb, path: w.duckdb}\n'
const MODELS = 'entities:\n  customer:\n    table: main.customers\n    key: id\n    attributes: {score: integer}\n'

async function setup(segments: string): Promise<{dir: string; conn: WarehouseConnection}> {
  const dir = writeProject({'segc.yaml': CONFIG, 'models/m.yaml': MODELS, 'segments/s.yaml': segments})
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'w.duckdb')}, dir)
  await conn.execute("CREATE TABLE main.customers AS SELECT 'c' || i AS id, i * 10 AS score FROM range(10) t(i)") // scores 0..90
  return {dir, conn}
}

const members = async (conn: WarehouseConnection, segment: string) =>
  (await conn.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = '${segment}' ORDER BY entity_key`)).map((r) => r.entity_key)

describe('refresh: static', () => {
  it('keeps the first evaluation until the definition changes; references see the frozen members', async () => {
    const segs = (threshold: number) =>
      `segment: launch_cohort\nentity: customer\nrefresh: static\nrule: {attribute: score, gte: ${threshold}}\n---\nsegment: cohort_ref\nentity: customer\nrule: {segment: launch_cohort}\n`
    const {dir, conn} = await setup(segs(70))
    try {
      await runProject({project: dir, asOf: '2026-01-01', connection: conn})
      expect(await members(conn, 'launch_cohort')).toEqual(['c7', 'c8', 'c9'])
      await conn.execute("UPDATE main.customers SET score = 100 WHERE id IN ('c1', 'c2')")
      await conn.execute("UPDATE main.customers SET score = 0 WHERE id = 'c9'")
      const r = await runProject({project: dir, asOf: '2026-01-02', connection: conn})
      expect(r.segments.find((s) => s.segment === 'launch_cohort')).toMatchObject({entered: 0, exited: 0, cause: 'data'})
      expect(await members(conn, 'launch_cohort')).toEqual(['c7', 'c8', 'c9'])
      expect(await members(conn, 'cohort_ref')).toEqual(['c7', 'c8', 'c9'])
      // a cosmetic edit keeps it frozen
      writeFileSync(join(dir, 'segments/s.yaml'), segs(70).replace('refresh: static\n', 'refresh: static\ndescription: launch week\n'))
      await runProject({project: dir, asOf: '2026-01-03', connection: conn})
      expect(await members(conn, 'launch_cohort')).toEqual(['c7', 'c8', 'c9'])
      // a definition change evaluates it once more, then freezes again
      writeFileSync(join(dir, 'segments/s.yaml'), segs(80))
      const changed = await runProject({project: dir, asOf: '2026-01-04', connection: conn})
      expect(changed.segments.find((s) => s.segment === 'launch_cohort')!.cause).toBe('definition')
      expect(await members(conn, 'launch_cohort')).toEqual(['c1', 'c2', 'c8'])
      await conn.execute("UPDATE main.customers SET score = 0 WHERE id = 'c8'")
      await runProject({project: dir, asOf: '2026-01-05', connection: conn})
      expect(await members(conn, 'launch_cohort')).toEqual(['c1', 'c2', 'c8'])
      // a member removed from the entity table leaves the universe, and so the segment
      await conn.execute("DELETE FROM main.customers WHERE id = 'c1'")
      await runProject({project: dir, asOf: '2026-01-06', connection: conn})
      expect(await members(conn, 'launch_cohort')).toEqual(['c2', 'c8'])
      expect(await invariantViolations(conn)).toEqual([])
    } finally {
      await conn.close()
    }
  })
})

describe('expect guards', () => {
  const SEGMENTS = `segment: top
entity: customer
rule: {attribute: score, gte: 50}
expect: {min_size: 6, max_share: 0.4, max_change: 0.5}
---
segment: top_capped
entity: customer
rule: {attribute: score, gte: 50}
expect: {max_size: 4}
---
segment: fine
entity: customer
rule: {attribute: score, gte: 0}
expect: {min_size: 1}
`
  it('warns with the numbers, positioned at the expect key', async () => {
    const {dir, conn} = await setup(SEGMENTS)
    try {
      const r = await runProject({project: dir, asOf: '2026-01-01', connection: conn})
      // top has 5 of 10 members: below 6, a 50% share above 40%; no max_change on a first run
      expect(r.segments.find((s) => s.segment === 'top')!.warnings).toEqual(['size 5 is below min_size 6', '50.0% of all customer entities (5 of 10) is above max_share 40.0%'])
      expect(r.segments.find((s) => s.segment === 'top_capped')!.warnings).toEqual(['size 5 is above max_size 4'])
      expect(r.segments.find((s) => s.segment === 'fine')!.warnings).toEqual([])
      expect(r.warnings.filter((w) => w.code === 'expectation_failed').map((w) => [w.file, w.line, w.col])).toEqual([
        ['segments/s.yaml', 4, 1],
        ['segments/s.yaml', 4, 1],
        ['segments/s.yaml', 9, 1],
      ])
      await conn.execute("UPDATE main.customers SET score = 0 WHERE id IN ('c5', 'c6', 'c7')")
      const second = await runProject({project: dir, asOf: '2026-01-02', connection: conn})
      // 3 exited of 5: a 60% change
      expect(second.segments.find((s) => s.segment === 'top')!.warnings).toContain('0 entered and 3 exited: a change of 60.0% of 5 is above max_change 50.0%')
    } finally {
      await conn.close()
    }
  })

  it('--strict fails the run and commits nothing', async () => {
    const {dir, conn} = await setup(SEGMENTS.replace('min_size: 6, max_share: 0.4, ', '').replace('expect: {max_size: 4}', 'expect: {max_size: 5}'))
    try {
      await runProject({project: dir, asOf: '2026-01-01', connection: conn, strict: true})
      await conn.execute("UPDATE main.customers SET score = 0 WHERE id IN ('c5', 'c6', 'c7')")
      const before = await snapshot(conn)
      const failing = runProject({project: dir, asOf: '2026-01-02', connection: conn, strict: true})
      await expect(failing).rejects.toBeInstanceOf(ExpectationsFailed)
      await expect(runProject({project: dir, asOf: '2026-01-02', connection: conn, strict: true})).rejects.toThrow(/max_change/)
      expect(await snapshot(conn)).toEqual(before)
      // without --strict the same run goes through with a warning
      const loose = await runProject({project: dir, asOf: '2026-01-02', connection: conn})
      expect(loose.status).toBe('success')
    } finally {
      await conn.close()
    }
  })
})

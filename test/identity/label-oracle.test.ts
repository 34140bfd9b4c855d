// SPEC §20's labelling against networkx (test/identity/tools/identity_networkx.py): every
// identity row equal, on a graph with every case and on random graphs.
import {afterEach, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {duckdbDialect} from '../../adapters/duckdb/dialect.js'
import {IdentityDepthError, labelIdentities} from '../../src/identity/label.js'
import type {Dialect} from '../../src/warehouse/dialect.js'
import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {sql} from 'kysely'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {AS_OF, DDL, everyCase, inserts, MODELS, oracle, randomGraph, SALT, type GraphData, type MapRow} from './graph-cases.js'

const open: WarehouseConnection[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

async function label(g: GraphData, maxDepth = 64, dialect: Dialect = duckdbDialect) {
  const dir = writeProject({'models/m.yaml': MODELS.replace('MAX_DEPTH', String(maxDepth)), 'segments/s.yaml': 'segment: s\nentity: customer\nrule: {event: page_view}\n'})
  const project = validOrThrow(dir).project!
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: ':memory:'}, dir)
  open.push(conn)
  for (const s of [...DDL, ...inserts(g)]) await conn.execute(s)
  const outcome = await labelIdentities(conn, dialect, 'segments', {project, entity: project.entities.get('customer')!, asOf: new Date(AS_OF), salt: SALT})
  const rows = await conn.query(`SELECT kind, value, entity_key, status, distance, first_seen FROM ${outcome.mapTable} ORDER BY kind, value`)
  const got: MapRow[] = rows.map((r) => [String(r.kind), String(r.value), r.entity_key === null ? null : String(r.entity_key), String(r.status), r.distance === null ? null : Number(r.distance), r.first_seen === null ? null : new Date(String(r.first_seen) + (String(r.first_seen).endsWith('Z') ? '' : 'Z')).toISOString()])
  return {outcome, got, conn}
}

const sortRows = (rows: MapRow[]) => [...rows].sort((a, b) => (a[0] + '\u0000' + a[1] < b[0] + '\u0000' + b[1] ? -1 : 1))

describe('identity labelling equals networkx shortest paths', () => {
  it('every case: chains, ties, through-ambiguous, placeholders, normalization, as_of, absent keys, anonymous components', async () => {
    const g = everyCase()
    const expected = oracle(g)
    const {got, outcome} = await label(g)
    expect(sortRows(got)).toEqual(sortRows(expected))
    const by = new Map(got.map((r) => [`${r[0]}:${r[1]}`, r]))
    // hand-read from everyCase(), so the oracle itself is checked on the cases that matter
    expect(by.get('anonymous_id:a3')!.slice(2, 5)).toEqual(['c1', 'stitched', 5])
    expect(by.get('device:shared')!.slice(2, 5)).toEqual([null, 'ambiguous', 2])
    expect(by.get('device:only_via_shared')!.slice(2, 5)).toEqual([null, 'ambiguous', 4])
    expect(by.has('anonymous_id:undefined')).toBe(false)
    expect(by.has('email:none@example.com')).toBe(false)
    expect(by.get('email:jane@example.com')!.slice(2, 5)).toEqual(['c4', 'stitched', 1])
    expect(by.has('anonymous_id:late')).toBe(false)
    expect(by.has('anonymous_id:no_ts')).toBe(false)
    expect(by.has('key:ghost')).toBe(false)
    expect(by.get('anonymous_id:g1')![3]).toBe('anonymous')
    expect(by.get('key:c7')!.slice(2, 6)).toEqual(['c7', 'key', 0, '2026-05-03T00:00:00.000Z'])
    expect(by.get('email:seven@example.com')!.slice(2, 5)).toEqual([null, 'ambiguous', 1])
    // x2 (day 6) and dx2's x3 (day 6): the earlier of the two by kind:value is anonymous_id:x2
    const xKey = by.get('anonymous_id:x1')![2]!
    expect(xKey).toMatch(/^anon_[0-9a-f]{32}$/)
    expect(['anonymous_id:x2', 'anonymous_id:x3', 'device:dx', 'device:dx2'].map((n) => by.get(n)![2])).toEqual([xKey, xKey, xKey, xKey])
    expect(by.get('anonymous_id:y1')![2]).not.toBe(xKey)
    expect(outcome.levels).toBe(5)
  })

  it('random graphs (a property over 12 seeds)', async () => {
    const statuses = new Set<string>()
    for (let seed = 1; seed <= 12; seed++) {
      const g = randomGraph(seed, 10 + seed * 3)
      const {got} = await label(g)
      expect(sortRows(got), `seed ${seed}`).toEqual(sortRows(oracle(g)))
      for (const r of got) statuses.add(r[3])
      for (const c of open.splice(0)) await c.close()
    }
    // the generator reaches every status, so the property is not vacuous
    expect([...statuses].sort()).toEqual(['ambiguous', 'anonymous', 'key', 'stitched'])
  })

  it('node ids whose hashes clash (or hit the erased label 0) are renumbered, and the map is the same', async () => {
    // a hash of 3 values (0 among them): every graph clashes, so the fallback numbering is what runs
    const clashing: Dialect = {...duckdbDialect, hashId: (text) => sql`CAST(hash(${text}) % 3 AS BIGINT)`}
    for (const g of [everyCase(), randomGraph(5, 25)]) {
      const {got, outcome} = await label(g, 64, clashing)
      expect(outcome.statements.some((s) => s.includes('_nodes_dense'))).toBe(true)
      expect(sortRows(got)).toEqual(sortRows(oracle(g)))
    }
    // and the ordinary hash does not take that path here
    expect((await label(everyCase())).outcome.statements.some((s) => s.includes('_nodes_dense'))).toBe(false)
  })

  it('a component deeper than max_depth fails with identity_depth, naming no identifier', async () => {
    const g = everyCase()
    const err = await label(g, 3).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityDepthError)
    const e = err as IdentityDepthError
    expect(e.code).toBe('identity_depth')
    expect(e.identifiers).toBe(5)
    for (const v of ['a1', 'a2', 'd1', 'c1', 'jane']) expect(e.message).not.toContain(v)
  })

  it('an anonymous chain deeper than max_depth fails too', async () => {
    const g: GraphData = {customers: ['c1'], identifies: [], profiles: [], events: []}
    for (let i = 0; i < 6; i++) g.events.push([null, `z${i}`, `zd${i}`, 'page_view', '2026-05-02T00:00:00.000Z'], [null, `z${i + 1}`, `zd${i}`, 'page_view', '2026-05-03T00:00:00.000Z'])
    const err = await label(g, 4).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityDepthError)
    expect(oracle(g).filter((r) => r[3] === 'anonymous')).toHaveLength(13)
    expect((await label(g, 12)).got.filter((r) => r[3] === 'anonymous')).toHaveLength(13)
  })
})

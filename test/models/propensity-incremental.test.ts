import {appendFileSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {fitProject} from '../../src/models/fit-project.js'
import {runProject} from '../../src/run/run-project.js'
import {outputs} from '../helpers/incremental.js'
import {AS_OF, DAY, generate, propensityProject} from './propensity-data.js'

// SPEC §13 and §17: in an incremental run a new model version and `percentile` are global
// (every key re-scored), `probability` follows the keys. Whatever the run reads, it must
// write what a full run at the same as_of writes — after a refit above all.

const SEGMENTS = {
  'likely.yaml': 'segment: likely_upgraders\nentity: user\nrule: {trait: upgrade_pct, gte: 0.9}\n---\nsegment: probable_upgraders\nentity: user\nrule: {trait: upgrade_score, gte: 0.2}\n',
}

async function withDb<T>(dir: string, f: (c: Awaited<ReturnType<typeof duckdbAdapter.connect>>) => Promise<T>): Promise<T> {
  const c = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, 'prop.duckdb')}, dir)
  try {
    return await f(c)
  } finally {
    await c.close()
  }
}

describe('propensity in incremental runs', () => {
  it('an incremental run after a refit writes what a full run writes (every table), and the refit moved members', async () => {
    const data = generate()
    const full = await propensityProject(mkdtempSync(join(tmpdir(), 'segc-prop-full-')), data, '', SEGMENTS)
    const inc = await propensityProject(mkdtempSync(join(tmpdir(), 'segc-prop-inc-')), data, '', SEGMENTS)
    appendFileSync(join(inc, 'segc.yaml'), 'incremental:\n  late_arrival: 2d\n')
    const at = (days: number) => new Date(AS_OF.getTime() + days * DAY).toISOString()
    const modes: string[] = []
    for (const dir of [full, inc]) await fitProject({project: dir, asOf: AS_OF.toISOString(), traits: ['will_upgrade']})
    for (const d of [1, 2]) {
      for (const dir of [full, inc]) modes.push(`${dir === inc ? 'inc' : 'full'}:${(await runProject({project: dir, asOf: at(d)})).mode}`)
      expect(await withDb(inc, outputs)).toEqual(await withDb(full, outputs))
    }
    // a new version, fitted on later data: other coefficients, every key re-scored
    for (const dir of [full, inc]) await fitProject({project: dir, asOf: at(2), traits: ['will_upgrade']})
    const versions = await withDb(inc, (c) => c.query(`SELECT version, params FROM segments.segment_models WHERE model = 'will_upgrade' ORDER BY version`))
    expect(versions.map((v) => Number(v.version))).toEqual([1, 2])
    const coef = versions.map((v) => (JSON.parse(String(v.params)) as {coefficients: number[]}).coefficients)
    expect(coef[1]).not.toEqual(coef[0])
    for (const dir of [full, inc]) modes.push(`${dir === inc ? 'inc' : 'full'}:${(await runProject({project: dir, asOf: at(3)})).mode}`)
    expect(modes).toEqual(['full:full', 'inc:full', 'full:full', 'inc:incremental', 'full:full', 'inc:incremental'])
    const [a, b] = [await withDb(full, outputs), await withDb(inc, outputs)]
    expect(b).toEqual(a)
    // the refit moved someone on the last day (so the comparison above compared a change)
    const moved = await withDb(inc, (c) => c.query(`SELECT segment, count(*) AS n FROM segments.segment_transitions WHERE transitioned_at = TIMESTAMP '${at(3).replace('T', ' ').replace('.000Z', '')}' GROUP BY segment ORDER BY segment`))
    expect(moved.map((r) => String(r.segment))).toContain('likely_upgraders')
  }, 180_000)
})

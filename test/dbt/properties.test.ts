import {cpSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import {exampleCopy, REPO, segc} from '../helpers/cli.js'
import {DBT_SCHEMA_PRESENT, manifest, validateManifest} from '../helpers/dbt-manifest.js'
import {withProjectDb} from '../helpers/state.js'

// `segc dbt`: segc's output tables as a dbt source and its syncs as exposures (SPEC §16).

interface Properties {
  version: number
  sources: Array<{name: string; database?: string; schema: string; description: string; tables: Array<{name: string; description: string; columns: Array<{name: string; description: string}>}>}>
  exposures: Array<{name: string; type: string; owner: {email?: string; name?: string}; description: string; depends_on: string[]; meta: Record<string, unknown>}>
}

function example(): string {
  const dir = exampleCopy()
  cpSync(join(REPO, 'syncs'), join(dir, 'syncs'), {recursive: true})
  return dir
}

describe('segc dbt', () => {
  it("names every table and column of a real run's output schema, and one exposure per sync", async () => {
    const dir = example()
    expect(segc(['demo', '--weeks', '0', '--customers', '500', '--path', '.segc/warehouse.duckdb'], {cwd: dir}).code).toBe(0)
    const r = segc(['dbt', '--out', 'segc_sources.yml', '--json'], {cwd: dir})
    expect(r.code, r.stderr).toBe(0)
    const text = readFileSync(join(dir, 'segc_sources.yml'), 'utf8')
    const props = parse(text) as Properties
    expect(props.version).toBe(2)
    expect(props.sources).toHaveLength(1)
    const source = props.sources[0]!
    expect(source).toMatchObject({name: 'segc', schema: 'segments', database: 'warehouse'})
    // what the warehouse holds after a run, from its own catalog
    const columns = await withProjectDb(dir, (c) => c.query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'segments'`))
    const real = new Set(columns.map((c) => `${String(c.table_name)}.${String(c.column_name)}`))
    const named = source.tables.flatMap((t) => t.columns.map((c) => `${t.name}.${c.name}`))
    expect(named.length).toBeGreaterThan(80)
    expect(named.filter((n) => !real.has(n))).toEqual([])
    expect([...real].filter((n) => !named.includes(n))).toEqual([])
    for (const t of source.tables) {
      expect(t.description.length, t.name).toBeGreaterThan(10)
      for (const c of t.columns) expect(c.description.length, `${t.name}.${c.name}`).toBeGreaterThan(2)
    }
    expect(props.exposures.map((e) => e.name).sort()).toEqual(['lifecycle_to_crm', 'win_back_export'])
    for (const e of props.exposures) {
      expect(e.type).toBe('application')
      // a sync sending trait fields reads the profile as well
      expect(e.depends_on).toEqual(e.name === 'lifecycle_to_crm' ? ["source('segc', 'segment_membership')", "source('segc', 'segment_profiles_customer')"] : ["source('segc', 'segment_membership')"])
      expect(e.owner.email ?? e.owner.name).toBeTruthy()
    }
    expect(JSON.parse(r.stdout)).toMatchObject({tables: source.tables.length, exposures: 2})
    // stdout without --out is the same document
    expect(segc(['dbt'], {cwd: dir}).stdout).toBe(text)
  })

  it.skipIf(!DBT_SCHEMA_PRESENT)("its exposures, compiled as dbt parse compiles them, validate against dbt's manifest schema", () => {
    const dir = example()
    const props = parse(segc(['dbt'], {cwd: dir}).stdout) as Properties
    const m = manifest('duckdb', {database: 'warehouse', schema: 'main', nodes: [], sources: props.sources[0]!.tables.map((t) => ({source: 'segc', name: t.name, schema: props.sources[0]!.schema, columns: t.columns.map((c): [string, string] => [c.name, 'varchar'])}))}) as {exposures: Record<string, unknown>}
    for (const e of props.exposures) {
      m.exposures[`exposure.shop.${e.name}`] = {
        name: e.name,
        resource_type: 'exposure',
        package_name: 'shop',
        path: 'segc_sources.yml',
        original_file_path: 'models/segc_sources.yml',
        unique_id: `exposure.shop.${e.name}`,
        fqn: ['shop', e.name],
        type: e.type,
        owner: e.owner,
        description: e.description,
        meta: e.meta,
        tags: [],
        config: {enabled: true},
        unrendered_config: {},
        depends_on: {macros: [], nodes: ['source.shop.segc.segment_membership']},
        refs: [],
        sources: [['segc', 'segment_membership']],
        metrics: [],
        created_at: 1764720000.0,
      }
    }
    expect(validateManifest(m)).toEqual([])
    // the check can fail: a type dbt does not know
    ;(m.exposures[`exposure.shop.${props.exposures[0]!.name}`] as {type: string}).type = 'crm'
    expect(validateManifest(m).length).toBeGreaterThan(0)
  })
})

// The identity tables where users look for segc's tables (SPEC §20, §16): segc dbt's sources,
// the lineage a run reports (the edge relations it reads, the map it writes).
import {describe, expect, it} from 'vitest'
import {dbtProperties} from '../../src/dbt/properties.js'
import {identityDatasets, identityInputs, inputDatasets} from '../../src/lineage/openlineage.js'
import {buildPlan, placeholderModels} from '../../src/plan/build-plan.js'
import {prepare} from '../../src/project/session.js'
import {validOrThrow, writeProject} from '../helpers/project.js'
import {MODELS, SEGMENTS} from './attribution-fixture.js'

const dir = () => writeProject({'models/m.yaml': MODELS(true), 'segments/s.yaml': SEGMENTS})

describe('identity tables listed', () => {
  it('segc dbt lists the identity map and the erased identifiers with their columns', () => {
    const yaml = dbtProperties(validOrThrow(dir()), {name: 'local', type: 'duckdb', path: ':memory:'}).yaml
    for (const t of ['segment_identities_customer', 'segment_erased_identifiers']) expect(yaml).toContain(`name: ${t}`)
    expect(yaml).toContain("the profile: an entity key, an anon_ key for an anonymous profile, NULL when ambiguous")
  })

  it('a run reads the edge relations (their identifier columns) and writes the map', () => {
    const p = prepare({project: dir()})
    const inputs = inputDatasets(p, buildPlan(p.v.project, new Date('2026-06-01'), undefined, {models: placeholderModels(p.v.project)}), identityInputs(p))
    const identifies = inputs.find((d) => d.name.endsWith('main.identifies'))
    expect(identifies?.fields?.map((f) => f.name).sort()).toEqual(['anonymous_id', 'email', 'ts', 'user_id'])
    const events = inputs.find((d) => d.name.endsWith('main.web_events'))
    expect(events?.fields?.map((f) => f.name).sort()).toEqual(['anonymous_id', 'device', 'ts', 'user_id'])
    const [map] = identityDatasets(p)
    expect(map!.name).toMatch(/segments\.segment_identities_customer$/)
    expect(map!.fields!.map((f) => f.name)).toEqual(['kind', 'value', 'entity_key', 'status', 'distance', 'first_seen'])
  })
})

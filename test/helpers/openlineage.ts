import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

// OpenLineage's published JSON Schema (../shared/specs/openlineage): the run event, and each
// facet by its own schema, validated with ajv (draft 2020-12, formats checked).

const DIR = fileURLToPath(new URL('../../../shared/specs/openlineage/', import.meta.url))
export const OPENLINEAGE_PRESENT = existsSync(`${DIR}OpenLineage.json`)

type Validate = ((x: unknown) => boolean) & {errors?: unknown[] | null}
let core: Validate | undefined
const facets = new Map<string, Validate>()

function load() {
  const ajv = new Ajv2020({strict: false, allErrors: true})
  addFormats(ajv)
  const main = JSON.parse(readFileSync(`${DIR}OpenLineage.json`, 'utf8')) as {$id: string}
  ajv.addSchema(main)
  for (const f of readdirSync(`${DIR}facets`)) {
    const s = JSON.parse(readFileSync(`${DIR}facets/${f}`, 'utf8')) as {$id: string; properties: Record<string, unknown>}
    ajv.addSchema(s)
    // each facet file's root maps the facet's key (schema, parent, …) to its definition
    for (const key of Object.keys(s.properties ?? {})) facets.set(key, ajv.getSchema(s.$id) as Validate)
  }
  core = ajv.getSchema(`${main.$id}#/$defs/RunEvent`) as Validate
}

/** Every violation of the run event schema and of each facet's own schema ([] when valid). */
export function violations(event: Record<string, unknown>): string[] {
  if (!core) load()
  const out: string[] = []
  if (!core!(event)) out.push(...(core!.errors ?? []).map((e) => `RunEvent: ${JSON.stringify(e)}`))
  const check = (where: string, map: Record<string, unknown> | undefined) => {
    for (const [key, facet] of Object.entries(map ?? {})) {
      const v = facets.get(key)
      if (!v) out.push(`${where}.${key}: no published schema for this facet`)
      else if (!v({[key]: facet})) out.push(...(v.errors ?? []).map((e) => `${where}.${key}: ${JSON.stringify(e)}`))
    }
  }
  const e = event as {run?: {facets?: Record<string, unknown>}; job?: {facets?: Record<string, unknown>}; inputs?: Array<{facets?: Record<string, unknown>}>; outputs?: Array<{facets?: Record<string, unknown>; outputFacets?: Record<string, unknown>}>}
  check('run', e.run?.facets)
  check('job', e.job?.facets)
  e.inputs?.forEach((d, i) => check(`inputs[${i}]`, d.facets))
  e.outputs?.forEach((d, i) => (check(`outputs[${i}]`, d.facets), check(`outputs[${i}].outputFacets`, d.outputFacets)))
  return out
}

// The editor settings `segc init` writes (SPEC §18): the JSON Schemas of `segc schema` mapped
// onto the project's YAML files for a YAML extension (yaml-language-server), and the extensions
// to recommend. The schema files are written from the same objects `segc schema` prints.
import {ALL_SCHEMAS} from '../validate/schemas.js'

export const SCHEMA_DIR = '.vscode/segc-schemas'
/** segc's own VS Code extension (editors/vscode/), which starts `segc lsp` */
export const EXTENSION_ID = 'segc.segc'

type Schema = Record<string, unknown>

/**
 * A file in segments/ holds segment, group and fixture-test documents side by side, and a YAML
 * extension maps one schema per file: one schema accepting any of the three, their $defs merged
 * at its root so the segment schema's own `#/$defs/...` references still resolve.
 */
function segmentsFileSchema(): Schema {
  const strip = (s: Schema) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$defs' && k !== '$id'))
  const segment = ALL_SCHEMAS.segment as Schema
  return {
    $id: 'https://segc.dev/schema/segments-file.json',
    title: 'segc segments file (segments/**/*.yaml): segment, group or fixture test documents',
    anyOf: [{$ref: '#/$defs/segment'}, {$ref: '#/$defs/group'}, {$ref: '#/$defs/test'}],
    $defs: {...(segment.$defs as Schema), segment: strip(segment), group: strip(ALL_SCHEMAS.group as Schema), test: strip(ALL_SCHEMAS.test as Schema)},
  }
}

/** Files to write, path → text. */
export function editorFiles(): Record<string, string> {
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n'
  const schemas: Record<string, [Schema, string]> = {
    config: [ALL_SCHEMAS.config as Schema, 'segc.yaml'],
    models: [ALL_SCHEMAS.models as Schema, 'models/**/*.yaml'],
    segments: [segmentsFileSchema(), 'segments/**/*.yaml'],
    sync: [ALL_SCHEMAS.sync as Schema, 'syncs/**/*.yaml'],
  }
  const files: Record<string, string> = {}
  const mapping: Record<string, string> = {}
  for (const [name, [schema, glob]] of Object.entries(schemas)) {
    files[`${SCHEMA_DIR}/${name}.json`] = json(schema)
    mapping[`./${SCHEMA_DIR}/${name}.json`] = glob
  }
  files['.vscode/settings.json'] = json({'yaml.schemas': mapping, 'files.associations': {'segc.yaml': 'yaml'}})
  files['.vscode/extensions.json'] = json({recommendations: ['redhat.vscode-yaml', EXTENSION_ID]})
  return files
}

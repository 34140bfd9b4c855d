import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {parseAllDocuments} from 'yaml'
import {describe, expect, it} from 'vitest'
import {segc} from '../helpers/cli.js'
import {globMatches} from './glob.js'

// The editor settings `segc init` writes (SPEC §18), checked as a YAML extension would use them:
// each glob of `yaml.schemas` picks the project's files, and each YAML document of the example
// project validates with ajv (draft-07 semantics, which yaml-language-server applies to a schema
// without $schema) against the schema file its path maps to. The schema files are read from disk,
// never from segc's own validators.

const require = createRequire(import.meta.url)
const {Ajv} = require('ajv') as typeof import('ajv')

function yamlFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (name.startsWith('.')) return []
    if (statSync(p).isDirectory()) return yamlFiles(p, root)
    return name.endsWith('.yaml') ? [relative(root, p)] : []
  })
}

function freshProject(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'segc-init-editor-')), 'project')
  const r = segc(['init', dir])
  expect(r.code, r.stderr).toBe(0)
  return dir
}

describe('segc init writes editor settings', () => {
  it('maps a schema file that exists onto every YAML file of the project, and each document validates against it', () => {
    const dir = freshProject()
    const settings = JSON.parse(readFileSync(join(dir, '.vscode/settings.json'), 'utf8')) as {'yaml.schemas': Record<string, string | string[]>}
    const extensions = JSON.parse(readFileSync(join(dir, '.vscode/extensions.json'), 'utf8')) as {recommendations: string[]}
    expect(extensions.recommendations).toEqual(expect.arrayContaining(['redhat.vscode-yaml', 'segc.segc']))

    const mapping = Object.entries(settings['yaml.schemas']).map(([schema, globs]) => ({schema, globs: Array.isArray(globs) ? globs : [globs]}))
    expect(mapping.length).toBeGreaterThanOrEqual(4)
    const ajv = new Ajv({allErrors: true, strict: false, allowUnionTypes: true})
    const validators = new Map<string, ReturnType<typeof ajv.compile>>()
    for (const {schema} of mapping) {
      const file = join(dir, schema)
      expect(existsSync(file), schema).toBe(true)
      const json = JSON.parse(readFileSync(file, 'utf8')) as object
      validators.set(schema, ajv.compile(json))
    }

    const files = yamlFiles(dir).filter((f) => !f.startsWith('.github'))
    // the example's files: segc.yaml, models, segments (fixture tests among them) and syncs
    expect(files).toEqual(expect.arrayContaining(['segc.yaml', 'models/shop.yaml', 'segments/growth.yaml', 'segments/growth.test.yaml', 'syncs/win_back_export.yaml']))
    let documents = 0
    for (const file of files) {
      const matched = mapping.filter((m) => m.globs.some((g) => globMatches(g, file)))
      expect(matched.map((m) => m.schema), `schemas for ${file}`).toHaveLength(1)
      const validate = validators.get(matched[0]!.schema)!
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        const value = (doc as {toJS(): unknown}).toJS()
        if (value === null) continue
        documents++
        expect(validate(value), `${file}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true)
      }
    }
    expect(documents).toBeGreaterThan(25)

    // the schemas reject what segc rejects, so they are no blanket "anything goes"
    const segmentsSchema = mapping.find((m) => m.globs.some((g) => globMatches(g, 'segments/x.yaml')))!.schema
    const segmentsValidate = validators.get(segmentsSchema)!
    expect(segmentsValidate({segment: 'x', entity: 'customer', rule: {trait: 'revenue_365d', gte: 1}, colour: 'red'})).toBe(false)
    expect(segmentsValidate({segment: 'x', entity: 'customer'})).toBe(false)
    const modelsValidate = validators.get(mapping.find((m) => m.globs.some((g) => globMatches(g, 'models/shop.yaml')))!.schema)!
    expect(modelsValidate({entities: {customer: {table: 'main.customers', key: 'customer_id'}}, traits: {t: {entity: 'customer', aggregate: 'median_of_everything'}}})).toBe(false)
  })

  it('leaves editor settings the user already has untouched and still writes the rest', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'segc-init-editor-')), 'project')
    mkdirSync(join(dir, '.vscode'), {recursive: true})
    const mine = '{\n  // my settings\n  "editor.tabSize": 4\n}\n'
    writeFileSync(join(dir, '.vscode/settings.json'), mine)
    const r = segc(['init', dir, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(dir, '.vscode/settings.json'), 'utf8')).toBe(mine)
    const written = (JSON.parse(r.stdout) as {written: string[]}).written
    expect(written).not.toContain('.vscode/settings.json')
    expect(written).toContain('.vscode/extensions.json')
    expect(existsSync(join(dir, '.vscode/extensions.json'))).toBe(true)
  })
})

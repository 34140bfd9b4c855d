// The validators `npm run build` compiles ahead of time (ajv standalone code) must answer
// exactly as the ones ajv compiles at run time: same verdict, same errors, field for field
// (check-schema.ts reads keyword, paths, params, schema and parentSchema to place and word
// every diagnostic). Checked over every document of the example project and of the suite
// projects, each also broken several ways.
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {loadProject} from '../../src/load/load-project.js'
import {compileValidators, pickValidators, schemasHash, standaloneSource, type SchemaKind, type Validators} from '../../src/validate/validators.js'
import {suiteProjects} from '../helpers/suite-projects.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

function standalone(): Validators & {schemasHash: string} {
  const module = {exports: {} as Validators & {schemasHash: string}}
  new Function('require', 'module', 'exports', standaloneSource())(createRequire(import.meta.url), module, module.exports)
  return module.exports
}

/** A document and the ways the tests break it: an unknown key, and each key's value replaced by a number, a list, an empty mapping. */
function variants(value: Record<string, unknown>): unknown[] {
  const out: unknown[] = [value, {...value, not_a_key: 1}, [], 'text']
  for (const k of Object.keys(value)) {
    for (const bad of [42, ['x'], {}]) out.push({...value, [k]: bad})
    const inner = value[k]
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const ik of Object.keys(inner)) out.push({...value, [k]: {...inner, [ik]: 'not-valid-here', also_unknown: true}})
    }
  }
  return out
}

const documents = [repo, ...suiteProjects().map((p) => p.dir)].flatMap((dir) => loadProject(dir, {tests: true}).documents)

describe('validators compiled at build time', () => {
  const compiled = compileValidators()
  const built = standalone()

  it('answer every document, whole and broken, as ajv compiled at run time does', () => {
    const kinds = new Set<SchemaKind>()
    let invalid = 0
    for (const doc of documents) {
      kinds.add(doc.kind)
      for (const value of variants(doc.value)) {
        const a = compiled[doc.kind]
        const b = built[doc.kind]
        const ok = a(value)
        expect(b(value)).toBe(ok)
        expect(b.errors ?? null).toEqual(a.errors ?? null)
        if (!ok) invalid++
      }
    }
    // the corpus reaches every schema, and mostly broken documents
    expect([...kinds].sort()).toEqual(['config', 'group', 'models', 'segment', 'sync', 'test'])
    expect(invalid).toBeGreaterThan(500)
  })

  it('are used only when built from these schemas', () => {
    const current = {...built}
    const picked = pickValidators(current)
    expect(picked.segment).toBe(current.segment)
    // a stale build (another hash), a missing one, or one without every validator: compiled now
    expect(pickValidators({...built, schemasHash: 'f'.repeat(64)}).segment).not.toBe(built.segment)
    expect(pickValidators(undefined).segment).toBeTypeOf('function')
    const {sync: _, ...withoutSync} = built
    expect(pickValidators(withoutSync).segment).not.toBe(built.segment)
    expect(built.schemasHash).toBe(schemasHash())
  })
})

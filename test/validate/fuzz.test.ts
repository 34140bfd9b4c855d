import {mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'
import {parseDocument, stringify} from 'yaml'
import {validateProject} from '../../src/validate/validate-project.js'
import {REPO} from '../helpers/cli.js'

// validate must never throw, whatever the files hold, and every problem must carry a
// position inside a real file. Seeded and bounded, so a failure reproduces.
const dir = mkdtempSync(join(tmpdir(), 'segc-fuzz-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
mkdirSync(join(dir, 'models'))
mkdirSync(join(dir, 'segments'))
writeFileSync(join(dir, 'segc.yaml'), 'name: fuzz\n')
const MODELS = readFileSync(join(REPO, 'models/shop.yaml'), 'utf8')
const SEGMENTS = readFileSync(join(REPO, 'segments/lifecycle.yaml'), 'utf8').trimEnd() + '\n---\n' + readFileSync(join(REPO, 'segments/growth.yaml'), 'utf8')

function check(models: string, segments: string) {
  writeFileSync(join(dir, 'models/m.yaml'), models)
  writeFileSync(join(dir, 'segments/s.yaml'), segments)
  const v = validateProject({project: dir})
  for (const d of v.diagnostics) {
    expect(['segc.yaml', 'models/m.yaml', 'segments/s.yaml']).toContain(d.file)
    expect(d.line).toBeGreaterThanOrEqual(1)
    expect(d.col).toBeGreaterThanOrEqual(1)
    expect(d.message.length).toBeGreaterThan(0)
  }
  return v
}

/** A random edit of a YAML tree: delete a key, change a value's type, or drop in a strange value. */
const strange = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string(),
  fc.constant('-30d'),
  fc.constant('2026-02-30'),
  fc.constant(1e308),
  fc.constant('ünïcødé 🚀'),
  fc.constant(''),
  fc.array(fc.string(), {maxLength: 3}),
  fc.dictionary(fc.string({maxLength: 8}), fc.string(), {maxKeys: 3}),
)

function mutate(text: string, picks: number[], values: unknown[]): string {
  return text
    .split('\n---\n')
    .map((docText, d) => {
      const doc = parseDocument(docText).toJS() as unknown
      const paths: Array<Array<string | number>> = []
      const walk = (node: unknown, path: Array<string | number>) => {
        paths.push(path)
        if (Array.isArray(node)) node.forEach((n, i) => walk(n, [...path, i]))
        else if (node && typeof node === 'object') for (const [k, n] of Object.entries(node)) walk(n, [...path, k])
      }
      walk(doc, [])
      let out = doc
      picks.forEach((p, i) => {
        const path = paths[(p + d) % paths.length]!
        if (path.length === 0) return
        let parent = out as Record<string | number, unknown>
        for (const step of path.slice(0, -1)) parent = (parent?.[step] ?? {}) as Record<string | number, unknown>
        const last = path.at(-1)!
        if (parent && typeof parent === 'object') {
          if (i % 3 === 0 && !Array.isArray(parent)) delete parent[last]
          else parent[last] = values[i % values.length]
        }
      })
      return stringify(out)
    })
    .join('---\n')
}

describe('validate never throws (fast-check, seeded)', () => {
  it('on random mutations of a valid project', () => {
    let broken = 0
    fc.assert(
      fc.property(fc.array(fc.nat(10_000), {minLength: 1, maxLength: 6}), fc.array(strange, {minLength: 1, maxLength: 6}), (picks, values) => {
        const v = check(mutate(MODELS, picks, values), mutate(SEGMENTS, picks.map((p) => p * 7), values))
        if (v.diagnostics.some((d) => d.severity === 'error')) broken++
      }),
      {seed: 20261125, numRuns: 150},
    )
    expect(broken).toBeGreaterThan(50) // the mutations do break projects
  })

  it('on arbitrary text, including broken YAML', () => {
    const yamlish = fc.array(fc.oneof(fc.constantFrom('segment: ', 'rule:', '  all:', '    - ', '{', '}', '[', ']', ': ', '---', '&a', '*a', '!!binary', '"', "'", '#', '\t', 'entity: customer', 'attribute: country', 'eq: 1'), fc.string({maxLength: 12})), {maxLength: 40}).map((xs) => xs.join('\n'))
    fc.assert(
      fc.property(yamlish, yamlish, (models, segments) => {
        check(models, segments)
      }),
      {seed: 7, numRuns: 200},
    )
  })

  it('a valid project stays valid without mutations (the harness is sound)', () => {
    expect(check(MODELS, SEGMENTS).diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  })
})

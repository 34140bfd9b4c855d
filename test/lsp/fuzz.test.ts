import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {exampleCopy} from '../helpers/cli.js'
import {LspClient} from './lsp-client.js'

const FILES = ['models/shop.yaml', 'segments/lifecycle.yaml', 'segments/value.yaml', 'segc.yaml', 'segments/growth.test.yaml']
const METHODS = ['textDocument/completion', 'textDocument/hover', 'textDocument/definition', 'textDocument/references', 'textDocument/documentSymbol'] as const

type Edit = {kind: 'truncate'; at: number} | {kind: 'delete-lines'; at: number; count: number} | {kind: 'insert'; at: number; text: string} | {kind: 'empty'}

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({kind: fc.constant('truncate' as const), at: fc.double({min: 0, max: 1, noNaN: true})}),
  fc.record({kind: fc.constant('delete-lines' as const), at: fc.double({min: 0, max: 1, noNaN: true}), count: fc.integer({min: 1, max: 5})}),
  fc.record({kind: fc.constant('insert' as const), at: fc.double({min: 0, max: 1, noNaN: true}), text: fc.string({unit: fc.constantFrom(':', ' ', '\n', '-', '{', '}', '[', ']', '"', "'", '#', '&', '*', '!', '|', '>', 'a', 'x', '0', '\t', '---', '\u00e9', '\ud83d\ude00'), maxLength: 8})}),
  fc.constant({kind: 'empty' as const}),
)

function apply(text: string, e: Edit): string {
  switch (e.kind) {
    case 'truncate':
      return text.slice(0, Math.floor(text.length * e.at))
    case 'delete-lines': {
      const lines = text.split('\n')
      const at = Math.floor(lines.length * e.at)
      lines.splice(at, e.count)
      return lines.join('\n')
    }
    case 'insert': {
      const at = Math.floor(text.length * e.at)
      return text.slice(0, at) + e.text + text.slice(at)
    }
    case 'empty':
      return ''
  }
}

describe('segc lsp under random edits', () => {
  let client: LspClient
  let dir: string
  beforeAll(async () => {
    dir = exampleCopy()
    client = await LspClient.start(dir)
    for (const f of FILES) await client.open(f)
  })
  afterAll(async () => {
    await client?.stop()
  })

  it('answers every request and never exits', async () => {
    const originals = new Map(FILES.map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
    const texts = new Map(originals)
    let requests = 0
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FILES),
        fc.array(edit, {minLength: 1, maxLength: 3}),
        fc.array(fc.tuple(fc.constantFrom(...METHODS), fc.integer({min: -1, max: 400}), fc.integer({min: -1, max: 200})), {minLength: 1, maxLength: 4}),
        fc.boolean(),
        async (file, edits, asks, restore) => {
          const text = edits.reduce(apply, restore ? originals.get(file)! : texts.get(file)!)
          texts.set(file, text)
          await client.change(file, text)
          for (const [method, line, character] of asks) {
            const params = method === 'textDocument/documentSymbol' ? {textDocument: {uri: client.uri(file)}} : {textDocument: {uri: client.uri(file)}, position: {line: Math.max(0, line), character: Math.max(0, character)}, context: {includeDeclaration: true}}
            // an answer or an error response, never silence: a timeout fails the run
            const answer = await Promise.race([
              client.conn.sendRequest(method, params).then(
                () => 'answered',
                () => 'error response',
              ),
              new Promise((r) => setTimeout(() => r('no answer'), 5000)),
            ])
            expect(answer).not.toBe('no answer')
            requests++
          }
          expect(client.exited).toBeUndefined()
        },
      ),
      {seed: 20261207, numRuns: 60},
    )
    // after all that, the server still analyses: the originals back, the project is clean
    for (const f of FILES) await client.change(f, originals.get(f)!)
    await client.waitFor(() => FILES.every((f) => (client.diagnostics.get(client.uri(f)) ?? [1]).length === 0), 10_000)
    expect(requests).toBeGreaterThan(60)
    expect(client.exited).toBeUndefined()
    // every request answered without failing inside the server (a caught failure is logged)
    expect(client.logs.filter((l) => l.startsWith('segc lsp:'))).toEqual([])
  }, 60_000)
})

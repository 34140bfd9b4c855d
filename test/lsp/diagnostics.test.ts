import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {segcAsync} from '../helpers/cli.js'
import {writeProject} from '../helpers/project.js'
import {MODELS} from '../language/fixture-shop.js'
import {ACCOUNT_MODELS, CASES} from '../validate/invalid-cases.js'
import {LspClient} from './lsp-client.js'

interface Flat {
  file: string
  code: string
  severity: string
  line: number
  col: number
  message: string
}

const SEVERITY: Record<number, string> = {1: 'error', 2: 'warning'}
const sortFlat = (xs: Flat[]) => [...xs].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code) || a.message.localeCompare(b.message))

/** Everything the server has published, as segc validate --json would list it (LSP positions are 0-based). */
function published(client: LspClient): Flat[] {
  const out: Flat[] = []
  for (const [uri, list] of client.diagnostics) {
    const file = decodeURIComponent(uri).slice(`file://${client.root}/`.length)
    for (const d of list) out.push({file, code: String(d.code), severity: SEVERITY[d.severity ?? 1]!, line: d.range.start.line + 1, col: d.range.start.character + 1, message: d.message})
  }
  return sortFlat(out)
}

/** segc validate --json on a project holding the case's text on disk. */
async function validateJson(files: Record<string, string>): Promise<Flat[]> {
  const dir = writeProject(files)
  const r = await segcAsync(['validate', '--json'], {cwd: dir})
  const json = JSON.parse(r.stdout) as {diagnostics: Flat[]}
  return sortFlat(json.diagnostics.map((d) => ({file: d.file, code: d.code, severity: d.severity, line: d.line, col: d.col, message: d.message})))
}

describe('segc lsp diagnostics', () => {
  let client: LspClient
  let root: string
  const expected = new Map<string, Flat[]>()

  beforeAll(async () => {
    // the server's project holds the models only: each case's file exists only as an unsaved text
    root = writeProject({'models/m.yaml': MODELS, 'models/acc.yaml': ACCOUNT_MODELS})
    client = await LspClient.start(root)
    // segc validate --json for every case, a few processes at a time
    const queue = [...CASES]
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        for (let c = queue.shift(); c; c = queue.shift()) expected.set(c.name, await validateJson({'models/m.yaml': MODELS, 'models/acc.yaml': ACCOUNT_MODELS, [c.file]: c.text}))
      }),
    )
  }, 120_000)
  afterAll(async () => {
    await client?.stop()
  })

  for (const c of CASES) {
    it(`equal segc validate --json: ${c.name}`, async () => {
      const want = expected.get(c.name)!
      expect(want.length, 'the case is invalid').toBeGreaterThan(0)
      await client.open(c.file, c.text)
      await client.waitFor(() => JSON.stringify(published(client)) === JSON.stringify(want), 5000).catch(() => undefined)
      expect(published(client)).toEqual(want)
      await client.close(c.file)
      // closed and not on disk: the file leaves the project, and its diagnostics with it
      await client.waitFor(() => published(client).every((d) => d.file !== c.file))
    })
  }

  it('a rename in an unsaved models file breaks the segments that use it, in their files', async () => {
    const dir = writeProject({
      'models/m.yaml': MODELS,
      'segments/a.yaml': 'segment: a\nentity: customer\nrule: {trait: orders_total, gt: 1}\n',
      'segments/b.yaml': 'segment: b\nentity: customer\nrule: {segment: a}\n',
    })
    const c = await LspClient.start(dir)
    try {
      await c.open('models/m.yaml')
      await c.waitFor(() => c.diagnostics.has(c.uri('segments/a.yaml')))
      expect(c.diagnostics.get(c.uri('segments/a.yaml'))).toEqual([])
      expect(MODELS).toContain('orders_total:')
      await c.change('models/m.yaml', MODELS.replace('orders_total:', 'order_total:'))
      await c.waitFor(() => (c.diagnostics.get(c.uri('segments/a.yaml')) ?? []).length > 0)
      const [d] = c.diagnostics.get(c.uri('segments/a.yaml'))!
      expect(d!.code).toBe('unknown_trait')
      expect(d!.message).toContain("did you mean 'order_total'?")
      expect(d!.range.start).toEqual({line: 2, character: 14})
      // the disk is untouched: segc validate still passes there
      expect((await segcAsync(['validate', '--json'], {cwd: dir})).code).toBe(0)
      // the edit undone: the segment's file is clean again
      await c.change('models/m.yaml', MODELS)
      await c.waitFor(() => (c.diagnostics.get(c.uri('segments/a.yaml')) ?? [1]).length === 0)
      // a file deleted on disk while closed leaves the project: its diagnostics are cleared
      await c.open('segments/b.yaml', 'segment: b\nentity: customer\nrule: {segment: nope}\n')
      await c.waitFor(() => (c.diagnostics.get(c.uri('segments/b.yaml')) ?? []).length === 1)
      rmSync(join(dir, 'segments/b.yaml'))
      await c.close('segments/b.yaml')
      await c.waitFor(() => (c.diagnostics.get(c.uri('segments/b.yaml')) ?? [1]).length === 0)
      // a file outside the project gets an empty answer
      writeFileSync(join(dir, 'notes.yaml'), 'segment: [\n')
      await c.open('notes.yaml')
      await c.waitFor(() => c.diagnostics.get(c.uri('notes.yaml')) !== undefined)
      expect(c.diagnostics.get(c.uri('notes.yaml'))).toEqual([])
      expect(c.exited).toBeUndefined()
    } finally {
      await c.stop()
    }
  })
})

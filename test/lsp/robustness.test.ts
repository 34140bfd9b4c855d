import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {CompletionItem, Diagnostic, Hover} from 'vscode-languageserver-protocol'
import {exampleCopy, segc} from '../helpers/cli.js'
import {LspClient, positionOf} from './lsp-client.js'

// SPEC §18's hostile texts, one by one, as an editor sends them: the server answers each request
// (or returns an error response), keeps running, and leaves the warehouse file as it was.
// Expected diagnostics come from `segc validate --json` run on the same text saved to disk.

const labels = (items: CompletionItem[] | null) => (items ?? []).map((i) => i.label)
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

interface Cli {
  diagnostics: Array<{code: string; file: string; line: number; col: number; message: string}>
}

describe('segc lsp on hostile texts', () => {
  let client: LspClient
  let dir: string
  let warehouse: string
  let before: string

  /** What `segc validate --json` says of the project with `text` saved at `path` (the file restored after). */
  const validateWith = (path: string, text: string): Cli['diagnostics'] => {
    const file = join(dir, path)
    const old = existsSync(file) ? readFileSync(file, 'utf8') : undefined
    writeFileSync(file, text)
    try {
      return (JSON.parse(segc(['validate', '--json'], {cwd: dir}).stdout) as Cli).diagnostics.filter((d) => d.file === path)
    } finally {
      if (old === undefined) rmSync(file)
      else writeFileSync(file, old)
    }
  }
  const asCli = (ds: Diagnostic[]) => ds.map((d) => ({code: d.code, line: d.range.start.line + 1, col: d.range.start.character + 1, message: d.message}))

  /** Every position request on a file, at a position; each must be answered or refused, never hang. */
  const askEverything = async (path: string, line: number, character: number) => {
    const answers: string[] = []
    for (const method of ['textDocument/completion', 'textDocument/hover', 'textDocument/definition', 'textDocument/references']) {
      const answer = await Promise.race([
        client.request(method, path, line, character, {context: {includeDeclaration: true}}).then(
          () => 'answered',
          () => 'error response',
        ),
        new Promise((r) => setTimeout(() => r('no answer'), 5000)),
      ])
      answers.push(`${method}: ${answer}`)
    }
    const symbols = await client.conn.sendRequest('textDocument/documentSymbol', {textDocument: {uri: client.uri(path)}}).then(
      () => 'answered',
      () => 'error response',
    )
    answers.push(`symbols: ${symbols}`)
    expect(answers.filter((a) => a.endsWith('no answer'))).toEqual([])
    expect(client.exited).toBeUndefined()
    return answers
  }

  beforeAll(async () => {
    dir = exampleCopy()
    // a warehouse with runs in it, so hover has something to read and a write would show
    const demo = segc(['demo', '--weeks', '0', '--customers', '200', '--path', '.segc/warehouse.duckdb'], {cwd: dir})
    expect(demo.code, demo.stderr).toBe(0)
    warehouse = join(dir, '.segc/warehouse.duckdb')
    before = sha(warehouse)
    client = await LspClient.start(dir)
    await client.open('segments/lifecycle.yaml')
    await client.waitFor(() => client.diagnostics.has(client.uri('segments/lifecycle.yaml')))
  }, 120_000)
  afterAll(async () => {
    await client?.stop()
  })

  it('malformed YAML: the parse errors validate reports, at their positions; requests still answered', async () => {
    const text = 'segment: broken\nentity: customer\nrule:\n  all: [ {trait: revenue_365d, gte: 1\n'
    const expected = validateWith('segments/broken.yaml', text)
    expect(expected.length).toBeGreaterThan(0)
    await client.open('segments/broken.yaml', text)
    await client.waitFor(() => (client.diagnostics.get(client.uri('segments/broken.yaml')) ?? []).length > 0)
    expect(asCli(client.diagnostics.get(client.uri('segments/broken.yaml'))!)).toEqual(expected.map(({code, line, col, message}) => ({code, line, col, message})))
    await askEverything('segments/broken.yaml', 3, 12)
    await client.close('segments/broken.yaml')
  })

  it('a half-typed key: the syntax error, and completion of the keys it can become', async () => {
    const text = 'segment: half\nentity: customer\nru'
    const expected = validateWith('segments/half.yaml', text)
    await client.open('segments/half.yaml', text)
    await client.waitFor(() => (client.diagnostics.get(client.uri('segments/half.yaml')) ?? []).length > 0)
    expect(asCli(client.diagnostics.get(client.uri('segments/half.yaml'))!)).toEqual(expected.map(({code, line, col, message}) => ({code, line, col, message})))
    const keys = labels(await client.request('textDocument/completion', 'segments/half.yaml', 2, 2))
    expect(keys).toContain('rule')
    // keys already written are not offered again
    expect(keys).not.toContain('entity')
    await askEverything('segments/half.yaml', 2, 2)
    await client.close('segments/half.yaml')
  })

  it('an empty file: no diagnostics (validate has none either), the top-level keys offered, an empty outline', async () => {
    expect(validateWith('segments/empty.yaml', '')).toEqual([])
    await client.open('segments/empty.yaml', '')
    const keys = labels(await client.request('textDocument/completion', 'segments/empty.yaml', 0, 0))
    expect(keys).toEqual(expect.arrayContaining(['segment', 'entity', 'rule']))
    expect(await client.conn.sendRequest('textDocument/documentSymbol', {textDocument: {uri: client.uri('segments/empty.yaml')}})).toEqual([])
    await askEverything('segments/empty.yaml', 0, 0)
    await client.waitFor(() => client.diagnostics.get(client.uri('segments/empty.yaml'))?.length === 0)
    await client.close('segments/empty.yaml')
  })

  it('a deleted file: the segments that used its definitions break, its own diagnostics go; open and deleted, it is still answered', async () => {
    // growth.yaml defines suppression_list, which value.yaml's segments exclude (an unopened file)
    const growth = readFileSync(join(dir, 'segments/growth.yaml'), 'utf8')
    await client.open('segments/growth.yaml', growth)
    rmSync(join(dir, 'segments/growth.yaml'))
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', {changes: [{uri: client.uri('segments/growth.yaml'), type: 3}]})
    // still open in the editor: its unsaved text is the project's, so nothing breaks yet
    await askEverything('segments/growth.yaml', 0, 12)
    const h = await client.request<Hover | null>('textDocument/hover', 'segments/growth.yaml', 0, 12)
    expect((h?.contents as {value: string} | undefined)?.value ?? '').toContain('suppression_list')
    // closed: the file is gone from the project, and validate agrees on what breaks
    await client.close('segments/growth.yaml')
    const expected = (JSON.parse(segc(['validate', '--json'], {cwd: dir}).stdout) as Cli).diagnostics.filter((d) => d.file === 'segments/value.yaml')
    expect(expected.length).toBeGreaterThan(0)
    await client.waitFor(() => (client.diagnostics.get(client.uri('segments/value.yaml')) ?? []).length > 0)
    expect(asCli(client.diagnostics.get(client.uri('segments/value.yaml'))!)).toEqual(expected.map(({code, line, col, message}) => ({code, line, col, message})))
    expect(client.diagnostics.get(client.uri('segments/growth.yaml')) ?? []).toEqual([])
    // a request on the deleted, closed file: answered (empty)
    expect(await client.request('textDocument/hover', 'segments/growth.yaml', 0, 12)).toBeNull()
    await askEverything('segments/growth.yaml', 0, 12)
    // restored: the project is clean again
    writeFileSync(join(dir, 'segments/growth.yaml'), growth)
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', {changes: [{uri: client.uri('segments/growth.yaml'), type: 1}]})
    await client.waitFor(() => client.diagnostics.get(client.uri('segments/value.yaml'))?.length === 0)
  })

  it('a file outside the project: no diagnostics, empty answers, and the project unaffected', async () => {
    const other = mkdtempSync(join(tmpdir(), 'segc-outside-'))
    mkdirSync(join(other, 'segments'))
    const path = join(other, 'segments/stray.yaml')
    const text = 'segment: stray\nentity: nobody\nrule: {trait: nothing, gte: 1}\n'
    writeFileSync(path, text)
    const uri = pathToFileURL(path).href
    await client.conn.sendNotification('textDocument/didOpen', {textDocument: {uri, languageId: 'yaml', version: 1, text}})
    for (const method of ['textDocument/completion', 'textDocument/hover', 'textDocument/definition']) {
      expect(await client.conn.sendRequest(method, {textDocument: {uri}, position: {line: 2, character: 16}})).toBeNull()
    }
    await client.waitFor(() => client.diagnostics.has(uri))
    expect(client.diagnostics.get(uri)).toEqual([])
    // the project's own files still clean: the stray file is no part of it
    await client.change('segments/lifecycle.yaml', readFileSync(join(dir, 'segments/lifecycle.yaml'), 'utf8'))
    await client.waitFor(() => client.diagnostics.get(client.uri('segments/lifecycle.yaml'))?.length === 0)
    await client.conn.sendNotification('textDocument/didClose', {textDocument: {uri}})
  })

  it('a position beyond the end of the text, or of its line: answered', async () => {
    const text = readFileSync(join(dir, 'segments/lifecycle.yaml'), 'utf8')
    const lines = text.split('\n').length
    for (const [line, character] of [
      [lines + 50, 0],
      [lines + 50, 9999],
      [0, 9999],
      [2_147_483_647, 2_147_483_647],
    ] as const) {
      const answers = await askEverything('segments/lifecycle.yaml', line, character)
      expect(answers.length).toBe(5)
    }
    // a position past the end of a line with a name on it is read as the line's end
    const p = positionOf(text, 'segment: active_customer')
    const h = await client.request<Hover | null>('textDocument/hover', 'segments/lifecycle.yaml', p.line, 9999)
    expect(h === null || typeof (h.contents as {value: string}).value === 'string').toBe(true)
  })

  it('after all of it: still running, nothing failed inside it, and the warehouse file unchanged', async () => {
    const text = readFileSync(join(dir, 'segments/lifecycle.yaml'), 'utf8')
    const p = positionOf(text, 'segment: active_customer', 'segment: act'.length)
    const h = await client.request<Hover | null>('textDocument/hover', 'segments/lifecycle.yaml', p.line, p.character)
    expect((h?.contents as {value: string}).value).toMatch(/members at the last successful run/)
    expect(client.exited).toBeUndefined()
    expect(client.logs.filter((l) => l.startsWith('segc lsp:'))).toEqual([])
    expect(sha(warehouse)).toBe(before)
    expect(readdirSync(join(dir, '.segc')).filter((f) => f.endsWith('.wal'))).toEqual([])
  })
})

import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import Module, {createRequire} from 'node:module'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {createProtocolConnection, StreamMessageReader, StreamMessageWriter, type PublishDiagnosticsParams} from 'vscode-languageserver-protocol/node.js'
import {EXTENSION_ID} from '../../src/lsp/editor-settings.js'
import {exampleCopy, REPO} from '../helpers/cli.js'
import {globMatches} from './glob.js'

// The VS Code extension of editors/vscode/ activated without VS Code: its main is loaded with
// stand-ins for the `vscode` module and for vscode-languageclient's LanguageClient, which record
// what activate() builds. The server options it builds are then started for real and spoken to
// over stdio, so "it starts segc lsp" is checked by a server answering, not by a string.

const EXT = join(REPO, 'editors/vscode')
const manifest = JSON.parse(readFileSync(join(EXT, 'package.json'), 'utf8')) as {
  name: string
  publisher: string
  main: string
  engines: {vscode: string}
  activationEvents: string[]
  dependencies: Record<string, string>
  contributes: {configuration: {properties: Record<string, {type: string; default?: unknown}>}}
}

interface Built {
  id: string
  name: string
  serverOptions: {command: string; args: string[]; transport?: unknown; options: {cwd: string; shell?: boolean}}
  clientOptions: {documentSelector: Array<{scheme?: string; language?: string; pattern?: string}>; synchronize?: {fileEvents?: unknown}}
  started: boolean
  stopped: boolean
}

type Load = (request: string, parent: unknown, isMain: boolean) => unknown
const mod = Module as unknown as {_load: Load}
const realLoad = mod._load

afterEach(() => {
  mod._load = realLoad
})

/** Loads the extension's main afresh with stand-ins; returns it and what it built. */
function loadExtension(opts: {folders: string[]; settings?: Record<string, unknown>; found?: string[]}) {
  const built: Built[] = []
  const settingsRead: string[] = []
  const errors: string[] = []
  class LanguageClient {
    record: Built
    constructor(id: string, name: string, serverOptions: Built['serverOptions'], clientOptions: Built['clientOptions']) {
      this.record = {id, name, serverOptions, clientOptions, started: false, stopped: false}
      built.push(this.record)
    }
    async start() {
      this.record.started = true
    }
    async stop() {
      this.record.stopped = true
    }
    dispose() {}
  }
  class RelativePattern {
    constructor(
      readonly base: string,
      readonly pattern: string,
    ) {}
  }
  const uri = (fsPath: string) => ({fsPath, toString: () => pathToFileURL(fsPath).href})
  const vscode = {
    workspace: {
      workspaceFolders: opts.folders.map((f, i) => ({uri: uri(f), name: `f${i}`, index: i})),
      getConfiguration: (section: string) => ({
        get: (key: string) => {
          settingsRead.push(`${section}.${key}`)
          return opts.settings?.[`${section}.${key}`]
        },
      }),
      findFiles: async () => (opts.found ?? []).map(uri),
      createFileSystemWatcher: (p: RelativePattern) => ({watching: p}),
      getWorkspaceFolder: () => undefined,
    },
    window: {showErrorMessage: async (m: string) => void errors.push(m)},
    Uri: {file: uri},
    RelativePattern,
  }
  mod._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscode
    if (request === 'vscode-languageclient/node') return {LanguageClient}
    return realLoad.call(this, request, parent, isMain)
  }
  const require = createRequire(import.meta.url)
  const main = require.resolve(join(EXT, manifest.main))
  delete require.cache[main]
  const ext = require(main) as {activate(ctx: {subscriptions: unknown[]}): Promise<unknown>; deactivate(): Promise<void>}
  return {ext, built, settingsRead, errors}
}

/** A project whose node_modules/.bin/segc is a shim to this checkout's segc, as `npm install segc` leaves it. */
function projectWithLocalSegc(): string {
  const dir = exampleCopy()
  mkdirSync(join(dir, 'node_modules/.bin'), {recursive: true})
  const bin = join(dir, 'node_modules/.bin/segc')
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'bin/run.js')}" "$@"\n`)
  chmodSync(bin, 0o755)
  return dir
}

describe('the VS Code extension (editors/vscode)', () => {
  it('activate() starts a LanguageClient running the project\'s own segc as `segc lsp --stdio`, and the server it starts answers', async () => {
    const dir = projectWithLocalSegc()
    const {ext, built, settingsRead} = loadExtension({folders: [dir]})
    const ctx = {subscriptions: [] as unknown[]}
    await ext.activate(ctx)
    expect(built).toHaveLength(1)
    const b = built[0]!
    expect(b.started).toBe(true)
    expect(ctx.subscriptions).toHaveLength(1)
    expect(b.serverOptions.command).toBe(join(dir, 'node_modules/.bin/segc'))
    // no transport: vscode-languageclient would append a second --stdio
    expect(b.serverOptions.args).toEqual(['lsp', '--stdio'])
    expect(b.serverOptions.transport).toBeUndefined()
    expect(b.serverOptions.options.cwd).toBe(dir)
    // every setting the extension reads is declared in the manifest
    for (const key of settingsRead) expect(Object.keys(manifest.contributes.configuration.properties)).toContain(key)
    expect(b.clientOptions.synchronize?.fileEvents).toBeDefined()

    // the document selector covers the project's YAML files and nothing else
    const selector = b.clientOptions.documentSelector
    expect(selector).toHaveLength(1)
    expect(selector[0]).toMatchObject({scheme: 'file', language: 'yaml'})
    const covers = (rel: string) => globMatches(selector[0]!.pattern!, `${dir}/${rel}`)
    for (const f of ['segc.yaml', 'models/shop.yaml', 'segments/growth.yaml', 'segments/growth.test.yaml', 'segments/sub/deep.yaml', 'syncs/win_back_export.yaml']) expect(covers(f), f).toBe(true)
    for (const f of ['other.yaml', '.github/workflows/segc.yml', 'docs/x.yaml', 'models/shop.json']) expect(covers(f), f).toBe(false)
    expect(globMatches(selector[0]!.pattern!, `${dir}-other/segc.yaml`)).toBe(false)

    // what the options start is a language server for this project: initialize, then a typo's diagnostic
    const child = spawn(b.serverOptions.command, b.serverOptions.args, {cwd: b.serverOptions.options.cwd, stdio: 'pipe'})
    try {
      const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin))
      const published = new Map<string, PublishDiagnosticsParams>()
      let wake = () => {}
      conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => (published.set(p.uri, p), wake()))
      conn.onRequest('workspace/configuration', () => [])
      conn.onRequest('client/registerCapability', () => null)
      conn.listen()
      const init = (await conn.sendRequest('initialize', {processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {}, workspaceFolders: [{uri: pathToFileURL(dir).href, name: 'p'}]})) as {serverInfo?: {name: string}; capabilities: {hoverProvider?: boolean}}
      expect(init.serverInfo?.name).toBe('segc')
      expect(init.capabilities.hoverProvider).toBe(true)
      await conn.sendNotification('initialized', {})
      const file = pathToFileURL(join(dir, 'segments/growth.yaml')).href
      const text = readFileSync(join(dir, 'segments/growth.yaml'), 'utf8').replace('trait: revenue_365d', 'trait: revenue_356d')
      await conn.sendNotification('textDocument/didOpen', {textDocument: {uri: file, languageId: 'yaml', version: 1, text}})
      const deadline = Date.now() + 20_000
      while (!(published.get(file)?.diagnostics.length ?? 0) && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 200)))
      const diags = published.get(file)?.diagnostics ?? []
      expect(diags.some((d) => d.code === 'unknown_reference' || /revenue_356d/.test(d.message)), JSON.stringify(diags)).toBe(true)
      await conn.sendRequest('shutdown')
      await conn.sendNotification('exit')
      const code = await new Promise((r) => child.on('exit', r))
      expect(code).toBe(0)
      conn.dispose()
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }

    await ext.deactivate()
    expect(b.stopped).toBe(true)
  })

  it('the segc.path setting wins; without it and without a local segc, segc on the PATH', async () => {
    const dir = projectWithLocalSegc()
    const set = loadExtension({folders: [dir], settings: {'segc.path': '/opt/segc/bin/segc'}})
    await set.ext.activate({subscriptions: []})
    expect(set.built[0]!.serverOptions.command).toBe('/opt/segc/bin/segc')
    const bare = exampleCopy()
    const plain = loadExtension({folders: [bare]})
    await plain.ext.activate({subscriptions: []})
    expect(plain.built[0]!.serverOptions.command).toBe('segc')
    expect(plain.built[0]!.serverOptions.args).toEqual(['lsp', '--stdio'])
  })

  it('finds a project in a subfolder of the workspace, and starts nothing where there is none', async () => {
    const dir = exampleCopy()
    const nested = loadExtension({folders: [join(dir, '..')], found: [join(dir, 'segc.yaml')]})
    await nested.ext.activate({subscriptions: []})
    expect(nested.built[0]!.serverOptions.options.cwd).toBe(dir)
    const none = loadExtension({folders: [join(dir, 'models')], found: []})
    expect(await none.ext.activate({subscriptions: []})).toBeUndefined()
    expect(none.built).toHaveLength(0)
  })

  it('its manifest is consistent: engines, activation, settings, main, lock and the id segc init recommends', () => {
    expect(existsSync(join(EXT, manifest.main))).toBe(true)
    expect(`${manifest.publisher}.${manifest.name}`).toBe(EXTENSION_ID)
    expect(manifest.activationEvents).toEqual(expect.arrayContaining(['workspaceContains:segc.yaml', 'onLanguage:yaml']))
    expect(manifest.contributes.configuration.properties['segc.path']).toMatchObject({type: 'string'})
    // the lock pins what package.json asks for, so `npm ci --prefix editors/vscode` installs it
    const lock = JSON.parse(readFileSync(join(EXT, 'package-lock.json'), 'utf8')) as {packages: Record<string, {version?: string; dependencies?: Record<string, string>; engines?: Record<string, string>}>}
    expect(lock.packages['']!.dependencies).toEqual(manifest.dependencies)
    const client = lock.packages['node_modules/vscode-languageclient']!
    expect(client.version).toBe(manifest.dependencies['vscode-languageclient'])
    // VS Code refuses an extension whose engines.vscode is older than its client library's
    const min = (range: string) => (range.match(/(\d+)\.(\d+)\.(\d+)/) ?? []).slice(1).map(Number)
    const lib = min(client.engines!.vscode!)
    const ours = min(manifest.engines.vscode)
    expect(ours[0]! * 1e6 + ours[1]! * 1e3 + ours[2]! >= lib[0]! * 1e6 + lib[1]! * 1e3 + lib[2]!, `${manifest.engines.vscode} vs ${client.engines!.vscode}`).toBe(true)
    // vsce and its Node: CI runs Node 20
    const vsce = lock.packages['node_modules/@vscode/vsce']!
    expect(vsce.engines?.node).toMatch(/>=\s*20\b|\^20|>=\s*1[0-9]\b/)
  })
})

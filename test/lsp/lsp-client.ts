import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node.js'
import {REPO} from '../helpers/cli.js'

/** `segc lsp` in its own process, driven over stdio as an editor drives it. */
export class LspClient {
  readonly conn: ProtocolConnection
  readonly diagnostics = new Map<string, Diagnostic[]>()
  private versions = new Map<string, number>()
  private waiters: Array<() => void> = []
  stderr = ''
  /** window/logMessage: where the server reports a request that failed inside it */
  readonly logs: string[] = []
  exited: number | null | undefined = undefined

  private constructor(
    readonly root: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    this.conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (this.stderr += c))
    child.on('exit', (code) => (this.exited = code))
    this.conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, p.diagnostics)
      for (const w of this.waiters.splice(0)) w()
    })
    this.conn.onNotification('window/logMessage', (p: {message: string}) => this.logs.push(p.message))
    this.conn.onRequest('workspace/configuration', () => [])
    this.conn.onRequest('client/registerCapability', () => null)
    this.conn.listen()
  }

  static async start(root: string): Promise<LspClient> {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'lsp', '--stdio'], {cwd: root, stdio: 'pipe'})
    const c = new LspClient(root, child)
    await c.conn.sendRequest('initialize', {processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {}, workspaceFolders: [{uri: pathToFileURL(root).href, name: 'p'}]})
    await c.conn.sendNotification('initialized', {})
    return c
  }

  uri(path: string): string {
    return pathToFileURL(join(this.root, path)).href
  }

  async open(path: string, text?: string): Promise<void> {
    this.versions.set(path, 1)
    await this.conn.sendNotification('textDocument/didOpen', {textDocument: {uri: this.uri(path), languageId: 'yaml', version: 1, text: text ?? readFileSync(join(this.root, path), 'utf8')}})
  }

  /** Replaces the whole text through an incremental change covering it (the client keeps no copy). */
  async change(path: string, text: string, range?: {start: {line: number; character: number}; end: {line: number; character: number}}): Promise<void> {
    const version = (this.versions.get(path) ?? 1) + 1
    this.versions.set(path, version)
    const whole = {start: {line: 0, character: 0}, end: {line: 1_000_000, character: 0}}
    await this.conn.sendNotification('textDocument/didChange', {textDocument: {uri: this.uri(path), version}, contentChanges: [{range: range ?? whole, text}]})
  }

  async close(path: string): Promise<void> {
    await this.conn.sendNotification('textDocument/didClose', {textDocument: {uri: this.uri(path)}})
  }

  /** Waits until a publish satisfies the predicate (checked at once and after every publish). */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for diagnostics; have ${JSON.stringify([...this.diagnostics.entries()]).slice(0, 2000)}\nstderr: ${this.stderr}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100)
        this.waiters.push(() => (clearTimeout(t), resolve()))
      })
    }
  }

  /** The next publish for a file after this call. */
  async nextDiagnostics(path: string, timeoutMs = 10_000): Promise<Diagnostic[]> {
    const uri = this.uri(path)
    const before = this.diagnostics.get(uri)
    let got: Diagnostic[] | undefined
    await this.waitFor(() => {
      const now = this.diagnostics.get(uri)
      if (now !== before && now !== undefined) got = now
      return got !== undefined
    }, timeoutMs)
    return got!
  }

  request<R>(method: string, path: string, line: number, character: number, extra: Record<string, unknown> = {}): Promise<R> {
    return this.conn.sendRequest(method, {textDocument: {uri: this.uri(path)}, position: {line, character}, ...extra}) as Promise<R>
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))])
      await this.conn.sendNotification('exit')
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 50))
    this.conn.dispose()
    if (this.exited === undefined) this.child.kill('SIGKILL')
  }
}

/** The 0-based line and character of the n-th occurrence of `needle` in a text (plus `shift` characters). */
export function positionOf(text: string, needle: string, shift = 0, nth = 0): {line: number; character: number} {
  let at = -1
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1)
  if (at < 0) throw new Error(`'${needle}' not in text`)
  const before = text.slice(0, at + shift)
  const line = before.split('\n').length - 1
  return {line, character: before.length - before.lastIndexOf('\n') - 1}
}

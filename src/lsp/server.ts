import {existsSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Location,
} from 'vscode-languageserver/node.js'
import {TextDocument} from 'vscode-languageserver-textdocument'
import {CODES} from '../diagnostics/codes.js'
import {findProjectRoot} from '../load/load-project.js'
import {definitionOf, referencesOf, type NameSite} from '../resolve/name-index.js'
import {absolutePath, analyse, projectPath, type Analysis} from './analysis.js'
import {complete} from './completion.js'
import {cursorAt} from './cursor.js'
import {hoverText, siteAtCursor} from './hover.js'
import {SizeReader} from './size-reader.js'
import {documentSymbols} from './symbols.js'
import {diagnosticRange, lineStarts, rangeOf} from './text-position.js'

/** How long typing must pause before the project is analysed again. */
export const DEBOUNCE_MS = 60

const uriToPath = (uri: string): string | undefined => {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined
  } catch {
    return undefined
  }
}
const pathToUri = (path: string) => pathToFileURL(path).href

/**
 * `segc lsp`: a thin shell over load → validate → resolve, like the commands. The editor's
 * open texts are laid over the project on disk and the whole project is analysed again after
 * each pause in typing, so a change's effect on other files shows there too. It never writes
 * to a warehouse; the only read is hover's size (size-reader.ts).
 */
export function startServer(input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Connection {
  // stdout carries the protocol: anything else printed there would corrupt it
  console.log = (...args: unknown[]) => console.error(...args)
  const connection = createConnection(ProposedFeatures.all, new StreamMessageReader(input), new StreamMessageWriter(output))
  const documents = new TextDocuments(TextDocument)
  const sizes = new SizeReader()
  let root: string | undefined
  let analysis: Analysis | undefined
  let timer: NodeJS.Timeout | undefined
  let published = new Set<string>()

  const locate = (start: string | undefined) => {
    if (root || !start) return
    const dir = existsSync(start) && statSync(start).isDirectory() ? start : dirname(start)
    root = findProjectRoot(dir)
  }

  const overlay = (): Map<string, string> => {
    const out = new Map<string, string>()
    if (!root) return out
    for (const doc of documents.all()) {
      const path = uriToPath(doc.uri)
      if (path && projectPath(root, path)) out.set(path, doc.getText())
    }
    return out
  }

  const refresh = (): Analysis | undefined => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (!root) return undefined
    try {
      analysis = analyse(root, overlay())
    } catch (error) {
      connection.console.error(`segc lsp: analysis failed: ${(error as Error).message}`)
      return analysis
    }
    publish(analysis)
    return analysis
  }

  const schedule = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(refresh, DEBOUNCE_MS)
  }

  /** The analysis of the texts as they are now: a request arriving before the debounce fires gets it at once. */
  const current = (): Analysis | undefined => (timer || !analysis ? refresh() : analysis)

  const publish = (a: Analysis) => {
    const now = new Set<string>()
    for (const [file, list] of a.byFile) {
      const source = a.files.get(file)
      const text = source?.text ?? ''
      const starts = lineStarts(text)
      const diagnostics: LspDiagnostic[] = list.map((d) => ({
        range: diagnosticRange(text, starts, d.line, d.col),
        severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
        code: d.code,
        source: 'segc',
        message: d.message,
        ...(CODES[d.code] ? {codeDescription: {href: `https://segc.dev/docs/diagnostics#${d.code}`}} : {}),
      }))
      const uri = pathToUri(absolutePath(a.root, file))
      now.add(uri)
      void connection.sendDiagnostics({uri, diagnostics})
    }
    // a file that left the project (deleted, renamed) or became clean loses its old diagnostics
    for (const uri of published) if (!now.has(uri)) void connection.sendDiagnostics({uri, diagnostics: []})
    published = now
  }

  const fileOf = (uri: string): {path: string; rel: string; doc: TextDocument} | undefined => {
    const path = uriToPath(uri)
    const doc = documents.get(uri)
    if (!path || !doc || !root) return undefined
    const rel = projectPath(root, path)
    return rel ? {path, rel, doc} : undefined
  }

  const location = (a: Analysis, s: NameSite): Location => {
    const text = a.files.get(s.file)?.text ?? ''
    return {uri: pathToUri(absolutePath(a.root, s.file)), range: rangeOf(lineStarts(text), s.start, s.end)}
  }

  /** Every handler answers or fails alone: a bug in one request must not stop the server. */
  const guarded =
    <P, R>(fallback: R, f: (p: P) => R | Promise<R>) =>
    async (p: P): Promise<R> => {
      try {
        return await f(p)
      } catch (error) {
        connection.console.error(`segc lsp: ${(error as Error).stack ?? String(error)}`)
        return fallback
      }
    }

  connection.onInitialize((params) => {
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined
    locate(folder ? uriToPath(folder) : (params.rootPath ?? undefined))
    return {
      capabilities: {
        textDocumentSync: {openClose: true, change: TextDocumentSyncKind.Incremental},
        completionProvider: {triggerCharacters: [':', ' ', '-']},
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        documentSymbolProvider: true,
      },
      serverInfo: {name: 'segc'},
    }
  })
  connection.onInitialized(() => {
    if (root) refresh()
  })

  documents.onDidOpen((e) => {
    const path = uriToPath(e.document.uri)
    locate(path)
    if (root && path && !projectPath(root, path)) void connection.sendDiagnostics({uri: e.document.uri, diagnostics: []})
    schedule()
  })
  documents.onDidChangeContent(() => schedule())
  documents.onDidClose(() => schedule())
  connection.onDidChangeWatchedFiles(() => schedule())

  connection.onCompletion(
    guarded(null, (p) => {
      const f = fileOf(p.textDocument.uri)
      const a = analysis ?? current()
      if (!f || !a) return null
      const cursor = cursorAt(f.rel, f.doc.getText(), f.doc.offsetAt(p.position))
      return cursor ? complete(cursor, a.index) : null
    }),
  )

  connection.onHover(
    guarded(null, async (p) => {
      const f = fileOf(p.textDocument.uri)
      const a = analysis ?? current()
      if (!f || !a) return null
      const text = f.doc.getText()
      const cursor = cursorAt(f.rel, text, f.doc.offsetAt(p.position))
      const site = cursor && siteAtCursor(cursor, a)
      if (!cursor || !site) return null
      const size = site.kind === 'segment' ? await sizes.sizeOf(a.validated, site.name) : undefined
      const value = hoverText(a, site, size)
      if (!value) return null
      const starts = lineStarts(text)
      return {contents: {kind: 'markdown' as const, value}, range: rangeOf(starts, cursor.word.start, cursor.word.end)}
    }),
  )

  /** The analysis and the name under a request's cursor; undefined when the file or the analysis is missing. */
  const siteAt = (p: {textDocument: {uri: string}; position: {line: number; character: number}}) => {
    const f = fileOf(p.textDocument.uri)
    const a = current()
    if (!f || !a) return undefined
    const cursor = cursorAt(f.rel, f.doc.getText(), f.doc.offsetAt(p.position))
    return {a, site: (cursor && siteAtCursor(cursor, a)) || undefined}
  }

  connection.onDefinition(
    guarded(null, (p) => {
      const at = siteAt(p)
      const def = at?.site && definitionOf(at.a.index, at.site)
      return at && def ? location(at.a, def) : null
    }),
  )

  connection.onReferences(
    guarded(null, (p) => {
      const at = siteAt(p)
      if (!at) return null
      const {a, site} = at
      if (!site) return []
      return referencesOf(a.index, site)
        .filter((s) => p.context.includeDeclaration || !s.defines)
        .map((s) => location(a, s))
    }),
  )

  connection.onDocumentSymbol(
    guarded(null, (p) => {
      const f = fileOf(p.textDocument.uri)
      return f ? documentSymbols(f.doc.getText()) : null
    }),
  )

  documents.listen(connection)
  connection.listen()
  return connection
}

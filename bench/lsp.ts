// `npm run bench:lsp`: what an editor waits for from `segc lsp` (SPEC §18) — diagnostics after a
// didChange (the server's debounce included), completion and hover — on the example project and
// on a generated 1,000-segment project, and the server's resident memory on the larger one.
// Hover's size read is excluded: neither project has a built target, so hover reads no warehouse.
// Flags: --reps N (15)
import {spawn} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'
import {createProtocolConnection, StreamMessageReader, StreamMessageWriter, type PublishDiagnosticsParams} from 'vscode-languageserver-protocol/node.js'
import {writeBenchProject} from './project.js'
import {log, median, REPO} from './shared.js'

const {values: flags} = parseArgs({options: {reps: {type: 'string'}}})
const reps = Number(flags.reps ?? 15)

async function measure(label: string, root: string, file: string) {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'lsp', '--stdio'], {cwd: root, stdio: 'pipe'})
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin))
  let published: (() => void) | undefined
  const uri = pathToFileURL(join(root, file)).href
  conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    if (p.uri === uri) published?.()
  })
  conn.onRequest('workspace/configuration', () => [])
  conn.onRequest('client/registerCapability', () => null)
  conn.listen()
  await conn.sendRequest('initialize', {processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {}, workspaceFolders: [{uri: pathToFileURL(root).href, name: 'p'}]})
  await conn.sendNotification('initialized', {})
  const text = readFileSync(join(root, file), 'utf8')
  const next = () => new Promise<void>((resolve) => (published = resolve))
  let wait = next()
  await conn.sendNotification('textDocument/didOpen', {textDocument: {uri, languageId: 'yaml', version: 1, text}})
  await wait
  // the edit an engineer makes: a threshold typed over, alternating so every change is a change
  const at = text.indexOf('\n') // end of the first line: append a comment, then remove it
  const diag: number[] = []
  for (let i = 0; i < reps; i++) {
    wait = next()
    const t = performance.now()
    const insert = i % 2 === 0
    await conn.sendNotification('textDocument/didChange', {
      textDocument: {uri, version: i + 2},
      contentChanges: [insert ? {range: {start: {line: 0, character: at}, end: {line: 0, character: at}}, text: ' # edited'} : {range: {start: {line: 0, character: at}, end: {line: 0, character: at + 9}}, text: ''}],
    })
    await wait
    diag.push(performance.now() - t)
  }
  const line = text.split('\n').findIndex((l) => /^\s*rule:/.test(l))
  const timed = async (method: string, position: {line: number; character: number}) => {
    const ms: number[] = []
    for (let i = 0; i < reps; i++) {
      const t = performance.now()
      const answer = await conn.sendRequest(method, {textDocument: {uri}, position})
      ms.push(performance.now() - t)
      // a timing of an empty answer measures nothing
      if (answer === null || (Array.isArray(answer) && answer.length === 0)) throw new Error(`${label}: ${method} answered nothing at ${JSON.stringify(position)}`)
    }
    return median(ms)
  }
  const completion = await timed('textDocument/completion', {line: Math.max(line, 0), character: 2})
  // hover on the document's own name (a segment or group: its definition and plain-English rule)
  const named = text.split('\n').findIndex((l) => /^(segment|group): /.test(l))
  const hover = await timed('textDocument/hover', {line: named, character: text.split('\n')[named]!.indexOf(':') + 3})
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  await Promise.race([conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))])
  await conn.sendNotification('exit')
  conn.dispose()
  child.kill()
  const row = `| ${label} | ${median(diag).toFixed(0)} ms (max ${Math.max(...diag).toFixed(0)}) | ${completion.toFixed(1)} ms | ${hover.toFixed(1)} ms | ${rss.toFixed(0)} MB |`
  log(row)
  return row
}

const work = mkdtempSync(join(tmpdir(), 'segc-bench-lsp-'))
try {
  const example = join(work, 'example')
  // the example project is the repository's own segc.yaml, models/ and segments/
  for (const part of ['segc.yaml', 'models', 'segments']) cpSync(join(REPO, part), join(example, part), {recursive: true})
  const big = join(work, 'big')
  writeBenchProject(big, 1000, join(big, 'none.duckdb'))
  const bigFile = join('segments', readdirSync(join(big, 'segments')).filter((f) => f.endsWith('.yaml')).sort().at(-1)!)
  const rows = [await measure('example project', example, 'segments/lifecycle.yaml'), await measure('1,000 segments', big, bigFile)]
  process.stdout.write(['| project | diagnostics after didChange (median) | completion | hover | server RSS |', '|---|---|---|---|---|', ...rows].join('\n') + '\n')
} finally {
  rmSync(work, {recursive: true, force: true})
}

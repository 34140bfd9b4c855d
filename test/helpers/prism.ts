import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './ports.js'
import {REPO} from './cli.js'

// A vendor's own OpenAPI contract served by Stoplight Prism (a mock that validates every
// request against the spec), behind a recording proxy on 127.0.0.1 that keeps each exchange
// and the `sl-violations` header Prism adds when a request breaks the contract.

export const KLAVIYO_SPECS = join(REPO, '..', 'shared', 'specs', 'klaviyo')

/** Klaviyo ships one file per endpoint; Prism serves one document, so they are merged (paths and components; none conflict). */
export function mergedKlaviyoSpec(): string {
  const files = ['add_profiles_to_list.json', 'remove_profiles_from_list.json', 'create_or_update_profile.json', 'bulk_import_profiles.json', 'request_profile_deletion.json']
  let merged: {paths: Record<string, Record<string, unknown>>; components: Record<string, Record<string, unknown>>} | undefined
  for (const f of files) {
    const doc = JSON.parse(readFileSync(join(KLAVIYO_SPECS, f), 'utf8')) as typeof merged & object
    if (!merged) merged = doc
    else {
      for (const [path, ops] of Object.entries(doc.paths)) merged.paths[path] = {...merged.paths[path], ...ops}
      for (const [kind, defs] of Object.entries(doc.components)) merged.components[kind] = {...merged.components[kind], ...defs}
    }
  }
  const out = join(mkdtempSync(join(tmpdir(), 'segc-prism-')), 'klaviyo.json')
  writeFileSync(out, JSON.stringify(merged))
  return out
}

export const PRISM_SPECS_PRESENT = existsSync(KLAVIYO_SPECS)

export interface Exchange {
  method: string
  path: string
  body: unknown
  status: number
  violations: string | undefined
}

export interface PrismMock {
  /** the proxy's address: give it to the SDK as base_url */
  url: string
  exchanges: Exchange[]
  stop(): Promise<void>
}

export async function startPrism(spec: string): Promise<PrismMock> {
  const port = await freePort()
  const child: ChildProcess = spawn(join(REPO, 'node_modules', '.bin', 'prism'), ['mock', spec, '-h', '127.0.0.1', '-p', String(port)], {stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()))
  const upstream = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (await fetch(`${upstream}/`).then(() => true, () => false)) break
    if (i > 150 || child.exitCode !== null) throw new Error(`prism did not start:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const exchanges: Exchange[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length').map(([k, v]) => [k, String(v)]))
      fetch(`${upstream}${req.url}`, {method: req.method, headers, ...(raw.length ? {body: raw} : {})}).then(
        async (r) => {
          const text = await r.text()
          exchanges.push({method: req.method!, path: req.url!, body: raw.length ? JSON.parse(raw.toString()) : undefined, status: r.status, violations: r.headers.get('sl-violations') ?? undefined})
          res.writeHead(r.status, {'content-type': r.headers.get('content-type') ?? 'application/json'})
          res.end(text)
        },
        (error: Error) => {
          res.writeHead(502)
          res.end(error.message)
        },
      )
    })
  })
  const proxyPort = await freePort()
  await new Promise<void>((resolve) => server.listen(proxyPort, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    exchanges,
    async stop() {
      child.kill('SIGTERM')
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

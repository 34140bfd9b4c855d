import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface Received {
  at: number
  method?: string
  url?: string
  headers: IncomingHttpHeaders
  raw: string
  body: {sync: string; sync_run_id: string; segment_run_id: string; operations: Array<{op: string; segment: string; entity_key: string; id: string; idempotency_key: string; fields: Record<string, unknown>; cause?: string; transitioned_at?: string}>}
  status: number
}

/** What the receiver answers to one request; anything not scripted gets 200. */
export type Reply = {status: number; headers?: Record<string, string>; body?: string} | ((r: Received) => {status: number; headers?: Record<string, string>; body?: string})

/** A real HTTP receiver on 127.0.0.1 that answers a script of faults, then 200. */
export class Receiver {
  readonly requests: Received[] = []
  private server?: Server
  script: Reply[] = []
  /** answers after the script runs out */
  fallback: Reply = {status: 200}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (raw += c))
      req.on('end', () => {
        const r: Received = {at: Date.now(), method: req.method, url: req.url, headers: req.headers, raw, body: JSON.parse(raw) as Received['body'], status: 0}
        const next = this.script.shift() ?? this.fallback
        const reply = typeof next === 'function' ? next(r) : next
        r.status = reply.status
        this.requests.push(r)
        res.writeHead(reply.status, {'content-type': 'text/plain', ...reply.headers})
        res.end(reply.body ?? '')
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`
  }

  /** Operations the receiver acknowledged (2xx), in order. */
  acknowledged() {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).flatMap((r) => r.body.operations)
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}

import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Hover} from 'vscode-languageserver-protocol'
import {exampleCopy, segc, segcAsync} from '../helpers/cli.js'
import {LspClient, positionOf} from './lsp-client.js'


/** The size the last successful run recorded, read by the test itself. */
async function recordedSize(dir: string, segment: string): Promise<number> {
  const db = await DuckDBInstance.create(join(dir, '.segc/warehouse.duckdb'), {access_mode: 'READ_ONLY'})
  const conn = await db.connect()
  try {
    const r = await conn.runAndReadAll(`SELECT s.size FROM segments.segment_sizes s JOIN segments.segment_runs r USING (run_id) WHERE r.status = 'success' AND s.segment = '${segment}' ORDER BY r.finished_at DESC LIMIT 1`)
    return Number(r.getRowObjects()[0]!.size)
  } finally {
    conn.closeSync()
    db.closeSync()
  }
}

describe('segc lsp hover sizes', () => {
  let client: LspClient
  let dir: string
  let text: string
  beforeAll(async () => {
    dir = exampleCopy()
    const demo = segc(['demo', '--weeks', '0', '--customers', '300', '--path', '.segc/warehouse.duckdb'], {cwd: dir})
    expect(demo.code, demo.stderr).toBe(0)
    client = await LspClient.start(dir)
    text = readFileSync(join(dir, 'segments/lifecycle.yaml'), 'utf8')
    await client.open('segments/lifecycle.yaml', text)
  }, 120_000)
  afterAll(async () => {
    await client?.stop()
  })

  const hover = async () => {
    const p = positionOf(text, 'segment: active_customer', 'segment: act'.length)
    const h = await client.request<Hover | null>('textDocument/hover', 'segments/lifecycle.yaml', p.line, p.character)
    return (h?.contents as {value: string} | undefined)?.value ?? ''
  }

  it("shows a segment's size at the last successful run, read-only", async () => {
    const size = await recordedSize(dir, 'active_customer')
    expect(size).toBeGreaterThan(0)
    expect(await hover()).toContain(`**${size.toLocaleString('en-US')}** members at the last successful run`)
  })

  it('never blocks segc run: runs succeed while the server hovers', async () => {
    let hovering = true
    let hovers = 0
    const loop = (async () => {
      while (hovering) {
        await hover()
        hovers++
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    try {
      for (const asOf of ['2026-06-02T00:00:00Z', '2026-06-04T00:00:00Z']) {
        const r = await segcAsync(['run', '--as-of', asOf], {cwd: dir})
        expect(r.code, r.stderr).toBe(0)
      }
    } finally {
      hovering = false
      await loop
    }
    expect(hovers).toBeGreaterThan(10)
    // the file changed: the next hover reads the new run's size
    await new Promise((r) => setTimeout(r, 2100))
    expect(await hover()).toContain('as_of 2026-06-04')
  }, 120_000)
})

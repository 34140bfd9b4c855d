import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {runProject} from '../../src/run/run-project.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, sendable, sorted, state, sync, T2, withSyncs} from './sync-project.js'

// The file destination: the sendable set as csv, parquet or jsonl, read back with DuckDB.

let base: string
beforeAll(async () => {
  base = await baseProject()
}, 120_000)

const fileSync = (format: string) => `sync: export
destination: export_${format}
segments: [win_back, at_risk]
mode: mirror
identify_by: email
fields: {country: country, member: in_segment, since: entered_at}
consent: [email_opt_in]
`

async function readBack(path: string, format: string): Promise<{rows: Map<string, string>; columns: string[]}> {
  const conn = await duckdbAdapter.connect({name: 'r', type: 'duckdb', path: ':memory:'}, '/')
  try {
    const from = format === 'parquet' ? `read_parquet('${path}')` : format === 'jsonl' ? `read_json('${path}', format = 'newline_delimited')` : `read_csv('${path}', header = true)`
    const rows = await conn.query(`SELECT * FROM ${from}`)
    return {rows: new Map(rows.map((r) => [`${String(r.segment)}|${String(r.entity_key)}`, String(r.id)])), columns: Object.keys(rows[0] ?? {})}
  } finally {
    await conn.close()
  }
}

describe('segc sync to a file', () => {
  for (const format of ['csv', 'parquet', 'jsonl']) {
    it(`${format}: the file holds the sendable set after each sync, written whole (no temporary file left)`, async () => {
      const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'export.yaml': fileSync(format)})
      const {appendFileSync} = await import('node:fs')
      appendFileSync(join(dir, 'segc.yaml'), `  export_${format}: {type: file, path: out/members.${format}}\n`)
      const env = {...process.env, SEGC_HOOK_SECRET: 'x'}
      const path = join(dir, 'out', `members.${format}`)
      expect((await sync(dir, {env})).exit_code).toBe(0)
      const first = await readBack(path, format)
      expect(first.columns).toEqual(['segment', 'entity_key', 'id', 'country', 'member', 'since'])
      expect(sorted(first.rows)).toEqual(sorted(await sendable(dir, ['win_back', 'at_risk'])))
      const some = [...first.rows.keys()].slice(0, 3).map((k) => k.split('|')[1]!)
      await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN ('${some.join("', '")}')`))
      await runProject({project: dir, asOf: T2, target: 'local'})
      const r = await sync(dir, {env})
      expect(r.exit_code).toBe(0)
      expect(r.syncs[0]!.planned.remove).toBeGreaterThanOrEqual(3)
      const expected = await sendable(dir, ['win_back', 'at_risk'])
      expect(sorted((await readBack(path, format)).rows)).toEqual(sorted(expected))
      expect(sorted(await state(dir, 'export'))).toEqual(sorted(expected))
      expect(readdirSync(join(dir, 'out'))).toEqual([`members.${format}`])
      expect(existsSync(path)).toBe(true)
    }, 60_000)
  }
})

import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {OUTPUT_TABLES} from '../../src/warehouse/tables.js'
import {exampleCopy, REPO, segc} from '../helpers/cli.js'

const doc = readFileSync(join(REPO, 'docs/tables.md'), 'utf8')

describe('docs/tables.md', () => {
  it('documents every table and column', () => {
    for (const t of OUTPUT_TABLES) {
      expect(doc).toContain(`## \`${t.name}\``)
      for (const c of t.columns) expect(doc).toContain(`| \`${c.name}\` | ${c.type} |`)
    }
  })

  it('every example query runs on a demo warehouse after a few runs and returns rows', async () => {
    const dir = exampleCopy()
    const demo = segc(['demo', '--weeks', '0', '--customers', '2000', '--path', '.segc/warehouse.duckdb'], {cwd: dir})
    expect(demo.code, demo.stderr).toBe(0)
    const runs = segc(['run', '--from', '2026-06-02', '--to', '2026-06-06', '--every', '1d'], {cwd: dir})
    expect(runs.code, runs.stderr).toBe(0)
    const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!)
    expect(queries).toHaveLength(8)
    const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: join(dir, '.segc/warehouse.duckdb')}, dir)
    try {
      for (const q of queries) {
        const rows = await conn.query(q.replace("'c00000042'", "(SELECT min(entity_key) FROM segments.segment_membership WHERE entity = 'customer')"))
        expect(rows.length, q).toBeGreaterThan(0)
      }
      // BI tools read table and column comments
      const comments = await conn.query("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'segments' AND table_name NOT LIKE 'segment_profiles_%' ORDER BY ALL")
      expect(comments).toEqual(OUTPUT_TABLES.map((t) => ({table_name: t.name, comment: t.comment})).sort((a, b) => a.table_name.localeCompare(b.table_name)))
      const col = await conn.query("SELECT comment FROM duckdb_columns() WHERE table_name = 'segment_transitions' AND column_name = 'cause'")
      expect(col[0]!.comment).toBe(OUTPUT_TABLES.find((t) => t.name === 'segment_transitions')!.columns.find((c) => c.name === 'cause')!.comment)
    } finally {
      await conn.close()
    }
  })
})

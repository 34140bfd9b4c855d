import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll} from 'vitest'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {formatDiagnostic, hasErrors} from '../../src/diagnostics/diagnostic.js'
import {fixtureStatements} from '../../src/fixtures/fixture-tables.js'
import {buildPlan} from '../../src/plan/build-plan.js'
import {membershipSelect} from '../../src/generate/run-statements.js'
import {validateProject, type Validated} from '../../src/validate/validate-project.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

export const CONFIG = 'name: t\ntargets:\n  local: {type: duckdb, path: ":memory:"}\n'

/** Writes a project (path → file text) into a fresh temp directory. */
export function writeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'segc-test-'))
  dirs.push(dir)
  for (const [path, text] of Object.entries({'segc.yaml': CONFIG, ...files})) {
    mkdirSync(dirname(join(dir, path)), {recursive: true})
    writeFileSync(join(dir, path), text)
  }
  return dir
}

export function validOrThrow(dir: string): Validated {
  const v = validateProject({project: dir})
  if (hasErrors(v.diagnostics)) throw new Error(v.diagnostics.map(formatDiagnostic).join('\n'))
  return v
}

export interface Membership {
  members: Record<string, string[]>
  holdout: Record<string, string[]>
  sql: string
}

/** Runs the compiled membership SELECT on an in-memory DuckDB holding the given rows. */
export async function membership(dir: string, asOf: string, rows: Record<string, Array<Record<string, unknown>>>, select?: string[]): Promise<Membership> {
  const v = validOrThrow(dir)
  const conn = await duckdbAdapter.connect({name: 't', type: 'duckdb', path: ':memory:'}, dir)
  try {
    for (const s of fixtureStatements(duckdbAdapter.dialect, v.project, rows)) await conn.execute(s)
    const plan = buildPlan(v.project, new Date(asOf), select)
    const sql = membershipSelect(duckdbAdapter.dialect, plan)!
    const result = await conn.query(sql)
    const {members, holdout} = groupMembership(result, plan.entities.flatMap((e) => e.segments.map((s) => s.segment)))
    return {members, holdout, sql}
  } finally {
    await conn.close()
  }
}

/** Membership rows (segment, entity_key, holdout) as sorted keys per segment; every named segment present. */
export function groupMembership(rows: ReadonlyArray<Record<string, unknown>>, segments: readonly string[]): {members: Record<string, string[]>; holdout: Record<string, string[]>} {
  const members: Record<string, string[]> = Object.fromEntries(segments.map((s) => [s, []]))
  const holdout: Record<string, string[]> = Object.fromEntries(segments.map((s) => [s, []]))
  for (const r of rows) {
    members[String(r.segment)]!.push(String(r.entity_key))
    if (r.holdout === true) holdout[String(r.segment)]!.push(String(r.entity_key))
  }
  for (const k of segments) {
    members[k]!.sort()
    holdout[k]!.sort()
  }
  return {members, holdout}
}

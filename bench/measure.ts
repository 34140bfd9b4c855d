// One measurement in its own process, so peak RSS belongs to it alone. Prints one JSON line.
// Usage: node dist/bench/measure.js '{"kind": "run" | "floor" | "floor-sql" | "naive", "project": DIR, "asOf": ISO}'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {compilerFor, membershipQuery, render} from '../src/generate/generate-sql.js'
import {relationSql} from '../src/generate/expr-writer.js'
import {buildPlan} from '../src/plan/build-plan.js'
import {runProject} from '../src/run/run-project.js'
import {resolveTarget} from '../src/project/targets.js'
import {validateProject} from '../src/validate/validate-project.js'
import {floorTable, generatedFloorStatements, handFloorChecks, handFloorStatements} from './floor.js'

interface Job {
  kind: 'run' | 'floor' | 'floor-sql' | 'naive' | 'run-profiled' | 'write-floor'
  project: string
  asOf: string
  rebuild?: boolean
  full?: boolean
  /** write-floor: the schema whose tables the day's changes (main.bench_changes) are written to */
  schema?: string
}

const job = JSON.parse(process.argv[2]!) as Job
const started = performance.now()
let detail: Record<string, unknown> = {}
let timed: number | undefined

if (job.kind === 'run') {
  const r = await runProject({project: job.project, asOf: job.asOf, rebuild: job.rebuild === true, full: job.full === true})
  detail = {segments: r.segments.length, transitions: r.segments.reduce((n, s) => n + s.entered + s.exited, 0), mode: r.mode, evaluation: r.evaluation, sources: r.sources}
} else if (job.kind === 'run-profiled') {
  // DuckDB's profiler on every statement of one run: rows each scan of an event table read
  const v = validateProject({project: job.project})
  const inner = await duckdbAdapter.connect(resolveTarget(v, undefined), v.root)
  const dir = mkdtempSync(join(tmpdir(), 'segc-profile-'))
  // each statement's profile in its own file, named by its index, so rows read can be told per statement
  const texts: string[] = []
  const profiled = async <T>(text: string, f: () => Promise<T>): Promise<T> => {
    await inner.execute(`SET profiling_output = '${join(dir, `${texts.length}.json`)}'`)
    texts.push(text.replace(/\s+/g, ' ').slice(0, 120))
    return f()
  }
  await inner.execute(`PRAGMA enable_profiling = 'json'`)
  await inner.execute(`SET custom_profiling_settings = '{"OPERATOR_ROWS_SCANNED": "true", "OPERATOR_CARDINALITY": "true", "EXTRA_INFO": "true"}'`)
  const conn = {...inner, execute: (t: string) => profiled(t, () => inner.execute(t)), query: (t: string) => profiled(t, () => inner.query(t)), tableExists: inner.tableExists.bind(inner), close: inner.close.bind(inner)}
  const r = await runProject({project: job.project, asOf: job.asOf, connection: conn, full: job.full === true})
  await inner.execute(`PRAGMA disable_profiling`)
  await inner.close()
  const scanned: Record<string, number> = {}
  const statements: Array<{rows: Record<string, number>; text: string}> = []
  const walk = (node: {operator_name?: string; operator_rows_scanned?: number; extra_info?: {Table?: string}; children?: unknown[]}, into: Record<string, number>) => {
    const table = node.extra_info?.Table
    if (node.operator_name?.includes('SCAN') && table && /\.main\.(orders|events)$/.test(table)) {
      const name = table.split('.').at(-1)!
      into[name] = (into[name] ?? 0) + Number(node.operator_rows_scanned ?? 0)
    }
    for (const c of node.children ?? []) walk(c as typeof node, into)
  }
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8')
    if (!text.trim()) continue
    const rows: Record<string, number> = {}
    walk(JSON.parse(text), rows)
    for (const [t, n] of Object.entries(rows)) scanned[t] = (scanned[t] ?? 0) + n
    if (Object.keys(rows).length) statements.push({rows, text: texts[Number(f.replace('.json', ''))] ?? f})
  }
  rmSync(dir, {recursive: true, force: true})
  detail = {mode: r.mode, scanned, statements, evaluation: r.evaluation, sources: r.sources}
} else if (job.kind === 'write-floor') {
  // The write floor: the hand-written scans (bench/floor-45.sql), then the day's required
  // writes by hand-written SQL from the day's changes (main.bench_changes: what segc computed
  // for that day, prepared untimed) — transitions, history closed and opened, membership
  // deleted and inserted, sizes — in one transaction. The least a run that scans and writes must do.
  const v = validateProject({project: job.project})
  const conn = await duckdbAdapter.connect(resolveTarget(v, undefined), v.root)
  const s = `"${job.schema}"`
  const at = `TIMESTAMP '${job.asOf.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')}'`
  try {
    const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'floor-45.sql'), 'utf8')
    for (const q of handFloorStatements(text, job.asOf)) await conn.execute(q)
    for (const q of [
      'BEGIN TRANSACTION',
      `INSERT INTO ${s}.segment_transitions SELECT 'floor', ${at}, segment, entity, entity_key, change, 'data' FROM main.bench_changes`,
      `UPDATE ${s}.segment_membership_history AS h SET valid_to = ${at} FROM main.bench_changes AS c WHERE c.change = 'exited' AND h.segment = c.segment AND h.entity = c.entity AND h.entity_key = c.entity_key AND h.valid_to IS NULL`,
      `INSERT INTO ${s}.segment_membership_history SELECT segment, entity, entity_key, ${at}, NULL, holdout FROM main.bench_changes WHERE change = 'entered'`,
      `DELETE FROM ${s}.segment_membership AS m USING main.bench_changes AS c WHERE c.change = 'exited' AND m.segment = c.segment AND m.entity = c.entity AND m.entity_key = c.entity_key`,
      `INSERT INTO ${s}.segment_membership SELECT segment, entity, entity_key, ${at}, holdout, 'floor' FROM main.bench_changes WHERE change = 'entered'`,
      `INSERT INTO ${s}.segment_sizes SELECT 'floor', ${at}, segment, count(*), count(*) FILTER (WHERE holdout), 0, 0 FROM ${s}.segment_membership GROUP BY segment`,
      'COMMIT',
    ])
      await conn.execute(q)
    detail = {changes: Number((await conn.query('SELECT count(*) AS n FROM main.bench_changes'))[0]!.n)}
  } finally {
    await conn.close()
  }
} else {
  const v = validateProject({project: job.project})
  const conn = await duckdbAdapter.connect(resolveTarget(v, undefined), v.root)
  const plan = buildPlan(v.project, new Date(job.asOf))
  const dialect = duckdbAdapter.dialect
  const db = compilerFor(dialect)
  try {
    if (job.kind === 'floor-sql') {
      // The floor written by hand (bench/floor-45.sql), timed; then, untimed, every column it
      // computed is checked against segc's own scans, so the two floors do the same work.
      const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'floor-45.sql'), 'utf8')
      for (const s of handFloorStatements(text, plan.asOf)) await conn.execute(s)
      timed = performance.now() - started
      for (const s of generatedFloorStatements(plan)) await conn.execute(s)
      detail = {checked: await handFloorChecks(conn, plan)}
    } else if (job.kind === 'floor') {
      // The floor: each event relation scanned once for the same aggregates, joined to its entity. No segments, no writes.
      for (const s of generatedFloorStatements(plan)) await conn.execute(s)
      for (const e of plan.entities) {
        const joins = e.sources.map((s) => sql`LEFT JOIN ${sql.id(floorTable(e.entity, s.id))} AS ${sql.id(s.id)} ON ${sql.id(s.id, 'segc_key')} = ${sql.id('ent', e.key)}`)
        await conn.query(render(db, sql`SELECT count(*) AS n FROM ${relationSql(e.relation)} AS ent ${sql.join(joins, sql` `)}`))
      }
      detail = {sources: plan.entities.reduce((n, e) => n + e.sources.length, 0)}
    } else {
      // The naive plan: one query per segment, each scanning the events it needs on its own.
      let members = 0
      for (const name of v.project.segments.keys()) {
        const q = membershipQuery(db, dialect, buildPlan(v.project, new Date(job.asOf), [name]))!
        const rows = await conn.query(render(db, sql`SELECT count(*) AS n FROM (${q}) AS m WHERE m.segment = ${sql.lit(name)}`))
        members += Number(rows[0]!.n)
      }
      detail = {queries: v.project.segments.size, members}
    }
  } finally {
    await conn.close()
  }
}

const ms = timed ?? performance.now() - started
process.stdout.write(JSON.stringify({ms, maxRssMb: process.resourceUsage().maxRSS / 1024, ...detail}) + '\n')

// One measurement in its own process, so peak RSS belongs to it alone. Prints one JSON line.
// Usage: node dist/bench/measure.js '{"kind": "run" | "floor" | "floor-sql" | "naive", "project": DIR, "asOf": ISO}'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {sql} from 'kysely'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {compilerFor, membershipQuery, relationSql, render} from '../src/generate/generate-sql.js'
import {buildPlan} from '../src/plan/build-plan.js'
import {runProject} from '../src/run/run-project.js'
import {resolveTarget} from '../src/run/targets.js'
import {validateProject} from '../src/validate/validate-project.js'
import {floorTable, generatedFloorStatements, handFloorChecks, handFloorStatements} from './floor.js'

interface Job {
  kind: 'run' | 'floor' | 'floor-sql' | 'naive'
  project: string
  asOf: string
  rebuild?: boolean
}

const job = JSON.parse(process.argv[2]!) as Job
const started = performance.now()
let detail: Record<string, unknown> = {}
let timed: number | undefined

if (job.kind === 'run') {
  const r = await runProject({project: job.project, asOf: job.asOf, rebuild: job.rebuild === true})
  detail = {segments: r.segments.length, transitions: r.segments.reduce((n, s) => n + s.entered + s.exited, 0)}
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

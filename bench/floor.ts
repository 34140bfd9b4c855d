import {sql} from 'kysely'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {compilerFor, render, sourceScan} from '../src/generate/generate-sql.js'
import {ExprWriter, relationSql} from '../src/generate/expr-writer.js'
import type {Plan} from '../src/plan/plan-types.js'
import type {WarehouseConnection} from '../src/warehouse/warehouse.js'

/** The temp table segc's floor keeps one source's aggregates in. */
export const floorTable = (entity: string, source: string): string => `floor_${entity}_${source}`

/** segc's own floor: per entity and source, a temp table of the plan's conditional aggregates, nothing else. */
export function generatedFloorStatements(plan: Plan): string[] {
  const dialect = duckdbAdapter.dialect
  const db = compilerFor(dialect)
  return plan.entities.flatMap((e) =>
    e.sources.map((s) => render(db, sql`CREATE OR REPLACE TEMP TABLE ${sql.id(floorTable(e.entity, s.id))} AS ${sourceScan(db, dialect, new ExprWriter(dialect, plan.asOf), plan.asOf, s)}`)),
  )
}

/** The statements of bench/floor-45.sql with `{{as_of}}` set: one per `;`, comments dropped. */
export function handFloorStatements(text: string, asOf: string): string[] {
  const literal = `TIMESTAMP '${new Date(asOf).toISOString().slice(0, 19).replace('T', ' ')}'`
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim().replaceAll('{{as_of}}', literal))
    .filter((s) => s.length > 0)
}

/** The tables bench/floor-45.sql makes, by entity; the first column of each is the entity key. */
const HAND_TABLES: Record<string, string[]> = {customer: ['floor_orders', 'floor_product_events'], account: ['floor_logins']}

/**
 * Checks the hand-written floor against segc's scans of the same plan (already in the
 * `generatedFloorStatements` temp tables): per entity, every column of one must equal a column
 * of the other for every entity row. Compared by a checksum of key and value over the entity
 * table: numbers to 4 decimals (sums of doubles may differ in the last bits) and an entity
 * without rows as 0 (the two prefilters keep different entities whose counts are all 0).
 * Throws naming the columns without a match; answers how many matched.
 */
export async function handFloorChecks(conn: WarehouseConnection, plan: Plan): Promise<number> {
  const db = compilerFor(duckdbAdapter.dialect)
  let matched = 0
  for (const e of plan.entities.filter((x) => x.sources.length > 0)) {
    const sums = async (table: string): Promise<Map<string, string>> => {
      const cols = (await conn.query(`DESCRIBE ${table}`)).map((r) => ({name: String(r.column_name), type: String(r.column_type)}))
      const [key, ...values] = cols
      const norm = (c: {name: string; type: string}) =>
        /^(DOUBLE|FLOAT|REAL|DECIMAL|U?(HUGEINT|BIGINT|INTEGER|SMALLINT|TINYINT))\b/.test(c.type) ? `CAST(round(CAST(coalesce(t."${c.name}", 0) AS DOUBLE), 4) AS VARCHAR)` : `coalesce(CAST(t."${c.name}" AS VARCHAR), '')`
      const select = values.map((c, i) => `sum(hash(ent."${e.key}", ${norm(c)})) AS c${i}`).join(', ')
      const from = render(db, sql`${relationSql(e.relation)}`)
      const row = (await conn.query(`SELECT ${select} FROM ${from} AS ent LEFT JOIN ${table} AS t ON t."${key!.name}" = ent."${e.key}"`))[0]!
      return new Map(values.map((c, i) => [`${table}.${c.name}`, String(row[`c${i}`])]))
    }
    const hand = new Map<string, string>()
    for (const t of HAND_TABLES[e.entity] ?? []) for (const [k, v] of await sums(t)) hand.set(k, v)
    const ours = new Map<string, string>()
    for (const s of e.sources) for (const [k, v] of await sums(floorTable(e.entity, s.id))) ours.set(k, v)
    const unmatched: string[] = []
    for (const [name, sum] of hand) {
      const twin = [...ours].find(([, v]) => v === sum)
      if (twin) ours.delete(twin[0])
      else unmatched.push(name)
    }
    if (unmatched.length || ours.size) {
      throw new Error(`the hand-written floor and segc's scans differ for ${e.entity}: no match for ${[...unmatched, ...ours.keys()].join(', ')}`)
    }
    matched += hand.size
  }
  return matched
}

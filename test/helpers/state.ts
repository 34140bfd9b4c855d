import type {WarehouseConnection} from '../../src/warehouse/warehouse.js'
import {OUTPUT_TABLES} from '../../src/warehouse/tables.js'

/** Columns that name runs or wall-clock times: they differ between equivalent runs. */
const VOLATILE = new Set(['run_id', 'started_at', 'finished_at', 'first_run_id', 'changed_run_id', 'removed_run_id', 'segc_version', 'request_id', 'requested_at'])

/** Every output table, sorted, optionally without run ids and wall-clock times. */
export async function snapshot(conn: WarehouseConnection, schema = 'segments', normalize = false): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const t of OUTPUT_TABLES) {
    if (!(await conn.tableExists(schema, t.name))) {
      out[t.name] = []
      continue
    }
    const cols = t.columns.map((c) => c.name).filter((c) => !normalize || !VOLATILE.has(c))
    out[t.name] = await conn.query(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM "${schema}"."${t.name}" ORDER BY ALL`)
  }
  return out
}

/** SPEC §5 invariants; returns the violations (empty when all hold). */
export async function invariantViolations(conn: WarehouseConnection, schema = 'segments'): Promise<string[]> {
  const s = `"${schema}"`
  const problems: string[] = []
  const count = async (label: string, sql: string) => {
    const n = Number((await conn.query(sql))[0]!.n)
    if (n !== 0) problems.push(`${label}: ${n}`)
  }
  await count(
    'membership rows without an open history row, or the reverse',
    `SELECT count(*) AS n FROM (
       (SELECT segment, entity, entity_key, holdout FROM ${s}.segment_membership EXCEPT ALL
        SELECT segment, entity, entity_key, holdout FROM ${s}.segment_membership_history WHERE valid_to IS NULL)
       UNION ALL
       (SELECT segment, entity, entity_key, holdout FROM ${s}.segment_membership_history WHERE valid_to IS NULL EXCEPT ALL
        SELECT segment, entity, entity_key, holdout FROM ${s}.segment_membership))`,
  )
  await count('members with two open history rows', `SELECT count(*) AS n FROM (SELECT segment, entity_key FROM ${s}.segment_membership_history WHERE valid_to IS NULL GROUP BY ALL HAVING count(*) > 1)`)
  // Replaying transitions in order: the last change of every (segment, key) is 'entered' exactly for members,
  // and entries and exits alternate, starting with an entry.
  await count(
    'replayed transitions differ from membership',
    `WITH last AS (SELECT segment, entity, entity_key, arg_max(change, transitioned_at) AS change FROM ${s}.segment_transitions GROUP BY ALL)
     SELECT count(*) AS n FROM (
       (SELECT segment, entity, entity_key FROM last WHERE change = 'entered' EXCEPT SELECT segment, entity, entity_key FROM ${s}.segment_membership)
       UNION ALL
       (SELECT segment, entity, entity_key FROM ${s}.segment_membership EXCEPT SELECT segment, entity, entity_key FROM last WHERE change = 'entered'))`,
  )
  await count(
    'transitions that do not alternate',
    `SELECT count(*) AS n FROM (
       SELECT change, lag(change) OVER (PARTITION BY segment, entity, entity_key ORDER BY transitioned_at) AS prev,
              row_number() OVER (PARTITION BY segment, entity, entity_key ORDER BY transitioned_at) AS i
       FROM ${s}.segment_transitions)
     WHERE change = prev OR (i = 1 AND change <> 'entered')`,
  )
  await count('history intervals that overlap or run backwards', `SELECT count(*) AS n FROM ${s}.segment_membership_history WHERE valid_to IS NOT NULL AND valid_to <= valid_from`)
  await count(
    'sizes of the last run differ from membership',
    `WITH last AS (SELECT * FROM ${s}.segment_sizes WHERE run_id = (SELECT run_id FROM ${s}.segment_runs WHERE status = 'success' ORDER BY as_of DESC, finished_at DESC LIMIT 1)),
          m AS (SELECT segment, count(*) AS size, count(*) FILTER (WHERE holdout) AS holdout_size FROM ${s}.segment_membership GROUP BY ALL)
     SELECT count(*) AS n FROM last LEFT JOIN m USING (segment) WHERE last.size <> coalesce(m.size, 0) OR last.holdout_size <> coalesce(m.holdout_size, 0)`,
  )
  return problems
}

/** Opens a project's DuckDB file (default `.segc/warehouse.duckdb`) for `f`, then closes it. */
export async function withProjectDb<T>(dir: string, f: (c: WarehouseConnection) => Promise<T>, path = '.segc/warehouse.duckdb'): Promise<T> {
  const {duckdbAdapter} = await import('../../adapters/duckdb/index.js')
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path}, dir)
  try {
    return await f(conn)
  } finally {
    await conn.close()
  }
}

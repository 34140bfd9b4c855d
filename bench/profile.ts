// `node dist/bench/profile.js PROJECT_DIR AS_OF`: one run with the time of every statement,
// slowest first, to see where a run's time goes. The run is committed to the project's target
// like any `segc run`, so profile a day after the last one (or a copy of the database).
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {runAt} from '../src/run/run-project.js'
import {prepare} from '../src/project/session.js'
import type {Row, WarehouseConnection} from '../src/warehouse/warehouse.js'

const [project, asOf] = process.argv.slice(2) as [string, string]
const p = prepare({project})
const inner = await duckdbAdapter.connect(p.target, p.v.root)
const timings: Array<[number, string]> = []
const timed = async <T>(sql: string, f: () => Promise<T>): Promise<T> => {
  const t = performance.now()
  try {
    return await f()
  } finally {
    timings.push([performance.now() - t, sql.replace(/\s+/g, ' ').slice(0, 140)])
  }
}
const conn: WarehouseConnection = {
  execute: (sql) => timed(sql, () => inner.execute(sql)),
  query: (sql): Promise<Row[]> => timed(sql, () => inner.query(sql)),
  tableExists: (s, t) => inner.tableExists(s, t),
  close: () => inner.close(),
}
const t = performance.now()
await runAt(p, conn, new Date(asOf), {})
const total = performance.now() - t
await conn.close()
console.log(`${timings.reduce((n, t) => n + t[0], 0).toFixed(0).padStart(7)} ms  all ${timings.length} statements`)
for (const [ms, sql] of timings.sort((a, b) => b[0] - a[0]).slice(0, 16)) console.log(`${ms.toFixed(0).padStart(7)} ms  ${sql}`)
console.log(`${total.toFixed(0).padStart(7)} ms  total`)

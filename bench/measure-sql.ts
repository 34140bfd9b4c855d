// Times one SQL file on a DuckDB database, read-only, in its own process: prints milliseconds.
import {readFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {duckdbAdapter} from '../adapters/duckdb/index.js'

const [db, file] = process.argv.slice(2)
const conn = await duckdbAdapter.connect({name: 'm', type: 'duckdb', path: db!, threads: cpus().length, memory_limit: '3GB'}, '.', {readOnly: true})
const sql = readFileSync(file!, 'utf8')
const t = performance.now()
await conn.query(sql)
process.stdout.write(`${performance.now() - t}\n`)
await conn.close()

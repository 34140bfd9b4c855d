// Where a run's time goes, statement by statement: runs a project once at an as_of and prints
// each statement's wall time (the slowest first) with its opening words. A tool for reading a
// bench's figures, not a bench: `node dist/bench/statement-times.js DIR AS_OF [--full] [--top N]`.
import {parseArgs} from 'node:util'
import {duckdbAdapter} from '../adapters/duckdb/index.js'
import {resolveTarget} from '../src/project/targets.js'
import {runProject} from '../src/run/run-project.js'
import {validateProject} from '../src/validate/validate-project.js'

const {values: flags, positionals} = parseArgs({allowPositionals: true, options: {full: {type: 'boolean'}, top: {type: 'string'}}})
const [project, asOf] = positionals
if (!project || !asOf) throw new Error('usage: statement-times DIR AS_OF [--full] [--top N]')
const v = validateProject({project})
const inner = await duckdbAdapter.connect(resolveTarget(v, undefined), v.root)
const times: Array<{ms: number; text: string}> = []
const timed = async <T>(text: string, f: () => Promise<T>): Promise<T> => {
  const t = performance.now()
  try {
    return await f()
  } finally {
    times.push({ms: performance.now() - t, text: text.replace(/\s+/g, ' ').slice(0, 160)})
  }
}
const conn = {...inner, execute: (t: string) => timed(t, () => inner.execute(t)), query: (t: string) => timed(t, () => inner.query(t)), tableExists: inner.tableExists.bind(inner), close: inner.close.bind(inner)}
const t0 = performance.now()
const r = await runProject({project, asOf, connection: conn, full: flags.full === true})
const total = performance.now() - t0
await inner.close()
const sum = times.reduce((n, x) => n + x.ms, 0)
console.log(`run at ${asOf}: ${(total / 1000).toFixed(2)} s (${r.mode}), ${times.length} statements taking ${(sum / 1000).toFixed(2)} s`)
for (const x of [...times].sort((a, b) => b.ms - a.ms).slice(0, Number(flags.top ?? 15))) console.log(`${(x.ms / 1000).toFixed(3).padStart(8)} s  ${x.text}`)

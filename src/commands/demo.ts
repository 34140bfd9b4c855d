import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {runDemo, type DemoResult} from '../demo/run-demo.js'
import {renderRun} from './run.js'

export default class Demo extends SegcCommand {
  static override summary = 'Build a synthetic shop in the embedded DuckDB and run the example project on it.'
  static override description = `Generates a deterministic warehouse (customers, accounts, orders, product events; the same data every time for the same --customers) in a fresh DuckDB file, then runs the project once a week for --weeks weeks up to the demo's as_of (2026-06-01T00:00:00Z), so sizes over time, flows between segments and lift have a history, and prints the last run's sizes, entries and exits. Uses the project in the current directory, or segc's own example project when there is none.`
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --customers 1000000 --weeks 0', 'cd examples/identity && <%= config.bin %> demo --identity']
  static override flags = {
    customers: Flags.integer({description: 'number of customers to generate', default: 10000, min: 1, max: 50_000_000}),
    weeks: Flags.integer({description: 'weeks of weekly runs before the demo\'s as_of, for history (0: one run)', default: 8, min: 0, max: 520}),
    path: Flags.string({description: 'DuckDB file to build, relative to the project (replaced if it exists)', default: '.segc/demo.duckdb'}),
    identity: Flags.boolean({description: 'also generate anonymous browsing before signup (main.web_sessions, main.identifies) for identity stitching; run it in examples/identity (docs/identity.md)', default: false}),
  }

  async run(): Promise<DemoResult> {
    const {flags} = await this.parse(Demo)
    const started = Date.now()
    const result = await runDemo({...this.projectOpts(flags), customers: flags.customers, path: flags.path, weeks: flags.weeks, identity: flags.identity})
    if (!this.jsonEnabled()) {
      const r = result.rows
      this.out(`demo warehouse ${result.database}: ${r.customers} customers, ${r.accounts} accounts, ${r.orders} orders, ${r.events} events${r.web_sessions !== undefined ? `, ${r.web_sessions} web sessions, ${r.identifies} identifies` : ''}`)
      if (result.fitted.length) this.out(`fitted ${result.fitted.map((m) => `${m.model} (${m.kind}, ${m.n} customers)`).join(', ')} on the history before the first run`)
      if (result.runs > 1) this.out(`${result.runs} weekly runs; the last one:`)
      this.out(renderRun(result.run))
      this.out(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s; open it with any DuckDB client and query segments.segment_membership`)
      if (result.target) this.out(`next: segc stats --target ${result.target} · segc overlap --target ${result.target} · segc measure --target ${result.target} · segc docs --target ${result.target}`)
    }
    return result
  }
}

import {Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {redactDeep} from '../project/redact.js'
import {backfill, runProject, type RunResult} from '../run/run-project.js'
import {syncProject, type SyncResult} from '../sync/run-sync.js'
import {renderSync} from './sync.js'

export default class Run extends SegcCommand {
  static override summary = 'Run the segments in the warehouse and materialize membership, history and transitions.'
  static override description = `Evaluates every selected segment at one as_of inside the target warehouse and, in one transaction, appends transitions (with their cause) and group transitions, updates membership history, replaces current membership, and records sizes, definitions and the run. A failed or killed run leaves every table as it was. Running the same as_of again changes nothing. An as_of earlier than the last successful run is refused unless --rebuild. --from/--to/--every backfills point by point, one transaction each, and resumes where a failed backfill stopped.

With \`incremental: {late_arrival: 2d}\` in segc.yaml, a run after a successful one reads only the events that can change the answer (those from late_arrival before the last run on, and the edge days of each window) plus day-bucket state kept in segment_state_* tables, and writes exactly what a full run would (docs/incremental.md). The first run, --full, --rebuild and a definition change on an event source read that source whole; the run prints its mode (full or incremental) and segment_runs.mode records it. Run --full now and then where late_arrival cannot be promised.

Segments' expect guards (min_size, max_size, max_share, max_change) are checked at every run: a broken guard is a warning, or with --strict fails the run.

With --sync, the syncs marked after_run push the new membership to their destinations once the run has committed (see segc sync).

Exit codes: 0 success, 1 invalid project or flags, 2 a failure while running (connection, SQL, lock) or, with --sync, a destination error or operations left pending, 3 expectations failed under --strict or a sync guard refused.`
  static override examples = [
    '<%= config.bin %> run',
    '<%= config.bin %> run --as-of 2026-06-01T00:00:00Z --select win_back,at_risk --json',
    '<%= config.bin %> run --from 2026-05-01 --to 2026-05-31 --every 1d',
    '<%= config.bin %> run --as-of 2026-01-01 --rebuild',
    '<%= config.bin %> run --full',
  ]
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'as-of': Flags.string({description: 'the instant to evaluate at, ISO 8601 (default: now, to the second, UTC)', exclusive: ['from', 'to', 'every']}),
    from: Flags.string({description: 'backfill: first as_of', dependsOn: ['to', 'every']}),
    to: Flags.string({description: 'backfill: last as_of (included)', dependsOn: ['from', 'every']}),
    every: Flags.string({description: 'backfill: step between points, a duration like 1d or 6h', dependsOn: ['from', 'to']}),
    select: Flags.string({description: 'comma-separated segments to run (with what they reference and their whole groups); others are untouched', delimiter: ',', multiple: true}),
    strict: Flags.boolean({description: 'fail the run (exit 3, nothing committed) when a segment breaks its expect guards', default: false}),
    rebuild: Flags.boolean({description: 'recompute history from an empty state (membership, history, transitions, sizes, definitions)', default: false}),
    full: Flags.boolean({description: 'with incremental: in segc.yaml, read every event source whole and rebuild the kept state (history stays)', default: false}),
    wait: Flags.boolean({description: 'if another run holds the target, wait for it instead of failing', default: false}),
    'wait-timeout': Flags.integer({description: 'with --wait, give up after this many seconds', default: 3600, min: 1}),
    sync: Flags.boolean({description: 'after a successful run, run the syncs marked after_run (segc sync); exit codes as segc sync', default: false}),
  }

  async run(): Promise<RunResult | {status: 'success'; runs: RunResult[]} | (RunResult & {sync: SyncResult})> {
    const {flags} = await this.parse(Run)
    const opts = {
      ...this.projectOpts(flags),
      ...(flags.target ? {target: flags.target} : {}),
      ...(flags['as-of'] ? {asOf: flags['as-of']} : {}),
      ...(flags.select ? {select: flags.select} : {}),
      rebuild: flags.rebuild,
      full: flags.full,
      strict: flags.strict,
      wait: flags.wait,
      waitTimeoutSeconds: flags['wait-timeout'],
    }
    if (flags.from && flags.to && flags.every) {
      const runs = await backfill({...opts, from: flags.from, to: flags.to, every: flags.every}, (r) => {
        if (!this.jsonEnabled()) {
          const moved = r.segments.reduce((n, s) => n + s.entered + s.exited, 0)
          this.warn_(r.warnings.filter((w) => w.code === 'expectation_failed'))
          this.out(`${r.as_of}  ${r.status === 'unchanged' ? 'unchanged' : `run ${r.run_id}`}  ${r.mode}  ${moved} transitions`)
        }
      })
      if (!this.jsonEnabled()) {
        this.out(runs.length ? `\n${renderRun(runs.at(-1)!)}` : 'nothing to do: every point is before the last successful run')
      }
      if (flags.sync) await this.syncAfter(opts)
      return {status: 'success', runs}
    }
    const result = await runProject(opts)
    if (!this.jsonEnabled()) {
      this.warn_(result.warnings)
      this.out(renderRun(result))
    }
    if (!flags.sync) return result
    return {...result, sync: await this.syncAfter(opts, result)}
  }

  /** segc run --sync: the after_run syncs, once the run has committed. */
  private async syncAfter(opts: Parameters<typeof syncProject>[0], result?: RunResult): Promise<SyncResult> {
    const synced = await syncProject({...opts, afterRun: true})
    if (!this.jsonEnabled()) this.out(`\n${renderSync(synced)}`)
    if (synced.exit_code !== 0) {
      if (this.jsonEnabled()) process.stdout.write(JSON.stringify(redactDeep({...(result ?? {}), sync: synced}), null, 2) + '\n')
      this.exit(synced.exit_code)
    }
    return synced
  }
}

export function renderRun(result: RunResult): string {
  const rows = result.segments.map((s) => [s.segment, s.entity, s.size, s.holdout_size, s.entered, s.exited, s.cause, s.warnings.join('; ')])
  const head = result.status === 'unchanged' ? `as_of ${result.as_of} on ${result.target} was already run: nothing changed, nothing written` : `run ${result.run_id} at ${result.as_of} on ${result.target} (${result.mode})`
  // with incremental:, how each event source was read, and why (a full run says why it was full)
  const rebuilt = (result.sources ?? []).map((x) => `  ${x.source}: read ${x.how === 'incremental' ? 'incrementally' : 'whole'}${x.why ? ` (${x.why})` : ''}`)
  // and which keys of each entity were evaluated (SPEC §13's touched keys)
  const evaluated = (result.evaluation ?? []).map((x) => (x.keys === 'touched' ? `  ${x.entity}: ${x.touched} touched key${x.touched === 1 ? '' : 's'} evaluated` : `  ${x.entity}: every key evaluated (${x.why})`))
  // and how each entity's lift was counted: from kept state, built again, or over the whole history
  const lift = (result.lift ?? []).map((x) => `  lift of ${x.segments.join(', ')}: ${x.how === 'incremental' ? 'from kept state' : x.how === 'rebuilt' ? 'kept state built again' : 'over the whole history'}${x.why && x.how !== 'incremental' ? ` (${x.why})` : ''}`)
  const lines = [...rebuilt, ...evaluated, ...lift]
  return `${head}${lines.length ? `\n${lines.join('\n')}` : ''}\n\n${textTable(['segment', 'entity', 'size', 'holdout', 'entered', 'exited', 'cause', 'warnings'], rows)}`
}

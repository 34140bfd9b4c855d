import {Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {runProject, type RunResult} from '../run/run-project.js'

export default class Run extends SegcCommand {
  static override summary = 'Run the segments in the warehouse and materialize membership.'
  static override description = `Evaluates every selected segment at one as_of inside the target warehouse and, in one transaction, replaces their membership in the output schema and records the run. A failed run leaves every table as it was. Exit codes: 0 success, 1 invalid project or flags, 2 a failure while running (connection, SQL, lock).`
  static override examples = ['<%= config.bin %> run', '<%= config.bin %> run --target prod --as-of 2026-06-01T00:00:00Z --select win_back,at_risk --json']
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'as-of': Flags.string({description: 'the instant to evaluate at, ISO 8601 (default: now, to the second, UTC)'}),
    select: Flags.string({description: 'comma-separated segments to run (with what they reference); others are untouched', delimiter: ',', multiple: true}),
  }

  async run(): Promise<RunResult> {
    const {flags} = await this.parse(Run)
    const result = await runProject({
      ...this.projectOpts(flags),
      ...(flags.target ? {target: flags.target} : {}),
      ...(flags['as-of'] ? {asOf: flags['as-of']} : {}),
      ...(flags.select ? {select: flags.select} : {}),
    })
    if (!this.jsonEnabled()) {
      this.warn_(result.warnings)
      this.out(renderRun(result))
    }
    return result
  }
}

export function renderRun(result: RunResult): string {
  const rows = result.segments.map((s) => [s.segment, s.entity, s.size, s.holdout_size, s.entered, s.exited])
  return `run ${result.run_id} at ${result.as_of} on ${result.target}\n\n${textTable(['segment', 'entity', 'size', 'holdout', 'entered', 'exited'], rows)}`
}

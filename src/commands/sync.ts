import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {redactDeep} from '../project/redact.js'
import {syncProject, type SyncResult} from '../sync/run-sync.js'

export default class Sync extends SegcCommand {
  static override summary = "Push the latest successful run's membership to destinations (reverse ETL)."
  static override description = `For each sync in syncs/*.yaml (or those named), plans in the warehouse what may be sent — members of its segments in the latest successful run, never a holdout member, never an entity whose consent attributes are not all TRUE, never a row without an identifier — against what the destination last acknowledged, and sends only the difference: add, remove, update (events mode: entered, exited).

Guards run on the plan before any request (max_removals, min_size, an empty set over a non-empty state, a synced segment whose last run broke its expect); a refused sync sends nothing. Delivery is at least once: retries with backoff (honouring Retry-After), a rejected batch split until the bad rows stand alone, a stop at 401/403. State advances only for what the destination acknowledged; the rest is sent again, with the same idempotency keys, by the next sync. Tables: segment_sync_runs, segment_sync_state, segment_sync_log.

Exit codes: 0 every operation ended (rejections within max_rejected, default 1%), 1 invalid project, flags or config, 2 a fatal destination error or operations left pending, 3 a guard refused (--force overrides).`
  static override examples = ['<%= config.bin %> sync', '<%= config.bin %> sync at_risk_to_crm --dry-run', '<%= config.bin %> sync --json', '<%= config.bin %> sync vip_list --full-resync']
  static override strict = false
  static override args = {sync: Args.string({description: 'syncs to run (default: all)'})}
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'dry-run': Flags.boolean({description: 'print the plan and the guard verdicts; send nothing, write nothing', default: false}),
    force: Flags.boolean({description: 'send even when a guard refuses the plan', default: false}),
    'full-resync': Flags.boolean({description: 'forget what the destination acknowledged and send every sendable row again as an add', default: false}),
    wait: Flags.boolean({description: 'if another process holds the target, wait for it instead of failing', default: false}),
  }

  async run(): Promise<SyncResult> {
    const {argv, flags} = await this.parse(Sync)
    const interactive = !this.jsonEnabled() && process.stderr.isTTY
    const result = await syncProject({
      ...this.projectOpts(flags),
      ...(flags.target ? {target: flags.target} : {}),
      syncs: argv as string[],
      dryRun: flags['dry-run'],
      force: flags.force,
      fullResync: flags['full-resync'],
      wait: flags.wait,
      delivery: interactive ? {progress: (done, total) => process.stderr.write(`\r  ${done}/${total} operations settled${done === total ? '\n' : ''}`)} : {},
    })
    if (!this.jsonEnabled()) this.out(renderSync(result))
    if (result.exit_code !== 0) {
      // oclif prints --json only for a normal return; a failing exit code prints it here
      if (this.jsonEnabled()) process.stdout.write(JSON.stringify(redactDeep(result), null, 2) + '\n')
      this.exit(result.exit_code)
    }
    return result
  }
}

export function renderSync(r: SyncResult): string {
  if (r.syncs.length === 0) return 'no syncs to run (add one under syncs/)'
  const lines = [`${r.status === 'planned' ? 'dry run: nothing sent, nothing written' : `synced run ${r.segment_run_id}`} on ${r.target}`, '']
  lines.push(
    textTable(
      ['sync', 'destination', 'mode', 'status', 'add', 'remove', 'update', 'sent', 'rejected', 'skipped', 'pending'],
      r.syncs.map((s) => [s.sync, s.destination, s.mode, s.status, s.planned.add, s.planned.remove, s.planned.update, s.succeeded, s.rejected, s.skipped, s.pending]),
    ),
  )
  for (const s of r.syncs) {
    const failed = s.guards.filter((g) => !g.passed)
    if (failed.length) lines.push('', `${s.sync}: ${s.forced ? 'guards overridden by --force' : 'refused, nothing sent'}:`, ...failed.map((g) => `  ${g.guard}: ${g.message}`))
    if (s.error && s.status !== 'refused') lines.push('', `${s.sync}: ${s.error}`)
    if (s.operations?.length) {
      lines.push('', `${s.sync}: plan`)
      const shown = s.operations.slice(0, 20)
      lines.push(...shown.map((o) => `  ${o.op.padEnd(7)} ${o.segment}  ${o.entity_key}${o.id !== null && o.id !== o.entity_key ? `  (${o.id})` : ''}`))
      if (s.operations.length > shown.length) lines.push(`  … and ${s.operations.length - shown.length} more (--json lists all)`)
    }
  }
  return lines.join('\n')
}

import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {forget, type ForgetResult} from '../forget/forget.js'
import {redactDeep} from '../project/redact.js'

export default class Forget extends SegcCommand {
  static override summary = 'Erase people from every segc table and every destination segc sent them to (right to erasure).'
  static override description = `In one transaction, every row naming the keys leaves every segc table that holds entity keys (membership, history, transitions, group transitions, sync state and log); segment_sizes is recounted as if they had never been members, and segment_erasures records the request with SHA-256 hashes of the keys, never the keys. Later runs admit no erased key to any segment and syncs never send one, until its segment_erasures row is deleted.

Every sync that had sent a key gets one deletion (webhook op "erase", PostgreSQL rows deleted, the file rewritten without it, Klaviyo's Request Profile Deletion, HubSpot's GDPR delete), delivered like sync operations: retried, idempotent, logged in segment_erasure_deliveries. A deletion not acknowledged stays queued: segc forget with no keys sends what is pending. Forgetting a key twice, or a key segc never saw, is not an error.

The source tables segc reads are yours: segc does not delete from them.

Exit codes: 0 erased everywhere, 1 invalid project, flags or keys, 2 a warehouse error or deletions still pending at a destination.`
  static override examples = ['<%= config.bin %> forget c0042', '<%= config.bin %> forget --keys-file erasure-requests.txt --entity customer', '<%= config.bin %> forget c0042 --dry-run', '<%= config.bin %> forget   # resend pending deletions']
  static override strict = false
  static override args = {key: Args.string({description: 'keys to erase (none: send the deletions still pending)'})}
  static override flags = {
    entity: Flags.string({description: 'whose keys these are (default: the only entity of the project)'}),
    'keys-file': Flags.string({description: 'a file of keys to erase, one per line, exactly as written (blank lines are skipped); also for keys that begin with -'}),
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'dry-run': Flags.boolean({description: 'print, per table and destination, what would be removed; change nothing, send nothing', default: false}),
    wait: Flags.boolean({description: 'if another process holds the target, wait for it instead of failing', default: false}),
  }

  async run(): Promise<ForgetResult> {
    const {argv, flags} = await this.parse(Forget)
    const result = await forget({
      ...this.projectOpts(flags),
      keys: argv as string[],
      ...(flags['keys-file'] !== undefined ? {keysFile: flags['keys-file']} : {}),
      ...(flags.entity ? {entity: flags.entity} : {}),
      ...(flags.target ? {target: flags.target} : {}),
      dryRun: flags['dry-run'],
      wait: flags.wait,
    })
    if (!this.jsonEnabled()) {
      this.warn_(result.warnings)
      this.out(renderForget(result))
    }
    if (result.exit_code !== 0) {
      if (this.jsonEnabled()) process.stdout.write(JSON.stringify(redactDeep(result), null, 2) + '\n')
      this.exit(result.exit_code)
    }
    return result
  }
}

export function renderForget(r: ForgetResult): string {
  const lines: string[] = []
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (r.status === 'planned') lines.push(`dry run on ${r.target}: nothing changed, nothing sent`)
  else if (r.request_id) lines.push(`erased ${plural(r.keys, 'key')} of ${r.entity} on ${r.target} (request ${r.request_id})`)
  else if (r.deliveries.length === 0) lines.push(`nothing pending on ${r.target}`)
  else lines.push(`sent the pending deletions on ${r.target}`)
  const tables = Object.entries(r.tables)
  if (tables.length) lines.push('', textTable(['table', r.status === 'planned' ? 'rows to remove' : 'rows removed'], tables.map(([t, n]) => [t, n])))
  if (r.planned_deletions?.length) lines.push('', textTable(['sync', 'destination', 'deletions to send'], r.planned_deletions.map((d) => [d.sync, d.destination ?? '?', d.deletions])))
  else if (r.status === 'planned' && r.keys > 0) lines.push('', 'no destination holds these keys')
  if (r.status === 'planned' && r.keys === 0) lines.push(r.pending ? `${plural(r.pending, 'deletion')} pending: segc forget sends them` : 'no deletion pending')
  if (r.deliveries.length) {
    lines.push('', textTable(['sync', 'destination', 'sent', 'acknowledged', 'rejected', 'pending'], r.deliveries.map((d) => [d.sync, d.destination, d.sent, d.succeeded, d.rejected, d.pending])))
    for (const d of r.deliveries) if (d.error) lines.push(`${d.sync}: ${d.error}`)
  }
  if (r.pending) lines.push('', `${plural(r.pending, 'deletion')} not acknowledged: run segc forget (no keys) to send them again`)
  for (const n of r.notes) lines.push('', `note: ${n}`)
  return lines.join('\n')
}

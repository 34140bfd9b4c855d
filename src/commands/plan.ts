import {Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {planChanges, type PlanChanges} from '../impact/plan-changes.js'
import {planImpact, type Impact} from '../impact/impact.js'

const formatBytes = (n: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

export default class Plan extends SegcCommand {
  static override summary = 'Show which segments a run would add, change or remove on the target.'
  static override description = `Compares every segment's definition hash (what decides membership: rule, traits, events, exclude, consent, holdout, refresh, group position) with the definitions the target recorded at its last runs. Edits to descriptions, owners, tags, comments or formatting are not changes. Reads the target, writes nothing. On BigQuery it also shows the bytes a run's scan would read (a free dry run).

With --impact, evaluates the working tree's definitions in the target's warehouse, read-only, at --as-of (default: the as_of of the target's last successful run, so the numbers show the change, not a day's data) and compares with the membership the target holds: for every added, changed or removed segment, and every segment that reads one of them or shares a group with one, the size before and after and how many enter and exit; for groups, the moves between stages. --format markdown prints a table for a pull-request comment, biggest changes first.`
  static override examples = [
    '<%= config.bin %> plan',
    '<%= config.bin %> plan --target prod --json',
    '<%= config.bin %> plan --impact',
    '<%= config.bin %> plan --impact --format markdown > impact.md',
    '<%= config.bin %> plan --impact --as-of 2026-06-01 --json',
  ]
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    impact: Flags.boolean({description: 'evaluate the changed definitions in the warehouse (read-only) and show their effect in people', default: false}),
    'as-of': Flags.string({description: "with --impact: the instant to evaluate at (default: the target's last successful run's as_of)", dependsOn: ['impact']}),
    format: Flags.string({description: 'with --impact: text or markdown (a pull-request comment)', options: ['text', 'markdown'], default: 'text', dependsOn: ['impact']}),
  }

  async run(): Promise<PlanChanges | Impact> {
    const {flags} = await this.parse(Plan)
    if (flags.impact) {
      const impact = await planImpact({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {}), ...(flags['as-of'] ? {asOf: flags['as-of']} : {})})
      if (!this.jsonEnabled()) this.out(flags.format === 'markdown' ? impactMarkdown(impact) : impactText(impact))
      return impact
    }
    const result = await planChanges({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})})
    if (!this.jsonEnabled()) {
      const line = (mark: string, names: string[], what: string) => names.map((n) => `  ${mark} ${n}${what}`)
      const lines = [...line('+', result.added, ''), ...line('~', result.changed, '  (definition changed: transitions will have cause "definition")'), ...line('-', result.removed, '  (all members will exit)')]
      this.out(`plan for target ${result.target}: ${result.added.length} to add, ${result.changed.length} changed, ${result.removed.length} to remove, ${result.unchanged.length} unchanged`)
      if (lines.length) this.out(lines.join('\n'))
      if (result.estimated_bytes_processed !== undefined) this.out(`a run's scan of the sources would read about ${formatBytes(result.estimated_bytes_processed)} (dry-run estimate)`)
    }
    return result
  }
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n))

export function impactText(r: Impact): string {
  const lines = [`impact on target ${r.target} at ${r.as_of}`]
  if (!r.segments.length) lines.push('', 'no segment would change: no definition differs from what the target last ran')
  else {
    lines.push('', textTable(['segment', 'status', 'before', 'after', 'change', 'entering', 'exiting'], r.segments.map((s) => [s.segment, s.status, s.size_before, s.size_after, signed(s.size_after - s.size_before), s.entering, s.exiting])))
  }
  if (r.groups.length) lines.push('', textTable(['group', 'from', 'to', 'entities'], r.groups.map((g) => [g.group, g.from ?? '(none)', g.to ?? '(none)', g.count])))
  lines.push('', ...r.notes.map((n) => `note: ${n}`))
  return lines.join('\n')
}

/** A pull-request comment: the biggest changes first, totals, and what the numbers mean. */
export function impactMarkdown(r: Impact): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|')
  const lines = [`### segc: impact on \`${esc(r.target)}\` at ${r.as_of}`, '']
  if (!r.segments.length) lines.push('No segment would change: no definition differs from what the target last ran.')
  else {
    const entering = r.segments.reduce((n, s) => n + s.entering, 0)
    const exiting = r.segments.reduce((n, s) => n + s.exiting, 0)
    lines.push(`**${r.segments.length} segment${r.segments.length === 1 ? '' : 's'} affected: ${entering.toLocaleString('en-US')} entering, ${exiting.toLocaleString('en-US')} exiting.**`, '')
    lines.push('| segment | status | before | after | change | entering | exiting |', '|---|---|--:|--:|--:|--:|--:|')
    for (const s of r.segments) lines.push(`| \`${esc(s.segment)}\` | ${s.status} | ${s.size_before.toLocaleString('en-US')} | ${s.size_after.toLocaleString('en-US')} | ${signed(s.size_after - s.size_before)} | ${s.entering.toLocaleString('en-US')} | ${s.exiting.toLocaleString('en-US')} |`)
    lines.push(`| **total** | | | | | **${entering.toLocaleString('en-US')}** | **${exiting.toLocaleString('en-US')}** |`)
  }
  if (r.groups.length) {
    lines.push('', '| group | from | to | entities |', '|---|---|---|--:|')
    for (const g of r.groups) lines.push(`| \`${esc(g.group)}\` | ${g.from ? `\`${esc(g.from)}\`` : '(none)'} | ${g.to ? `\`${esc(g.to)}\`` : '(none)'} | ${g.count.toLocaleString('en-US')} |`)
  }
  lines.push('', ...r.notes.map((n) => `> ${n}`))
  return lines.join('\n')
}

import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {planChanges, type PlanChanges} from '../run/plan-changes.js'

const formatBytes = (n: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

export default class Plan extends SegcCommand {
  static override summary = 'Show which segments a run would add, change or remove on the target.'
  static override description = `Compares every segment's definition hash (what decides membership: rule, traits, events, exclude, consent, holdout, refresh, group position) with the definitions the target recorded at its last runs. Edits to descriptions, owners, tags, comments or formatting are not changes. Reads the target, writes nothing. On BigQuery it also shows the bytes a run's scan would read (a free dry run).`
  static override examples = ['<%= config.bin %> plan', '<%= config.bin %> plan --target prod --json']
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
  }

  async run(): Promise<PlanChanges> {
    const {flags} = await this.parse(Plan)
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

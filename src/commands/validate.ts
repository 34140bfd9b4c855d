import {DiagnosticsError, hasErrors} from '../diagnostics/diagnostic.js'
import {SegcCommand, summaryLine} from '../cli/segc-command.js'
import {validateProject} from '../validate/validate-project.js'

export default class Validate extends SegcCommand {
  static override summary = 'Load, schema-check and type-check the whole project; print every problem.'
  static override description = `Reads segc.yaml, models/, segments/ and syncs/, checks every file against segc's JSON Schemas, then every name, reference and type. Problems print as FILE:LINE:COL: error[CODE]: message, all of them at once. Exit 1 if there is any error; warnings (such as an overdue review_by) do not fail.`
  static override examples = ['<%= config.bin %> validate', '<%= config.bin %> validate --project ./analytics/segments --json']

  async run() {
    const {flags} = await this.parse(Validate)
    const v = validateProject({...this.projectOpts(flags), tests: true})
    if (hasErrors(v.diagnostics)) throw new DiagnosticsError(v.diagnostics)
    const counts = {entities: v.project.entities.size, events: v.project.events.size, traits: v.project.traits.size, segments: v.project.segments.size, groups: v.project.groups.size, syncs: v.syncs.size}
    if (!this.jsonEnabled()) {
      this.warn_(v.diagnostics)
      this.out(`ok: ${counts.segments} segments, ${counts.groups} groups, ${counts.traits} traits, ${counts.events} events, ${counts.entities} entities, ${counts.syncs} syncs (${summaryLine(v.diagnostics)})`)
    }
    return {status: 'ok', valid: true, counts, diagnostics: v.diagnostics}
  }
}

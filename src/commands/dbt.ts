import {writeFileSync, renameSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {DiagnosticsError, hasErrors} from '../diagnostics/diagnostic.js'
import {DBT_SOURCE, dbtProperties} from '../dbt/properties.js'
import {resolveTarget} from '../project/targets.js'
import {validateProject} from '../validate/validate-project.js'

export default class Dbt extends SegcCommand {
  static override summary = "Write dbt properties YAML: segc's tables as a dbt source, each sync as an exposure."
  static override description = `Prints (or writes with --out) a dbt properties file: a source named segc for the target's output schema with every table segc writes and their column descriptions, and one exposure per sync (type application, owner from the sync or its segments, depends_on source('segc', 'segment_membership')). Put it in the dbt project's models/ folder so dbt docs shows what segc builds and where it goes, and dbt models can select from {{ source('segc', 'segment_membership') }}. Reads no warehouse.`
  static override examples = ['<%= config.bin %> dbt', '<%= config.bin %> dbt --out ../analytics/models/segc.yml', '<%= config.bin %> dbt --target prod --out ../analytics/models/segc.yml']
  static override flags = {
    target: Flags.string({description: 'target whose database and schema the source names (default: default_target)'}),
    out: Flags.string({description: 'file to write (replaced atomically); prints to stdout otherwise'}),
  }

  async run(): Promise<{out: string | null; tables: number; exposures: number}> {
    const {flags} = await this.parse(Dbt)
    const v = validateProject(this.projectOpts(flags))
    if (hasErrors(v.diagnostics)) throw new DiagnosticsError(v.diagnostics)
    // names only: ${env:...} values are not needed to say where the tables live
    const target = resolveTarget(v, flags.target, process.env, {substitute: false})
    if (target.type === 'bigquery' && typeof target.dataset === 'string') v.project.outputSchema = target.dataset
    const props = dbtProperties(v, target)
    let out: string | null = null
    if (flags.out) {
      out = resolve(flags.out)
      const scratch = join(dirname(out), `.segc-dbt-${process.pid}.tmp`)
      writeFileSync(scratch, props.yaml)
      renameSync(scratch, out)
      if (!this.jsonEnabled()) this.out(`wrote ${flags.out}: source '${DBT_SOURCE}' with ${props.tables} tables, ${props.exposures} exposure${props.exposures === 1 ? '' : 's'}`)
    } else if (!this.jsonEnabled()) process.stdout.write(props.yaml)
    return {out, tables: props.tables, exposures: props.exposures}
  }
}

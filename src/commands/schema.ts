import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {ALL_SCHEMAS} from '../validate/schemas.js'

export default class Schema extends SegcCommand {
  static override summary = 'Print the JSON Schema of the YAML files, for editors.'
  static override description = `Prints the JSON Schemas segc validates against: segc.yaml (config), models/*.yaml (models), and the segment and group documents in segments/. Point yaml-language-server at them for completion and inline errors.`
  static override examples = ['<%= config.bin %> schema', '<%= config.bin %> schema --kind segment > .vscode/segc-segment.schema.json']
  static override flags = {
    kind: Flags.string({description: 'print one schema only', options: Object.keys(ALL_SCHEMAS)}),
  }

  async run() {
    const {flags} = await this.parse(Schema)
    const out = flags.kind ? ALL_SCHEMAS[flags.kind as keyof typeof ALL_SCHEMAS] : ALL_SCHEMAS
    if (!this.jsonEnabled()) this.log(JSON.stringify(out, null, 2))
    return out
  }
}

import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {startServer} from '../lsp/server.js'

export default class Lsp extends SegcCommand {
  static override summary = 'Run the language server for editors (Language Server Protocol over stdio).'
  static override description = `Speaks the Language Server Protocol on stdin and stdout for the project the editor opened (the folder holding segc.yaml): diagnostics as you type, with the codes and messages of segc validate, across files; completion of names, keys and enumerated values; hover with a segment's rule in plain English and its last size; go to definition, find references and the outline. It never writes to a warehouse. Editors start it themselves: see docs/editors.md.`
  static override examples = ['<%= config.bin %> lsp', '<%= config.bin %> lsp --stdio']
  // clients add arguments of their own (--clientProcessId=N); the server ignores them
  static override strict = false
  static override enableJsonFlag = false
  static override flags = {
    stdio: Flags.boolean({description: 'talk over stdin and stdout (the default and only transport; accepted for clients that pass it)', default: false}),
  }

  async run() {
    await this.parse(Lsp)
    const connection = startServer()
    await new Promise<void>((resolve) => {
      connection.onExit(() => resolve())
      process.stdin.on('close', () => resolve())
    })
  }
}

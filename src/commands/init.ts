import {cpSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {Args} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {exampleProjectRoot} from '../demo/run-demo.js'
import {githubWorkflow, WORKFLOW_PATH} from '../cli/workflow.js'
import {editorFiles} from '../lsp/editor-settings.js'

export default class Init extends SegcCommand {
  static override summary = 'Create a new project with an example model, segments and fixture tests.'
  static override description = `Writes segc.yaml, models/, segments/ (with fixture tests) and syncs/ into DIR, copied from segc's example shop, editor settings (.vscode/settings.json mapping the JSON Schemas of segc schema onto the YAML files, .vscode/extensions.json recommending a YAML extension and segc's own, which runs segc lsp: docs/editors.md) and a GitHub Actions workflow (.github/workflows/segc.yml): on a pull request it validates, runs the fixture tests and posts segc plan --impact as a comment; on a schedule it runs segc run --sync. Refuses to touch a directory that already holds a segc.yaml. Try it with: segc init my-segments && cd my-segments && segc demo`
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init analytics/segments']
  static override args = {dir: Args.string({description: 'directory for the project (created if missing)', default: '.'})}

  async run() {
    const {args} = await this.parse(Init)
    const dir = resolve(args.dir)
    if (existsSync(join(dir, 'segc.yaml'))) {
      throw new DiagnosticsError([diag('bad_value', {file: join(args.dir, 'segc.yaml'), line: 1, col: 1}, `${dir} already holds a segc project; init writes only into a directory without segc.yaml`)])
    }
    const source = exampleProjectRoot()
    mkdirSync(dir, {recursive: true})
    const written: string[] = []
    for (const entry of ['segc.yaml', 'models', 'segments', 'syncs']) {
      cpSync(join(source, entry), join(dir, entry), {recursive: true, errorOnExist: false, force: false})
      written.push(entry)
    }
    if (!existsSync(join(dir, '.gitignore'))) writeFileSync(join(dir, '.gitignore'), '.segc/\n')
    if (!existsSync(join(dir, WORKFLOW_PATH))) {
      mkdirSync(dirname(join(dir, WORKFLOW_PATH)), {recursive: true})
      writeFileSync(join(dir, WORKFLOW_PATH), githubWorkflow())
      written.push(WORKFLOW_PATH)
    }
    // editor settings (SPEC §18): a file the user already has is theirs, never overwritten
    for (const [path, text] of Object.entries(editorFiles())) {
      if (existsSync(join(dir, path))) continue
      mkdirSync(dirname(join(dir, path)), {recursive: true})
      writeFileSync(join(dir, path), text)
      written.push(path)
    }
    const files = readdirSync(join(dir, 'segments')).length + readdirSync(join(dir, 'models')).length
    if (!this.jsonEnabled()) this.out(`created a segc project in ${dir} (${files} definition files)\nnext: cd ${args.dir} && segc validate && segc demo`)
    return {status: 'ok', directory: dir, written}
  }
}

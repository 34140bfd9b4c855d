import {Args} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {runFixtureTests, type FixtureRun} from '../fixtures/run-fixture-tests.js'

export default class Test extends SegcCommand {
  static override summary = 'Run the fixture tests (segments/**/*.test.yaml) on an in-memory DuckDB.'
  static override description = `Each fixture gives rows per source relation and the exact members expected per segment at an as_of. segc loads the rows (typed from the model declarations) into a fresh in-memory DuckDB, runs the project, and prints a diff for each failure. Ends with the line "N passed, N failed"; exits 1 if any failed.`
  static override examples = ['<%= config.bin %> test', '<%= config.bin %> test segments/lifecycle.test.yaml']
  static override strict = false
  static override args = {paths: Args.string({description: 'test files or folders (default: every *.test.yaml under segments/)'})}

  async run(): Promise<FixtureRun> {
    const {argv, flags} = await this.parse(Test)
    const result = await runFixtureTests({...this.projectOpts(flags), paths: argv as string[]})
    if (!this.jsonEnabled()) {
      for (const r of result.results) {
        this.out(`${r.passed ? 'pass' : 'FAIL'}  ${r.test}  (${r.file}:${r.line})`)
        for (const f of r.failures) {
          if (f.missing.length) this.out(`        ${f.segment}: missing ${f.missing.join(', ')}`)
          if (f.unexpected.length) this.out(`        ${f.segment}: unexpected ${f.unexpected.join(', ')}`)
        }
      }
      this.out(`${result.passed} passed, ${result.failed} failed`)
    }
    if (result.failed > 0) {
      if (this.jsonEnabled()) this.logJson({status: 'failed', ...result})
      this.exit(1)
    }
    return result
  }
}

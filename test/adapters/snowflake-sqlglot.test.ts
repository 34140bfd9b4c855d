import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {snowflakeDialect} from '../../adapters/snowflake/dialect.js'
import {statementsFor, suiteProjects} from '../helpers/suite-projects.js'

// sqlglot (Debian's python3-sqlglot, installed by .ci/run) parses every statement segc
// generates for Snowflake. No parser available offline covers all of Snowflake
// (../shared/DIALECT-TOOLS.md); sqlglot accepts COMMENT ON, QUALIFY, DATEDIFF and the rest we use.
const TOOL = fileURLToPath(new URL('./tools/sqlglot-parse.py', import.meta.url))

function parse(statements: string[]): Array<string | null> {
  const r = spawnSync('/usr/bin/python3', [TOOL, 'snowflake'], {input: JSON.stringify(statements), encoding: 'utf8', maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`sqlglot failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as Array<string | null>
}

describe('Snowflake SQL parses with sqlglot', () => {
  for (const project of suiteProjects()) {
    it(`every statement of the ${project.name} project`, () => {
      const statements = statementsFor(project.dir, snowflakeDialect)
      expect(statements.length).toBeGreaterThan(20)
      const results = parse(statements)
      const failures = results.flatMap((e, i) => (e ? [`${e}\n--- in ---\n${statements[i]!.slice(0, 300)}`] : []))
      expect(failures).toEqual([])
    })
  }

  it('rejects what is not SQL (the check can fail)', () => {
    expect(parse(['SELECT FROM WHERE', 'SELECT 1'])).toEqual([expect.any(String), null])
  })
})

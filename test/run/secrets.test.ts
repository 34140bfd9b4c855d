import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exampleCopy, segc} from '../helpers/cli.js'

// A secret set in the environment and named by a target must appear nowhere segc writes.
const SECRET = 's3cr3t-Value-7f9a'

describe('secrets from ${env:...}', () => {
  it('never appear in compile output, --json, or errors, whatever key they fill', () => {
    const dir = exampleCopy()
    writeFileSync(
      join(dir, 'segc.yaml'),
      `name: acme\ndefault_target: local\ntargets:\n  local: {type: duckdb, path: \"\${env:SEGC_DB_PATH}\"}\n  prod: {type: snowflake, account: xy1, user: u, password: \"\${env:SNOWFLAKE_PASSWORD}\", database: D}\n`,
    )
    const env = {SNOWFLAKE_PASSWORD: SECRET, SEGC_DB_PATH: `/nonexistent/${SECRET}/w.duckdb`}
    const outputs = [
      segc(['compile', '--target', 'prod', '--as-of', '2026-06-01'], {cwd: dir, env}),
      segc(['compile', '--target', 'local', '--json', '--as-of', '2026-06-01'], {cwd: dir, env}),
      segc(['run', '--json', '--select', 'suppression_list'], {cwd: dir, env}), // fails: the path holds the secret
      segc(['run', '--select', 'suppression_list'], {cwd: dir, env}),
      segc(['plan', '--json'], {cwd: dir, env}),
      segc(['validate', '--json'], {cwd: dir, env}),
    ]
    expect(outputs[2]!.code).toBe(2)
    expect(outputs[3]!.stderr).toMatch(/\*\*\*/)
    for (const o of outputs) expect(o.stdout + o.stderr).not.toContain(SECRET)
  })
})

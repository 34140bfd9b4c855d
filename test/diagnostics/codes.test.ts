import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {CODES} from '../../src/diagnostics/codes.js'
import {REPO} from '../helpers/cli.js'

describe('diagnostic code registry', () => {
  it('docs/diagnostics.md documents every code with its severity', () => {
    const doc = readFileSync(`${REPO}/docs/diagnostics.md`, 'utf8')
    for (const [code, def] of Object.entries(CODES)) expect(doc).toContain(`| \`${code}\` | ${def.severity} |`)
  })
})

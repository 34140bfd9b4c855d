import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exampleCopy, noStackTrace, segc} from '../helpers/cli.js'

describe('segc test', () => {
  it('passes the example project fixtures and ends with the summary line', () => {
    const r = segc(['test'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/)
  })

  it('prints a diff per failing expectation and exits 1', () => {
    const dir = exampleCopy()
    writeFileSync(
      join(dir, 'segments/wrong.test.yaml'),
      'test: wrong_on_purpose\nas_of: 2026-06-01T00:00:00Z\ngiven:\n  main.customers:\n    - { customer_id: x1 }\n    - { customer_id: x2 }\n  main.orders:\n    - { customer_id: x1, ordered_at: 2026-05-30T00:00:00Z, amount: 5 }\nexpect:\n  new_customer: [x2]\n',
    )
    const r = segc(['test', 'segments/wrong.test.yaml'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('FAIL  wrong_on_purpose  (segments/wrong.test.yaml:1)')
    expect(r.stdout).toContain('new_customer: missing x2')
    expect(r.stdout).toContain('new_customer: unexpected x1')
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0 passed, 1 failed')
  })

  it('names unknown segments, relations and columns with positions', () => {
    const dir = exampleCopy()
    writeFileSync(join(dir, 'segments/bad.test.yaml'), 'test: bad\nas_of: 2026-06-01T00:00:00Z\ngiven:\n  main.custmers:\n    - { customer_id: x1 }\n  main.orders:\n    - { customerid: x1 }\nexpect:\n  activ_customer: []\n')
    const r = segc(['test'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^segments\/bad\.test\.yaml:4:3: error\[unknown_entity\].*did you mean 'main\.customers'/m)
    expect(r.stderr).toMatch(/^segments\/bad\.test\.yaml:7:9: error\[unknown_attribute\]/m)
    expect(r.stderr).toMatch(/^segments\/bad\.test\.yaml:9:3: error\[unknown_segment\].*did you mean 'active_customer'/m)
    expect(noStackTrace(r.stderr)).toBe(true)
  })
})

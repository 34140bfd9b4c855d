import {cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cloneProject, exampleCopy, REPO, segc, segcAsync} from '../helpers/cli.js'
import {Receiver} from '../helpers/receiver.js'

// Every segc command docs/orchestration.md shows — in shell lines, unit files, Airflow's
// bash_command, Dagster's argument list, GitHub Actions steps — run against the demo warehouse.

const DOC = readFileSync(join(REPO, 'docs/orchestration.md'), 'utf8')

/** the segc invocations of the page, as argument lists, with the scheduler's templates filled in */
export function documentedCommands(): string[][] {
  const blocks = [...DOC.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!)
  const out = new Set<string>()
  for (const b of blocks) {
    for (const m of b.matchAll(/(?:^|[\s"=])(?:npx |\/usr\/bin\/env )?segc ([a-z][^\n"'>]*)/g)) out.add(m[1]!.trim())
    // Dagster's argument list
    for (const m of b.matchAll(/\["segc", ((?:"[^"]*"(?:, )?)+)\]/g)) out.add([...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]).join(' '))
  }
  return [...out].map((c) => c.replace('{{ data_interval_end.isoformat() }}', '2026-06-08T00:00:00+00:00').split(/\s+/))
}

describe('docs/orchestration.md', () => {
  const receiver = new Receiver()
  let base: string
  let hook: string
  beforeAll(async () => {
    hook = await receiver.start()
    base = exampleCopy()
    cpSync(join(REPO, 'syncs'), join(base, 'syncs'), {recursive: true})
    const demo = segc(['demo', '--weeks', '0', '--customers', '500', '--path', '.segc/warehouse.duckdb'], {cwd: base})
    expect(demo.code, demo.stderr).toBe(0)
  }, 240_000)
  afterAll(() => receiver.stop())

  it('shows the commands a scheduler runs', () => {
    const commands = documentedCommands().map((c) => c.join(' '))
    expect(commands).toEqual(expect.arrayContaining(['run --sync --json', 'validate', 'sync --json', 'run --json', 'dbt --out ../analytics/models/segc.yml', 'forget --keys-file erasure-requests.txt --entity customer --json', 'forget --json']))
    expect(commands.some((c) => c.startsWith('run --as-of 2026-06-08T00:00:00+00:00'))).toBe(true)
  })

  it('every one of them runs against the demo warehouse, with the exit code the page documents', async () => {
    for (const args of documentedCommands()) {
      const dir = cloneProject(base)
      mkdirSync(join(dir, '../analytics/models'), {recursive: true})
      writeFileSync(join(dir, 'erasure-requests.txt'), 'c00000001\nc00000002\n')
      // the webhook sync reads its URL and secret from the environment
      const r = await segcAsync(args, {cwd: dir, env: {SEGC_CRM_HOOK_URL: hook, SEGC_WEBHOOK_SECRET: 'whsec_c2VncmV0LXNlY3JldC1mb3ItdGVzdHM='}})
      if (args.includes('--sync') && !args.includes('--as-of')) {
        // run at "now", half a year after the demo's data ends: win_back's members all moved, so
        // its sync guard refuses (exit 3, the table's "fail and alert") after the run committed
        expect(r.code, `segc ${args.join(' ')}\n${r.stderr}`).toBe(3)
        expect(r.stdout).toMatch(/"status": "refused"/)
        expect(r.stdout).toMatch(/the last run broke expect: segment 'win_back'/)
        continue
      }
      expect(r.code, `segc ${args.join(' ')}\n${r.stderr}`).toBe(0)
      if (args.includes('--json')) expect(() => JSON.parse(r.stdout)).not.toThrow()
    }
  })
})

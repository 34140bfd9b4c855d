import {cpSync, existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exampleCopy, noStackTrace, REPO, segcAsync as segc} from '../helpers/cli.js'

// The example project's syncs through the CLI: `segc run --sync` runs the after_run ones;
// `segc compile --syncs` shows each sync's plan query in every dialect.

describe('the example project\'s syncs', () => {
  it('segc run --sync writes the after_run export; the webhook sync (not after_run) is left alone', async () => {
    const dir = exampleCopy()
    cpSync(join(REPO, 'syncs'), join(dir, 'syncs'), {recursive: true})
    rmSync(join(dir, 'segments/value.yaml'))
    rmSync(join(dir, 'segments/likely_to_order.yaml'))
    const demo = await segc(['demo', '--weeks', '0', '--customers', '3000', '--path', '.segc/warehouse.duckdb'], {cwd: dir})
    expect(demo.code, demo.stderr).toBe(0)
    // no SEGC_CRM_HOOK_URL or SEGC_WEBHOOK_SECRET: only the after_run file sync may run
    const r = await segc(['run', '--as-of', '2026-06-08T00:00:00Z', '--sync'], {cwd: dir, env: {SEGC_CRM_HOOK_URL: '', SEGC_WEBHOOK_SECRET: ''}})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\nsynced run \S+ on local\n\nsync +destination +mode +status/)
    expect(r.stdout).toMatch(/win_back_export +exports +audience +success/)
    expect(r.stdout).not.toContain('lifecycle_to_crm')
    const csv = readFileSync(join(dir, '.segc/exports/win_back.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('segment,entity_key,id,first_name,country,since')
    expect(csv.length).toBeGreaterThan(1)
    // the webhook sync needs its secrets: exit 1 before any request, positioned, no stack trace
    const all = await segc(['sync', 'lifecycle_to_crm'], {cwd: dir, env: {SEGC_CRM_HOOK_URL: '', SEGC_WEBHOOK_SECRET: ''}})
    expect(all.code).toBe(1)
    expect(all.stderr).toMatch(/^segc\.yaml:\d+:\d+: error\[env_missing\]: destination 'crm_hook' needs the environment variable SEGC_CRM_HOOK_URL/m)
    expect(noStackTrace(all.stderr)).toBe(true)
  }, 120_000)

  it('segc compile --syncs prints each plan query in every dialect', async () => {
    for (const dialect of ['duckdb', 'snowflake', 'bigquery']) {
      const r = await segc(['compile', '--syncs', '--dialect', dialect, '--as-of', '2026-06-01'], {cwd: REPO})
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^-- sync lifecycle_to_crm \(upsert to crm_hook\): one row per add, remove, update or skip/m)
      expect(r.stdout).toMatch(/^-- sync win_back_export \(audience to exports\)/m)
      expect(r.stdout).toMatch(/FULL OUTER JOIN/)
      // Snowflake's unquoted-name convention is upper case, as everywhere in its dialect
      expect(r.stdout).toContain({duckdb: '"segments"."segment_sync_state"', snowflake: '"SEGMENTS"."SEGMENT_SYNC_STATE"', bigquery: '`segments`.`segment_sync_state`'}[dialect])
    }
    expect(existsSync(join(REPO, 'syncs'))).toBe(true)
  }, 60_000)
})

describe('secrets in sync output', () => {
  it('a destination URL and secret from ${env:...} never reach output, --json or the log', async () => {
    const {baseProject, withSyncs, CRM_SYNC} = await import('./sync-project.js')
    const {withProjectDb} = await import('../helpers/state.js')
    const base = await baseProject()
    const dir = withSyncs(base, '${env:HOOK_URL}', {'crm.yaml': CRM_SYNC}, '{type: webhook, url: "URL", signing_secret: "${env:SEGC_HOOK_SECRET}", max_attempts: 1}')
    const env = {HOOK_URL: 'http://127.0.0.1:1/hooks/tok-7f3a9c2e51', SEGC_HOOK_SECRET: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5'}
    for (const args of [['sync'], ['sync', '--json']]) {
      const r = await segc(args, {cwd: dir, env})
      expect(r.code).toBe(2)
      expect(r.stdout + r.stderr).not.toContain('tok-7f3a9c2e51')
      expect(r.stdout + r.stderr).not.toContain('c2VjcmV0LXNpZ25pbmcta2V5')
      expect(r.stdout).toContain("destination 'crm_hook'")
    }
    const log = await withProjectDb(dir, (c) => c.query(`SELECT reason FROM segments.segment_sync_log UNION ALL SELECT error FROM segments.segment_sync_runs`))
    expect(JSON.stringify(log)).not.toContain('tok-7f3a9c2e51')
  }, 120_000)
})

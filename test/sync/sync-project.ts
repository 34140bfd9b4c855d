import {appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {demoStatements} from '../../src/demo/demo-data.js'
import {runProject} from '../../src/run/run-project.js'
import {syncProject, type SyncOptions} from '../../src/sync/run-sync.js'
import {cloneProject, exampleCopy} from '../helpers/cli.js'
import {withProjectDb} from '../helpers/state.js'

export const T1 = '2026-04-01T00:00:00Z'
export const T2 = '2026-06-01T00:00:00Z'
// Standard Webhooks form: base64 of the key bytes after whsec_
export const SECRET = `whsec_${Buffer.from('segc-test-signing-key-0123456789').toString('base64')}`
export const ENV = {SEGC_HOOK_SECRET: SECRET}

export const CRM_SYNC = `sync: crm
destination: crm_hook
segments: [win_back, at_risk]
mode: upsert
identify_by: email
fields: {first_name: first_name, country: country, member: in_segment, segment: segment, since: entered_at}
consent: [email_opt_in]
`

/**
 * The example project (without the fitted value segments) on a small demo warehouse, run at
 * T1, with a webhook destination at `url` and the given syncs.
 */
export async function baseProject(customers = 3000): Promise<string> {
  const dir = exampleCopy()
  rmSync(join(dir, 'segments/value.yaml'))
  // the example's propensity segment needs segc fit, as value.yaml's fitted segments do
  rmSync(join(dir, 'segments/likely_to_order.yaml'))
  mkdirSync(join(dir, '.segc'), {recursive: true})
  const conn = await duckdbAdapter.connect({name: 'local', type: 'duckdb', path: '.segc/warehouse.duckdb'}, dir)
  try {
    for (const s of demoStatements(customers, {seed: 7, eventsPerCustomer: 4})) await conn.execute(s)
  } finally {
    await conn.close()
  }
  await runProject({project: dir, asOf: T1, target: 'local'})
  return dir
}

export function withSyncs(base: string, url: string, syncs: Record<string, string>, hook = '{type: webhook, url: URL, signing_secret: "${env:SEGC_HOOK_SECRET}", batch_size: 50}'): string {
  const dir = cloneProject(base)
  // the example's own destinations give way to the test's
  const config = readFileSync(join(dir, 'segc.yaml'), 'utf8')
  writeFileSync(join(dir, 'segc.yaml'), config.slice(0, config.indexOf('\n# Where `segc sync`') + 1 || undefined))
  appendFileSync(join(dir, 'segc.yaml'), `destinations:\n  crm_hook: ${hook.replace('URL', url)}\n  export: {type: file, path: exports/members.csv, format: csv}\n`)
  mkdirSync(join(dir, 'syncs'), {recursive: true})
  for (const [file, text] of Object.entries(syncs)) writeFileSync(join(dir, 'syncs', file), text)
  return dir
}

export function sync(dir: string, opts: Partial<SyncOptions> = {}) {
  return syncProject({project: dir, target: 'local', env: {...process.env, ...ENV}, delivery: {backoffBaseMs: 20, backoffCapMs: 200}, ...opts})
}

/** The sendable set of SPEC §11, written here from the tables alone: segment|entity_key → email. */
export async function sendable(dir: string, segments: string[]): Promise<Map<string, string>> {
  return withProjectDb(dir, async (c) => {
    const rows = await c.query(`SELECT m.segment, m.entity_key, c.email FROM segments.segment_membership m JOIN main.customers c ON c.customer_id = m.entity_key
      WHERE m.segment IN (${segments.map((s) => `'${s}'`).join(', ')}) AND NOT m.holdout AND c.email_opt_in AND c.email IS NOT NULL`)
    return new Map(rows.map((r) => [`${String(r.segment)}|${String(r.entity_key)}`, String(r.email)]))
  })
}

export async function state(dir: string, sync: string): Promise<Map<string, string>> {
  return withProjectDb(dir, async (c) => {
    const rows = await c.query(`SELECT segment, entity_key, dest_key FROM segments.segment_sync_state WHERE sync = '${sync}'`)
    return new Map(rows.map((r) => [`${String(r.segment)}|${String(r.entity_key)}`, String(r.dest_key)]))
  })
}

/** What the destination holds after applying the acknowledged operations in order. */
export function applied(ops: Array<{op: string; segment: string; entity_key: string; id: string}>, start = new Map<string, string>()): Map<string, string> {
  const out = new Map(start)
  for (const o of ops) {
    const k = `${o.segment}|${o.entity_key}`
    if (o.op === 'remove' || o.op === 'exited') out.delete(k)
    else out.set(k, o.id)
  }
  return out
}

export const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => a.localeCompare(b))

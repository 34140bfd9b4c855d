import {createHash} from 'node:crypto'
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sign} from '../../destinations/webhook/index.js'
import {erasableTables} from '../../src/generate/erase-sql.js'
import {forget} from '../../src/forget/forget.js'
import {runProject} from '../../src/run/run-project.js'
import {explainEntity} from '../../src/why/why.js'
import {ERASURE_DELIVERIES, OUTPUT_TABLES, type TableDef} from '../../src/warehouse/tables.js'
import {spawn} from 'node:child_process'
import {cloneProject, noStackTrace, REPO, segcAsync} from '../helpers/cli.js'
import {HubSpotRecorder} from '../helpers/hubspot-recorder.js'
import {startPostgres, type PostgresServer} from '../helpers/postgres.js'
import {mergedKlaviyoSpec, PRISM_SPECS_PRESENT, startPrism, type PrismMock} from '../helpers/prism.js'
import {Receiver} from '../helpers/receiver.js'
import {invariantViolations, withProjectDb} from '../helpers/state.js'
import {baseProject, CRM_SYNC, SECRET, sync, withSyncs} from '../sync/sync-project.js'

// segc forget (SPEC §15) over the example project synced to every destination type: a real
// webhook receiver, a real PostgreSQL, a file, Klaviyo's SDK against Prism serving Klaviyo's own
// OpenAPI files, HubSpot's SDK against a recorder of its documented requests. The oracle for
// "erased" is a scan of every string column of every table in the output schema, and the
// tables before forget with the erased keys' rows taken out by the test itself.

// keys with a quote, SQL, unicode and a backslash in them: erased exactly, nothing else touched
const WEIRD = [`O'Brien"; DROP TABLE segments.segment_membership; --`, 'Zoë 🙂 ü', "back\\slash '' %_"]
const LIST = 'Y6nRLr'
const HS_TOKEN = 'pat-na1-0123456789'
const T3 = '2026-04-08T00:00:00Z'

let base: string
/** the same warehouse with only the webhook sync, for the kill trials */
let hookOnly: string
let hook: Receiver
let hookUrl: string
let pgServer: PostgresServer
let hub: HubSpotRecorder
let hubUrl: string
let prism: PrismMock | undefined
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  hook = new Receiver()
  hub = new HubSpotRecorder(HS_TOKEN)
  let plain: string
  ;[plain, hookUrl, pgServer, hubUrl, prism] = await Promise.all([baseProject(1500), hook.start(), startPostgres(), hub.start(), PRISM_SPECS_PRESENT ? startPrism(mergedKlaviyoSpec()) : Promise.resolve(undefined)])
  // three consented win_back members take keys no one would choose, in every source table,
  // and a day later enter under them (their old keys exit)
  const picked = await withProjectDb(plain, (c) =>
    c.query(`SELECT m.entity_key FROM segments.segment_membership m JOIN main.customers c ON c.customer_id = m.entity_key
      WHERE m.segment = 'win_back' AND NOT m.holdout AND c.email_opt_in AND c.email IS NOT NULL ORDER BY m.entity_key LIMIT 3`),
  )
  expect(picked).toHaveLength(3)
  await withProjectDb(plain, async (c) => {
    for (const [i, r] of picked.entries()) {
      const to = WEIRD[i]!.replace(/'/g, "''")
      for (const t of ['customers', 'orders', 'events']) await c.execute(`UPDATE main.${t} SET customer_id = '${to}' WHERE customer_id = '${String(r.entity_key)}'`)
    }
  })
  await runProject({project: plain, asOf: '2026-04-02T00:00:00Z', target: 'local'})
  base = withSyncs(plain, hookUrl, {
    'crm.yaml': CRM_SYNC,
    'export.yaml': 'sync: export\ndestination: export\nsegments: [win_back, at_risk]\nmode: audience\n',
    'ops.yaml': 'sync: ops\ndestination: ops_db\nsegments: [win_back, at_risk]\nmode: mirror\nidentify_by: email\nfields: {first_name: first_name}\nconsent: [email_opt_in]\n',
    'hs.yaml': 'sync: hs\ndestination: hubspot\nsegments: [win_back, at_risk]\nmode: audience\nidentify_by: email\nconsent: [email_opt_in]\n',
    ...(prism ? {'kl.yaml': 'sync: kl\ndestination: klaviyo\nsegments: [win_back]\nmode: audience\nidentify_by: email\nconsent: [email_opt_in]\n'} : {}),
  })
  appendFileSync(
    join(base, 'segc.yaml'),
    `  ops_db: {type: postgres, url: "\${env:OPS_URL}", schema: segc}\n  hubspot: {type: hubspot, access_token: "\${env:HS_TOKEN}", base_url: "${hubUrl}", list_id: 77, rate_limit: 1000}\n` +
      (prism ? `  klaviyo: {type: klaviyo, api_key: "\${env:KLAVIYO_KEY}", base_url: "${prism.url}", list_id: ${LIST}, rate_limit: 1000}\n` : ''),
  )
  env = {...process.env, SEGC_HOOK_SECRET: SECRET, OPS_URL: pgServer.url, HS_TOKEN, KLAVIYO_KEY: 'pk_test_0123456789abcdef'}
  hookOnly = withSyncs(plain, hookUrl, {'crm.yaml': CRM_SYNC})
  const r = await sync(base, {env})
  expect(r.exit_code, JSON.stringify(r.syncs.map((s) => [s.sync, s.error]))).toBe(0)
  expect((await sync(hookOnly, {env})).exit_code).toBe(0)
}, 240_000)

afterAll(async () => {
  await Promise.all([hook?.stop(), hub?.stop(), prism?.stop()])
  pgServer?.stop()
})

const hash = (key: string) => createHash('sha256').update(`customer:${key}`, 'utf8').digest('hex')

/** Every value of every string column of every table in the output schema. */
async function strings(dir: string): Promise<string[]> {
  return withProjectDb(dir, async (c) => {
    const cols = await c.query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'segments' AND data_type = 'VARCHAR'`)
    // the output tables, and a profile table per entity with segments (SPEC §19): erased keys leave those too
    const names = new Set(cols.map((r) => String(r.table_name)))
    expect([...names].filter((t) => !t.startsWith('segment_profiles_')).length).toBe(OUTPUT_TABLES.length)
    expect([...names].filter((t) => t.startsWith('segment_profiles_')).length).toBeGreaterThan(0)
    const out: string[] = []
    for (const col of cols) for (const r of await c.query(`SELECT "${String(col.column_name)}" AS v FROM segments."${String(col.table_name)}" WHERE "${String(col.column_name)}" IS NOT NULL`)) out.push(String(r.v))
    return out
  })
}

/** The rows of every table that holds entity keys, as JSON lines. */
async function keyed(dir: string): Promise<Record<string, string[]>> {
  return withProjectDb(dir, async (c) => {
    const out: Record<string, string[]> = {}
    for (const t of OUTPUT_TABLES.filter((t) => t.columns.some((x) => x.name === 'entity_key'))) {
      out[t.name] = (await c.query(`SELECT * FROM segments."${t.name}"`)).map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : v))).sort()
    }
    return out
  })
}

async function pgKeys(): Promise<string[]> {
  const c = new pg.Client({connectionString: pgServer.url})
  await c.connect()
  try {
    return (await c.query<{entity_key: string}>('SELECT entity_key FROM segc.ops')).rows.map((r) => r.entity_key)
  } finally {
    await c.end()
  }
}

/** the synced keys of a sync, with the identifier sent */
const synced = (dir: string, name: string) => withProjectDb(dir, async (c) => new Map((await c.query(`SELECT DISTINCT entity_key, dest_key FROM segments.segment_sync_state WHERE sync = '${name}'`)).map((r) => [String(r.entity_key), String(r.dest_key)])))

describe('segc forget', () => {
  it('erases keys from every table and every destination, and nothing else; later runs and syncs keep them out', async () => {
    const dir = cloneProject(base)
    const crm = await synced(dir, 'crm')
    for (const k of WEIRD) expect(crm.has(k), k).toBe(true)
    // one key no sync ever sent: in a segment, but not a consented win_back/at_risk member
    const [quiet] = await withProjectDb(dir, (c) => c.query(`SELECT min(entity_key) AS k FROM segments.segment_membership WHERE entity = 'customer' AND entity_key NOT IN (SELECT entity_key FROM segments.segment_sync_state)`))
    const unsent = String(quiet!.k)
    const keys = [...WEIRD, unsent, 'nobody-ever-seen']
    const before = await keyed(dir)
    const mark = {hook: hook.requests.length, hub: hub.requests.length, prism: prism?.exchanges.length ?? 0}
    const emails = new Map(WEIRD.map((k) => [k, crm.get(k)!]))

    const r = await forget({project: dir, target: 'local', keys, entity: 'customer', env, delivery: {backoffBaseMs: 20}})
    expect(r.exit_code, JSON.stringify(r.deliveries)).toBe(0)
    expect(r.status).toBe('done')
    expect(r.tables.segment_membership).toBeGreaterThanOrEqual(4)

    // no erased key anywhere in the output schema
    const values = await strings(dir)
    for (const k of [...WEIRD, unsent]) expect(values.filter((v) => v.includes(k)), k).toEqual([])
    // everything else as it was: each table minus exactly the erased keys' rows
    const after = await keyed(dir)
    for (const [table, rows] of Object.entries(before)) {
      if (table === ERASURE_DELIVERIES.name) continue
      expect(after[table], table).toEqual(rows.filter((row) => !keys.includes(JSON.parse(row).entity_key)))
      if (!['segment_sync_log', 'segment_sync_state'].includes(table)) expect(after[table]!.length, table).toBeLessThan(rows.length)
    }
    await withProjectDb(dir, async (c) => {
      expect(await invariantViolations(c)).toEqual([])
      // sizes recounted: every run's size is the history intervals covering its as_of, its
      // entered and exited the transitions it wrote
      const off = await c.query(`SELECT s.run_id, s.segment FROM segments.segment_sizes s
        WHERE s.size <> (SELECT count(*) FROM segments.segment_membership_history h WHERE h.segment = s.segment AND h.valid_from <= s.as_of AND (h.valid_to IS NULL OR h.valid_to > s.as_of))
           OR s.holdout_size <> (SELECT count(*) FROM segments.segment_membership_history h WHERE h.segment = s.segment AND h.holdout AND h.valid_from <= s.as_of AND (h.valid_to IS NULL OR h.valid_to > s.as_of))
           OR s.entered <> (SELECT count(*) FROM segments.segment_transitions t WHERE t.run_id = s.run_id AND t.segment = s.segment AND t.change = 'entered')
           OR s.exited <> (SELECT count(*) FROM segments.segment_transitions t WHERE t.run_id = s.run_id AND t.segment = s.segment AND t.change = 'exited')`)
      expect(off).toEqual([])
      const erasures = await c.query('SELECT entity, key_hash, tables_rows, status FROM segments.segment_erasures ORDER BY key_hash')
      expect(erasures.map((e) => e.key_hash)).toEqual(keys.map(hash).sort())
      expect(new Set(erasures.map((e) => e.status))).toEqual(new Set(['done']))
      expect(JSON.parse(String(erasures.find((e) => e.key_hash === hash('nobody-ever-seen'))!.tables_rows))).toEqual({})
      const pending = await c.query(`SELECT count(*) AS n FROM segments.segment_erasure_deliveries WHERE status <> 'succeeded' OR entity_key IS NOT NULL OR dest_key IS NOT NULL`)
      expect(Number(pending[0]!.n)).toBe(0)
    })

    // webhook: one signed erase per sent key, none for the others
    const erases = hook.requests.slice(mark.hook).flatMap((q) => q.body.operations.map((o) => ({o, q})))
    expect(erases.map(({o}) => o.entity_key).sort()).toEqual([...WEIRD].sort())
    for (const {o, q} of erases) {
      expect(o).toMatchObject({op: 'erase', segment: null, id: emails.get(o.entity_key), fields: {}})
      const id = String(q.headers['webhook-id'])
      expect(q.headers['webhook-signature']).toBe(sign(SECRET, id, Number(q.headers['webhook-timestamp']), q.raw))
    }
    // PostgreSQL: their rows deleted, everyone else's still there
    const rows = await pgKeys()
    expect(rows.filter((k) => keys.includes(k))).toEqual([])
    expect(rows.length).toBeGreaterThan(10)
    // the file rewritten without them
    const csv = readFileSync(join(dir, 'exports/members.csv'), 'utf8')
    for (const k of WEIRD) expect(csv.includes(k.replace(/"/g, '""')) || csv.includes(k), k).toBe(false)
    expect(csv.trim().split('\n').length).toBeGreaterThan(10)
    // HubSpot: one GDPR delete per contact sent, by email
    const gdpr = hub.requests.slice(mark.hub).filter((q) => q.path === '/crm/v3/objects/contacts/gdpr-delete')
    expect(gdpr.map((q) => (q.body as {objectId: string}).objectId).sort()).toEqual(WEIRD.map((k) => emails.get(k)!).sort())
    expect(gdpr.flatMap((q) => q.violations)).toEqual([])
    expect(gdpr.every((q) => (q.body as {idProperty: string}).idProperty === 'email')).toBe(true)
    // Klaviyo: one Request Profile Deletion per profile the sync had sent, within the vendor's contract
    if (prism) {
      const kl = await synced(base, 'kl')
      const jobs = prism.exchanges.slice(mark.prism).filter((e) => e.path.startsWith('/api/data-privacy-deletion-jobs'))
      expect(jobs.map((e) => e.violations)).toEqual(jobs.map(() => undefined))
      expect(jobs.map((e) => e.status)).toEqual(jobs.map(() => 202))
      const asked = jobs.map((e) => (e.body as {data: {attributes: {profile: {data: {attributes: {email: string}}}}}}).data.attributes.profile.data.attributes.email).sort()
      expect(asked).toEqual(WEIRD.filter((k) => kl.has(k)).map((k) => kl.get(k)!).sort())
      expect(asked.length).toBeGreaterThan(0)
    }

    // again: nothing new is sent anywhere
    const again = {hook: hook.requests.length, hub: hub.requests.length, prism: prism?.exchanges.length ?? 0}
    const r2 = await forget({project: dir, target: 'local', keys: [WEIRD[0]!], entity: 'customer', env})
    expect(r2.exit_code).toBe(0)
    expect(Object.values(r2.tables).every((n) => n === 0)).toBe(true)
    expect([hook.requests.length, hub.requests.length, prism?.exchanges.length ?? 0]).toEqual([again.hook, again.hub, again.prism])

    // the next run, with the keys still in the source tables, admits none of them; the sync sends nothing for them
    await runProject({project: dir, asOf: T3, target: 'local'})
    const members = await withProjectDb(dir, (c) => c.query(`SELECT DISTINCT entity_key FROM segments.segment_membership`))
    expect(members.length).toBeGreaterThan(100)
    for (const k of keys) expect(members.some((m) => m.entity_key === k), k).toBe(false)
    const inSource = await withProjectDb(dir, (c) => c.query(`SELECT count(*) AS n FROM main.customers WHERE customer_id IN ('${WEIRD.map((k) => k.replace(/'/g, "''")).join("', '")}')`))
    expect(Number(inSource[0]!.n)).toBe(3)
    const mark3 = hook.requests.length
    const s = await sync(dir, {env, syncs: ['crm']})
    expect(s.exit_code).toBe(0)
    expect(hook.requests.slice(mark3).flatMap((q) => q.body.operations).filter((o) => keys.includes(o.entity_key))).toEqual([])
    // segc why says so
    const why = await explainEntity({project: dir, target: 'local', key: WEIRD[1]!, entity: 'customer'})
    expect(why.erased?.request_id).toBe(r.request_id)
    expect(why.segments.every((x) => !x.member)).toBe(true)
  }, 240_000)

  it('a destination that fails leaves the deletion pending (exit 2); segc forget with no keys sends it', async () => {
    const dir = cloneProject(base)
    const key = [...(await synced(dir, 'crm')).keys()].filter((k) => !WEIRD.includes(k)).sort()[0]!
    const mark = hook.requests.length
    hook.fallback = {status: 503}
    try {
      const r = await forget({project: dir, target: 'local', keys: [key], entity: 'customer', env, delivery: {backoffBaseMs: 5, backoffCapMs: 10}})
      expect(r.exit_code).toBe(2)
      expect(r.status).toBe('pending')
      expect(r.deliveries.find((d) => d.sync === 'crm')).toMatchObject({pending: 1, succeeded: 0})
    } finally {
      hook.fallback = {status: 200}
    }
    const failed = hook.requests.slice(mark).flatMap((q) => q.body.operations)
    expect(failed.length).toBeGreaterThan(1)
    await withProjectDb(dir, async (c) => {
      expect((await c.query(`SELECT status FROM segments.segment_erasures`)).map((x) => x.status)).toEqual(['pending'])
      // the queue is the only place the key stays, and only while the deletion is pending
      expect((await c.query(`SELECT entity_key, status FROM segments.segment_erasure_deliveries WHERE sync = 'crm'`))).toEqual([{entity_key: key, status: 'pending'}])
      expect(await invariantViolations(c)).toEqual([])
    })
    const mark2 = hook.requests.length
    const again = await forget({project: dir, target: 'local', env})
    expect(again.exit_code).toBe(0)
    expect(again.status).toBe('done')
    const sent = hook.requests.slice(mark2).flatMap((q) => q.body.operations)
    expect(sent.map((o) => [o.op, o.entity_key, o.idempotency_key])).toEqual([['erase', key, failed[0]!.idempotency_key]])
    await withProjectDb(dir, async (c) => {
      expect((await c.query(`SELECT status FROM segments.segment_erasures`)).map((x) => x.status)).toEqual(['done'])
      expect(Number((await c.query(`SELECT count(*) AS n FROM segments.segment_erasure_deliveries WHERE entity_key IS NOT NULL OR dest_key IS NOT NULL`))[0]!.n)).toBe(0)
    })
    expect((await strings(dir)).filter((v) => v === key)).toEqual([])
  }, 120_000)

  it('bad input: an empty keys file, a line of spaces, an unknown entity; blank lines and duplicates are fine', async () => {
    const dir = cloneProject(base)
    const count = () => withProjectDb(dir, async (c) => Number((await c.query('SELECT count(*) AS n FROM segments.segment_erasures'))[0]!.n))
    const cenv = {SEGC_HOOK_SECRET: SECRET, OPS_URL: pgServer.url, HS_TOKEN, KLAVIYO_KEY: 'pk_test_0123456789abcdef'}
    writeFileSync(join(dir, 'empty.txt'), '\n\n')
    const empty = await segcAsync(['forget', '--keys-file', 'empty.txt', '--entity', 'customer'], {cwd: dir, env: cenv})
    expect(empty.code).toBe(1)
    expect(empty.stderr).toMatch(/^empty\.txt:1:1: error\[bad_keys\]: the keys file holds no key/m)
    writeFileSync(join(dir, 'spaces.txt'), 'c00000001\n   \n')
    const spaces = await segcAsync(['forget', '--keys-file', 'spaces.txt', '--entity', 'customer'], {cwd: dir, env: cenv})
    expect(spaces.code).toBe(1)
    expect(spaces.stderr).toMatch(/^spaces\.txt:2:1: error\[bad_keys\]: a key of only whitespace/m)
    const missing = await segcAsync(['forget', '--keys-file', 'nope.txt', '--entity', 'customer'], {cwd: dir, env: cenv})
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^nope\.txt:1:1: error\[bad_keys\]: cannot read the keys file: no such file/m)
    const entity = await segcAsync(['forget', 'c00000001', '--entity', 'custmer'], {cwd: dir, env: cenv})
    expect(entity.code).toBe(1)
    expect(entity.stderr).toMatch(/^--entity:1:1: error\[unknown_entity\]: no entity 'custmer' \(did you mean 'customer'\?\)/m)
    const none = await segcAsync(['forget', 'c00000001'], {cwd: dir, env: cenv})
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/--entity:1:1: error\[bad_flag\]: the project has 2 entities \(customer, account\)/)
    for (const r of [empty, spaces, missing, entity, none]) expect(noStackTrace(r.stderr)).toBe(true)
    expect(await count()).toBe(0)
    // blank lines skipped, a CRLF file read, a duplicate erased once (with a warning naming both lines)
    writeFileSync(join(dir, 'keys.txt'), 'c00000005\r\n\r\nc00000006\r\nc00000005\r\n')
    const ok = await segcAsync(['forget', '--keys-file', 'keys.txt', '--entity', 'customer', '--json'], {cwd: dir, env: cenv})
    expect(ok.code, ok.stderr).toBe(0)
    const result = JSON.parse(ok.stdout) as {keys: number; warnings: Array<{code: string; file: string; line: number; message: string}>}
    expect(result.keys).toBe(2)
    expect(result.warnings).toEqual([expect.objectContaining({code: 'duplicate_key', file: 'keys.txt', line: 4, message: 'the key on keys.txt:1 is given again: it is erased once'})])
    expect(await count()).toBe(2)
    // --dry-run reports and changes nothing
    const dry = await segcAsync(['forget', WEIRD[2]!, '--entity', 'customer', '--dry-run'], {cwd: dir, env: cenv})
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/^dry run on local: nothing changed, nothing sent/)
    expect(dry.stdout).toMatch(/segment_membership +[1-9]/)
    expect(dry.stdout).toMatch(/crm +crm_hook +1/)
    expect(dry.stdout).toMatch(/The source tables it reads \(your models, events and dbt sources\) are yours: segc does not delete from them/)
    expect(await count()).toBe(2)
  }, 120_000)
})

describe('segc forget killed (SIGKILL) at random points', () => {
  it('10 trials: the warehouse has everything or nothing erased, and the next segc forget sends what is pending', async () => {
    const cenv = {SEGC_HOOK_SECRET: SECRET, OPS_URL: pgServer.url, HS_TOKEN, KLAVIYO_KEY: 'pk_test_0123456789abcdef'}
    const crm = await synced(hookOnly, 'crm')
    const others = await withProjectDb(hookOnly, (c) => c.query(`SELECT DISTINCT entity_key FROM segments.segment_membership WHERE entity = 'customer' ORDER BY entity_key LIMIT 60`))
    const keys = [...new Set([...[...crm.keys()].slice(0, 20), ...others.map((r) => String(r.entity_key))])]
    const sent = keys.filter((k) => crm.has(k))
    expect(sent.length).toBeGreaterThanOrEqual(20)
    const before = await keyed(hookOnly)
    const expectedAfter = Object.fromEntries(Object.entries(before).map(([t, rows]) => [t, rows.filter((row) => !keys.includes(JSON.parse(row).entity_key))]))
    const forgetCli = (dir: string) => {
      writeFileSync(join(dir, 'keys.txt'), keys.join('\n') + '\n')
      const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'forget', '--keys-file', 'keys.txt', '--entity', 'customer'], {cwd: dir, env: {...process.env, ...cenv}, stdio: 'ignore'})
      return {child, exited: new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))}
    }
    // how long an uninterrupted forget takes here, to spread the kills over it
    const timing = cloneProject(hookOnly)
    const t0 = Date.now()
    expect(await forgetCli(timing).exited).toBe(0)
    const full = Date.now() - t0
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const outcomes = {nothing: 0, everything: 0, pendingResent: 0}
    for (let trial = 0; trial < 10; trial++) {
      const dir = cloneProject(hookOnly)
      const mark = hook.requests.length
      const {child, exited} = forgetCli(dir)
      if (trial < 6) setTimeout(() => child.kill('SIGKILL'), Math.round(full * (0.3 + 0.7 * random())))
      // the rest die as the webhook receives the deletions: after the warehouse committed
      else hook.fallback = () => (child.kill('SIGKILL'), {status: trial % 2 ? 200 : 503})
      const code = await exited
      hook.fallback = {status: 200}
      const erased = await withProjectDb(dir, async (c) => Number((await c.query('SELECT count(*) AS n FROM segments.segment_erasures'))[0]!.n))
      const now = await keyed(dir)
      delete now[ERASURE_DELIVERIES.name]
      if (erased === 0) {
        outcomes.nothing++
        for (const [t, rows] of Object.entries(now)) expect(rows, `trial ${trial} (exit ${code}): ${t}`).toEqual(before[t])
      } else {
        outcomes.everything++
        expect(erased, `trial ${trial}`).toBe(keys.length)
        for (const [t, rows] of Object.entries(now)) expect(rows, `trial ${trial}: ${t}`).toEqual(expectedAfter[t])
      }
      await withProjectDb(dir, async (c) => expect(await invariantViolations(c), `trial ${trial}`).toEqual([]))
      // the next forget: what is pending goes out (or, if nothing was erased, the request is made again)
      const pending = erased ? await withProjectDb(dir, async (c) => Number((await c.query(`SELECT count(*) AS n FROM segments.segment_erasure_deliveries WHERE status <> 'succeeded'`))[0]!.n)) : 0
      if (pending) outcomes.pendingResent++
      const next = await forget({project: dir, target: 'local', env, ...(erased ? {} : {keysFile: join(dir, 'keys.txt'), entity: 'customer'})})
      expect(next.exit_code, `trial ${trial}: ${JSON.stringify(next.deliveries)}`).toBe(0)
      await withProjectDb(dir, async (c) => {
        expect(Number((await c.query(`SELECT count(*) AS n FROM segments.segment_erasure_deliveries WHERE status <> 'succeeded' OR entity_key IS NOT NULL`))[0]!.n), `trial ${trial}`).toBe(0)
        expect(new Set((await c.query('SELECT status FROM segments.segment_erasures')).map((r) => r.status)), `trial ${trial}`).toEqual(new Set(['done']))
      })
      // at least once: every key the webhook sync had sent got its erase, in this trial's requests
      const got = new Set(hook.requests.slice(mark).flatMap((q) => (q.status === 200 ? q.body.operations.filter((o) => o.op === 'erase').map((o) => o.entity_key) : [])))
      expect([...sent].filter((k) => !got.has(k)), `trial ${trial}`).toEqual([])
    }
    expect(outcomes.everything).toBeGreaterThanOrEqual(4)
    expect(outcomes.pendingResent).toBeGreaterThanOrEqual(2)
  }, 300_000)
})

describe('the tables segc forget erases from', () => {
  it('are every output table with an entity_key column, except the deletion queue', () => {
    const keyed = OUTPUT_TABLES.filter((t) => t.columns.some((c) => c.name === 'entity_key'))
    expect(erasableTables().map((t) => t.def.name).sort()).toEqual(keyed.filter((t) => t !== ERASURE_DELIVERIES).map((t) => t.name).sort())
    expect(keyed.length).toBeGreaterThanOrEqual(7)
  })

  it('a table added later is covered without a change to forget; one it cannot attribute stops it', () => {
    const col = (name: string) => ({name, type: 'string' as const, comment: ''})
    const added: TableDef = {name: 'segment_future', comment: '', columns: [col('entity'), col('entity_key')]}
    expect(erasableTables([...OUTPUT_TABLES, added]).map((t) => t.def.name)).toContain('segment_future')
    const bySegment: TableDef = {name: 'segment_future2', comment: '', columns: [col('segment'), col('entity_key')]}
    expect(erasableTables([bySegment])).toEqual([{def: bySegment, by: 'segment'}])
    expect(() => erasableTables([{name: 'orphan', comment: '', columns: [col('entity_key')]}])).toThrow(/orphan holds entity keys but neither an entity nor a segment column/)
  })
})

import {spawn} from 'node:child_process'
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {formatDiagnostic} from '../../src/diagnostics/diagnostic.js'
import {runProject} from '../../src/run/run-project.js'
import {validateProject} from '../../src/validate/validate-project.js'
import {REPO} from '../helpers/cli.js'
import {HubSpotRecorder} from '../helpers/hubspot-recorder.js'
import {POSTGRES_AVAILABLE, startPostgres, type PostgresServer} from '../helpers/postgres.js'
import {mergedKlaviyoSpec, PRISM_SPECS_PRESENT, startPrism, type PrismMock} from '../helpers/prism.js'
import {Receiver} from '../helpers/receiver.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, ENV, sendable, sync, T1, withSyncs} from './sync-project.js'

// Trait fields in syncs (SPEC §19): the values each member is sent, against a query written
// here over the demo's own tables (not segc's), with the rounding done in integer cents by
// hand; updates exactly where a sent value changed; holdout never sent; a killed sync resends
// with the same idempotency keys; each destination's own types.

const TRAIT_SYNC = `sync: tr
destination: crm_hook
segments: [win_back]
mode: upsert
identify_by: email
fields: {first_name: first_name, orders: orders_total, revenue: {trait: revenue_365d, round: 0}, last_order: last_order_at}
consent: [email_opt_in]
`

const T1b = new Date(Date.parse(T1) + 3600_000).toISOString()

/** revenue_365d, orders_total and last_order_at by customer, written from SPEC §3 directly. */
async function oracle(dir: string, asOf: string): Promise<Map<string, {orders: number; cents: number; last: string | null}>> {
  const at = `TIMESTAMP '${asOf.replace('T', ' ').replace('Z', '')}'`
  return withProjectDb(dir, async (c) => {
    const rows = await c.query(`SELECT c.customer_id AS id, COUNT(o.customer_id) AS n,
        COALESCE(SUM(CASE WHEN o.ordered_at > ${at} - INTERVAL 365 DAY THEN CAST(ROUND(o.amount * 100) AS BIGINT) END), 0) AS cents,
        MAX(o.ordered_at) AS last
      FROM main.customers c LEFT JOIN main.orders o ON o.customer_id = c.customer_id AND o.ordered_at <= ${at} GROUP BY c.customer_id`)
    return new Map(rows.map((r) => [String(r.id), {orders: Number(r.n), cents: Number(r.cents), last: r.last === null ? null : new Date(String(r.last).replace(' ', 'T') + (String(r.last).endsWith('Z') ? '' : 'Z')).toISOString()}]))
  })
}

/** half away from zero, to whole units, from integer cents */
const units = (cents: number) => Math.sign(cents) * Math.floor((Math.abs(cents) + 50) / 100)

const sent = (o: {orders: number; cents: number; last: string | null}) => ({orders: o.orders, revenue: units(o.cents), last_order: o.last})

let base: string
beforeAll(async () => {
  base = await baseProject()
}, 120_000)

describe('trait fields: YAML', () => {
  const problems = (fields: string, mode = 'upsert') => {
    const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'x.yaml': TRAIT_SYNC.replace(/^fields: .*$/m, `fields: ${fields}`).replace('mode: upsert', `mode: ${mode}`)})
    return validateProject({project: dir}).diagnostics.map(formatDiagnostic).join('\n')
  }
  it('a trait outside the profile, another entity’s trait, round on a timestamp and a trait in audience mode are errors at their positions', () => {
    // orders_365d is a customer trait the example does not publish
    expect(problems('{a: orders_365d}')).toMatch(/^syncs\/x\.yaml:6:\d+: error\[unknown_trait\]: field 'a': trait 'orders_365d' is not in its entity's profile.*add it to the profile of entity 'customer'/m)
    expect(problems('{a: {trait: logins_30d}}')).toMatch(/^syncs\/x\.yaml:6:\d+: error\[entity_mismatch\]: field 'a': trait 'logins_30d' belongs to entity 'account'/m)
    expect(problems('{a: {trait: last_order_at, round: 2}}')).toMatch(/^syncs\/x\.yaml:6:\d+: error\[type_mismatch\]: field 'a': round applies to numbers; trait 'last_order_at' is a timestamp/m)
    expect(problems('{a: revenue_365d}', 'audience')).toMatch(/^syncs\/x\.yaml:6:\d+: error\[unsupported\]: field 'a': trait fields are sent only by mode upsert or mirror/m)
    expect(problems('{a: {trait: revenue_365d, round: 2, extra: 1}}')).toMatch(/syncs\/x\.yaml:6:\d+: error/)
    expect(problems('{a: revenue_365d, b: {trait: orders_total, round: 0}}')).toBe('')
  })
})

describe('trait fields to a webhook', () => {
  let receiver: Receiver
  afterAll(async () => receiver?.stop())

  it('first sync carries each member’s values; after a change only changed sent values update; rounding hides a small change; holdout never sent', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'tr.yaml': TRAIT_SYNC})
    const expected = await sendable(dir, ['win_back'])
    const truth = await oracle(dir, T1)
    const held = new Set((await withProjectDb(dir, (c) => c.query(`SELECT entity_key FROM segments.segment_membership WHERE segment = 'win_back' AND holdout`))).map((r) => String(r.entity_key)))
    expect(held.size).toBeGreaterThan(0)
    const r = await sync(dir)
    expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
    const ops = receiver.acknowledged()
    expect(ops.length).toBe(expected.size)
    for (const o of ops) {
      expect(o.op).toBe('add')
      expect(held.has(o.entity_key), `${o.entity_key} is in the holdout`).toBe(false)
      const {first_name, ...values} = o.fields
      expect(values, o.entity_key).toEqual(sent(truth.get(o.entity_key)!))
      expect(typeof o.fields.orders).toBe('number')
      expect(typeof o.fields.revenue).toBe('number')
    }

    // three members' order amounts change; nothing else does
    const members = ops.map((o) => o.entity_key).sort()
    const withWindowOrder = await withProjectDb(dir, (c) => c.query(`SELECT customer_id, MIN(order_id) AS order_id FROM main.orders WHERE ordered_at > TIMESTAMP '${T1.replace('T', ' ').replace('Z', '')}' - INTERVAL 364 DAY AND ordered_at <= TIMESTAMP '${T1.replace('T', ' ').replace('Z', '')}' GROUP BY customer_id`))
    const orderOf = new Map(withWindowOrder.map((x) => [String(x.customer_id), String(x.order_id)]))
    const pick = (ok: (cents: number) => boolean, not: string[] = []) => members.find((k) => orderOf.has(k) && ok(truth.get(k)!.cents % 100) && !not.includes(k))!
    const big = pick(() => true)
    // +0.20 that stays below the half: the rounded revenue is what it was
    const hidden = pick((c) => c < 30, [big])
    // +0.20 that crosses the half: the rounded revenue goes up by one
    const crossing = pick((c) => c >= 30 && c < 50, [big, hidden])
    expect([big, hidden, crossing].every(Boolean), 'fixture has the three kinds of member').toBe(true)
    await withProjectDb(dir, async (c) => {
      await c.execute(`UPDATE main.orders SET amount = amount + 100 WHERE order_id = '${orderOf.get(big)}'`)
      for (const k of [hidden, crossing]) await c.execute(`UPDATE main.orders SET amount = amount + 0.2 WHERE order_id = '${orderOf.get(k)}'`)
    })
    await runProject({project: dir, asOf: T1b, target: 'local'})
    const now = await oracle(dir, T1b)
    const after = await sendable(dir, ['win_back'])
    // the expected updates: members before and after whose sent tuple differs
    const changed = [...after.keys()].filter((k) => expected.has(k)).map((k) => k.split('|')[1]!).filter((k) => JSON.stringify(sent(truth.get(k)!)) !== JSON.stringify(sent(now.get(k)!)))
    expect(changed).toContain(crossing)
    expect(changed).not.toContain(hidden)
    const mark = receiver.requests.length
    const r2 = await sync(dir)
    expect(r2.exit_code, JSON.stringify(r2.syncs)).toBe(0)
    const second = receiver.requests.slice(mark).flatMap((q) => q.body.operations)
    const updates = second.filter((o) => o.op === 'update')
    expect(updates.map((o) => o.entity_key).sort()).toEqual([...changed].sort())
    expect(updates.map((o) => o.entity_key)).not.toContain(hidden)
    for (const o of updates) {
      const {first_name, ...values} = o.fields
      expect(values).toEqual(sent(now.get(o.entity_key)!))
    }
    for (const o of second) expect(held.has(o.entity_key) && o.op !== 'remove', `${o.entity_key} is in the holdout`).toBe(false)
  }, 120_000)

  it('a sync killed mid-delivery resends with the same idempotency keys and the same values', async () => {
    receiver = new Receiver()
    const dir = withSyncs(base, await receiver.start(), {'tr.yaml': TRAIT_SYNC}, '{type: webhook, url: URL, signing_secret: "${env:SEGC_HOOK_SECRET}", batch_size: 5, concurrency: 1}')
    const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'sync'], {cwd: dir, env: {...process.env, ...ENV}, stdio: 'ignore'})
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    receiver.fallback = () => {
      if (receiver.requests.length + 1 === 3) child.kill('SIGKILL')
      return {status: 200}
    }
    expect(await exited).toBeNull()
    const before = new Map(receiver.requests.flatMap((q) => q.body.operations).map((o) => [o.entity_key, o]))
    expect(before.size).toBeGreaterThan(0)
    receiver.fallback = {status: 200}
    const mark = receiver.requests.length
    const r = await sync(dir)
    expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
    const again = receiver.requests.slice(mark).flatMap((q) => q.body.operations)
    const resent = again.filter((o) => before.has(o.entity_key))
    expect(resent.length).toBeGreaterThan(0)
    for (const o of resent) {
      expect(o.idempotency_key).toBe(before.get(o.entity_key)!.idempotency_key)
      expect(o.fields).toEqual(before.get(o.entity_key)!.fields)
    }
  }, 120_000)
})

describe('trait fields: each destination’s types', () => {
  it('file: parquet columns typed (integer, rounded decimal), values as the oracle says', async () => {
    const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'f.yaml': TRAIT_SYNC.replace('sync: tr', 'sync: f').replace('crm_hook', 'export')})
    writeFileSync(join(dir, 'segc.yaml'), readFileSync(join(dir, 'segc.yaml'), 'utf8').replace('exports/members.csv, format: csv', 'exports/members.parquet, format: parquet'))
    const r = await sync(dir)
    expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
    const truth = await oracle(dir, T1)
    const {types, rows} = await withProjectDb(dir, async (c) => ({
      types: await c.query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(dir, 'exports/members.parquet')}'))`),
      rows: await c.query(`SELECT entity_key, orders, revenue FROM read_parquet('${join(dir, 'exports/members.parquet')}')`),
    }))
    const type = (n: string) => String(types.find((t) => t.column_name === n)?.column_type)
    expect(type('orders')).toBe('BIGINT')
    expect(type('revenue')).toBe('DECIMAL(38,0)')
    expect(rows.length).toBe((await sendable(dir, ['win_back'])).size)
    for (const x of rows) expect({orders: Number(x.orders), revenue: Number(x.revenue)}).toEqual({orders: truth.get(String(x.entity_key))!.orders, revenue: units(truth.get(String(x.entity_key))!.cents)})
  }, 60_000)

  describe.skipIf(!POSTGRES_AVAILABLE)('postgres', () => {
    let server: PostgresServer
    beforeAll(async () => {
      server = await startPostgres()
    }, 60_000)
    afterAll(() => server?.stop())
    it('typed columns, added when a trait field is added, values as the oracle says', async () => {
      const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'p.yaml': TRAIT_SYNC.replace('sync: tr', 'sync: p').replace('crm_hook', 'ops_db').replace(/^fields: .*$/m, 'fields: {first_name: first_name, orders: orders_total}')})
      appendFileSync(join(dir, 'segc.yaml'), `  ops_db: {type: postgres, url: "${server.url}", schema: segc}\n`)
      const env = {...process.env, ...ENV}
      expect((await sync(dir, {env})).exit_code).toBe(0)
      // the revenue field is added: the column appears, typed, and every member is updated with it
      writeFileSync(join(dir, 'syncs/p.yaml'), readFileSync(join(dir, 'syncs/p.yaml'), 'utf8').replace('orders: orders_total}', 'orders: orders_total, revenue: {trait: revenue_365d, round: 0}, last_order: last_order_at}'))
      const r = await sync(dir, {env})
      expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
      expect(r.syncs[0]!.planned.update).toBe((await sendable(dir, ['win_back'])).size)
      const c = new pg.Client({connectionString: server.url})
      await c.connect()
      try {
        const cols = await c.query<{column_name: string; data_type: string}>(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'segc' AND table_name = 'p'`)
        const type = (n: string) => cols.rows.find((x) => x.column_name === n)?.data_type
        expect([type('orders'), type('revenue'), type('last_order')]).toEqual(['bigint', 'numeric', 'timestamp with time zone'])
        const rows = await c.query<{entity_key: string; orders: string; revenue: string; last_order: Date | null}>('SELECT entity_key, orders, revenue, last_order FROM segc.p')
        const truth = await oracle(dir, T1)
        for (const x of rows.rows) expect(sent({...truth.get(x.entity_key)!})).toEqual({orders: Number(x.orders), revenue: Number(x.revenue), last_order: x.last_order?.toISOString() ?? null})
      } finally {
        await c.end()
      }
    }, 120_000)
  })

  describe('HubSpot', () => {
    let hub: HubSpotRecorder
    let url: string
    beforeAll(async () => {
      hub = new HubSpotRecorder('pat-na1-0123456789')
      url = await hub.start()
    })
    afterAll(async () => hub?.stop())
    const project = () => {
      const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'hs.yaml': TRAIT_SYNC.replace('sync: tr', 'sync: hs').replace('crm_hook', 'hubspot').replace('first_name: first_name', 'firstname: first_name')})
      appendFileSync(join(dir, 'segc.yaml'), `  hubspot: {type: hubspot, access_token: "\${env:HUBSPOT_TOKEN}", base_url: "${url}", rate_limit: 1000}\n`)
      return {dir, env: {...process.env, ...ENV, HUBSPOT_TOKEN: 'pat-na1-0123456789'}}
    }
    it('a property HubSpot does not have is named in a clear error before any contact is sent', async () => {
      const {dir, env} = project()
      hub.properties.set('orders', 'number')
      const r = await sync(dir, {env})
      expect(r.exit_code).toBe(2)
      expect(r.syncs[0]!.error).toMatch(/HubSpot has no contact properties 'revenue' \(number\), 'last_order' \(date picker with time\) for the fields of sync 'hs'/)
      expect(hub.requests.filter((q) => q.path.includes('batch/upsert'))).toEqual([])
    })
    it('with the properties defined: values sent as HubSpot property strings', async () => {
      const {dir, env} = project()
      hub.properties.set('revenue', 'number').set('last_order', 'datetime')
      const r = await sync(dir, {env})
      expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
      const truth = await oracle(dir, T1)
      const inputs = hub.requests.filter((q) => q.path.includes('batch/upsert')).flatMap((q) => (q.body as {inputs: Array<{id: string; properties: Record<string, string>}>}).inputs)
      const byEmail = await withProjectDb(dir, async (c) => new Map((await c.query('SELECT lower(email) AS e, customer_id FROM main.customers')).map((x) => [String(x.e), String(x.customer_id)])))
      expect(inputs.length).toBe((await sendable(dir, ['win_back'])).size)
      for (const i of inputs) {
        const t = sent(truth.get(byEmail.get(i.id.toLowerCase())!)!)
        expect({orders: i.properties.orders, revenue: i.properties.revenue, last_order: i.properties.last_order}).toEqual({orders: String(t.orders), revenue: String(t.revenue), last_order: t.last_order ?? ''})
      }
      expect(hub.requests.flatMap((q) => q.violations)).toEqual([])
    })
  })

  describe.skipIf(!PRISM_SPECS_PRESENT)('Klaviyo', () => {
    let prism: PrismMock
    beforeAll(async () => {
      prism = await startPrism(mergedKlaviyoSpec())
    }, 60_000)
    afterAll(async () => prism?.stop())
    it('values as custom profile properties of their JSON types, within Klaviyo’s contract', async () => {
      const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {'kl.yaml': TRAIT_SYNC.replace('sync: tr', 'sync: kl').replace('crm_hook', 'klaviyo')})
      appendFileSync(join(dir, 'segc.yaml'), `  klaviyo: {type: klaviyo, api_key: "\${env:KLAVIYO_KEY}", base_url: "${prism.url}", batch_size: 50, rate_limit: 1000}\n`)
      const r = await sync(dir, {env: {...process.env, ...ENV, KLAVIYO_KEY: 'pk_test_0123456789abcdef'}})
      expect(r.exit_code, JSON.stringify(r.syncs)).toBe(0)
      const upserts = prism.exchanges.filter((e) => e.method === 'POST' && e.path.startsWith('/api/profile-import'))
      expect(upserts.length).toBe((await sendable(dir, ['win_back'])).size)
      for (const e of upserts) expect(e.violations, JSON.stringify(e.body)).toBeUndefined()
      const truth = await oracle(dir, T1)
      const byEmail = await withProjectDb(dir, async (c) => new Map((await c.query('SELECT email, customer_id FROM main.customers')).map((x) => [String(x.email), String(x.customer_id)])))
      for (const e of upserts) {
        const a = (e.body as {data: {attributes: {email: string; properties: Record<string, unknown>}}}).data.attributes
        const {first_name, ...values} = a.properties
        expect(values).toEqual(sent(truth.get(byEmail.get(a.email)!)!))
      }
    }, 120_000)
  })
})

import {appendFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProject} from '../../src/run/run-project.js'
import {HubSpotRecorder} from '../helpers/hubspot-recorder.js'
import {withProjectDb} from '../helpers/state.js'
import {baseProject, sendable, sorted, state, sync, T2, withSyncs} from './sync-project.js'

// The HubSpot destination: the real @hubspot/api-client SDK against a recorder that checks the
// request shapes HubSpot documents (its OpenAPI files may not be copied here).

const TOKEN = 'pat-na1-0123456789'
let base: string
let hub: HubSpotRecorder
let url: string
beforeAll(async () => {
  hub = new HubSpotRecorder(TOKEN)
  // the custom contact properties the syncs below send, defined as a HubSpot admin would
  for (const [name, type] of [['segc_since', 'datetime'], ['segc_member', 'bool']]) hub.properties.set(name, type)
  ;[base, url] = await Promise.all([baseProject(), hub.start()])
}, 120_000)
afterAll(async () => hub?.stop())

function project(mode: string, extra = '') {
  const dir = withSyncs(base, 'http://127.0.0.1:9/unused', {
    'hs.yaml': `sync: hs\ndestination: hubspot\nsegments: [win_back, at_risk]\nmode: ${mode}\nidentify_by: email\nfields: {firstname: first_name, segc_since: entered_at, segc_member: in_segment}\nconsent: [email_opt_in]\n`,
  })
  appendFileSync(join(dir, 'segc.yaml'), `  hubspot: {type: hubspot, access_token: "\${env:HUBSPOT_TOKEN}", base_url: "${url}", list_id: 77, rate_limit: 1000${extra}}\n`)
  return {dir, env: {...process.env, SEGC_HOOK_SECRET: 'x', HUBSPOT_TOKEN: TOKEN}}
}

describe('segc sync to HubSpot (SDK against a recorder of the documented shapes)', () => {
  it('mirror: contacts upserted with their properties and added to the list; removals taken off; no violations', async () => {
    const {dir, env} = project('mirror')
    const expected = await sendable(dir, ['win_back', 'at_risk'])
    const r = await sync(dir, {env})
    expect(r.exit_code, JSON.stringify(r.syncs[0])).toBe(0)
    const upserts = hub.requests.filter((q) => q.path === '/crm/v3/objects/contacts/batch/upsert')
    expect(upserts.reduce((n, q) => n + (q.body as {inputs: unknown[]}).inputs.length, 0)).toBe(expected.size)
    const first = (upserts[0]!.body as {inputs: Array<{idProperty: string; properties: Record<string, string>}>}).inputs[0]!
    expect(first.idProperty).toBe('email')
    expect(Object.keys(first.properties).sort()).toEqual(['firstname', 'segc_member', 'segc_since'])
    expect(first.properties.segc_member).toBe('true')
    // the list holds exactly the sendable set's contacts
    const emailsInList = () => new Set([...hub.contacts].filter(([, id]) => hub.lists.get('77')?.has(id)).map(([email]) => email))
    expect([...emailsInList()].sort()).toEqual([...new Set(expected.values())].sort())
    const mark = hub.requests.length
    const withdrawn = [...expected.keys()].slice(0, 6).map((k) => k.split('|')[1]!)
    await withProjectDb(dir, (c) => c.execute(`UPDATE main.customers SET email_opt_in = FALSE WHERE customer_id IN ('${withdrawn.join("', '")}')`))
    await runProject({project: dir, asOf: T2, target: 'local'})
    const r2 = await sync(dir, {env})
    expect(r2.exit_code).toBe(0)
    const now = await sendable(dir, ['win_back', 'at_risk'])
    expect(r2.syncs[0]!.planned.remove).toBeGreaterThanOrEqual(6)
    const removed = hub.requests.slice(mark).filter((q) => q.path.endsWith('/memberships/remove')).reduce((n, q) => n + (q.body as string[]).length, 0)
    expect(removed).toBe(r2.syncs[0]!.planned.remove)
    // an entity in two synced segments is one contact: the list holds the contacts of the set
    expect([...emailsInList()].sort()).toEqual([...new Set(now.values())].sort())
    expect(sorted(await state(dir, 'hs'))).toEqual(sorted(now))
    expect(hub.requests.flatMap((q) => q.violations)).toEqual([])
  }, 120_000)

  it('a wrong token is a 401 from the SDK: one request, stop, exit 2', async () => {
    // one request in flight at a time: nothing else was already on its way when the 401 came
    const {dir} = project('upsert', ', concurrency: 1')
    const mark = hub.requests.length
    const r = await sync(dir, {env: {...process.env, SEGC_HOOK_SECRET: 'x', HUBSPOT_TOKEN: 'pat-wrong'}})
    expect(r.exit_code).toBe(2)
    expect(hub.requests.length - mark).toBe(1)
    // the first request of an upsert is the look at the contact properties the fields need
    expect(r.syncs[0]!.error).toBe("destination 'hubspot': contact properties: HTTP 401: Authentication credentials not found.")
  }, 60_000)
})

import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {CompletionItem, DocumentSymbol, Hover, Location} from 'vscode-languageserver-protocol'
import {explainSegment} from '../../src/explain/explain.js'
import {validateProject} from '../../src/validate/validate-project.js'
import {exampleCopy} from '../helpers/cli.js'
import {LspClient, positionOf} from './lsp-client.js'

const labels = (items: CompletionItem[] | null) => (items ?? []).map((i) => i.label)

describe('segc lsp on the example project', () => {
  let client: LspClient
  let dir: string
  const read = (p: string) => readFileSync(join(dir, p), 'utf8')

  beforeAll(async () => {
    dir = exampleCopy()
    client = await LspClient.start(dir)
    for (const f of ['models/shop.yaml', 'segments/lifecycle.yaml']) await client.open(f)
    await client.waitFor(() => client.diagnostics.has(client.uri('segments/lifecycle.yaml')))
  })
  afterAll(async () => {
    await client?.stop()
  })

  const complete = async (path: string, text: string, needle: string, shift: number) => {
    await client.open(path, text)
    const p = positionOf(text, needle, shift)
    return labels(await client.request<CompletionItem[] | null>('textDocument/completion', path, p.line, p.character))
  }

  it('completes names where names go, scoped by entity and event', async () => {
    const text = read('segments/lifecycle.yaml')
    const p = positionOf(text, 'trait: first_order_at', 'trait: '.length)
    const traits = labels(await client.request('textDocument/completion', 'segments/lifecycle.yaml', p.line, p.character))
    expect(traits).toEqual(expect.arrayContaining(['orders_total', 'revenue_365d', 'first_order_at', 'clv_1y']))
    // account's traits and the fitted models (not values) are not offered on a customer segment
    expect(traits).not.toContain('seat_utilisation')
    expect(traits).not.toContain('purchase_model')

    const doc = 'segment: t\nentity: customer\nrule:\n  event: \n'
    const events = await complete('segments/t.yaml', doc, 'event: ', 'event: '.length)
    expect(events).toEqual(expect.arrayContaining(['order', 'page_view', 'add_to_cart']))
    expect(events).not.toContain('account_login')

    const where = 'segment: t\nentity: customer\nrule:\n  event: order\n  where: {channel: web, }\n'
    expect(await complete('segments/t.yaml', where, 'web, ', 'web, '.length)).toEqual(expect.arrayContaining(['amount', 'category', 'channel']))
    const of = 'segment: t\nentity: customer\nrule: {event: order, aggregate: sum, of: am, gt: 1}\n'
    expect(await complete('segments/t.yaml', of, 'of: am', 'of: am'.length)).toEqual(expect.arrayContaining(['amount', 'category']))
    const attribute = 'segment: t\nentity: account\nrule:\n  attribute: \n'
    const attrs = await complete('segments/t.yaml', attribute, 'attribute: ', 'attribute: '.length)
    expect(attrs).toEqual(expect.arrayContaining(['seats', 'industry']))
    expect(attrs).not.toContain('email')
    const model = read('models/shop.yaml').replace('model: purchase_model, label: probability', 'model: , label: probability')
    expect(await complete('models/shop.yaml', model, 'model: , label: prob', 'model: '.length)).toEqual(['purchase_model', 'spend_model'])
    await client.open('models/shop.yaml', read('models/shop.yaml'))
  })

  it('completes keys from the JSON Schema, and enumerated values', async () => {
    const doc = 'segment: t\nentity: customer\nrule:\n  event: order\n  aggregate: \n  \n'
    const aggregates = await complete('segments/t.yaml', doc, 'aggregate: ', 'aggregate: '.length)
    expect(aggregates).toEqual(expect.arrayContaining(['count', 'sum', 'count_distinct', 'active_periods']))
    const keys = await complete('segments/t.yaml', doc, 'aggregate: \n  ', 'aggregate: \n  '.length)
    expect(keys).toEqual(expect.arrayContaining(['within', 'gte', 'between', 'of', 'where']))
    expect(keys).not.toContain('event') // already there
    expect(keys).not.toContain('description') // a segment's key, not a condition's
    const halfTyped = 'segment: t\nentity: customer\nrule:\n  event: order\n  wi\n'
    expect(await complete('segments/t.yaml', halfTyped, '  wi', '  wi'.length)).toContain('within')
    const top = await complete('segments/new.yaml', '', '', 0)
    expect(top).toEqual(expect.arrayContaining(['segment', 'group', 'entity', 'rule']))
    const fit = 'traits:\n  m:\n    fit: \n'
    expect(await complete('models/new.yaml', fit, 'fit: ', 'fit: '.length)).toEqual(['bgnbd', 'gamma_gamma', 'kmeans', 'propensity'])
    const target = 'name: x\ntargets:\n  local:\n    type: \n'
    expect(await complete('segc.yaml', target, 'type: ', 'type: '.length)).toEqual(['duckdb', 'snowflake', 'bigquery'])
    await client.open('segc.yaml', read('segc.yaml'))
  })

  it('hovers with the definition, and a segment rule in plain English', async () => {
    const text = read('segments/lifecycle.yaml')
    let p = positionOf(text, 'trait: first_order_at', 'trait: first'.length)
    const trait = await client.request<Hover>('textDocument/hover', 'segments/lifecycle.yaml', p.line, p.character)
    const value = (trait.contents as {value: string}).value
    expect(value).toContain('**trait** `first_order_at`: timestamp of customer')
    expect(value).toContain('first_order_at:        { event: order, aggregate: min, of: timestamp, label: first order }')
    p = positionOf(text, 'active_customer', 2)
    const segment = await client.request<Hover>('textDocument/hover', 'segments/lifecycle.yaml', p.line, p.character)
    const v = validateProject({project: dir})
    expect((segment.contents as {value: string}).value).toContain(explainSegment(v.project, 'active_customer'))
    expect(segment.range).toEqual({start: {line: p.line, character: p.character - 2}, end: {line: p.line, character: p.character - 2 + 'active_customer'.length}})
    // nothing to say on a description
    p = positionOf(text, 'Where each buying', 3)
    expect(await client.request('textDocument/hover', 'segments/lifecycle.yaml', p.line, p.character)).toBeNull()
  })

  it('goes to definitions of segments, traits, events and entities', async () => {
    const text = read('segments/lifecycle.yaml')
    const shop = read('models/shop.yaml')
    const def = async (needle: string, shift: number) => {
      const p = positionOf(text, needle, shift)
      return client.request<Location | null>('textDocument/definition', 'segments/lifecycle.yaml', p.line, p.character)
    }
    expect(await def('trait: first_order_at', 8)).toEqual({uri: client.uri('models/shop.yaml'), range: {start: positionOf(shop, 'first_order_at:'), end: positionOf(shop, 'first_order_at:', 'first_order_at'.length)}})
    expect((await def('event: order', 8))!.range.start).toEqual(positionOf(shop, '  order:', 2))
    expect((await def('entity: customer', 9))!.range.start).toEqual(positionOf(shop, '  customer:', 2))
    const seg = await def('[new_customer', 3)
    expect(seg).toEqual({uri: client.uri('segments/lifecycle.yaml'), range: {start: positionOf(text, 'segment: new_customer', 9), end: positionOf(text, 'segment: new_customer', 21)}})
  })

  it('finds every reference: in conditions, expressions, scores, across files', async () => {
    const shop = read('models/shop.yaml')
    const p = positionOf(shop, 'orders_365d:', 2)
    const refs = await client.request<Location[]>('textDocument/references', 'models/shop.yaml', p.line, p.character, {context: {includeDeclaration: true}})
    // the oracle: every whole-word occurrence outside comments in the project's YAML
    const want: string[] = []
    for (const f of ['models/shop.yaml', 'segments/accounts.yaml', 'segments/growth.yaml', 'segments/lifecycle.yaml', 'segments/rfm.yaml', 'segments/value.yaml', 'segments/growth.test.yaml', 'segments/lifecycle.test.yaml', 'segments/value.test.yaml']) {
      read(f)
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/#.*$/, '')
          for (const m of code.matchAll(/\borders_365d\b/g)) want.push(`${f}:${i}:${m.index}`)
        })
    }
    const got = refs.map((r) => `${decodeURIComponent(r.uri).slice(`file://${dir}/`.length)}:${r.range.start.line}:${r.range.start.character}`)
    expect(want.length).toBeGreaterThan(3)
    expect(got.sort()).toEqual(want.sort())
    const without = await client.request<Location[]>('textDocument/references', 'models/shop.yaml', p.line, p.character, {context: {includeDeclaration: false}})
    expect(without).toHaveLength(want.length - 1)
  })

  it('follows traits in a profile and in sync fields: definition, references, hover', async () => {
    const shop = read('models/shop.yaml')
    const sync = 'sync: t\ndestination: crm_hook\nsegments: [at_risk]\nmode: upsert\nfields: {first_name: first_name, orders: orders_total, revenue: {trait: revenue_365d, round: 0}}\n'
    await client.open('syncs/t.yaml', sync)
    const texts: Record<string, string> = {'models/shop.yaml': shop, 'syncs/t.yaml': sync}
    const at = (path: string, needle: string, shift: number) => positionOf(texts[path]!, needle, shift)
    const def = (path: string, needle: string, shift: number) => {
      const p = at(path, needle, shift)
      return client.request<Location | null>('textDocument/definition', path, p.line, p.character)
    }
    const defined = (needle: string, name: string) => ({uri: client.uri('models/shop.yaml'), range: {start: positionOf(shop, needle), end: positionOf(shop, needle, name.length)}})
    // a name in the entity's profile list; a sync's `{trait: ...}` and a bare trait field
    expect(await def('models/shop.yaml', 'profile: [orders_total, revenue_365d', 'profile: [orders_total, rev'.length)).toEqual(defined('revenue_365d:', 'revenue_365d'))
    expect(await def('models/shop.yaml', 'profile: [orders_total', 'profile: [ord'.length)).toEqual(defined('orders_total:', 'orders_total'))
    expect(await def('syncs/t.yaml', 'trait: revenue_365d', 'trait: rev'.length)).toEqual(defined('revenue_365d:', 'revenue_365d'))
    expect(await def('syncs/t.yaml', 'orders: orders_total', 'orders: ord'.length)).toEqual(defined('orders_total:', 'orders_total'))
    // an attribute field still names the attribute
    expect(await def('syncs/t.yaml', 'first_name: first_name', 'first_name: fi'.length)).toEqual(defined('first_name: {', 'first_name'))

    // references: every whole-word occurrence outside comments, the sync file and the profile list included
    const p = positionOf(shop, 'revenue_365d:', 2)
    const refs = await client.request<Location[]>('textDocument/references', 'models/shop.yaml', p.line, p.character, {context: {includeDeclaration: true}})
    const want: string[] = []
    const files = ['models/shop.yaml', ...readdirSync(join(dir, 'segments')).map((f) => `segments/${f}`), 'syncs/t.yaml']
    for (const f of files) {
      ;(texts[f] ?? read(f)).split('\n').forEach((line, i) => {
        for (const m of line.replace(/#.*$/, '').matchAll(/\brevenue_365d\b/g)) want.push(`${f}:${i}:${m.index}`)
      })
    }
    const got = refs.map((r) => `${decodeURIComponent(r.uri).slice(`file://${dir}/`.length)}:${r.range.start.line}:${r.range.start.character}`)
    const profileLine = shop.split('\n').findIndex((l) => /^\s*profile: \[/.test(l))
    expect(got).toContain(`models/shop.yaml:${profileLine}:${shop.split('\n')[profileLine]!.indexOf('revenue_365d')}`)
    expect(got).toContain(`syncs/t.yaml:4:${sync.split('\n')[4]!.indexOf('revenue_365d')}`)
    expect(got.sort()).toEqual(want.sort())

    // hover: the trait, and where a sync reads a published one from
    const hover = async (path: string, needle: string, shift: number) => {
      const q = at(path, needle, shift)
      return ((await client.request<Hover>('textDocument/hover', path, q.line, q.character)).contents as {value: string}).value
    }
    for (const [path, needle, shift] of [['models/shop.yaml', 'profile: [orders_total, revenue_365d', 'profile: [orders_total, rev'.length], ['syncs/t.yaml', 'trait: revenue_365d', 'trait: rev'.length]] as const) {
      const h = await hover(path, needle, shift)
      expect(h).toContain('**trait** `revenue_365d`: ')
      expect(h).toContain('of customer — revenue in the last year')
      expect(h).toContain('published: column `revenue_365d` of `segment_profiles_customer`')
      expect(h).toContain('revenue_365d:          { event: order, within: 365d, aggregate: sum, of: amount, label: revenue in the last year }')
    }
    expect(await hover('syncs/t.yaml', 'orders: orders_total', 'orders: ord'.length)).toContain('published: column `orders_total`')
    // a trait outside the profile is not said to be published
    const unpublished = 'sync: u\ndestination: crm_hook\nsegments: [at_risk]\nmode: upsert\nfields: {n: orders_365d}\n'
    await client.open('syncs/u.yaml', unpublished)
    texts['syncs/u.yaml'] = unpublished
    const h = await hover('syncs/u.yaml', 'n: orders_365d', 'n: ord'.length)
    expect(h).toContain('**trait** `orders_365d`')
    expect(h).not.toContain('published')
    await client.close('syncs/u.yaml')
    await client.close('syncs/t.yaml')
  })

  it('completes a sync field with its entity’s attributes, the built-ins and its profile’s traits; {trait:} with the profile alone', async () => {
    // the oracle: the profile list and the attributes as models/shop.yaml writes them
    const shop = read('models/shop.yaml')
    const profile = /^ {4}profile: \[(.*)\]$/m.exec(shop)![1]!.split(',').map((t) => t.trim())
    expect(profile.length).toBeGreaterThan(3)
    const head = 'sync: t\ndestination: crm_hook\nsegments: [at_risk]\nmode: upsert\nfields:\n'
    const bare = await complete('syncs/t.yaml', `${head}  a: \n`, '  a: ', '  a: '.length)
    expect(bare).toEqual(expect.arrayContaining([...profile, 'first_name', 'country', 'email_opt_in', 'in_segment', 'entered_at', 'entity_key']))
    // a trait the profile does not publish, and another entity's attribute, are not offered
    expect(bare).not.toContain('orders_365d')
    expect(bare).not.toContain('seats')
    const trait = await complete('syncs/t.yaml', `${head}  a:\n    trait: \n`, 'trait: ', 'trait: '.length)
    expect(trait.sort()).toEqual([...profile].sort())
    await client.close('syncs/t.yaml')
  })

  it('outlines a models file and a segments file', async () => {
    const symbols = await client.conn.sendRequest<DocumentSymbol[]>('textDocument/documentSymbol', {textDocument: {uri: client.uri('models/shop.yaml')}})
    const names = symbols.map((s) => `${s.detail}:${s.name}`)
    expect(names).toEqual(expect.arrayContaining(['entity:customer', 'entity:account', 'event:order', 'trait:orders_total', 'trait:clv_1y']))
    expect(symbols.find((s) => s.name === 'customer')!.children!.map((c) => c.name)).toContain('signup_at')
    const lifecycle = await client.conn.sendRequest<DocumentSymbol[]>('textDocument/documentSymbol', {textDocument: {uri: client.uri('segments/lifecycle.yaml')}})
    expect(lifecycle.map((s) => s.name)).toEqual(['lifecycle', 'new_customer', 'active_customer', 'at_risk', 'dormant', 'lost'])
  })
})

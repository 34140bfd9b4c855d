// HubSpot destination, through the official `@hubspot/api-client` 13.x SDK (imported only here;
// later majors need a newer Node). Contacts are upserted in batches by an identifying property
// (`id_property`, default email), which also returns their record ids; static list membership
// is changed with those ids.
//   audience: list membership (list_id)
//   upsert:   the fields as contact properties; a removal clears them ('')
//   mirror:   both
// An erase (segc forget) is HubSpot's GDPR delete of the contact, by the identifying property,
// one request per contact; a contact HubSpot no longer has (404) is as erased as it gets.
// HubSpot property values are strings: numbers, booleans and timestamps are sent as text.
import {Client} from '@hubspot/api-client'
import {classifyStatus, DeliveryError, retryAfterMs, type DestinationSession, type DestinationType} from '../../src/destination/destination.js'
import {fieldType, type FieldType} from '../../src/resolve/resolve-syncs.js'

interface ApiFailure {
  code?: number | string
  headers?: Record<string, string>
  body?: unknown
  message?: string
}

function failure(error: unknown, doing: string): DeliveryError {
  const e = error as ApiFailure
  if (typeof e.code !== 'number') return new DeliveryError(`${doing}: ${String(e.code ?? e.message ?? error)}`, 'retry')
  const body = e.body as {message?: string; category?: string} | undefined
  const why = body?.message ? `: ${body.message}` : body?.category ? `: ${body.category}` : ''
  return new DeliveryError(`${doing}: HTTP ${e.code}${why}`, classifyStatus(e.code) ?? 'fatal', e.code, retryAfterMs(e.headers?.['retry-after']))
}

/** The HubSpot property type that holds a field's values, for the message naming a missing property. */
const HUBSPOT_TYPE: Record<FieldType, string> = {string: 'single-line text', number: 'number', integer: 'number', boolean: 'single checkbox', timestamp: 'date picker with time', date: 'date picker'}

const text = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v))

export const hubspot: DestinationType = {
  type: 'hubspot',
  // batch upserts take at most 100 inputs; HubSpot's private apps allow ~10 requests/s
  defaults: {batchSize: 100, concurrency: 2, timeoutSeconds: 30, maxAttempts: 5, ratePerSecond: 8},
  eraseLimits: {batchSize: 1},
  async open(config, ctx): Promise<DestinationSession> {
    const client = new Client({accessToken: String(config.access_token), numberOfApiCallRetries: 0, ...(config.base_url ? {basePath: String(config.base_url).replace(/\/$/, '')} : {})})
    const idProperty = String(config.id_property ?? 'email')
    const listId = config.list_id === undefined ? undefined : String(config.list_id)
    const membership = ctx.mode === 'audience' || ctx.mode === 'mirror'
    const properties = ctx.mode === 'upsert' || ctx.mode === 'mirror'
    // HubSpot rejects a contact whose properties it does not define, row by row (400
    // PROPERTY_DOESNT_EXIST): one look at the contact properties first names the missing ones
    // and stops the sync before any contact is sent
    if (properties && ctx.sync.fields.length) {
      let defined: Set<string>
      try {
        defined = new Set((await client.crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name))
      } catch (error) {
        throw failure(error, 'contact properties')
      }
      const missing = ctx.sync.fields.filter((f) => !defined.has(f.name))
      if (missing.length) {
        const what = missing.map((f) => `'${f.name}' (${HUBSPOT_TYPE[fieldType(f.source)]})`).join(', ')
        throw new DeliveryError(`HubSpot has no contact propert${missing.length > 1 ? 'ies' : 'y'} ${what} for the fields of sync '${ctx.sync.name}': create ${missing.length > 1 ? 'them' : 'it'} in HubSpot (Settings > Properties > Contact properties, internal name as given) or rename the field`, 'fatal')
      }
    }
    return {
      async send(batch) {
        if (batch.every((o) => o.op === 'erase')) {
          for (const o of batch) {
            try {
              await client.crm.contacts.basicApi.purge({objectId: o.id, idProperty})
            } catch (error) {
              if ((error as ApiFailure).code === 404) continue
              throw failure(error, 'contact GDPR delete')
            }
          }
          return
        }
        const inputs = batch.map((o) => ({
          idProperty,
          id: o.id,
          properties: properties ? Object.fromEntries(ctx.sync.fields.map((f) => [f.name, o.op === 'remove' ? '' : text(o.fields[f.name])])) : {},
        }))
        let results: Array<{id: string; properties?: Record<string, string | null>}>
        try {
          results = (await client.crm.contacts.batchApi.upsert({inputs})).results
        } catch (error) {
          throw failure(error, 'contacts batch upsert')
        }
        if (!membership || !listId) return
        // results come back in no promised order: matched by the identifying property
        const idOf = new Map(results.map((r) => [String(r.properties?.[idProperty] ?? '').toLowerCase(), r.id]))
        const ids = batch.map((o, i) => ({remove: o.op === 'remove', id: idOf.get(o.id.toLowerCase()) ?? results[i]?.id}))
        if (ids.some((x) => x.id === undefined)) throw new DeliveryError('contacts batch upsert: HubSpot returned fewer contacts than were sent', 'retry')
        const add = ids.filter((x) => !x.remove).map((x) => x.id!)
        const remove = ids.filter((x) => x.remove).map((x) => x.id!)
        try {
          if (add.length) await client.crm.lists.membershipsApi.add(listId, add)
          if (remove.length) await client.crm.lists.membershipsApi.remove(listId, remove)
        } catch (error) {
          throw failure(error, `list ${listId}`)
        }
      },
      async close() {},
    }
  },
}

// Klaviyo destination, through the official `klaviyo-api` SDK (imported only here).
// Profiles are identified by email, phone number or external id (`id_field`); list membership
// goes through profile ids, so each operation first upserts its profile (create-or-update by
// identifier, which returns the id) and the batch's ids are then added to or removed from the
// list in one request each.
//   audience: list membership (list_id)
//   upsert:   the fields as custom profile properties; a removal clears them (null)
//   mirror:   both
// An erase (segc forget) is Klaviyo's Request Profile Deletion, one request per profile, by
// email or phone number; by external id through the profile id its upsert returns (Klaviyo
// deletes by email, phone number or profile id only).
// The SDK's own retries are off: segc's delivery engine retries, honouring Retry-After.
import {ApiKeySession, DataPrivacyApi, ListsApi, ProfilesApi, RetryWithExponentialBackoff} from 'klaviyo-api'
import {classifyStatus, DeliveryError, retryAfterMs, type DestinationSession, type DestinationType, type Operation, type RowResult} from '../../src/destination/destination.js'

type IdField = 'email' | 'phone_number' | 'external_id'
const ATTRIBUTE: Record<IdField, 'email' | 'phoneNumber' | 'externalId'> = {email: 'email', phone_number: 'phoneNumber', external_id: 'externalId'}

interface HttpFailure {
  response?: {status: number; headers?: Record<string, string>; data?: unknown}
  code?: string
  message?: string
}

/** What Klaviyo said, as the delivery engine needs it (no payload: the API echoes errors, not values). */
function failure(error: unknown, doing: string): DeliveryError {
  const e = error as HttpFailure
  if (!e.response) return new DeliveryError(`${doing}: ${e.code ?? e.message ?? String(error)}`, 'retry')
  const detail = (e.response.data as {errors?: Array<{detail?: string; title?: string}>} | undefined)?.errors?.[0]
  const why = detail ? `: ${detail.detail ?? detail.title}` : ''
  return new DeliveryError(`${doing}: HTTP ${e.response.status}${why}`, classifyStatus(e.response.status) ?? 'fatal', e.response.status, retryAfterMs(e.response.headers?.['retry-after']))
}

export const klaviyo: DestinationType = {
  type: 'klaviyo',
  // Klaviyo's list endpoints take up to 1,000 profiles; profile upserts are 75/s at burst
  defaults: {batchSize: 100, concurrency: 2, timeoutSeconds: 30, maxAttempts: 5, ratePerSecond: 10},
  // Request Profile Deletion: 3/s burst, 60/min steady
  eraseLimits: {batchSize: 1, concurrency: 1, ratePerSecond: 1},
  async open(config, ctx): Promise<DestinationSession> {
    const session = new ApiKeySession(String(config.api_key), new RetryWithExponentialBackoff({numRetries: 0}))
    const profiles = new ProfilesApi(session)
    const lists = new ListsApi(session)
    const privacy = new DataPrivacyApi(session)
    if (config.base_url) profiles.basePath = lists.basePath = privacy.basePath = String(config.base_url).replace(/\/$/, '')
    const idField = (config.id_field ?? 'email') as IdField
    const listId = config.list_id === undefined ? undefined : String(config.list_id)
    const membership = ctx.mode === 'audience' || ctx.mode === 'mirror'
    const properties = ctx.mode === 'upsert' || ctx.mode === 'mirror'

    /** Upserts one profile; its id, or a row rejection. */
    async function upsert(o: Operation): Promise<{id: string} | RowResult> {
      const removal = o.op === 'remove'
      // an erase only looks the profile up: its properties are about to go with it
      const props = properties && o.op !== 'erase' ? (removal ? Object.fromEntries(ctx.sync.fields.map((f) => [f.name, null])) : o.fields) : undefined
      try {
        const r = await profiles.createOrUpdateProfile({data: {type: 'profile', attributes: {[ATTRIBUTE[idField]]: o.id, ...(props ? {properties: props} : {})}}} as never)
        return {id: String(r.body.data.id)}
      } catch (error) {
        const f = failure(error, 'profile upsert')
        if (f.kind === 'reject') return {ok: false, reason: f.message, httpStatus: f.httpStatus}
        throw f
      }
    }

    /** Request Profile Deletion of one profile. */
    async function erase(o: Operation): Promise<RowResult> {
      let profile: Record<string, unknown>
      if (idField === 'external_id') {
        const found = await upsert(o)
        if (!('id' in found)) return found
        profile = {type: 'profile', id: found.id, attributes: {}}
      } else profile = {type: 'profile', attributes: {[ATTRIBUTE[idField]]: o.id}}
      try {
        await privacy.requestProfileDeletion({data: {type: 'data-privacy-deletion-job', attributes: {profile: {data: profile}}}} as never)
        return {ok: true}
      } catch (error) {
        const f = failure(error, 'profile deletion')
        if (f.kind === 'reject') return {ok: false, reason: f.message, httpStatus: f.httpStatus}
        throw f
      }
    }

    return {
      async send(batch) {
        if (batch.every((o) => o.op === 'erase')) {
          const results: RowResult[] = []
          for (const o of batch) results.push(await erase(o))
          return results
        }
        const results: RowResult[] = []
        const ids: Array<{id: string; remove: boolean}> = []
        for (const o of batch) {
          const r = await upsert(o)
          if ('id' in r) {
            ids.push({id: r.id, remove: o.op === 'remove'})
            results.push({ok: true})
          } else results.push(r)
        }
        if (membership && listId) {
          const add = ids.filter((x) => !x.remove).map((x) => ({type: 'profile', id: x.id}))
          const remove = ids.filter((x) => x.remove).map((x) => ({type: 'profile', id: x.id}))
          try {
            if (add.length) await lists.addProfilesToList(listId, {data: add} as never)
            if (remove.length) await lists.removeProfilesFromList(listId, {data: remove} as never)
          } catch (error) {
            // the list refused the batch: retry it, split it or stop, as for any request
            throw failure(error, `list ${listId}`)
          }
        }
        return results
      },
      async close() {},
    }
  },
}

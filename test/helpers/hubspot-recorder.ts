import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

// HubSpot's OpenAPI files may not be copied here, so this recorder checks the request shapes
// HubSpot documents for the two endpoints segc uses, and answers as documented:
//   POST /crm/v3/objects/contacts/batch/upsert   (CRM API | Contacts, "Create or update a batch
//        of contacts by unique property values"): Authorization: Bearer <token>; JSON body
//        {inputs: [{idProperty, id, properties: {name: string}}]}, 1 to 100 inputs
//   PUT  /crm/v3/lists/{listId}/memberships/add | /remove   (CRM API | Lists, "Add/Remove
//        records from a list"): a JSON array of record id strings
//   POST /crm/v3/objects/contacts/gdpr-delete   (CRM API | Contacts, "GDPR delete"): JSON body
//        {objectId: string, idProperty?: string}; 204 No Content. The contact and its list
//        memberships are gone afterwards; an id HubSpot does not hold is answered 404
//   GET  /crm/v3/properties/contacts   (CRM API | Properties, "Read all properties"):
//        {results: [{name, label, type, fieldType, groupName, ...}]}
// A batch upsert naming a property HubSpot does not define is answered 400 VALIDATION_ERROR
// with an error PROPERTY_DOESNT_EXIST per property, as HubSpot does.
// Every deviation is recorded as a violation and answered 400.

const NO_CONTENT = Symbol('204')
const NOT_FOUND = Symbol('404')
const UNKNOWN_PROPERTY = Symbol('PROPERTY_DOESNT_EXIST')

export interface Recorded {
  method: string
  path: string
  body: unknown
  violations: string[]
}

export class HubSpotRecorder {
  readonly requests: Recorded[] = []
  /** contacts by email → record id, as HubSpot would keep them */
  readonly contacts = new Map<string, string>()
  readonly lists = new Map<string, Set<string>>()
  /** contact properties by name → type: HubSpot's defaults here; a test defines its custom ones */
  readonly properties = new Map<string, string>([['email', 'string'], ['firstname', 'string'], ['lastname', 'string'], ['phone', 'string'], ['country', 'string'], ['city', 'string'], ['lifecyclestage', 'enumeration']])
  /** identifiers GDPR-deleted, in order */
  readonly erased: string[] = []
  private server?: Server

  constructor(private readonly token: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (raw += c))
      req.on('end', () => {
        const violations: string[] = []
        let body: unknown
        try {
          body = raw ? JSON.parse(raw) : undefined
        } catch {
          violations.push('body is not JSON')
        }
        if (!String(req.headers.authorization).startsWith('Bearer ')) violations.push(`authorization is '${req.headers.authorization}', not a Bearer token`)
        else if (req.headers.authorization !== `Bearer ${this.token}`) {
          // as HubSpot answers an unknown token
          this.requests.push({method: req.method!, path: req.url!, body, violations})
          res.writeHead(401, {'content-type': 'application/json'})
          res.end(JSON.stringify({status: 'error', message: 'Authentication credentials not found.', category: 'INVALID_AUTHENTICATION'}))
          return
        }
        // a GET carries no body to type
        if (req.method !== 'GET' && !String(req.headers['content-type']).startsWith('application/json')) violations.push(`content-type ${req.headers['content-type']}`)
        const reply = this.route(req.method!, req.url!, body, violations)
        this.requests.push({method: req.method!, path: req.url!, body, violations})
        if (!violations.length && reply === NO_CONTENT) {
          res.writeHead(204)
          res.end()
          return
        }
        if (!violations.length && reply === NOT_FOUND) {
          res.writeHead(404, {'content-type': 'application/json'})
          res.end(JSON.stringify({status: 'error', message: 'resource not found', category: 'OBJECT_NOT_FOUND'}))
          return
        }
        if (!violations.length && reply && typeof reply === 'object' && UNKNOWN_PROPERTY in reply) {
          const names = (reply as {[UNKNOWN_PROPERTY]: string[]})[UNKNOWN_PROPERTY]
          res.writeHead(400, {'content-type': 'application/json'})
          res.end(JSON.stringify({status: 'error', message: `Property values were not valid: ${JSON.stringify(names.map((name) => ({isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name})))}`, category: 'VALIDATION_ERROR'}))
          return
        }
        res.writeHead(violations.length ? 400 : 200, {'content-type': 'application/json'})
        res.end(JSON.stringify(violations.length ? {status: 'error', message: violations.join('; '), category: 'VALIDATION_ERROR'} : reply))
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`
  }

  private route(method: string, url: string, body: unknown, violations: string[]): unknown {
    const path = url.split('?')[0]!
    if (method === 'GET' && path === '/crm/v3/properties/contacts') {
      return {results: [...this.properties].map(([name, type]) => ({name, label: name, type, fieldType: type === 'string' ? 'text' : type, groupName: 'contactinformation', description: '', options: [], hidden: false, formField: true, calculated: false, externalOptions: false, hasUniqueValue: name === 'email'}))}
    }
    if (method === 'POST' && path === '/crm/v3/objects/contacts/batch/upsert') {
      const inputs = (body as {inputs?: unknown})?.inputs
      const unknown = [...new Set((Array.isArray(inputs) ? inputs : []).flatMap((i: {properties?: object}) => Object.keys(i.properties ?? {})))].filter((n) => !this.properties.has(n))
      if (unknown.length) return {[UNKNOWN_PROPERTY]: unknown}
      if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > 100) violations.push('inputs must be an array of 1 to 100')
      const now = new Date().toISOString()
      const results = (Array.isArray(inputs) ? inputs : []).map((input: {idProperty?: unknown; id?: unknown; properties?: unknown}, i) => {
        if (typeof input.idProperty !== 'string' || typeof input.id !== 'string' || input.id === '') violations.push(`inputs[${i}]: idProperty and id must be non-empty strings`)
        if (typeof input.properties !== 'object' || input.properties === null || Object.values(input.properties).some((v) => typeof v !== 'string')) violations.push(`inputs[${i}].properties values must be strings`)
        const key = String(input.id).toLowerCase()
        const isNew = !this.contacts.has(key)
        if (isNew) this.contacts.set(key, String(1000 + this.contacts.size))
        return {id: this.contacts.get(key), properties: {[String(input.idProperty)]: key, ...(input.properties as object)}, createdAt: now, updatedAt: now, archived: false, new: isNew}
      })
      // HubSpot promises no order: answer in reverse
      return {status: 'COMPLETE', results: results.reverse(), startedAt: now, completedAt: now}
    }
    const m = /^\/crm\/v3\/lists\/([^/]+)\/memberships\/(add|remove)$/.exec(path)
    if (method === 'PUT' && m) {
      if (!Array.isArray(body) || body.some((x) => typeof x !== 'string')) violations.push('the body must be an array of record id strings')
      const list = this.lists.get(m[1]!) ?? new Set<string>()
      this.lists.set(m[1]!, list)
      const ids = (Array.isArray(body) ? body : []) as string[]
      for (const id of ids) if (m[2] === 'add') list.add(id)
      else list.delete(id)
      return m[2] === 'add' ? {recordsIdsAdded: ids, recordIdsMissing: []} : {recordIdsRemoved: ids, recordIdsMissing: []}
    }
    if (method === 'POST' && path === '/crm/v3/objects/contacts/gdpr-delete') {
      const b = body as {objectId?: unknown; idProperty?: unknown} | undefined
      if (typeof b?.objectId !== 'string' || b.objectId === '') violations.push('objectId must be a non-empty string')
      if (b?.idProperty !== undefined && typeof b.idProperty !== 'string') violations.push('idProperty must be a string')
      const extra = Object.keys(b ?? {}).filter((k) => k !== 'objectId' && k !== 'idProperty')
      if (extra.length) violations.push(`unknown keys ${extra.join(', ')}`)
      // by record id without idProperty, by that property's value with it
      const key = String(b?.objectId ?? '').toLowerCase()
      const id = b?.idProperty === undefined ? key : this.contacts.get(key)
      const known = id !== undefined && [...this.contacts.values()].includes(id)
      if (!known) return NOT_FOUND
      for (const [k, v] of this.contacts) if (v === id) this.contacts.delete(k)
      for (const list of this.lists.values()) list.delete(id)
      this.erased.push(key)
      return NO_CONTENT
    }
    violations.push(`${method} ${path} is not an endpoint segc should call`)
    return {}
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}

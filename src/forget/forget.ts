// `segc forget` (SPEC §15): erase keys from every segc table in one transaction, record the
// request by the keys' hashes, queue one deletion per sync that had sent each key, then send
// every queued deletion through the sync delivery machinery (at least once, retried,
// idempotent). A deletion not acknowledged stays queued and is sent by the next `segc forget`.
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {diag, DiagnosticsError, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {ProfileStatements, profileTable} from '../generate/profile-sql.js'
import {IdentityEraseStatements} from '../identity/erase-sql.js'
import {EraseStatements, erasableTables, FORGET_KEYS, keyHash, type DeliveryUpdate} from '../generate/erase-sql.js'
import type {Dialect} from '../warehouse/dialect.js'
import {StateStatements} from '../generate/state-statements.js'
import {RunStatements} from '../generate/run-statements.js'
import {deliver, type DeliveryOptions, type Settled} from '../sync/deliver.js'
import type {Operation} from '../destination/destination.js'
import {deliveryLimits, destinationConfig} from '../sync/destination-config.js'
import {ERASURES, identitiesTable, RUNS, STATE_SOURCES} from '../warehouse/tables.js'
import {inTransaction, type WarehouseConnection} from '../warehouse/warehouse.js'
import {redact} from '../project/redact.js'
import {connectTarget, prepare, scratchEngine, type Prepared, type SessionOptions} from '../project/session.js'

export interface ForgetOptions extends SessionOptions {
  entity?: string
  keys?: string[]
  /** a file of keys, one per line */
  keysFile?: string
  dryRun?: boolean
  delivery?: DeliveryOptions
}

export interface DeliveryReport {
  sync: string
  destination: string
  /** deletions tried by this call */
  sent: number
  succeeded: number
  rejected: number
  pending: number
  error: string | null
}

export interface ForgetResult {
  status: 'done' | 'pending' | 'planned' | 'nothing'
  target: string
  request_id: string | null
  entity: string | null
  /** distinct keys asked to erase */
  keys: number
  /** rows removed (or, with --dry-run, that would be) per segc table */
  tables: Record<string, number>
  /** --dry-run: deletions that would be queued per sync */
  planned_deletions?: Array<{sync: string; destination: string | null; deletions: number}>
  deliveries: DeliveryReport[]
  /** deletions still not acknowledged after this call (sent again by the next segc forget) */
  pending: number
  warnings: Diagnostic[]
  notes: string[]
  exit_code: number
}

const SOURCE_NOTE = 'segc erases keys from its own tables and from the destinations it sent them to. The source tables it reads (your models, events and dbt sources) are yours: segc does not delete from them, so erase these people there too; until then segment_erasures keeps them out of every segment'

/**
 * The keys to erase: arguments first, then the file's lines (a line is a key exactly as
 * written; a trailing \r is a line ending). Blank lines are skipped; a line of only spaces is
 * refused (a key of spaces is more likely a mistake than a key), as is an empty file. A key
 * given twice is erased once, with a warning.
 */
export function readKeys(args: readonly string[], file: string | undefined, cwd: string): {keys: string[]; warnings: Diagnostic[]} {
  const errors: Diagnostic[] = []
  const warnings: Diagnostic[] = []
  const seen = new Map<string, string>()
  const add = (key: string, where: {file: string; line: number; col: number}) => {
    if (key === '' || key.trim() === '') {
      errors.push(diag('bad_keys', where, key === '' ? 'an empty key' : `a key of only whitespace ('${key}'): keys are taken exactly as written; remove the line`))
      return
    }
    const first = seen.get(key)
    if (first !== undefined) warnings.push(diag('duplicate_key', where, `the key on ${first} is given again: it is erased once`))
    else seen.set(key, `${where.file}:${where.line}`)
  }
  args.forEach((k, i) => add(k, {file: 'KEY', line: 1, col: i + 1}))
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(resolve(cwd, file), 'utf8')
    } catch (error) {
      throw new DiagnosticsError([diag('bad_keys', {file, line: 1, col: 1}, `cannot read the keys file: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`)])
    }
    const lines = text.split('\n')
    let any = false
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (line === '') return
      any = true
      add(line, {file, line: i + 1, col: 1})
    })
    if (!any) errors.push(diag('bad_keys', {file, line: 1, col: 1}, 'the keys file holds no key (one key per line)'))
  }
  if (errors.length) throw new DiagnosticsError(errors)
  return {keys: [...seen.keys()], warnings}
}

function chooseEntity(p: Prepared, entity: string | undefined): string {
  const entities = [...p.v.project.entities.keys()]
  if (entity !== undefined) {
    if (!p.v.project.entities.has(entity)) throw new DiagnosticsError([diag('unknown_entity', {file: '--entity', line: 1, col: 1}, `no entity '${entity}'${didYouMean(entity, entities)}`)])
    return entity
  }
  if (entities.length === 1) return entities[0]!
  throw new DiagnosticsError([diag('bad_flag', {file: '--entity', line: 1, col: 1}, `the project has ${entities.length} entities (${entities.join(', ')}): say whose keys these are with --entity`)])
}

const newRequestId = () => `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`

export async function forget(opts: ForgetOptions): Promise<ForgetResult> {
  const p = prepare(opts)
  const cwd = opts.cwd ?? process.cwd()
  const {keys, warnings} = readKeys(opts.keys ?? [], opts.keysFile, cwd)
  // without keys (a resend) --entity is not needed, but a wrong one is still an error
  const entity = keys.length || opts.entity !== undefined ? chooseEntity(p, opts.entity) : null
  const conn = opts.connection ?? (await connectTarget(p, opts))
  try {
    return await forgetOn(p, conn, entity, keys, warnings, opts)
  } finally {
    if (!opts.connection) await conn.close()
  }
}

async function forgetOn(p: Prepared, conn: WarehouseConnection, entity: string | null, keys: string[], warnings: Diagnostic[], opts: ForgetOptions): Promise<ForgetResult> {
  const {adapter} = p
  const schema = p.v.project.outputSchema
  const es = new EraseStatements(adapter.dialect, schema)
  const result: ForgetResult = {status: 'nothing', target: p.target.name, request_id: null, entity, keys: keys.length, tables: {}, deliveries: [], pending: 0, warnings, notes: [], exit_code: 0}
  const ran = await conn.tableExists(schema, RUNS.name)
  const rows = keys.map((k) => ({entity_key: k, key_hash: keyHash(entity!, k)}))
  if (opts.dryRun) {
    result.status = 'planned'
    if (!keys.length) {
      if (ran && (await conn.tableExists(schema, ERASURES.name))) result.pending = (await conn.query(es.pending())).length
      return result
    }
    for (const {def} of erasableTables()) result.tables[def.name] = 0
    if (ran) {
      for (const s of es.keys(rows)) await conn.execute(s)
      for (const [table, n] of await eraseState(conn, adapter.dialect, schema, entity!, true)) result.tables[table] = n
      for (const [table, n] of await eraseProfile(conn, adapter.dialect, schema, entity!, true)) result.tables[table] = n
      if (p.v.project.entities.get(entity!)?.identity) for (const [table, n] of await eraseIdentity(conn, adapter.dialect, schema, entity!, null)) result.tables[table] = n
      for (const r of await conn.query(es.counts(entity!))) result.tables[String(r.tbl)] = (result.tables[String(r.tbl)] ?? 0) + Number(r.n)
      result.planned_deletions = (await conn.query(es.previewDeliveries(entity!))).map((r) => ({sync: String(r.sync), destination: r.destination === null ? null : String(r.destination), deletions: Number(r.n)}))
    }
    result.notes.push(SOURCE_NOTE)
    return result
  }
  if (keys.length) {
    const requestId = newRequestId()
    const requestedAt = new Date().toISOString()
    result.request_id = requestId
    await inTransaction(conn, adapter, async () => {
      // the output tables may not exist yet: an erasure recorded before the first run still keeps the key out of it
      for (const s of new RunStatements(adapter.dialect, schema).setup()) await conn.execute(s)
      for (const s of es.keys(rows)) await conn.execute(s)
      const perKey = new Map<string, Record<string, number>>()
      for (const {def} of erasableTables()) result.tables[def.name] = 0
      for (const r of await conn.query(es.counts(entity!))) {
        const table = String(r.tbl)
        const n = Number(r.n)
        result.tables[table] = (result.tables[table] ?? 0) + n
        const k = String(r.entity_key)
        perKey.set(k, {...perKey.get(k), [table]: n})
      }
      await conn.execute(es.recountSizes(entity!))
      await conn.execute(es.queueDeliveries(requestId, entity!, requestedAt))
      for (const s of es.erase(entity!)) await conn.execute(s)
      // the day-bucket state of incremental runs (SPEC §13) holds keys too
      for (const [table, n] of await eraseState(conn, adapter.dialect, schema, entity!)) result.tables[table] = n
      // and its profile table (SPEC §19)
      for (const [table, n] of await eraseProfile(conn, adapter.dialect, schema, entity!)) result.tables[table] = n
      // and its identity map, keeping the identifiers' hashes so later runs keep them erased (SPEC §20)
      if (p.v.project.entities.get(entity!)?.identity) for (const [table, n] of await eraseIdentity(conn, adapter.dialect, schema, entity!, requestId)) result.tables[table] = n
      const queued = new Map((await conn.query(es.queuedPerKey(requestId))).map((r) => [String(r.key_hash), Number(r.n)]))
      const erasures = rows.map((r) => ({
        request_id: requestId,
        requested_at: requestedAt,
        entity: entity!,
        key_hash: r.key_hash,
        tables_rows: JSON.stringify(perKey.get(r.entity_key) ?? {}),
        status: (queued.get(r.key_hash) ?? 0) > 0 ? ('pending' as const) : ('done' as const),
      }))
      for (const s of es.insertErasures(erasures)) await conn.execute(s)
    })
    result.notes.push(SOURCE_NOTE)
  } else if (!ran || !(await conn.tableExists(schema, ERASURES.name))) {
    return result
  }
  await sendPending(p, conn, es, result, result.request_id ?? newRequestId(), opts)
  result.status = result.pending > 0 ? 'pending' : keys.length || result.deliveries.length ? 'done' : 'nothing'
  result.exit_code = result.pending > 0 ? 2 : 0
  return result
}

/**
 * The keys (in FORGET_KEYS) leave every state table of the entity; the registry's row counts
 * follow. Rows per state table, or with `count`, only counted.
 */
async function eraseState(conn: WarehouseConnection, dialect: Dialect, schema: string, entity: string, count = false): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (!(await conn.tableExists(schema, STATE_SOURCES.name))) return out
  const st = new StateStatements(dialect, schema)
  for (const r of await conn.query(st.ofEntity(entity))) {
    const table = String(r.state_table)
    if (!(await conn.tableExists(schema, table))) continue
    const n = Number((await conn.query(st.keyRows(table, FORGET_KEYS)))[0]!.n)
    out.set(table, n)
    if (count || n === 0) continue
    await conn.execute(st.eraseKeys(table, FORGET_KEYS))
    await conn.execute(st.erased(String(r.source_id), n))
  }
  return out
}

/**
 * The profiles keyed in FORGET_KEYS: their identifiers' hashes recorded under the request, and
 * their identity rows removed. Rows of the map per table; with no request, only counted.
 */
async function eraseIdentity(conn: WarehouseConnection, dialect: Dialect, schema: string, entity: string, requestId: string | null): Promise<Map<string, number>> {
  const table = identitiesTable(entity).name
  const mapped = await conn.tableExists(schema, table)
  const ie = new IdentityEraseStatements(dialect, schema)
  const n = mapped ? Number((await conn.query(ie.mapRows(entity, FORGET_KEYS)))[0]!.n) : 0
  if (requestId !== null) {
    for (const s of ie.setup()) await conn.execute(s)
    await conn.execute(ie.record(requestId, entity, FORGET_KEYS, mapped))
    if (mapped && n > 0) await conn.execute(ie.eraseMap(entity, FORGET_KEYS))
  }
  return mapped ? new Map([[table, n]]) : new Map()
}

/** The keys (in FORGET_KEYS) leave the entity's profile table, where a run wrote one. */
async function eraseProfile(conn: WarehouseConnection, dialect: Dialect, schema: string, entity: string, count = false): Promise<Map<string, number>> {
  const table = profileTable(entity)
  if (!(await conn.tableExists(schema, table))) return new Map()
  const ps = new ProfileStatements(dialect, schema)
  const n = Number((await conn.query(ps.keyRows(entity)))[0]!.n)
  if (!count && n > 0) await conn.execute(ps.eraseKeys(entity))
  return new Map([[table, n]])
}

interface Queued {
  request_id: string
  key_hash: string
  sync: string
  destination: string
  entity_key: string
  dest_key: string
  idempotency_key: string
}

/** Sends every queued deletion, a sync at a time; each settled batch is one transaction. `callId` names this call to destinations (the webhook's sync_run_id). */
async function sendPending(p: Prepared, conn: WarehouseConnection, es: EraseStatements, result: ForgetResult, callId: string, opts: ForgetOptions): Promise<void> {
  const queued: Queued[] = (await conn.query(es.pending())).map((r) => ({
    request_id: String(r.request_id),
    key_hash: String(r.key_hash),
    sync: String(r.sync),
    destination: String(r.destination),
    entity_key: String(r.entity_key),
    dest_key: String(r.dest_key),
    idempotency_key: String(r.idempotency_key),
  }))
  const bySync = new Map<string, Queued[]>()
  for (const q of queued) {
    const items = bySync.get(q.sync)
    if (items) items.push(q)
    else bySync.set(q.sync, [q])
  }
  const env = opts.env ?? process.env
  for (const [syncName, items] of bySync) {
    const report: DeliveryReport = {sync: syncName, destination: items[0]!.destination, sent: items.length, succeeded: 0, rejected: 0, pending: 0, error: null}
    result.deliveries.push(report)
    const settle = async (settled: Settled[]) => {
      const at = new Date().toISOString()
      const updates: DeliveryUpdate[] = settled.map((s) => ({idempotency_key: s.op.idempotency_key, status: s.outcome, attempts: s.attempts, http_status: s.httpStatus, reason: s.reason === null ? null : redact(s.reason)}))
      for (const s of settled) report[s.outcome === 'succeeded' ? 'succeeded' : s.outcome === 'rejected' ? 'rejected' : 'pending']++
      await inTransaction(conn, p.adapter, async () => {
        for (const s of es.settle(updates, at)) await conn.execute(s)
      })
    }
    const sync = p.v.syncs.get(syncName)
    const cannot = (why: string) => settle(items.map((q) => ({op: operation(q), outcome: 'pending', attempts: 0, httpStatus: null, reason: why}))).then(() => void (report.error = why))
    if (!sync) {
      await cannot(`sync '${syncName}' is no longer in the project, so segc cannot reach its destination: restore its definition and run segc forget again, or erase the key there by hand and delete its rows from segment_erasure_deliveries`)
      continue
    }
    const {destinationFor} = await import('../../destinations/index.js')
    const dest = await destinationFor(sync.destinationType)
    if (!dest) {
      await cannot(`destination type '${sync.destinationType}' is not available in this build of segc`)
      continue
    }
    const config = destinationConfig(p, sync.destination, env)
    const limits = deliveryLimits({...dest.defaults, ...dest.eraseLimits}, config)
    let fatal: string | undefined
    let session
    try {
      session = await dest.open(config, {sync, mode: sync.mode, syncRunId: callId, segmentRunId: null, root: p.v.root, fullResync: false, scratch: () => scratchEngine(p.v.root)}, limits)
    } catch (error) {
      fatal = (error as Error).message
    }
    if (session) {
      try {
        fatal = (await deliver(items.map(operation), session, limits, settle, opts.delivery)).fatal
      } finally {
        await session.close()
      }
    } else await cannot(`could not open the destination: ${fatal}`)
    if (fatal) report.error = redact(`destination '${sync.destination}': ${fatal}`)
    else if (report.pending + report.rejected > 0) report.error = `destination '${sync.destination}': ${report.pending + report.rejected} deletions not acknowledged; the next segc forget sends them again`
  }
  result.pending = result.deliveries.reduce((n, d) => n + d.pending + d.rejected, 0)
}

function operation(q: Queued): Operation {
  return {op: 'erase', segment: null, entity_key: q.entity_key, id: q.dest_key, idempotency_key: q.idempotency_key, fields: {}}
}

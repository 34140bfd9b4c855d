// The versions of fitted models a target holds (segment_models), and which of them a run may use.
import {createHash} from 'node:crypto'
import {sql} from 'kysely'
import {compilerFor, render} from '../generate/generate-sql.js'
import {table} from '../generate/output-sql.js'
import type {StoredModel} from '../plan/build-plan.js'
import type {Project} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import {MODELS} from '../warehouse/tables.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'

/**
 * What a model is fitted from: the trait's definition with the event (and its relation and
 * filters) it reads. A version fitted for another definition is never used to score.
 */
export function fitDefinitionHash(project: Project, name: string): string {
  const t = project.traits.get(name)!
  const d = t.def
  const event = d.kind === 'fit' && d.model !== 'kmeans' && d.model !== 'propensity' ? project.events.get(d.transactions.event) : undefined
  const text = JSON.stringify({entity: t.entity, def: d, event: event && {relation: event.relation, key: event.key, timestamp: event.timestamp, where: event.where}}, (k, v) => (k === 'loc' || k === 'label' ? undefined : v))
  return createHash('sha256').update(text).digest('hex')
}

/** The latest version of every model fitted for its current definition. */
export async function loadModels(conn: WarehouseConnection, project: Project, dialect: Dialect): Promise<Map<string, StoredModel>> {
  const schema = project.outputSchema
  if (!(await conn.tableExists(schema, MODELS.name))) return new Map()
  const db = compilerFor(dialect)
  const rows = await conn.query(render(db, sql`SELECT model, version, kind, params, definition_hash FROM ${table(schema, MODELS.name)} ORDER BY model, version`))
  const out = new Map<string, StoredModel>()
  for (const r of rows) {
    const model = String(r.model)
    const t = project.traits.get(model)
    if (!t || t.def.kind !== 'fit' || String(r.definition_hash) !== fitDefinitionHash(project, model)) continue
    out.set(model, {model, version: Number(r.version), kind: String(r.kind) as StoredModel['kind'], params: JSON.parse(String(r.params)) as Record<string, unknown>})
  }
  return out
}

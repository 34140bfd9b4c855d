// `segc forget` for an entity with identity (SPEC §20): the hashes of every identifier of the
// erased profiles are recorded in segment_erased_identifiers, and the profiles' rows leave the
// identity map. Later runs seed those identifiers as one erased profile (label-sql.ts).
import {sql} from 'kysely'
import {createTables} from '../generate/output-sql.js'
import {Statements} from '../generate/statements.js'
import {ERASED_IDENTIFIERS, identitiesTable} from '../warehouse/tables.js'

export class IdentityEraseStatements extends Statements {
  setup(): string[] {
    return createTables(this.dialect, this.schema, [ERASED_IDENTIFIERS]).map((s) => this.r(s))
  }

  /**
   * The identifiers of the profiles keyed in `keys` (a table with `entity_key`): their map rows,
   * and each key itself as a `key` identifier (a key erased before any run has no map row yet).
   */
  private identifiers(entity: string, keys: string, mapped: boolean): ReturnType<typeof sql> {
    const K = sql.id(keys)
    const own = sql`SELECT ${sql.lit('key')} AS kind, entity_key AS value FROM ${K}`
    return mapped ? sql`SELECT kind, value FROM ${this.t(identitiesTable(entity).name)} WHERE entity_key IN (SELECT entity_key FROM ${K}) UNION ${own}` : own
  }

  record(requestId: string, entity: string, keys: string, mapped: boolean): string {
    const hash = this.dialect.sha256Hex(sql`(${sql.lit(`${entity}:`)} || i.kind || ':' || i.value)`)
    return this.r(
      sql`INSERT INTO ${this.t(ERASED_IDENTIFIERS.name)} (request_id, entity, kind, value_hash) SELECT DISTINCT ${sql.lit(requestId)}, ${sql.lit(entity)}, i.kind, ${hash} FROM (${this.identifiers(entity, keys, mapped)}) AS i`,
    )
  }

  mapRows(entity: string, keys: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(identitiesTable(entity).name)} WHERE entity_key IN (SELECT entity_key FROM ${sql.id(keys)})`)
  }

  eraseMap(entity: string, keys: string): string {
    return this.r(sql`DELETE FROM ${this.t(identitiesTable(entity).name)} WHERE entity_key IN (SELECT entity_key FROM ${sql.id(keys)})`)
  }
}

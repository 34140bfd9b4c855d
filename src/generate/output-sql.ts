import {sql} from 'kysely'
import type {ColumnType, TableDef} from '../warehouse/tables.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'

export function columnType(dialect: Dialect, t: ColumnType): string {
  switch (t) {
    case 'string':
    case 'text':
      return dialect.stringType
    case 'timestamp':
      return dialect.timestampType
    case 'boolean':
      return dialect.booleanType
    case 'integer':
      return dialect.integerType
    case 'float':
      return dialect.floatType
  }
}

export const table = (schema: string, name: string): Sql => sql.id(schema, name)

export function createSchema(schema: string): Sql {
  return sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`
}

/** The schema and the given tables with their comments, each statement idempotent. */
/**
 * Each table created if missing, with its comments. `upgrades`, by table name: statements that
 * bring a table an earlier segc made up to date (columns added since), run right after its
 * CREATE and before its column comments, which name those columns.
 */
export function createTables(dialect: Dialect, schema: string, defs: readonly TableDef[], upgrades: ReadonlyMap<string, readonly Sql[]> = new Map()): Sql[] {
  const out = [createSchema(schema)]
  for (const def of defs) {
    const columns = def.columns.map((c) => ({name: c.name, type: columnType(dialect, c.type), comment: c.comment}))
    const [create, ...comments] = dialect.createTable(table(schema, def.name), def.comment, columns)
    out.push(create!, ...(upgrades.get(def.name) ?? []), ...comments)
  }
  return out
}

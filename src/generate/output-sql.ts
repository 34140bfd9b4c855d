import {sql} from 'kysely'
import type {ColumnType, TableDef} from '../run/tables.js'
import type {Dialect, Sql} from './dialect.js'

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

export function createTable(dialect: Dialect, schema: string, def: TableDef): Sql {
  const cols = def.columns.map((col) => sql`${sql.id(col.name)} ${sql.raw(columnType(dialect, col.type))}`)
  return sql`CREATE TABLE IF NOT EXISTS ${table(schema, def.name)} (${sql.join(cols)})`
}

import {DefaultQueryCompiler} from 'kysely'

/**
 * DuckDB quotes identifiers with double quotes and strings with single quotes; inside a
 * string only the quote itself needs doubling (backslashes are ordinary characters,
 * https://duckdb.org/docs/sql/data_types/literal_types#string-literals).
 */
export class DuckDBQueryCompiler extends DefaultQueryCompiler {
  protected override sanitizeIdentifier(identifier: string): string {
    return identifier.replaceAll('"', '""')
  }

  protected override sanitizeStringLiteral(value: string): string {
    return value.replaceAll("'", "''")
  }

  protected override appendImmediateValue(value: unknown): void {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL number`)
    super.appendImmediateValue(value)
  }
}

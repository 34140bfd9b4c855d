import {DefaultQueryCompiler} from 'kysely'

/**
 * BigQuery quotes identifiers with backticks and escapes inside them, and inside strings,
 * with a backslash (https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#string_and_bytes_literals).
 * Quotes, backslashes and newlines in a literal are written as escape sequences.
 */
export class BigQueryQueryCompiler extends DefaultQueryCompiler {
  protected override getLeftIdentifierWrapper(): string {
    return '`'
  }

  protected override getRightIdentifierWrapper(): string {
    return '`'
  }

  protected override sanitizeIdentifier(identifier: string): string {
    return identifier.replaceAll('\\', '\\\\').replaceAll('`', '\\`')
  }

  protected override sanitizeStringLiteral(value: string): string {
    return value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n').replaceAll('\r', '\\r')
  }

  protected override appendImmediateValue(value: unknown): void {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL number`)
    super.appendImmediateValue(value)
  }
}

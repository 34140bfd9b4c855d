import {DefaultQueryCompiler} from 'kysely'

/**
 * Snowflake resolves unquoted identifiers as upper case, and quoted ones exactly
 * (https://docs.snowflake.com/en/sql-reference/identifiers-syntax). segc quotes every
 * identifier so reserved words and odd names are safe, and upper-cases the plain lower-case
 * ones (`main.customers` → "MAIN"."CUSTOMERS"), which is what an unquoted name in a
 * Snowflake worksheet means. Names with upper case, spaces or other characters are kept
 * exactly.
 *
 * In string literals the backslash is an escape character
 * (https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants),
 * so it is doubled along with the quote.
 */
export class SnowflakeQueryCompiler extends DefaultQueryCompiler {
  protected override sanitizeIdentifier(identifier: string): string {
    const name = /^[a-z_][a-z0-9_$]*$/.test(identifier) ? identifier.toUpperCase() : identifier
    return name.replaceAll('"', '""')
  }

  protected override sanitizeStringLiteral(value: string): string {
    return value.replaceAll('\\', '\\\\').replaceAll("'", "''")
  }

  protected override appendImmediateValue(value: unknown): void {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL number`)
    super.appendImmediateValue(value)
  }
}

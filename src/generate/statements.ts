import {sql} from 'kysely'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {compilerFor, render} from './generate-sql.js'
import {table} from './output-sql.js'

/** rows per INSERT or keyed DELETE: far within every warehouse's statement-size limit, and
 * DuckDB parses 150 VALUES lists of 2,000 rows far faster than one of 300,000 */
export const ROWS_PER_STATEMENT = 2000

/**
 * What every builder of output-table statements (runs, syncs, forget) shares: SQL text for one
 * dialect, tables named in the output schema, and typed NULLs for values that may be missing.
 */
export abstract class Statements {
  protected readonly db

  constructor(
    protected readonly dialect: Dialect,
    protected readonly schema: string,
  ) {
    this.db = compilerFor(dialect)
  }

  /** a table of the output schema */
  protected t(name: string): Sql {
    return table(this.schema, name)
  }

  protected r(s: Sql): string {
    return render(this.db, s)
  }

  /** a timestamp literal of an ISO instant */
  protected ts(iso: string): Sql {
    return this.dialect.timestamp(iso)
  }

  /** a string literal, or NULL typed as the warehouse's string */
  protected str(v: string | null): Sql {
    return v === null ? sql`CAST(NULL AS ${sql.raw(this.dialect.stringType)})` : sql.lit(v)
  }

  /** an integer literal, or NULL typed as the warehouse's integer */
  protected int(v: number | null): Sql {
    return v === null ? sql`CAST(NULL AS ${sql.raw(this.dialect.integerType)})` : sql.lit(Math.trunc(v))
  }
}

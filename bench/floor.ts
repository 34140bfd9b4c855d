import {sql} from 'kysely'
import type {Dialect, Sql} from '../src/generate/dialect.js'
import {compilerFor, ExprWriter, sourceScan} from '../src/generate/generate-sql.js'
import type {SourcePlan} from '../src/plan/plan-types.js'

/** The floor's scan of one source: the same conditional aggregates, nothing else. */
export function aggregateScan(dialect: Dialect, asOf: string, source: SourcePlan): Sql {
  return sql`${sourceScan(compilerFor(dialect), dialect, new ExprWriter(dialect, asOf), asOf, source)}`
}

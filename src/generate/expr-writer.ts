// Plan expressions to SQL: the writer every statement builder shares (membership, models,
// state). It imports no other generator file, so each of them can import it.
import {sql} from 'kysely'
import type {PlanExpr} from '../plan/plan-types.js'
import type {Relation, ValueType} from '../resolve/model.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'

/** The plan node of one kind (works for nodes that share a shape across kinds, like and/or). */
type NodeOf<K> = PlanExpr extends infer T ? (T extends {k: infer TK} ? (K extends TK ? T : never) : never) : never

export function relationSql(relation: Relation): Sql {
  return relation.kind === 'table' ? sql.id(...relation.path) : sql`(${sql.raw(relation.sql)})`
}

/** Plan expressions to SQL, one handler per node kind (a new kind without a handler does not compile). */
export class ExprWriter {
  constructor(
    private readonly dialect: Dialect,
    private readonly asOf: string,
    private readonly qualifier?: string,
  ) {}

  write(e: PlanExpr): Sql {
    const h = this.handlers[e.k] as (e: PlanExpr) => Sql
    return h(e)
  }

  /**
   * A condition whose only use is to be TRUE or not (WHERE, CASE WHEN, FILTER, IF): there a
   * NULL already counts as not TRUE, so `truth` (NULL → FALSE) is dropped through AND and OR,
   * which keep that reading. Under NOT it stays. Over 50M events, 11 aggregates' COALESCEs
   * cost ~1 s of a 5.8 s scan.
   */
  writeCondition(e: PlanExpr): Sql {
    if (e.k === 'truth') return this.writeCondition(e.operand)
    if (e.k === 'and' || e.k === 'or') return sql`(${sql.join(e.items.map((i) => this.writeCondition(i)), sql` ${sql.raw(e.k.toUpperCase())} `)})`
    return this.write(e)
  }

  private readonly handlers: {[K in PlanExpr['k']]: (e: NodeOf<K>) => Sql} = {
    col: (e) => (this.qualifier ? sql.id(this.qualifier, e.name) : sql.id(e.name)),
    lit: (e) => {
      if (e.type === 'timestamp') return this.dialect.timestamp(e.value as string)
      if (e.type === 'date') return this.dialect.date(e.value as string)
      return sql.lit(e.value)
    },
    null: () => sql`NULL`,
    arith: (e) => (e.op === '/' ? this.dialect.divide(this.write(e.left), this.write(e.right)) : sql`(${this.write(e.left)} ${sql.raw(e.op)} ${this.write(e.right)})`),
    // −(a negative literal) would be written `--5`, which SQL reads as a comment
    neg: (e) => (e.operand.k === 'lit' && typeof e.operand.value === 'number' ? sql.lit(-e.operand.value) : sql`(-${this.write(e.operand)})`),
    fn: (e) => {
      const args = e.args.map((a) => this.write(a))
      if (e.fn === 'round') return sql`round(CAST(${args[0]!} AS ${sql.raw(this.dialect.floatType)}), ${args[1] ?? sql.lit(0)})`
      // least/greatest are NULL when any argument is (as in Snowflake and BigQuery; DuckDB alone would skip NULLs).
      if (e.fn === 'least' || e.fn === 'greatest') {
        // an argument that is never NULL (a literal, a model's linear predictor) needs no check:
        // checking it would only write it out again
        const checked = args.filter((_, i) => !neverNull(e.args[i]!))
        const call = sql`${sql.raw(e.fn.toUpperCase())}(${sql.join(args)})`
        return checked.length ? sql`CASE WHEN ${sql.join(checked.map((a) => sql`${a} IS NULL`), sql` OR `)} THEN NULL ELSE ${call} END` : call
      }
      return sql`${sql.raw(e.fn.toUpperCase())}(${sql.join(args)})`
    },
    elapsed: (e) => sql`CAST(floor(${this.dialect.secondsUntil(this.write(e.value), this.asOf)} / ${sql.lit(e.unitSeconds)}) AS ${sql.raw(this.dialect.integerType)})`,
    cmp: (e) => sql`(${this.write(e.left)} ${sql.raw(e.op)} ${this.write(e.right)})`,
    in: (e) => sql`(${this.write(e.value)} ${sql.raw(e.negated ? 'NOT IN' : 'IN')} (${sql.join(e.list.map((v) => this.write(v)))}))`,
    match: (e) => this.dialect.match(e.mode, this.write(e.value), e.pattern),
    is_null: (e) => sql`(${this.write(e.value)} ${sql.raw(e.negated ? 'IS NOT NULL' : 'IS NULL')})`,
    and: (e) => sql`(${sql.join(e.items.map((i) => this.write(i)), sql` AND `)})`,
    or: (e) => sql`(${sql.join(e.items.map((i) => this.write(i)), sql` OR `)})`,
    not: (e) => sql`(NOT ${this.write(e.operand)})`,
    truth: (e) => sql`COALESCE(${this.write(e.operand)}, FALSE)`,
    // NULLs sit in their own partition, so buckets are cut over the non-NULL values only.
    ntile: (e) => {
      const v = this.write(e.value)
      return sql`CASE WHEN ${v} IS NULL THEN NULL ELSE NTILE(${sql.lit(e.buckets)}) OVER (PARTITION BY (${v} IS NULL) ORDER BY ${v} ${sql.raw(e.order.toUpperCase())}, ${this.write(e.key)} ASC) END`
    },
    holdout_bucket: (e) => this.dialect.holdoutBucket(sql`(${sql.lit(`${e.segment}:${e.salt}:`)} || ${this.write(e.key)})`),
    when: (e) => sql`CASE WHEN ${this.writeCondition(e.when)} THEN ${this.write(e.then)} END`,
    to_string: (e) => sql`CAST(${this.write(e.value)} AS ${sql.raw(this.dialect.stringType)})`,
    to_float: (e) => sql`CAST(${this.write(e.value)} AS ${sql.raw(this.dialect.floatType)})`,
    nearest: (e) => {
      const point = e.point.map((p) => this.write(p))
      const distance = e.centroids.map((c) => sql`(${sql.join(c.map((v, i) => sql`(${point[i]!} - ${sql.lit(v)}) * (${point[i]!} - ${sql.lit(v)})`), sql` + `)})`)
      // the first index whose distance is no larger than any other's: ties go to the lower index
      const whens = distance.map((d, j) => {
        const others = distance.filter((_, m) => m !== j)
        return sql`WHEN ${others.length ? sql.join(others.map((o) => sql`${d} <= ${o}`), sql` AND `) : sql`TRUE`} THEN ${sql.lit(j + 1)}`
      })
      return sql`CASE WHEN ${sql.join(point.map((p) => sql`${p} IS NULL`), sql` OR `)} THEN NULL ${sql.join(whens, sql` `)} END`
    },
  }
}

/**
 * True when `e` is NULL for no row, as far as its shape shows: literals, and arithmetic on
 * never-NULL operands (a division only by a non-zero literal, since Dialect.divide turns a zero
 * divisor into NULL). Conservative: false where unsure.
 */
export function neverNull(e: PlanExpr): boolean {
  switch (e.k) {
    case 'lit':
    case 'truth':
      return true
    case 'neg':
      return neverNull(e.operand)
    case 'to_float':
      return neverNull(e.value)
    case 'arith':
      if (e.op === '/') return neverNull(e.left) && e.right.k === 'lit' && typeof e.right.value === 'number' && e.right.value !== 0
      return neverNull(e.left) && neverNull(e.right)
    case 'fn':
      if (e.fn === 'coalesce') return e.args.some(neverNull)
      if (e.fn === 'nullif') return false
      return e.args.every(neverNull)
    default:
      return false
  }
}

/** A `number` value as the exact type sums add in (Dialect.exactType); other values as they are. */
export function exact(dialect: Dialect, v: Sql, type: ValueType | undefined): Sql {
  return type === 'number' ? sql`CAST(${v} AS ${sql.raw(dialect.exactType)})` : v
}

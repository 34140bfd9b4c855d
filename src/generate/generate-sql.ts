import {DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, sql, type SelectQueryBuilder} from 'kysely'
import {format} from 'sql-formatter'
import {attrColumn, columnsOf, ERASED_COLUMN, KEY_COLUMN, storedColumn} from '../plan/build-plan.js'
import type {AggregatePlan, EntityPlan, Plan, PlanExpr, SegmentOutput, SourcePlan} from '../plan/plan-types.js'
import {isTwoStep, isWindowed, type Dialect, type Sql, type TwoStep, type Windowed} from '../warehouse/dialect.js'
import {counted as countedAggregates, countedCombine, incrementalParts, incrementalRows, incrementalStepRows} from './state-sql.js'
import {atNbdLimit, hypergeometricSelects, predictionSelect, summarySelect} from './model-sql.js'
import {exact, ExprWriter, relationSql} from './expr-writer.js'
import {preAggregable, preAggregatedScan} from './pre-aggregate.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = Kysely<any>

/** A kysely instance that only compiles: no driver, no connection. */
export function compilerFor(dialect: Dialect): AnyDb {
  return new Kysely({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => dialect.createQueryCompiler(),
    },
  })
}

/** Renders a raw fragment to SQL text for this dialect (literals inline, escaped by the dialect's compiler). */
export function render(db: AnyDb, fragment: Sql): string {
  const compiled = fragment.compile(db)
  if (compiled.parameters.length) throw new Error('internal: a value reached SQL as a parameter instead of an escaped literal')
  return compiled.sql
}

function aggregateSql(dialect: Dialect, w: ExprWriter, a: AggregatePlan, asOf: string): Sql | TwoStep | Windowed {
  const when = w.writeCondition(a.when)
  const v = a.value ? w.write(a.value) : sql`1`
  const gated = sql`CASE WHEN ${when} THEN ${v} END`
  switch (a.kind) {
    case 'count':
      return a.value ? sql`count(${gated})` : dialect.countIf(when)
    case 'count_distinct':
      return sql`count(DISTINCT ${gated})`
    case 'sum':
      return sql`sum(${exact(dialect, gated, a.valueType)})`
    case 'avg':
      return dialect.divide(sql`sum(${exact(dialect, gated, a.valueType)})`, sql`count(${gated})`)
    case 'min':
      return sql`min(${gated})`
    case 'max':
      return sql`max(${gated})`
    case 'first':
    case 'last':
      return dialect.firstLast(a.kind, v, w.write(a.timestamp), when, a.valueType ?? 'string')
    case 'most_frequent':
      return dialect.mostFrequent(v, when, a.valueType ?? 'string')
    case 'active_periods': {
      const index = sql`floor(${dialect.secondsUntil(w.write(a.timestamp), asOf)} / ${sql.lit(a.periodSeconds!)})`
      return dialect.activePeriods(index, when, a.minCount ?? 1, a.maxPeriodIndex)
    }
  }
}

/** `column IN` the run's touched keys (SPEC §13), typed as the entity table's key. */
export function touchedIn(touched: string, column: Sql): Sql {
  return sql`${column} IN (SELECT ek FROM ${sql.id(touched)})`
}

/** One GROUP BY scan of an event relation computing every aggregate on it (of the touched keys only, with `touched`). */
export function sourceScan(db: AnyDb, dialect: Dialect, w: ExprWriter, asOf: string, s: SourcePlan, touched?: string): any {
  // an identity entity is never evaluated by touched keys (it is labelled again every run)
  const attribution = touched ? undefined : preAggregable(s)
  if (attribution) return preAggregatedScan(db, dialect, w, s, attribution)
  const parts = s.aggregates.map((a) => ({id: a.id, sql: aggregateSql(dialect, w, a, asOf)}))
  const relation = touched ? sql`(SELECT * FROM ${relationSql(s.relation)} AS ev WHERE ${touchedIn(touched, sql.id('ev', s.key))})` : relationSql(s.relation)
  return groupedScan(db, relation, s.key, w.writeCondition(s.filter), parts)
}

/** Aggregates of rows of `relation` grouped by `key`, with the two-step and windowed ones finished. */
function groupedScan(db: AnyDb, relation: Sql, key: string, filter: Sql | undefined, parts: Array<{id: string; sql: Sql | TwoStep | Windowed}>): any {
  const counted = (id: string) => `${id}__n`
  const windows = parts.flatMap((p) => (isWindowed(p.sql) ? [p.sql.window(sql.id(key)).as(counted(p.id))] : []))
  // window functions see the filtered rows: the filter moves into the select that computes them
  let from: any = relation.as('ev')
  if (windows.length) {
    from = db.selectFrom(relation.as('ev')).selectAll('ev').select(windows)
    if (filter) from = from.where(filter)
    from = from.as('ev')
  }
  let scan: any = db
    .selectFrom(from)
    .select(sql.id(key).as(KEY_COLUMN))
    .select(parts.map((p) => (isTwoStep(p.sql) ? p.sql.aggregate : isWindowed(p.sql) ? p.sql.aggregate(sql.id(counted(p.id))) : p.sql).as(p.id)))
  if (!windows.length && filter) scan = scan.where(filter)
  scan = scan.groupBy(sql.id(key))
  if (!parts.some((p) => isTwoStep(p.sql))) return scan
  return db
    .selectFrom(scan.as('agg'))
    .select(sql.id('agg', KEY_COLUMN).as(KEY_COLUMN))
    .select(parts.map((p) => (isTwoStep(p.sql) ? p.sql.finish(sql.id('agg', p.id)) : sql.id('agg', p.id)).as(p.id)))
}

/**
 * The CTEs of an incremental source (SPEC §13): the rows from state and source, their
 * aggregates, and each most_frequent from its counts, joined by key under the source's name.
 */
function withIncrementalSource(q: any, dialect: Dialect, asOf: string, entity: string, s: SourcePlan, touched?: string): any {
  const rows = cte(entity, `${s.id}_rows`)
  // touched keys: the engine pushes the key filter into each branch of the union (state and slices)
  const all = incrementalRows(dialect, asOf, s)
  q = q.with(rows, () => (touched ? sql`(SELECT * FROM (${all}) AS r WHERE ${touchedIn(touched, sql.id('r', KEY_COLUMN))})` : sql`(${all})`))
  const counted = countedAggregates(s)
  const main = counted.length ? cte(entity, `${s.id}_main`) : cte(entity, s.id)
  q = q.with(main, (db: AnyDb) => groupedScan(db, sql.id(rows), KEY_COLUMN, undefined, incrementalParts(dialect, asOf, s)))
  if (!counted.length) return q
  for (const a of counted) q = q.with(cte(entity, `${s.id}_${a.id}`), () => sql`(${countedCombine(dialect, rows, a, asOf, s)})`)
  return q.with(cte(entity, s.id), (db: AnyDb) => {
    let b: any = db.selectFrom(sql.id(main).as('m')).selectAll('m' as any)
    for (const a of counted) {
      const alias = `f_${a.id}`
      b = b.leftJoin(sql.id(cte(entity, `${s.id}_${a.id}`)).as(alias), (j: any) => j.on(sql`${sql.id(alias, KEY_COLUMN)} = ${sql.id('m', KEY_COLUMN)}`))
      b = b.select(sql.id(alias, a.id).as(a.id))
    }
    return b
  })
}

/** CTE names of one entity's part of the query. */
export const cte = (entity: string, part: string) => `${entity}__${part}`

/**
 * The membership query of a plan: `segment`, `entity`, `entity_key`, `holdout`, one row
 * per member. One GROUP BY scan per event source, one pass over each entity relation.
 */
export function membershipQuery(db: AnyDb, dialect: Dialect, plan: Plan): SelectQueryBuilder<any, any, any> | undefined {
  const parts = plan.entities.filter((e) => e.segments.length > 0)
  if (parts.length === 0) return undefined
  let query: any = db
  for (const e of parts) query = withMembers(withEntityCtes(query, dialect, plan.asOf, e), dialect, plan.asOf, e)
  const selects = parts.map((e) => unpivoted(db, dialect, e))
  let q = selects[0]!
  for (const s of selects.slice(1)) q = q.unionAll(s)
  // withEntityCtes returned a QueryCreator carrying the CTEs; re-root the union on it.
  return rootOn(query, q)
}

/** `segc_key` and one column `f<i>` per value, for every entity of the plan. */
export function featureQuery(db: AnyDb, dialect: Dialect, asOf: string, e: EntityPlan, values: PlanExpr[]): SelectQueryBuilder<any, any, any> {
  const creator = withEntityCtes(db, dialect, asOf, e)
  const last = lastLayer(e)
  const w = new ExprWriter(dialect, asOf)
  return creator.selectFrom(last).select(sql.id(KEY_COLUMN).as(KEY_COLUMN)).select(values.map((v, i) => w.write(v).as(`f${i}`)))
}

/** The key column of a layer's ranks, named apart from the layer's own `segc_key`. */
const RANK_KEY = 'segc_rank_key'
/** the inner projection's column for the ranked value j of a layer */
const RANK_VALUE = 'segc_rank_v'

function rootOn(creator: any, q: any): any {
  // kysely keeps CTEs on the QueryCreator; selectFrom on it attaches them to the top-level query.
  return creator.selectFrom(q.as('segc_members')).selectAll()
}

/** An entity's CTEs: its scans, sequences, fits, base row and layers (up to `lastLayer(e)`). */
export function withEntityCtes(creator: any, dialect: Dialect, asOf: string, e: EntityPlan): any {
  let q = creator
  for (const s of e.sources) {
    const w = new ExprWriter(dialect, asOf)
    if (s.incremental) q = withIncrementalSource(q, dialect, asOf, e.entity, s, e.touched)
    else q = q.with(cte(e.entity, s.id), (db: AnyDb) => sourceScan(db, dialect, w, asOf, s, e.touched))
  }
  for (const seq of e.sequences) {
    seq.steps.forEach((step, i) => {
      const w = new ExprWriter(dialect, asOf)
      const previous = i > 0 ? cte(e.entity, `${seq.id}_s${i}`) : undefined
      q = q.with(cte(e.entity, `${seq.id}_s${i + 1}`), (db: AnyDb) => {
        const ts = sql.id('c', step.timestamp)
        // incremental: the step's kept times and the source's new rows, filtered inside
        let b = step.incremental
          ? db.selectFrom(sql`(${incrementalStepRows(dialect, asOf, step)})`.as('c')).select([sql.id('c', step.key).as('k'), ts.as('t')])
          : db
              .selectFrom(relationSql(step.relation).as('c'))
              .select([sql.id('c', step.key).as('k'), ts.as('t')])
              .where(w.writeCondition(step.filter))
        if (e.touched) b = b.where(touchedIn(e.touched, sql.id('c', step.key)))
        if (previous) {
          // a reachable previous step strictly earlier, and no further back than max_gap
          const gap = seq.maxGapSeconds !== undefined ? sql` AND p.t >= ${dialect.minusSeconds(ts, seq.maxGapSeconds)}` : sql``
          b = b.where(sql<boolean>`EXISTS (SELECT 1 FROM ${sql.id(previous)} AS p WHERE p.k = ${sql.id('c', step.key)} AND p.t < ${ts}${gap})`)
        }
        return b
      })
    })
  }
  for (const m of e.models ?? []) {
    const summary = cte(e.entity, `sum_${m.model}`)
    q = q.with(summary, () => sql`(${summarySelect(dialect, asOf, m)})`)
    let hyp: string | undefined
    if (m.kind === 'bgnbd' && m.horizons.length && !atNbdLimit(m)) {
      hyp = cte(e.entity, `hyp_${m.model}`)
      const names = {args: cte(e.entity, `hyparg_${m.model}`), prefix: cte(e.entity, `hyppre_${m.model}`)}
      const h = hypergeometricSelects(dialect, summary, m, names)
      q = q.with(names.args, () => sql`(${h.args})`)
      q = q.with(names.prefix, () => sql`(${h.prefix})`)
      q = q.with(hyp, () => sql`(${h.result})`)
    }
    q = q.with(cte(e.entity, `pred_${m.model}`), () => sql`(${predictionSelect(summary, hyp, m, dialect.floatType)})`)
  }
  q = q.with(cte(e.entity, 'base'), (db: AnyDb) => {
    let b = db.selectFrom(relationSql(e.relation).as('ent')).select(sql.id('ent', e.key).as(KEY_COLUMN))
    if (e.only) b = b.where(new ExprWriter(dialect, asOf, 'ent').writeCondition(e.only))
    if (e.touched) b = b.where(touchedIn(e.touched, sql.id('ent', e.key)))
    b = b.select(e.attributes.map((a) => sql.id('ent', a.column).as(attrColumn(a.name))))
    if (e.stored) {
      // one join however many frozen segments: a row per stored member, a column per segment
      const stored = e.stored
      const storedRows = db
        .selectFrom(sql.id(...stored.table).as('m'))
        .select(sql.id('m', 'entity_key').as('entity_key'))
        .select(stored.segments.map((seg) => sql`MAX(CASE WHEN ${sql.id('m', 'segment')} = ${sql.lit(seg)} THEN 1 END)`.as(storedColumn(seg))))
        .where(sql<boolean>`${sql.id('m', 'entity')} = ${sql.lit(e.entity)} AND ${sql.id('m', 'segment')} IN (${sql.join(stored.segments.map((seg) => sql.lit(seg)))})`)
        .groupBy(sql.id('m', 'entity_key'))
      b = b.leftJoin(storedRows.as('stored'), (j: any) => j.on(sql`${sql.id('stored', 'entity_key')} = CAST(${sql.id('ent', e.key)} AS ${sql.raw(dialect.stringType)})`))
      b = b.select(stored.segments.map((seg) => sql.id('stored', storedColumn(seg)).as(storedColumn(seg))))
    }
    if (e.erased) {
      // the hashes of this entity's erased keys, each once (a key forgotten twice has two rows)
      const str = sql.raw(dialect.stringType)
      const hashes = db
        .selectFrom(sql.id(...e.erased.table).as('x'))
        .select(sql.id('x', 'key_hash').as('key_hash'))
        .where(sql<boolean>`${sql.id('x', 'entity')} = ${sql.lit(e.entity)}`)
        .distinct()
      const hashed = dialect.sha256Hex(sql`${sql.lit(`${e.entity}:`)} || CAST(${sql.id('ent', e.key)} AS ${str})`)
      b = b.leftJoin(hashes.as('erased'), (j: any) => j.on(sql`${sql.id('erased', 'key_hash')} = ${hashed}`))
      b = b.select(sql.id('erased', 'key_hash').as(ERASED_COLUMN))
    }
    for (const seq of e.sequences) {
      const done = db.selectFrom(sql.id(cte(e.entity, `${seq.id}_s${seq.steps.length}`)).as('d')).select(sql.id('d', 'k').as('k')).distinct()
      b = b.leftJoin(done.as(seq.id), (j: any) => j.on(sql`${sql.id(seq.id, 'k')} = ${sql.id('ent', e.key)}`))
      b = b.select(sql.id(seq.id, 'k').as(seq.id))
    }
    for (const s of e.sources) {
      const alias = s.id
      b = b.leftJoin(sql.id(cte(e.entity, s.id)).as(alias), (j: any) => j.on(sql`${sql.id(alias, KEY_COLUMN)} = ${sql.id('ent', e.key)}`))
      b = b.select(s.aggregates.map((a) => (a.emptyValue === 0 ? sql`COALESCE(${sql.id(alias, a.id)}, 0)` : sql.id(alias, a.id)).as(a.id)))
    }
    for (const m of e.models ?? []) {
      const alias = `fit_${m.model}`
      const columns = ['x', 't_x', 'big_t', 'm_x', ...(m.kind === 'bgnbd' ? ['p_alive', ...m.horizons.map((_, j) => `e${j}`)] : ['spend'])]
      b = b.leftJoin(sql.id(cte(e.entity, `pred_${m.model}`)).as(alias), (j: any) => j.on(sql`${sql.id(alias, KEY_COLUMN)} = ${sql.id('ent', e.key)}`))
      b = b.select(columns.map((c) => sql.id(alias, c).as(`fit__${m.model}__${c}`)))
    }
    return b
  })
  let previous = cte(e.entity, 'base')
  e.layers.forEach((layer, i) => {
    const name = cte(e.entity, `layer${i + 1}`)
    const from = previous
    const w = new ExprWriter(dialect, asOf)
    const ranked = layer.filter((c) => c.expr.k === 'ntile')
    const plain = layer.filter((c) => c.expr.k !== 'ntile')
    if (ranked.length === 0) {
      q = q.with(name, (db: AnyDb) => db.selectFrom(from).selectAll().select(plain.map((c) => w.write(c.expr).as(c.name))))
    } else {
      // A window over `SELECT *` makes the engine carry every column of the layer through its
      // sort (DuckDB: ~1.5 s per NTILE at 1M entities and 100 columns, 0.1 s over two).
      // Ranked over the key and the value alone, then joined back by the key, the sort stays narrow.
      const ranks = cte(e.entity, `layer${i + 1}_rank`)
      // the narrow projection is explicit: DuckDB does not push one into a CTE read twice
      const read = [...new Set([KEY_COLUMN, ...ranked.flatMap((c) => columnsOf(c.expr))])]
      // Each ranked value is computed once, in an inner projection, and ranked by its column: a
      // value written out over the base columns (a derived trait, a model's probability) would
      // otherwise be evaluated for the CASE, the partition and the order alike.
      const values = ranked.map((c, j) => ({name: c.name, expr: c.expr as Extract<PlanExpr, {k: 'ntile'}>, value: `${RANK_VALUE}${j}`}))
      q = q.with(ranks, (db: AnyDb) =>
        db
          .selectFrom(
            db
              .selectFrom(db.selectFrom(from).select(read.map((c) => sql.id(c).as(c))).as('n'))
              .select(sql.id(KEY_COLUMN).as(KEY_COLUMN))
              .select(values.map((x) => w.write(x.expr.value).as(x.value)))
              .as('v'),
          )
          .select(sql.id(KEY_COLUMN).as(RANK_KEY))
          .select(values.map((x) => sql.id(x.value).as(x.value)))
          .select(values.map((x) => w.write({...x.expr, value: {k: 'col', name: x.value}}).as(x.name))),
      )
      // a column of the layer that is a ranked value (the plan put it here for this) is taken as ranked
      const rankedValues = new Map(values.map((x) => [JSON.stringify(x.expr.value), x.value]))
      const given = (c: {expr: PlanExpr}) => rankedValues.get(JSON.stringify(c.expr))
      q = q.with(name, (db: AnyDb) =>
        db
          .selectFrom(sql.id(from).as('p'))
          .leftJoin(sql.id(ranks).as('r'), (j: any) => j.on(sql`${sql.id('r', RANK_KEY)} = ${sql.id('p', KEY_COLUMN)}`))
          .selectAll('p' as any)
          .select(plain.map((c) => (given(c) ? sql.id('r', given(c)!) : w.write(c.expr)).as(c.name)))
          .select(ranked.map((c) => sql.id('r', c.name).as(c.name))),
      )
    }
    previous = name
  })
  return q
}

/** The CTE holding every trait and condition column of an entity: its last layer. */
export const lastLayer = (e: EntityPlan): string => (e.layers.length ? cte(e.entity, `layer${e.layers.length}`) : cte(e.entity, 'base'))

/** True for the entities a segment draws into its holdout (SPEC §4's md5 buckets); undefined when it has none. */
export function heldOut(w: ExprWriter, s: SegmentOutput): Sql | undefined {
  if (!s.holdout) return undefined
  return sql`${w.write({k: 'holdout_bucket', segment: s.segment, salt: s.holdout.salt, key: {k: 'to_string', value: {k: 'col', name: KEY_COLUMN}}})} < ${sql.lit(Math.round(s.holdout.percent * 100))}`
}

/** One column per segment: 2 = member in the holdout, 1 = member, NULL = not a member (UNPIVOT drops NULLs). */
function withMembers(creator: any, dialect: Dialect, asOf: string, e: EntityPlan): any {
  const w = new ExprWriter(dialect, asOf)
  return creator.with(cte(e.entity, 'members'), (db: AnyDb) =>
    db
      .selectFrom(lastLayer(e))
      .select(sql.id(KEY_COLUMN).as(KEY_COLUMN))
      .select(
        e.segments.map((s) => {
          const held = heldOut(w, s)
          return sql`CASE WHEN ${sql.id(s.member)} THEN ${held ? sql`CASE WHEN ${held} THEN 2 ELSE 1 END` : sql`1`} END`.as(s.segment)
        }),
      ),
  )
}

function unpivoted(db: AnyDb, dialect: Dialect, e: EntityPlan): any {
  const columns = sql.join(e.segments.map((s) => sql.id(s.segment)))
  const from = sql`${sql.id(cte(e.entity, 'members'))} UNPIVOT (${sql.id('segc_m')} FOR ${sql.id('segment')} IN (${columns}))`
  return db
    .selectFrom(from.as('u'))
    .select([
      // LOWER: Snowflake names the unpivoted columns as it stores them, upper case
      sql`LOWER(${sql.id('u', 'segment')})`.as('segment'),
      sql.lit(e.entity).as('entity'),
      sql`CAST(${sql.id('u', KEY_COLUMN)} AS ${sql.raw(dialect.stringType)})`.as('entity_key'),
      sql`(${sql.id('u', 'segc_m')} = 2)`.as('holdout'),
    ])
}

export function formatSql(dialect: Dialect, text: string): string {
  try {
    return format(text, {language: dialect.formatterLanguage, keywordCase: 'upper', tabWidth: 2, linesBetweenQueries: 1})
  } catch {
    return text
  }
}

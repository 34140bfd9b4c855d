// Touched keys (SPEC §13), the statements: an entity's snapshot (the rows of its table a run
// last evaluated, the attributes its plan reads), the touched keys of a run as a scratch table,
// and the snapshot moved on once the run has evaluated them. The snapshot is kept beside the
// event state, registered in segment_state_sources (so `segc stats --state` and `segc forget`
// find it) and shaped like a state table's key rows: segc_day and segc_events stay NULL.
import {createHash} from 'node:crypto'
import {sql} from 'kysely'
import {attrColumn, KEY_COLUMN} from '../plan/build-plan.js'
import type {EntityPlan} from '../plan/plan-types.js'
import type {Crossing, TouchedRelation} from '../plan/touched.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {ExprWriter, relationSql} from './expr-writer.js'
import {DAY_COLUMN, EVENTS_COLUMN, spanSql} from './state-sql.js'
import {Statements} from './statements.js'

/** the scratch table of an entity's touched keys: `ek` as the entity table types its key, `k` as a string (the membership's entity_key) */
export const touchedTable = (entity: string) => `segc_touched__${entity}`

/** The columns of the entity table a plan reads besides its key, each once, in a fixed order. */
const snapshotColumns = (e: EntityPlan): string[] => [...new Set(e.attributes.map((a) => a.column).filter((c) => c !== e.key))].sort()

/** The snapshot table of an entity: its name follows the columns it keeps, so another set of columns is another table. */
export const snapshotTable = (e: EntityPlan): string =>
  `segment_state_entity_${e.entity}_${createHash('sha256').update(JSON.stringify([e.relation, e.key, snapshotColumns(e)])).digest('hex').slice(0, 12)}`

export class TouchedStatements extends Statements {
  /** The entity's rows as the snapshot keeps them; erased keys (segc forget) never in it. */
  private rows(e: EntityPlan): Sql {
    const cols = snapshotColumns(e)
    const str = sql.raw(this.dialect.stringType)
    const select = [
      sql`${sql.id('ent', e.key)} AS ${sql.id(KEY_COLUMN)}`,
      sql`CAST(NULL AS DATE) AS ${sql.id(DAY_COLUMN)}`,
      sql`CAST(NULL AS ${sql.raw(this.dialect.integerType)}) AS ${sql.id(EVENTS_COLUMN)}`,
      ...cols.map((c, i) => sql`${sql.id('ent', c)} AS ${sql.id(`a${i + 1}`)}`),
    ]
    const erased = e.erased
      ? sql` WHERE ${this.dialect.sha256Hex(sql`${sql.lit(`${e.entity}:`)} || CAST(${sql.id('ent', e.key)} AS ${str})`)} NOT IN (SELECT key_hash FROM ${sql.id(...e.erased.table)} WHERE entity = ${sql.lit(e.entity)})`
      : sql``
    return sql`SELECT ${sql.join(select)} FROM ${relationSql(e.relation)} AS ent${erased}`
  }

  /** the snapshot table, empty, with the entity table's column types */
  create(e: EntityPlan): string {
    return this.r(sql`CREATE TABLE IF NOT EXISTS ${this.t(snapshotTable(e))} AS SELECT * FROM (${this.rows(e)}) AS r WHERE 1 = 0`)
  }

  /**
   * The touched keys into their scratch table: entity rows changed, added or removed since the
   * snapshot; keys with a row in one of each relation's spans, or landed after `loadedAfter`
   * (loaded_at); keys a crossing condition moved between the two as_ofs. Keys come from the
   * entity table (the event relation's key column may be typed otherwise), a removed one from
   * the snapshot.
   */
  touched(e: EntityPlan, relations: TouchedRelation[], crossings: Crossing[], asOf: string, previous: string, loadedAfter: string | null): string {
    const cols = snapshotColumns(e)
    const str = sql.raw(this.dialect.stringType)
    const k = sql.id(KEY_COLUMN)
    const differs = cols.map((_, i) => sql`n.${sql.id(`a${i + 1}`)} IS DISTINCT FROM o.${sql.id(`a${i + 1}`)}`)
    const parts: Sql[] = [
      sql`SELECT COALESCE(n.${k}, o.${k}) AS ek FROM (${this.rows(e)}) AS n FULL OUTER JOIN ${this.t(snapshotTable(e))} AS o ON o.${k} = n.${k}
        WHERE ${sql.join([sql`n.${k} IS NULL`, sql`o.${k} IS NULL`, ...differs], sql` OR `)}`,
    ]
    // each range its own select (an engine prunes by a plain range, not by an OR of them), and
    // the entity table read once for all of them
    const eventKeys = relations.flatMap((r) => {
      const ts = sql.id('ev', r.timestamp)
      const reads = r.spans.map((s) => spanSql(this.dialect, ts, s))
      if (r.loadedAt && loadedAfter) reads.push(sql`${sql.id('ev', r.loadedAt)} > ${this.dialect.timestamp(loadedAfter)} AND ${ts} <= ${this.dialect.timestamp(asOf)}`)
      return reads.map((read) => sql`SELECT ${sql.id('ev', r.key)} AS ${k} FROM ${relationSql(r.relation)} AS ev WHERE ${read}`)
    })
    if (eventKeys.length) {
      parts.push(sql`SELECT ${sql.id('ent', e.key)} AS ek FROM ${relationSql(e.relation)} AS ent WHERE ${sql.id('ent', e.key)} IN (${sql.join(eventKeys, sql` UNION ALL `)})`)
    }
    if (crossings.length) {
      const attrs = e.attributes.map((a) => sql`${sql.id('ent', a.column)} AS ${sql.id(attrColumn(a.name))}`)
      const before = new ExprWriter(this.dialect, previous)
      const now = new ExprWriter(this.dialect, asOf)
      const moved = crossings.map((c) => sql`${before.write({k: 'truth', operand: c.before})} <> ${now.write({k: 'truth', operand: c.now})}`)
      parts.push(sql`SELECT ${k} AS ek FROM (SELECT ${sql.id('ent', e.key)} AS ${k}, ${sql.join(attrs)} FROM ${relationSql(e.relation)} AS ent) AS ent WHERE ${sql.join(moved, sql` OR `)}`)
    }
    return this.r(this.dialect.createTempTable(touchedTable(e.entity), sql`SELECT DISTINCT t.ek AS ek, CAST(t.ek AS ${str}) AS k FROM (${sql.join(parts, sql` UNION ALL `)}) AS t WHERE t.ek IS NOT NULL`))
  }

  count(entity: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${sql.id(touchedTable(entity))}`)
  }

  /** The snapshot moved on to this run: the touched keys' rows replaced, or (`whole`) every row. */
  write(e: EntityPlan, whole: boolean): string[] {
    const t = this.t(snapshotTable(e))
    const k = sql.id(KEY_COLUMN)
    if (whole) return [this.r(sql`DELETE FROM ${t} WHERE TRUE`), this.r(sql`INSERT INTO ${t} SELECT * FROM (${this.rows(e)}) AS r`)]
    const touched = sql`(SELECT ek FROM ${sql.id(touchedTable(e.entity))})`
    return [this.r(sql`DELETE FROM ${t} WHERE ${k} IN ${touched}`), this.r(sql`INSERT INTO ${t} SELECT * FROM (${this.rows(e)}) AS r WHERE r.${k} IN ${touched}`)]
  }

  /** the newest load time over the relations a touched plan reads by loaded_at: rows landed after it are new to the next run */
  lastLoaded(relations: TouchedRelation[]): string | undefined {
    const loaded = relations.filter((r) => r.loadedAt)
    if (!loaded.length) return undefined
    // the least of each relation's newest: a row landed after it in any relation is read next time
    const each = loaded.map((r) => sql`(SELECT MAX(${sql.id('ev', r.loadedAt!)}) FROM ${relationSql(r.relation)} AS ev)`)
    return this.r(sql`SELECT ${each.length === 1 ? each[0]! : sql`LEAST(${sql.join(each)})`} AS loaded`)
  }
}

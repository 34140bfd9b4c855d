// Profiles (SPEC §19): the statements that write `segment_profiles_<entity>`.
//
// A run evaluates each entity once. `layer()` materializes the last layer's few columns a run
// needs — the key, each segment's member flag and holdout draw, each profile trait — into a
// scratch table; the membership diff (diff-sql.ts) and the profile both read that table, so
// nothing is evaluated twice. The profile is then changed in place: rows of keys that left
// the universe are deleted, rows whose values differ are updated (and only they get this run's
// `changed_run_id`), new keys are inserted. A change of the table's columns (a trait added or
// dropped, a type or a comment changed) rebuilds the table from a copy of its rows first, so
// the values still compare against what the table held.
import {sql} from 'kysely'
import {ERASED_COLUMN, KEY_COLUMN} from '../plan/build-plan.js'
import type {EntityPlan, Plan} from '../plan/plan-types.js'
import type {ProfileColumn, ProfileColumnType} from '../resolve/resolve-profile.js'
import {PROFILE_COLUMNS} from '../warehouse/tables.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {withEntityCtes, heldOut, lastLayer} from './generate-sql.js'
import {ExprWriter} from './expr-writer.js'
import {Statements} from './statements.js'
import {FORGET_KEYS} from './erase-sql.js'

export {profileTable} from '../resolve/resolve-profile.js'
import {profileTable} from '../resolve/resolve-profile.js'

/** A profile column with the comment its table carries. */
export type ProfileTableColumn = ProfileColumn & {comment: string}

/** the scratch table holding an entity's evaluated last layer (what diff and profile read) */
export const layerTable = (entity: string) => `segc_layer__${entity}`
/** the scratch table of an entity's profile rows as this run computes them */
const freshTable = (entity: string) => `segc_profile__${entity}`
/** the scratch copy of a profile table being rebuilt with other columns */
const oldTable = (entity: string) => `segc_profile_old__${entity}`

/** layer columns: a segment's holdout draw, a profile trait's value */
export const heldColumn = (segment: string) => `held__${segment}`
const valueColumn = (trait: string) => `value__${trait}`

/** The warehouse type of a profile column. */
export function profileColumnType(dialect: Dialect, t: ProfileColumnType): string {
  switch (t) {
    case 'string':
      return dialect.stringType
    case 'number':
      return dialect.floatType
    case 'integer':
      return dialect.integerType
    case 'boolean':
      return dialect.booleanType
    case 'timestamp':
      return dialect.timestampType
    case 'date':
      // the one spelling every dialect shares
      return 'DATE'
    case 'exact':
      return dialect.exactType
  }
}

/** What a profile table held after a run: its columns as segment_profile_columns records them. */
export interface RecordedColumn {
  column_name: string
  kind: string
  value_type: string
  comment: string
}

/** What one run writes into one entity's profile. */
export interface ProfileWrite {
  entity: string
  /** every column the table has, in order */
  columns: ProfileTableColumn[]
  /** the columns this run computes (a --select run computes only its segments' flags) */
  written: ProfileTableColumn[]
  /** rebuild the table with `columns` before writing: it is missing or its columns changed */
  rebuild: boolean
  /** with rebuild: the columns the old table has, carried over by name */
  carried: string[]
  /** the old table exists */
  exists: boolean
  /**
   * the run evaluated only these keys (SPEC §13's touched keys; the scratch table, `k` the key
   * as a string): a key not among them keeps its row, and only a touched key can be gone
   */
  touched?: string
}

export class ProfileStatements extends Statements {
  /** segc forget: the profile rows of the keys being erased, counted and deleted */
  keyRows(entity: string): string {
    return this.r(sql`SELECT COUNT(*) AS n FROM ${this.t(profileTable(entity))} AS p JOIN ${sql.id(FORGET_KEYS)} AS k ON k.entity_key = p.entity_key`)
  }

  eraseKeys(entity: string): string {
    return this.r(this.dialect.deleteJoined(this.t(profileTable(entity)), sql`(SELECT entity_key FROM ${sql.id(FORGET_KEYS)})`, 'k', (t) => sql`${t}.entity_key = k.entity_key`))
  }

  recorded(entity: string): string {
    return this.r(sql`SELECT column_name, kind, value_type, comment FROM ${this.t(PROFILE_COLUMNS.name)} WHERE entity = ${sql.lit(entity)} ORDER BY ordinal`)
  }

  /**
   * The entity's last layer, evaluated once: key, erased mark, member flags, holdout draws and
   * profile values. `profile` traits are computed only when the plan carries them.
   */
  layer(plan: Plan, e: EntityPlan): string {
    const w = new ExprWriter(this.dialect, plan.asOf)
    const creator = withEntityCtes(this.db, this.dialect, plan.asOf, e)
    const columns: Sql[] = [sql`${sql.id(KEY_COLUMN)} AS ${sql.id(KEY_COLUMN)}`]
    if (e.erased) columns.push(sql`${sql.id(ERASED_COLUMN)} AS ${sql.id(ERASED_COLUMN)}`)
    for (const s of e.segments) {
      columns.push(sql`${sql.id(s.member)} AS ${sql.id(s.member)}`)
      const held = heldOut(w, s)
      if (held) columns.push(sql`${held} AS ${sql.id(heldColumn(s.segment))}`)
    }
    for (const p of e.profile ?? []) columns.push(sql`${w.write(p.value)} AS ${sql.id(valueColumn(p.trait))}`)
    const q = creator.selectFrom(lastLayer(e)).select(columns)
    return this.r(this.dialect.createTempTable(layerTable(e.entity), sql`${q}`))
  }

  /** The profile rows this run computes, into a scratch table (erased keys never appear). */
  fresh(e: EntityPlan, w: ProfileWrite): string {
    const str = sql.raw(this.dialect.stringType)
    const member = new Map(e.segments.map((s) => [s.segment, s]))
    const value = (c: ProfileTableColumn): Sql => {
      switch (c.kind) {
        case 'key':
        case 'run':
          throw new Error('internal: key and run columns are not computed values')
        case 'trait':
          return sql`CAST(${sql.id(valueColumn(c.trait))} AS ${sql.raw(profileColumnType(this.dialect, c.type))})`
        case 'in':
          return sql`COALESCE(${sql.id(member.get(c.segment)!.member)}, FALSE)`
        case 'holdout': {
          const s = member.get(c.segment)!
          return s.holdout ? sql`COALESCE(${sql.id(s.member)} AND ${sql.id(heldColumn(s.segment))}, FALSE)` : sql`FALSE`
        }
        case 'stage': {
          // group order: an entity is in at most one of them after resolution anyway
          const stages = c.segments.flatMap((name) => (member.has(name) ? [member.get(name)!] : []))
          return stages.length
            ? sql`CASE ${sql.join(stages.map((s) => sql`WHEN ${sql.id(s.member)} THEN ${sql.lit(s.segment)}`), sql` `)} END`
            : sql`CAST(NULL AS ${str})`
        }
      }
    }
    const cols = [sql`CAST(${sql.id(KEY_COLUMN)} AS ${str}) AS entity_key`, ...w.written.map((c) => sql`${value(c)} AS ${sql.id(c.name)}`)]
    const where = e.erased ? sql` WHERE ${sql.id(ERASED_COLUMN)} IS NULL` : sql``
    return this.r(this.dialect.createTempTable(freshTable(e.entity), sql`SELECT ${sql.join(cols)} FROM ${sql.id(layerTable(e.entity))}${where}`))
  }

  /** rows the write would change: keys gone, new, or with a written value that differs */
  changes(w: ProfileWrite): string {
    const t = this.t(profileTable(w.entity))
    const n = sql.id(freshTable(w.entity))
    return this.r(sql`SELECT
        (SELECT COUNT(*) FROM ${t} AS p WHERE ${this.among(w, sql`p.entity_key`)}NOT EXISTS (SELECT 1 FROM ${n} AS n WHERE n.entity_key = p.entity_key)) AS gone,
        (SELECT COUNT(*) FROM ${n} AS n LEFT JOIN ${t} AS p ON p.entity_key = n.entity_key WHERE p.entity_key IS NULL OR ${this.differs(w)}) AS changed`)
  }

  /** `key IN` the touched keys AND, for a run that evaluated only them; nothing otherwise */
  private among(w: ProfileWrite, key: Sql): Sql {
    return w.touched ? sql`${key} IN (SELECT k FROM ${sql.id(w.touched)}) AND ` : sql``
  }

  private differs(w: ProfileWrite): Sql {
    if (!w.written.length) return sql`FALSE`
    return sql`(${sql.join(
      w.written.map((c) => sql`n.${sql.id(c.name)} IS DISTINCT FROM p.${sql.id(c.name)}`),
      sql` OR `,
    )})`
  }

  /** The profile written: rebuilt first where its columns changed, then changed in place. */
  write(w: ProfileWrite, runId: string): string[] {
    const t = this.t(profileTable(w.entity))
    const n = sql.id(freshTable(w.entity))
    const run = sql.lit(runId)
    const out: string[] = []
    if (w.rebuild) {
      const carried = ['entity_key', 'changed_run_id', ...w.carried]
      if (w.exists) {
        out.push(this.r(this.dialect.createTempTable(oldTable(w.entity), sql`SELECT ${sql.join(carried.map((c) => sql.id(c)))} FROM ${t}`)))
        out.push(this.r(sql`DROP TABLE ${t}`))
      }
      const columns = w.columns.map((c) => ({name: c.name, type: profileColumnType(this.dialect, c.type), comment: c.comment}))
      out.push(...this.dialect.createTable(t, profileComment(w.entity), columns).map((s) => this.r(s)))
      if (w.exists) out.push(this.r(sql`INSERT INTO ${t} (${sql.join(carried.map((c) => sql.id(c)))}) SELECT ${sql.join(carried.map((c) => sql.id(c)))} FROM ${sql.id(oldTable(w.entity))}`))
      const rows = w.columns.map((c, i) => [sql.lit(w.entity), sql.lit(profileTable(w.entity)), sql.lit(String(i + 1)), sql.lit(c.name), sql.lit(c.kind), sql.lit(c.type), sql.lit(c.comment)])
      const names = PROFILE_COLUMNS.columns.map((c) => c.name)
      out.push(this.r(sql`DELETE FROM ${this.t(PROFILE_COLUMNS.name)} WHERE entity = ${sql.lit(w.entity)}`))
      out.push(
        this.r(sql`INSERT INTO ${this.t(PROFILE_COLUMNS.name)} (${sql.join(names.map((c) => sql.id(c)))})
          SELECT entity, table_name, CAST(ordinal AS ${sql.raw(this.dialect.integerType)}), column_name, kind, value_type, comment FROM ${this.dialect.values(names, rows)}`),
      )
    }
    out.push(this.r(sql`DELETE FROM ${t} WHERE ${this.among(w, sql`${t}.entity_key`)}NOT EXISTS (SELECT 1 FROM ${n} AS n WHERE n.entity_key = ${t}.entity_key)`))
    if (w.written.length) {
      out.push(
        this.r(sql`UPDATE ${t} AS p SET ${sql.join(w.written.map((c) => sql`${sql.id(c.name)} = n.${sql.id(c.name)}`))}, changed_run_id = ${run}
          FROM ${n} AS n WHERE n.entity_key = p.entity_key AND ${this.differs(w)}`),
      )
    }
    const names = ['entity_key', ...w.written.map((c) => c.name)]
    out.push(
      this.r(sql`INSERT INTO ${t} (${sql.join([...names, 'changed_run_id'].map((c) => sql.id(c)))})
        SELECT ${sql.join(names.map((c) => sql`n.${sql.id(c)}`))}, ${run} FROM ${n} AS n
        WHERE NOT EXISTS (SELECT 1 FROM ${t} AS p WHERE p.entity_key = n.entity_key)`),
    )
    return out
  }
}

export function profileComment(entity: string): string {
  return `One row per ${entity} at the as_of of the latest successful segc run: its published traits and its segment flags (SPEC §19). Written by segc in each run; read it, never write it.`
}

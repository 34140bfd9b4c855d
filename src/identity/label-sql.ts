// The SQL of identity labelling (SPEC §20), for any dialect. Everything happens in the
// warehouse: identifiers are read from the edge relations into working tables once, then a
// breadth-first labelling from the key nodes adds one level per statement, and the components
// no key reaches are labelled by their representative. No row per identifier reaches Node.js:
// between statements segc reads only counts.
//
// Nodes are named `kind:value` (kinds match ^[a-z][a-z0-9_]*$, so the first colon separates
// them): the representative's order and the anonymous key's hash are defined on that string.
// The working tables join on an integer id per node instead (the labelling's joins over
// millions of edges cost a fraction on integers of what they cost on strings), given once in
// the nodes table: the dialect's fast 64-bit hash of `kind:value` (DuckDB hash(), BigQuery
// FARM_FINGERPRINT, Snowflake HASH — none stable across versions or alike across dialects,
// which is fine for ids that live one labelling). A hash may collide, which would silently
// merge two people, so one count checks the ids are distinct, and where they are not the nodes
// are renumbered by ROW_NUMBER over (kind, value): exact and portable, but a sort of every
// node, which costs several times the hash, so it is only the fallback.
import {sql} from 'kysely'
import {ExprWriter, relationSql} from '../generate/expr-writer.js'
import {createTables} from '../generate/output-sql.js'
import {Statements} from '../generate/statements.js'
import {eventWhere} from '../plan/build-plan.js'
import {KEY_KIND, type Entity, type IdentityEdge, type IdentityKind, type Project} from '../resolve/model.js'
import type {Dialect, Sql} from '../warehouse/dialect.js'
import {identitiesTable} from '../warehouse/tables.js'

/** Spaces, tabs, carriage returns and line feeds: what `trim` removes at both ends. */
const TRIMMED = ' \t\r\n'
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'

/** A value as an identifier of a kind (undefined for `key`): a string, normalized, NULL when it is none. */
export function normalizedSql(dialect: Dialect, value: Sql, k: IdentityKind | undefined): Sql {
  let v: Sql = sql`CAST(${value} AS ${sql.raw(dialect.stringType)})`
  for (const step of k?.normalize ?? []) v = step === 'trim' ? sql`TRIM(${v}, ${sql.lit(TRIMMED)})` : sql`TRANSLATE(${v}, ${sql.lit(UPPER)}, ${sql.lit(UPPER.toLowerCase())})`
  const none = ['', ...(k?.exclude ?? [])]
  return sql`CASE WHEN ${v} IN (${sql.join([...new Set(none)].map((x) => sql.lit(x)))}) THEN NULL ELSE ${v} END`
}

/**
 * The profile an identifier's events count for: NULL for an erased profile's and, under
 * `anonymous: false`, an anonymous one's (they count for no entity and do not fall through).
 */
export function profileOf(entity: Entity): Sql {
  return entity.identity!.anonymous ? sql`CASE WHEN status IN ('key', 'stitched', 'anonymous') THEN entity_key END` : sql`CASE WHEN status IN ('key', 'stitched') THEN entity_key END`
}

export interface IdentityInputs {
  project: Project
  entity: Entity
  asOf: Date
  /** the salt with ${env:…} substituted */
  salt: string
  /**
   * value hashes of erased identifiers (SPEC §15, §20), in a relation with `kind` and
   * `value_hash` columns; absent when nothing of this entity was erased
   */
  erased?: Sql
  /** the previous run's map (segment_identities_<entity>), to find the profiles that merged */
  previousMap?: Sql
}

/** The working tables of one entity's labelling (session-scoped). */
export function workingTables(entity: string) {
  const t = (s: string) => `segc_id_${entity}_${s}`
  return {
    rows: (i: number) => t(`rows${i}`),
    rowIds: (i: number) => t(`ids${i}`),
    nodes: t('nodes'),
    edges: t('edges'),
    labels: t('labels'),
    ranks: t('ranks'),
    anonEdges: t('aedges'),
    components: (i: number) => t(`comp${i % 2}`),
    map: t('map'),
    /** per identifier kind read by events: (value, profile), see attributionTables */
    attribution: (kind: string) => t(`attr_${kind}`),
    merged: t('merged'),
    search: t('search'),
  }
}

/** Labels in the labelling are the node id of the key, or 0 for the one erased profile (no node's id: see idClashes). */
const ERASED_LABEL = 0

export class IdentitySql extends Statements {
  readonly tables
  private readonly kinds: Map<string, IdentityKind>

  constructor(
    dialect: Dialect,
    schema: string,
    private readonly inputs: IdentityInputs,
  ) {
    super(dialect, schema)
    this.tables = workingTables(inputs.entity.name)
    this.kinds = new Map(inputs.entity.identity!.kinds.map((k) => [k.name, k]))
  }

  private id(name: string): Sql {
    return sql.id(name)
  }

  private get s(): string {
    return this.dialect.stringType
  }

  /** A column's value as an identifier of `kind`: a string, normalized, NULL when it is none. */
  normalized(value: Sql, kind: string): Sql {
    return normalizedSql(this.dialect, value, this.kinds.get(kind))
  }

  /** One scan of an edge relation: its identifiers normalized, as columns i0, i1, … and ts. */
  edgeRows(edge: IdentityEdge, i: number): string {
    const w = new ExprWriter(this.dialect, this.inputs.asOf.toISOString())
    const ids = edge.ids.map(({kind, column}, j) => sql`${this.normalized(sql.id(column), kind)} AS ${this.id(`i${j}`)}`)
    const ts = edge.timestamp ? sql`CAST(${sql.id(edge.timestamp)} AS ${sql.raw(this.dialect.timestampType)})` : sql`CAST(NULL AS ${sql.raw(this.dialect.timestampType)})`
    const conds: Sql[] = []
    if (edge.timestamp) conds.push(sql`${sql.id(edge.timestamp)} IS NOT NULL AND ${sql.id(edge.timestamp)} <= ${this.dialect.timestamp(this.inputs.asOf.toISOString())}`)
    if (edge.event) conds.push(w.writeCondition(eventWhere(this.inputs.project, edge.event, this.inputs.asOf)))
    const where = conds.length ? sql` WHERE ${sql.join(conds, sql` AND `)}` : sql``
    return this.r(this.dialect.createTempTable(this.tables.rows(i), sql`SELECT ${sql.join(ids)}, ${ts} AS ts FROM ${relationSql(edge.relation)} AS src${where}`))
  }

  private get edges(): IdentityEdge[] {
    return this.inputs.entity.identity!.edges
  }

  private entityKeys(): Sql {
    const e = this.inputs.entity
    return sql`SELECT CAST(${sql.id(e.key)} AS ${sql.raw(this.s)}) AS v FROM ${relationSql(e.relation)} AS ent WHERE ${sql.id(e.key)} IS NOT NULL`
  }

  /**
   * The nodes, one statement: every identifier of an edge row plus every entity key, with the
   * earliest timestamp of an edge row holding it and its integer id; a `key` value no entity
   * row holds is none (the entity's own rows carry ent = 1, so one GROUP BY both gathers the
   * occurrences and tells which keys exist).
   */
  nodes(): string[] {
    const T = sql.raw(this.dialect.timestampType)
    const parts: Sql[] = [sql`SELECT ${sql.lit(KEY_KIND)} AS kind, v AS value, CAST(NULL AS ${T}) AS ts, 1 AS ent FROM (${this.entityKeys()}) AS k`]
    this.edges.forEach((edge, i) =>
      edge.ids.forEach(({kind}, j) => parts.push(sql`SELECT ${sql.lit(kind)} AS kind, ${this.id(`i${j}`)} AS value, ts, 0 AS ent FROM ${this.id(this.tables.rows(i))} WHERE ${this.id(`i${j}`)} IS NOT NULL`)),
    )
    const grouped = sql`SELECT kind, value, MIN(ts) AS first_seen FROM (${sql.join(parts, sql` UNION ALL `)}) AS o GROUP BY kind, value HAVING kind <> ${sql.lit(KEY_KIND)} OR MAX(ent) = 1`
    return [this.r(this.dialect.createTempTable(this.tables.nodes, sql`SELECT ${this.dialect.hashId(sql`(kind || ':' || value)`)} AS id, kind, value, first_seen FROM (${grouped}) AS g`))]
  }

  /** How many node ids are not unique, or 0 (the erased label): more than none means renumbering. */
  idClashes(): string {
    return this.r(sql`SELECT COUNT(*) AS c FROM (SELECT id FROM ${this.id(this.tables.nodes)} GROUP BY id HAVING COUNT(*) > 1 OR id = 0) AS x`)
  }

  /** The nodes renumbered 1, 2, … in (kind, value) order, when their hashes clashed. */
  denseIds(): string[] {
    const dense = this.tables.nodes + '_dense'
    return [
      this.r(this.dialect.createTempTable(dense, sql`SELECT ROW_NUMBER() OVER (ORDER BY kind, value) AS id, kind, value, first_seen FROM ${this.id(this.tables.nodes)}`)),
      this.r(this.dialect.createTempTable(this.tables.nodes, sql`SELECT id, kind, value, first_seen FROM ${this.id(dense)}`)),
    ]
  }

  /** The nodes of one kind as (id, value), to turn an edge row's values into node ids. */
  private nodesOf(kind: string): Sql {
    return sql`(SELECT id, value FROM ${this.id(this.tables.nodes)} WHERE kind = ${sql.lit(kind)})`
  }

  /**
   * Every two identifiers of one row, both ways, as node ids, built once: each edge relation's
   * rows holding two identifiers or more, their values turned into ids (into a table of its
   * own, which the pairs then read as often as they need). While the ids are the hashes (not
   * renumbered), a column of a kind other than `key` needs no join: each of its values is a node,
   * whose id is the same hash of the same `kind:value`. A `key` column joins the key nodes, since
   * a value no entity row holds is no node (and its hash was never checked against the others).
   */
  edgesTable(renumbered = false): string[] {
    const out: string[] = []
    const pairs: Sql[] = []
    this.edges.forEach((edge, i) => {
      if (edge.ids.length < 2) return
      const cols = edge.ids.map((_, j) => this.id(`i${j}`))
      const twoOrMore = sql`${sql.join(
        cols.map((c) => sql`CASE WHEN r.${c} IS NULL THEN 0 ELSE 1 END`),
        sql` + `,
      )} >= 2`
      const joined = (kind: string) => renumbered || kind === KEY_KIND
      const joins = edge.ids.flatMap(({kind}, j) => (joined(kind) ? [sql` LEFT JOIN ${this.nodesOf(kind)} AS ${this.id(`n${j}`)} ON ${sql.id(`n${j}`, 'value')} = r.${cols[j]!}`] : []))
      // NULL stays NULL: a hash of NULL need not be NULL (DuckDB's is not)
      const idOf = (kind: string, j: number) => (joined(kind) ? sql.id(`n${j}`, 'id') : sql`CASE WHEN r.${cols[j]!} IS NOT NULL THEN ${this.dialect.hashId(sql`(${sql.lit(`${kind}:`)} || r.${cols[j]!})`)} END`)
      const ids = sql`SELECT ${sql.join(edge.ids.map(({kind}, j) => sql`${idOf(kind, j)} AS ${this.id(`j${j}`)}`))} FROM ${this.id(this.tables.rows(i))} AS r${sql.join(joins, sql``)} WHERE ${twoOrMore}`
      out.push(this.r(this.dialect.createTempTable(this.tables.rowIds(i), ids)))
      for (let a = 0; a < edge.ids.length; a++)
        for (let b = 0; b < edge.ids.length; b++) {
          if (a === b) continue
          const [ja, jb] = [this.id(`j${a}`), this.id(`j${b}`)]
          pairs.push(sql`SELECT ${ja} AS a, ${jb} AS b FROM ${this.id(this.tables.rowIds(i))} WHERE ${ja} IS NOT NULL AND ${jb} IS NOT NULL`)
        }
    })
    const I = sql.raw(this.dialect.integerType)
    const body = pairs.length ? sql.join(pairs, sql` UNION ALL `) : sql`SELECT CAST(NULL AS ${I}) AS a, CAST(NULL AS ${I}) AS b FROM (SELECT 1 AS one) AS z WHERE 1 = 0`
    out.push(this.r(this.dialect.createTempTable(this.tables.edges, sql`SELECT DISTINCT a, b FROM (${body}) AS p`)))
    return out
  }

  /**
   * Level 0: the key nodes, each its own profile, and the identifiers of erased profiles, which
   * claim and tie as a key does under one label of their own.
   */
  seed(): string {
    const N = this.id(this.tables.nodes)
    const erasedNodes = this.inputs.erased
      ? sql`SELECT id FROM ${N} AS nd WHERE ${this.dialect.sha256Hex(sql`(${sql.lit(`${this.inputs.entity.name}:`)} || nd.kind || ':' || nd.value)`)} IN (SELECT value_hash FROM ${this.inputs.erased} AS er)`
      : undefined
    const keys = sql`SELECT id AS n, id AS k, 0 AS d FROM ${N} WHERE kind = ${sql.lit(KEY_KIND)}${erasedNodes ? sql` AND id NOT IN (${erasedNodes})` : sql``}`
    const erased = erasedNodes ? sql` UNION ALL SELECT id AS n, ${sql.lit(ERASED_LABEL)} AS k, 0 AS d FROM (${erasedNodes}) AS x` : sql``
    return this.r(this.dialect.createTempTable(this.tables.labels, sql`SELECT n, k, d FROM (${keys}${erased}) AS s`))
  }

  /**
   * Level `d`: every unlabelled neighbour of a node labelled at d − 1 gets that label when all
   * such neighbours agree on one, else none (ambiguous). A node next to an ambiguous one at
   * d − 1 has two nearest keys through it, so a NULL label spreads as ambiguity.
   */
  level(d: number): string {
    const L = this.id(this.tables.labels)
    return this.r(sql`INSERT INTO ${L} (n, k, d) SELECT c.b, CASE WHEN COUNT(DISTINCT c.k) = 1 AND COUNT(c.k) = COUNT(*) THEN MIN(c.k) END, ${sql.lit(d)} FROM (SELECT e.b, l.k FROM ${L} AS l JOIN ${this.id(this.tables.edges)} AS e ON e.a = l.n WHERE l.d = ${sql.lit(d - 1)}) AS c WHERE c.b NOT IN (SELECT n FROM ${L}) GROUP BY c.b`)
  }

  labelledAt(d: number): string {
    return this.r(sql`SELECT COUNT(*) AS c FROM ${this.id(this.tables.labels)} WHERE d = ${sql.lit(d)}`)
  }

  /** How many identifiers share the profile of one node labelled at level d (for identity_depth). */
  profileSizeAt(d: number): string {
    const L = this.id(this.tables.labels)
    return this.r(sql`SELECT COUNT(*) AS c FROM ${L} WHERE k = (SELECT MIN(k) FROM ${L} WHERE d = ${sql.lit(d)}) OR (k IS NULL AND (SELECT MIN(k) FROM ${L} WHERE d = ${sql.lit(d)}) IS NULL)`)
  }

  /**
   * The nodes no key reached, ranked for the representative: earliest first_seen (NULLs last),
   * then the smallest `kind:value`; each starts as its own component, named by its rank; and
   * the edges among them.
   */
  anonymousStart(): string[] {
    const ranks = this.dialect.createTempTable(
      this.tables.ranks,
      sql`SELECT id AS n, ROW_NUMBER() OVER (ORDER BY first_seen ASC NULLS LAST, kind || ':' || value ASC) AS r FROM ${this.id(this.tables.nodes)} WHERE id NOT IN (SELECT n FROM ${this.id(this.tables.labels)})`,
    )
    const comp0 = this.dialect.createTempTable(this.tables.components(0), sql`SELECT n, r AS c FROM ${this.id(this.tables.ranks)}`)
    const edges = this.dialect.createTempTable(this.tables.anonEdges, sql`SELECT a, b FROM ${this.id(this.tables.edges)} WHERE a IN (SELECT n FROM ${this.id(this.tables.ranks)})`)
    return [this.r(ranks), this.r(comp0), this.r(edges)]
  }

  /**
   * Round i of the smallest-rank spread: each node takes the smallest rank of itself and its
   * neighbours. A node gets its representative's rank in the round equal to its distance from
   * it, so the rounds that change something are the representative's farthest distance.
   */
  anonymousRound(i: number): string[] {
    const prev = this.id(this.tables.components(i - 1))
    const next = this.tables.components(i)
    const step = this.dialect.createTempTable(
      next,
      sql`SELECT x.n, CASE WHEN m.c IS NOT NULL AND m.c < x.c THEN m.c ELSE x.c END AS c FROM ${prev} AS x LEFT JOIN (SELECT e.a AS n, MIN(p.c) AS c FROM ${this.id(this.tables.anonEdges)} AS e JOIN ${prev} AS p ON p.n = e.b GROUP BY e.a) AS m ON m.n = x.n`,
    )
    const changed = sql`SELECT COUNT(*) AS c FROM ${this.id(next)} AS y JOIN ${prev} AS x ON x.n = y.n WHERE y.c < x.c`
    return [this.r(step), this.r(changed)]
  }

  /** Identifiers in the largest anonymous component after round i (for identity_depth). */
  largestAnonymous(i: number): string {
    return this.r(sql`SELECT MAX(cnt) AS c FROM (SELECT COUNT(*) AS cnt FROM ${this.id(this.tables.components(i))} GROUP BY c) AS g`)
  }

  /**
   * The map: one row per identifier with its profile, status, distance and first_seen (erased
   * profiles left out). Two parts, each joining only its own nodes: the labelled ones (with
   * their key's value) and the anonymous ones (with their component's hashed key).
   */
  map(finalRound: number): string {
    const N = this.id(this.tables.nodes)
    const C = this.id(this.tables.components(finalRound))
    const I = sql.raw(this.dialect.integerType)
    // one hash per anonymous profile, of its representative (the component's smallest rank)
    const anon = sql`SELECT rk.r AS c, ('anon_' || SUBSTR(${this.dialect.sha256Hex(sql`(${sql.lit(this.inputs.salt)} || rep.kind || ':' || rep.value)`)}, 1, 32)) AS p FROM ${this.id(this.tables.ranks)} AS rk JOIN ${N} AS rep ON rep.id = rk.n WHERE rk.r IN (SELECT c FROM ${C})`
    const labelled = sql`SELECT nd.kind, nd.value, kn.value AS entity_key,
  CASE WHEN l.k IS NULL THEN 'ambiguous' WHEN l.d = 0 THEN 'key' ELSE 'stitched' END AS status,
  CAST(l.d AS ${I}) AS distance, nd.first_seen
FROM ${this.id(this.tables.labels)} AS l
JOIN ${N} AS nd ON nd.id = l.n
LEFT JOIN ${this.nodesOf(KEY_KIND)} AS kn ON kn.id = l.k
WHERE l.k IS NULL OR l.k <> ${sql.lit(ERASED_LABEL)}`
    const anonymous = sql`SELECT nd.kind, nd.value, an.p AS entity_key, 'anonymous' AS status, CAST(NULL AS ${I}) AS distance, nd.first_seen
FROM ${C} AS cm
JOIN ${N} AS nd ON nd.id = cm.n
JOIN (${anon}) AS an ON an.c = cm.c`
    return this.r(this.dialect.createTempTable(this.tables.map, sql`${labelled}
UNION ALL
${anonymous}`))
  }

  /** The identifier kinds the entity's events read (their `ids`). */
  attributionKinds(): string[] {
    const out = new Set<string>()
    for (const ev of this.inputs.project.events.values()) if (ev.entity === this.inputs.entity.name && ev.ids) for (const {kind} of ev.ids) out.add(kind)
    return [...out]
  }

  /**
   * What attribution reads in the run, one narrow table per identifier kind events read:
   * (value, profile) for every identifier of that kind that stops attribution — the map's
   * non-ambiguous ones and the erased profile's (profile NULL, so that an event whose first
   * identifier is erased counts for no entity rather than falling through to a later one).
   * Built once, so the one scan of each event relation (SPEC §10) joins a table of two columns
   * per kind instead of filtering the map in every join.
   */
  attributionTables(): string[] {
    const N = this.id(this.tables.nodes)
    return this.attributionKinds().map((kind) => {
      const erased = this.inputs.erased
        ? sql` UNION ALL SELECT nd.value, CAST(NULL AS ${sql.raw(this.s)}) AS profile FROM ${N} AS nd JOIN ${this.id(this.tables.labels)} AS l ON l.n = nd.id WHERE l.k = ${sql.lit(ERASED_LABEL)} AND nd.kind = ${sql.lit(kind)}`
        : sql``
      return this.r(
        this.dialect.createTempTable(
          this.tables.attribution(kind),
          sql`SELECT value, ${profileOf(this.inputs.entity)} AS profile FROM ${this.id(this.tables.map)} AS m WHERE kind = ${sql.lit(kind)} AND status <> 'ambiguous'${erased}`,
        ),
      )
    })
  }

  /**
   * The previous map's profiles that no longer exist and every one of whose identifiers now
   * belongs to one other profile (an anonymous visitor signed up, two anonymous profiles
   * joined): their exits have cause `merged`. Only the vanished profiles' rows are joined.
   */
  merged(previous: Sql): string {
    const M = this.id(this.tables.map)
    const gone = sql`SELECT DISTINCT entity_key FROM ${previous} AS g WHERE entity_key IS NOT NULL AND entity_key NOT IN (SELECT entity_key FROM ${M} WHERE entity_key IS NOT NULL)`
    return this.r(
      this.dialect.createTempTable(
        this.tables.merged,
        sql`SELECT o.entity_key FROM ${previous} AS o JOIN (${gone}) AS v ON v.entity_key = o.entity_key LEFT JOIN ${M} AS nw ON nw.kind = o.kind AND nw.value = o.value
GROUP BY o.entity_key HAVING COUNT(DISTINCT nw.entity_key) = 1 AND COUNT(nw.entity_key) = COUNT(*)`,
      ),
    )
  }

  /** How many profiles hold more than `max` identifiers, and the most any holds. */
  oversized(max: number): string {
    return this.r(
      sql`SELECT COUNT(CASE WHEN n > ${sql.lit(max)} THEN 1 END) AS profiles, MAX(n) AS largest FROM (SELECT entity_key, COUNT(*) AS n FROM ${this.id(this.tables.map)} WHERE entity_key IS NOT NULL GROUP BY entity_key) AS g`,
    )
  }

  /** One node's row of the map, or of the erased profile (`why --id`). */
  lookup(kind: string, value: string): string {
    return this.r(
      sql`SELECT m.entity_key, CASE WHEN l.k = ${sql.lit(ERASED_LABEL)} THEN 'erased' ELSE m.status END AS status, l.d AS distance FROM ${this.id(this.tables.nodes)} AS nd LEFT JOIN ${this.id(this.tables.labels)} AS l ON l.n = nd.id LEFT JOIN ${this.id(this.tables.map)} AS m ON m.kind = nd.kind AND m.value = nd.value WHERE nd.kind = ${sql.lit(kind)} AND nd.value = ${sql.lit(value)}`,
    )
  }

  /** A node's `kind:value` name from its id. */
  private nameOf(alias: string): Sql {
    return sql`(${sql.id(alias, 'kind')} || ':' || ${sql.id(alias, 'value')})`
  }

  /** The node named `kind:value` (for the search, whose callers name nodes so). */
  private named(alias: string, node: string): Sql {
    const i = node.indexOf(':')
    return sql`${sql.id(alias, 'kind')} = ${sql.lit(node.slice(0, i))} AND ${sql.id(alias, 'value')} = ${sql.lit(node.slice(i + 1))}`
  }

  /** A breadth-first search from one node, named `kind:value` (`why --id`): level 0. */
  searchStart(node: string): string {
    return this.r(this.dialect.createTempTable(this.tables.search, sql`SELECT nd.id AS n, 0 AS d, CAST(NULL AS ${sql.raw(this.dialect.integerType)}) AS p FROM ${this.id(this.tables.nodes)} AS nd WHERE ${this.named('nd', node)}`))
  }

  /** Level d of the search: each new node with the smallest node id it was reached from. */
  searchLevel(d: number): string {
    const S = this.id(this.tables.search)
    return this.r(sql`INSERT INTO ${S} (n, d, p) SELECT e.b, ${sql.lit(d)}, MIN(e.a) FROM ${S} AS s JOIN ${this.id(this.tables.edges)} AS e ON e.a = s.n WHERE s.d = ${sql.lit(d - 1)} AND e.b NOT IN (SELECT n FROM ${S}) GROUP BY e.b`)
  }

  /**
   * The labelled seeds (keys, and the erased profile's identifiers) the search reached at level
   * d, named `kind:value`, with their label: `k` and the key, or `e` for the erased profile.
   */
  searchFound(d: number): string {
    const N = this.id(this.tables.nodes)
    return this.r(
      sql`SELECT ${this.nameOf('nd')} AS n, CASE WHEN l.k = ${sql.lit(ERASED_LABEL)} THEN 'e' ELSE 'k' || kn.value END AS k FROM ${this.id(this.tables.search)} AS s JOIN ${this.id(this.tables.labels)} AS l ON l.n = s.n JOIN ${N} AS nd ON nd.id = s.n LEFT JOIN ${this.nodesOf(KEY_KIND)} AS kn ON kn.id = l.k WHERE s.d = ${sql.lit(d)} AND l.d = 0 ORDER BY ${this.nameOf('nd')}`,
    )
  }

  /** The parent of a node in the search, both named `kind:value`. */
  searchParent(node: string): string {
    const N = this.id(this.tables.nodes)
    return this.r(sql`SELECT ${this.nameOf('pn')} AS p FROM ${this.id(this.tables.search)} AS s JOIN ${N} AS nd ON nd.id = s.n JOIN ${N} AS pn ON pn.id = s.p WHERE ${this.named('nd', node)}`)
  }

  /** The edge relations, by index, holding a row that links two identifiers. */
  edgeHolding(a: [string, string], b: [string, string]): string | undefined {
    const parts: Sql[] = []
    this.edges.forEach((edge, i) => {
      edge.ids.forEach((x, ja) =>
        edge.ids.forEach((y, jb) => {
          if (ja === jb || x.kind !== a[0] || y.kind !== b[0]) return
          parts.push(sql`SELECT ${sql.lit(i)} AS i FROM ${this.id(this.tables.rows(i))} WHERE ${this.id(`i${ja}`)} = ${sql.lit(a[1])} AND ${this.id(`i${jb}`)} = ${sql.lit(b[1])}`)
        }),
      )
    })
    return parts.length ? this.r(sql`SELECT MIN(i) AS i FROM (${sql.join(parts, sql` UNION ALL `)}) AS h`) : undefined
  }

  /** The output table, created when missing (idempotent, like every output table). */
  setup(): string[] {
    return createTables(this.dialect, this.schema, [identitiesTable(this.inputs.entity.name)]).map((x) => this.r(x))
  }

  /** Replaces the output table with the map: in the run's transaction. */
  write(): string[] {
    const out = this.t(identitiesTable(this.inputs.entity.name).name)
    return [this.r(sql`DELETE FROM ${out} WHERE 1 = 1`), this.r(sql`INSERT INTO ${out} (kind, value, entity_key, status, distance, first_seen) SELECT kind, value, entity_key, status, distance, first_seen FROM ${this.id(this.tables.map)}`)]
  }
}

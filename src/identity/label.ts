// Runs one entity's identity labelling (SPEC §20) on a connection: the statements of
// label-sql.ts in order, reading only counts back, and failing with identity_depth before
// anything is written when a component is deeper than max_depth.
import type {Dialect} from '../warehouse/dialect.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {IdentitySql, type IdentityInputs} from './label-sql.js'

export {identitiesTable} from '../warehouse/tables.js'

export interface LabelOutcome {
  entity: string
  /** breadth-first levels from the keys that labelled something */
  levels: number
  /** rounds of the anonymous components' spread that changed something */
  anonymousRounds: number
  /** the temporary table holding the map (kind, value, entity_key, status, distance, first_seen) */
  mapTable: string
  /** per identifier kind events read, the temporary table attribution reads: (value, profile), see attributionTables in label-sql.ts */
  attributionTables: Map<string, string>
  /** the temporary table of profiles of the previous map that merged into another (entity_key), when there was a previous map */
  mergedTable?: string
  /** profiles holding more identifiers than max_ids_per_profile, and the most identifiers any profile holds */
  oversized?: {profiles: number; largest: number}
  /** the statements that create the output table when missing */
  setup: string[]
  /** the statements that replace segment_identities_<entity> with the map, for the run's transaction */
  write: string[]
  /** the statements run, in order (for `compile` and tests) */
  statements: string[]
  millis: number
}

/** A component deeper than max_depth: the run fails (exit 2) and writes nothing. Carries no identifier value. */
export class IdentityDepthError extends Error {
  readonly code = 'identity_depth'
  constructor(
    readonly entity: string,
    readonly identifiers: number,
    readonly maxDepth: number,
  ) {
    super(`identity_depth: entity '${entity}': an identity component of ${identifiers} identifiers holds an identifier more than max_depth (${maxDepth}) edges from its nearest key or representative; raise identity.max_depth or exclude the identifier values that chain it (docs/identity.md)`)
  }
}

const count = (rows: Array<Record<string, unknown>>): number => Number(rows[0]?.c ?? 0)

/** Runs the labelling and hands back its statement builder too (`why --id` searches its tables). */
export async function labelWith(conn: WarehouseConnection, dialect: Dialect, schema: string, inputs: IdentityInputs): Promise<{outcome: LabelOutcome; q: IdentitySql}> {
  return {outcome: await labelIdentities(conn, dialect, schema, inputs), q: new IdentitySql(dialect, schema, inputs)}
}

export async function labelIdentities(conn: WarehouseConnection, dialect: Dialect, schema: string, inputs: IdentityInputs): Promise<LabelOutcome> {
  const started = Date.now()
  const q = new IdentitySql(dialect, schema, inputs)
  const identity = inputs.entity.identity!
  const statements: string[] = []
  const exec = async (s: string) => {
    statements.push(s)
    await conn.execute(s)
  }
  const ask = async (s: string) => {
    statements.push(s)
    return count(await conn.query(s))
  }
  for (const [i, edge] of identity.edges.entries()) await exec(q.edgeRows(edge, i))
  for (const s of q.nodes()) await exec(s)
  const renumbered = (await ask(q.idClashes())) > 0
  if (renumbered) for (const s of q.denseIds()) await exec(s)
  for (const s of q.edgesTable(renumbered)) await exec(s)
  await exec(q.seed())
  let levels = 0
  for (let d = 1; ; d++) {
    await exec(q.level(d))
    if ((await ask(q.labelledAt(d))) === 0) break
    if (d > identity.maxDepth) throw new IdentityDepthError(inputs.entity.name, await ask(q.profileSizeAt(d)), identity.maxDepth)
    levels = d
  }
  for (const s of q.anonymousStart()) await exec(s)
  let round = 0
  for (let i = 1; ; i++) {
    const [step, changed] = q.anonymousRound(i)
    await exec(step!)
    if ((await ask(changed!)) === 0) {
      round = i
      break
    }
    if (i > identity.maxDepth) throw new IdentityDepthError(inputs.entity.name, await ask(q.largestAnonymous(i)), identity.maxDepth)
  }
  await exec(q.map(round))
  for (const s of q.attributionTables()) await exec(s)
  if (inputs.previousMap) await exec(q.merged(inputs.previousMap))
  let oversized: LabelOutcome['oversized']
  if (identity.maxIdsPerProfile !== undefined) {
    const rows = await conn.query(q.oversized(identity.maxIdsPerProfile))
    statements.push(q.oversized(identity.maxIdsPerProfile))
    const profiles = Number(rows[0]?.profiles ?? 0)
    if (profiles > 0) oversized = {profiles, largest: Number(rows[0]?.largest ?? 0)}
  }
  return {
    entity: inputs.entity.name,
    levels,
    anonymousRounds: round - 1,
    mapTable: q.tables.map,
    attributionTables: new Map(q.attributionKinds().map((k) => [k, q.tables.attribution(k)])),
    ...(inputs.previousMap ? {mergedTable: q.tables.merged} : {}),
    ...(oversized ? {oversized} : {}),
    setup: q.setup(),
    write: q.write(),
    statements,
    millis: Date.now() - started,
  }
}

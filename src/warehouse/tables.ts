// The output tables of SPEC §5, as data: DDL for every dialect, table and column comments,
// and docs/tables.md come from here.

export type ColumnType = 'string' | 'timestamp' | 'boolean' | 'integer' | 'float' | 'text'

export interface TableColumn {
  name: string
  type: ColumnType
  comment: string
}

export interface TableDef {
  name: string
  comment: string
  columns: TableColumn[]
  /**
   * The queue of deletions `segc forget` still has to send: the one table whose entity keys
   * forget does not delete, because a destination can only erase someone segc can name. Its
   * keys are set to NULL the moment the destination acknowledges (SPEC §15).
   */
  erasureQueue?: true
}

const c = (name: string, type: ColumnType, comment: string): TableColumn => ({name, type, comment})
const RUN_ID = c('run_id', 'string', 'the run that made this row (segment_runs.run_id)')

export const MEMBERSHIP: TableDef = {
  name: 'segment_membership',
  comment: 'Current members of every segment, group-resolved, one row per segment and entity; kept current by each successful run',
  columns: [
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name from the models (customer, account, ...)'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('entered_at', 'timestamp', 'as_of of the run in which this membership began (UTC)'),
    c('holdout', 'boolean', 'TRUE for members in the control group; syncs leave them out'),
    c('run_id', 'string', 'the run that last wrote this row'),
  ],
}

export const HISTORY: TableDef = {
  name: 'segment_membership_history',
  comment: 'Every membership interval (SCD type 2): one row per stretch of time an entity was in a segment with one holdout flag',
  columns: [
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('valid_from', 'timestamp', 'as_of of the run that opened the interval (UTC)'),
    c('valid_to', 'timestamp', 'as_of of the run that closed it; NULL while current'),
    c('holdout', 'boolean', 'holdout flag during the interval'),
  ],
}

export const TRANSITIONS: TableDef = {
  name: 'segment_transitions',
  comment: 'Every entry into and exit from a segment, with the reason',
  columns: [
    RUN_ID,
    c('transitioned_at', 'timestamp', 'as_of of the run (UTC)'),
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('change', 'string', 'entered or exited'),
    c('cause', 'string', 'data (same definition), definition (definition changed), segment_added (first run), segment_removed (left the project), merged (the profile merged into another: SPEC §20)'),
  ],
}

export const GROUP_TRANSITIONS: TableDef = {
  name: 'segment_group_transitions',
  comment: 'Moves between the segments of a group (lifecycle stages): one row per entity whose group segment changed',
  columns: [
    RUN_ID,
    c('transitioned_at', 'timestamp', 'as_of of the run (UTC)'),
    c('group_name', 'string', 'group name'),
    c('entity', 'string', 'entity name'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('from_segment', 'string', 'segment before; NULL for none'),
    c('to_segment', 'string', 'segment after; NULL for none'),
  ],
}

export const SIZES: TableDef = {
  name: 'segment_sizes',
  comment: 'Segment sizes and churn per run, for size-over-time charts',
  columns: [
    RUN_ID,
    c('as_of', 'timestamp', 'as_of of the run (UTC)'),
    c('segment', 'string', 'segment name'),
    c('size', 'integer', 'members after the run, holdout included'),
    c('holdout_size', 'integer', 'members in the holdout'),
    c('entered', 'integer', 'entities that entered in this run'),
    c('exited', 'integer', 'entities that exited in this run'),
  ],
}

export const RUNS: TableDef = {
  name: 'segment_runs',
  comment: 'One row per segc run: its as_of, timing, outcome and error',
  columns: [
    c('run_id', 'string', 'run identifier'),
    c('as_of', 'timestamp', 'the instant the run evaluated segments at (UTC)'),
    c('started_at', 'timestamp', 'wall-clock start (UTC)'),
    c('finished_at', 'timestamp', 'wall-clock end (UTC)'),
    c('status', 'string', 'success or failed'),
    c('target', 'string', 'target name from segc.yaml'),
    c('segc_version', 'string', 'segc version that ran'),
    c('error', 'text', 'error message of a failed run, NULL otherwise'),
    c('mode', 'string', 'full or incremental (SPEC §13): incremental when some event source was read from kept state; NULL for runs before segc recorded it'),
    c('identity_hashes', 'text', 'SPEC §20: a JSON object, per entity with identity, of the sha256 of what its identity map was labelled from (identity:, key, relation, salt); NULL for a project without identity and for runs before segc recorded it'),
  ],
}

export const DEFINITIONS: TableDef = {
  name: 'segment_definitions',
  comment: 'Every segment segc has run, with the hash of what decides its membership',
  columns: [
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name'),
    c('definition_hash', 'string', 'sha256 of the canonical definition: rule, the traits, events and entities it reaches, exclude, consent, holdout, refresh, group position'),
    c('description', 'text', 'description from the YAML'),
    c('owner', 'string', 'owner from the YAML'),
    c('tags', 'text', 'tags from the YAML, as a JSON array'),
    c('first_run_id', 'string', 'the run that first evaluated the segment'),
    c('changed_run_id', 'string', 'the run that first used the current definition_hash'),
    c('removed_run_id', 'string', 'the run that found the segment gone from the project; NULL while it exists'),
  ],
}

export const CATALOG: TableDef = {
  name: 'segment_catalog',
  comment: 'One row per current segment: what it is for, who owns it, and its rule in plain English; rewritten by every run',
  columns: [
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name'),
    c('description', 'text', 'what the segment is, from the YAML'),
    c('owner', 'string', 'who answers for the segment'),
    c('tags', 'text', 'tags, as a JSON array'),
    c('purpose', 'text', 'what the segment is used for'),
    c('kpi', 'string', 'the metric the segment is meant to move'),
    c('review_by', 'string', 'ISO date by which the definition should be reviewed; NULL for none'),
    c('rule_text', 'text', 'the rule in plain English, with exclusion, consent, holdout and group position'),
    c('definition_hash', 'string', 'hash of what decides membership (as in segment_definitions)'),
    c('refresh', 'string', 'dynamic or static'),
    c('holdout_percent', 'float', 'percent of members held out as a control group; NULL without a holdout'),
  ],
}

export const OVERLAP: TableDef = {
  name: 'segment_overlap',
  comment: 'Overlap of every pair of segments of one entity after each run (segment_a < segment_b); holdout members count as members',
  columns: [
    RUN_ID,
    c('segment_a', 'string', 'the alphabetically first segment of the pair'),
    c('segment_b', 'string', 'the other segment'),
    c('both', 'integer', 'entities in both segments'),
    c('only_a', 'integer', 'entities in segment_a and not segment_b'),
    c('only_b', 'integer', 'entities in segment_b and not segment_a'),
  ],
}

export const LIFT: TableDef = {
  name: 'segment_lift',
  comment: 'Members against the holdout on the measure: outcome, after each run, for segments with a holdout and measure:. Every entity that entered the segment counts once, from its first entry, once its outcome window has closed; statistics are NULL when the counts are too small to say anything',
  columns: [
    RUN_ID,
    c('segment', 'string', 'segment name'),
    c('members', 'integer', 'entities that entered outside the holdout and whose outcome window has closed by as_of'),
    c('members_converted', 'integer', 'of them, those with the outcome event within the window after they first entered'),
    c('holdout', 'integer', 'entities that entered in the holdout and whose outcome window has closed by as_of'),
    c('holdout_converted', 'integer', 'of them, those with the outcome event within the window after they first entered'),
    c('rate_members', 'float', 'members_converted / members'),
    c('rate_holdout', 'float', 'holdout_converted / holdout'),
    c('lift_abs', 'float', 'rate_members - rate_holdout'),
    c('lift_rel', 'float', 'lift_abs / rate_holdout; NULL when rate_holdout is 0'),
    c('ci_low', 'float', 'lower end of the 95% confidence interval of lift_abs (normal approximation, unpooled)'),
    c('ci_high', 'float', 'upper end of that interval'),
    c('p_value', 'float', 'two-sided p-value of the pooled two-proportion z-test'),
  ],
}

export const MODELS: TableDef = {
  name: 'segment_models',
  comment: 'Every version of every fitted model (segc fit): runs score with the latest version fitted for the current definition',
  columns: [
    c('model', 'string', 'the fit: trait'),
    c('version', 'integer', '1, 2, ... per model'),
    c('fitted_at', 'timestamp', 'wall-clock time of the fit (UTC)'),
    c('as_of', 'timestamp', 'the instant the history was read up to (UTC)'),
    c('kind', 'string', 'bgnbd, gamma_gamma, kmeans or propensity'),
    c('params', 'text', 'JSON: {r, alpha, a, b} (bgnbd; a = 0 and b null at the NBD limit), {p, q, gamma} (gamma_gamma), {features, means, stddevs, centroids} (kmeans), {features, types, columns, means, stddevs, levels, coefficients, intercept, cutoff, horizon, n_train, positives_train, auc, base_rate, calibration, iterations} (propensity)'),
    c('n', 'integer', 'entities the model was fitted on'),
    c('log_likelihood', 'float', 'maximized log-likelihood; NULL for kmeans; for propensity, minus the log-loss on the training snapshot'),
    c('definition_hash', 'string', 'hash of the trait definition the model was fitted for'),
  ],
}

export const SYNC_RUNS: TableDef = {
  name: 'segment_sync_runs',
  comment: 'One row per segc sync of one sync definition: what it planned, what the destination acknowledged, and how it ended',
  columns: [
    c('sync_run_id', 'string', 'sync run identifier'),
    c('sync', 'string', 'the sync definition (syncs/*.yaml)'),
    c('destination', 'string', 'destination name from segc.yaml'),
    c('mode', 'string', 'audience, upsert, mirror or events'),
    c('segment_run_id', 'string', 'the successful segc run whose membership was sent'),
    c('started_at', 'timestamp', 'wall-clock start (UTC)'),
    c('finished_at', 'timestamp', 'wall-clock end (UTC); NULL while delivering or after a crash'),
    c('status', 'string', 'success, partial (rejections or pending operations), failed, refused (a guard); running while delivering'),
    c('planned_add', 'integer', 'operations planned: add (entered in events mode)'),
    c('planned_remove', 'integer', 'operations planned: remove (exited in events mode)'),
    c('planned_update', 'integer', 'operations planned: update'),
    c('succeeded', 'integer', 'operations the destination acknowledged'),
    c('rejected', 'integer', 'operations the destination refused (400, 404, 409, 422), each isolated'),
    c('skipped', 'integer', 'members with no identifier (identify_by is NULL)'),
    c('pending', 'integer', 'operations not acknowledged: sent again by the next sync'),
    c('error', 'text', 'why the sync failed or was refused; NULL otherwise'),
  ],
}

export const SYNC_STATE: TableDef = {
  name: 'segment_sync_state',
  comment: 'What each destination acknowledged: the rows segc added there and has not removed. Only acknowledged operations change it',
  columns: [
    c('sync', 'string', 'the sync definition'),
    c('segment', 'string', 'segment name'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('dest_key', 'string', 'the identifier sent (identify_by value, or the entity key)'),
    c('payload_hash', 'string', 'md5 of the fields as last acknowledged: a different hash is an update'),
    c('synced_at', 'timestamp', 'when the destination acknowledged it (UTC)'),
  ],
}

export const SYNC_LOG: TableDef = {
  name: 'segment_sync_log',
  comment: 'One row per operation a sync planned and how it ended; no payloads',
  columns: [
    c('sync_run_id', 'string', 'the sync run'),
    c('sync', 'string', 'the sync definition'),
    c('segment', 'string', 'segment name'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('op', 'string', 'add, remove or update (entered or exited in events mode)'),
    c('idempotency_key', 'string', 'the same each time the same change is sent again'),
    c('status', 'string', 'succeeded, rejected, skipped or pending'),
    c('attempts', 'integer', 'requests that carried this operation'),
    c('http_status', 'integer', "the destination's last status code, where it has one"),
    c('reason', 'text', "the destination's reason for a rejection or the last error; no payload"),
    c('at', 'timestamp', 'when the operation ended (UTC)'),
  ],
}

export const ERASURES: TableDef = {
  name: 'segment_erasures',
  comment: 'Erasure requests (segc forget): one row per key per request, holding a hash of the key, never the key. Later runs admit no erased key to any segment and syncs never send one, until the row is deleted',
  columns: [
    c('request_id', 'string', 'the segc forget call that erased the key'),
    c('requested_at', 'timestamp', 'when it was asked (UTC)'),
    c('entity', 'string', 'entity name'),
    c('key_hash', 'string', "lower-case hex SHA-256 of entity || ':' || key"),
    c('tables_rows', 'text', 'JSON: rows removed per segc table for this key'),
    c('status', 'string', 'pending while a destination has not acknowledged the deletion; done once every one has'),
  ],
}

export const ERASURE_DELIVERIES: TableDef = {
  name: 'segment_erasure_deliveries',
  comment: "Deletions sent to destinations for erased keys, one row per sync that had acknowledged the key. The key and the destination's identifier stay only until the destination acknowledges, then become NULL",
  erasureQueue: true,
  columns: [
    c('request_id', 'string', 'the erasure request (segment_erasures.request_id)'),
    c('key_hash', 'string', 'the erased key, hashed as in segment_erasures'),
    c('sync', 'string', 'the sync definition that had sent the key'),
    c('destination', 'string', 'destination name from segc.yaml'),
    c('entity_key', 'string', 'the key to erase there; NULL once acknowledged'),
    c('dest_key', 'string', 'the identifier the destination knows it by; NULL once acknowledged'),
    c('idempotency_key', 'string', 'the same each time this deletion is sent again'),
    c('status', 'string', 'pending, succeeded or rejected (sent again by the next segc forget)'),
    c('attempts', 'integer', 'requests that carried this deletion, over every segc forget'),
    c('http_status', 'integer', "the destination's last status code, where it has one"),
    c('reason', 'text', "the destination's reason for a rejection or the last error"),
    c('at', 'timestamp', 'when the deletion was last tried (UTC)'),
  ],
}

export const SYNC_TABLES: TableDef[] = [SYNC_RUNS, SYNC_STATE, SYNC_LOG]

/**
 * One row per event source whose state incremental runs keep (SPEC §13). The state itself is a
 * table per source and shape, `segment_state_<source>_<shape>`, one row per entity key and UTC
 * day (and per value, for distinct values and value counts), written in the run's transaction.
 */
export const STATE_SOURCES: TableDef = {
  name: 'segment_state_sources',
  comment: 'The day-bucket state incremental runs keep per event source: which table holds it and which days and loads it covers',
  columns: [
    c('source_id', 'string', 'hash of the source: relation, key, timestamp and loaded_at columns'),
    c('source', 'text', 'the source in words: relation, key column, timestamp column'),
    c('entity', 'string', 'the entity whose keys the state holds (segc forget erases them from it)'),
    c('state_table', 'string', 'the table holding the state, in the output schema'),
    c('signature', 'string', 'hash of the partial aggregates kept: another shape is another table'),
    c('horizon', 'timestamp', 'the first UTC day kept; NULL when every day is (an aggregate without a lower bound)'),
    c('frozen', 'timestamp', 'state holds the days before this UTC day start; later rows are read from the source'),
    c('loaded_until', 'timestamp', 'with loaded_at: state holds rows landed at or before this'),
    c('as_of', 'timestamp', 'the as_of of the run that wrote it'),
    c('run_id', 'string', 'the run that wrote it'),
    c('state_rows', 'integer', 'rows of the state table after that run (a different count means the table was changed by hand)'),
  ],
}

/**
 * The lease that serialises runs on warehouses without a file lock (Snowflake, BigQuery):
 * a run inserts its row if none is live, and deletes it when done. DuckDB does not need it:
 * its database file admits one writing process at a time.
 */
export const LOCKS: TableDef = {
  name: 'segment_locks',
  comment: 'Who holds the target: at most one live lease per target',
  columns: [
    c('target', 'string', 'target name'),
    c('holder', 'string', 'user@host:pid of the segc process'),
    c('run_id', 'string', 'the run holding the lease'),
    c('acquired_at', 'timestamp', 'when the lease was taken (UTC)'),
    c('expires_at', 'timestamp', 'when a crashed holder stops counting; renewed while running'),
  ],
}

/**
 * The columns of every `segment_profiles_<entity>` table (SPEC §19) as the last run wrote them:
 * a data dictionary for BI users, and what the next run compares its columns with (a column
 * added, dropped, retyped or recommented rebuilds the table).
 */
export const PROFILE_COLUMNS: TableDef = {
  name: 'segment_profile_columns',
  comment: 'The columns of each segment_profiles_<entity> table, in order, with their kind, type and meaning',
  columns: [
    c('entity', 'string', 'entity name'),
    c('table_name', 'string', 'the profile table, segment_profiles_<entity>'),
    c('ordinal', 'integer', 'position of the column in the table, from 1'),
    c('column_name', 'string', 'column name'),
    c('kind', 'string', 'key, run, trait, in, holdout or stage'),
    c('value_type', 'string', 'string, number, integer, boolean, timestamp, date, or exact (a fixed-point decimal)'),
    c('comment', 'text', 'what the column holds: the trait description or definition, the segment rule in plain English'),
  ],
}

export const OUTPUT_TABLES: TableDef[] = [MEMBERSHIP, HISTORY, TRANSITIONS, GROUP_TRANSITIONS, SIZES, RUNS, DEFINITIONS, CATALOG, OVERLAP, LIFT, MODELS, SYNC_RUNS, SYNC_STATE, SYNC_LOG, ERASURES, ERASURE_DELIVERIES, STATE_SOURCES, LOCKS, PROFILE_COLUMNS]

/** Tables a --rebuild empties (the run log and the lease stay). */
export const STATE_TABLES: TableDef[] = [MEMBERSHIP, HISTORY, TRANSITIONS, GROUP_TRANSITIONS, SIZES, DEFINITIONS, CATALOG, OVERLAP, LIFT]

/** SPEC §20: the identity map of one entity, `segment_identities_<entity>`, rewritten whole by each run. */
export const identitiesTable = (entity: string): TableDef => ({
  name: `segment_identities_${entity}`,
  comment: `Every identifier of entity ${entity} and the profile it belongs to (SPEC §20), as of the last successful run`,
  columns: [
    c('kind', 'string', 'identifier kind: key (the entity key) or a kind of identity.ids'),
    c('value', 'string', 'the identifier, normalized as its kind says'),
    c('entity_key', 'string', 'the profile: an entity key, an anon_ key for an anonymous profile, NULL when ambiguous'),
    c('status', 'string', 'key, stitched, anonymous or ambiguous'),
    c('distance', 'integer', 'edges to the nearest key (NULL for anonymous)'),
    c('first_seen', 'timestamp', 'earliest timestamp of an edge row holding it (NULL when only timestamp-less relations hold it)'),
  ],
})

/**
 * SPEC §20: the identifiers of erased profiles, as hashes. Created by `segc forget` when it
 * erases a profile of an entity with identity (not every run creates it: a project without
 * identity never has one).
 */
export const ERASED_IDENTIFIERS: TableDef = {
  name: 'segment_erased_identifiers',
  comment: 'The identifiers of profiles segc forget erased (SPEC §20), as hashes, never values. Later runs keep them as one erased profile that claims its identifiers and is written nowhere',
  columns: [
    c('request_id', 'string', 'the segc forget call (segment_erasures.request_id)'),
    c('entity', 'string', 'entity name'),
    c('kind', 'string', 'identifier kind'),
    c('value_hash', 'string', "lower-case hex SHA-256 of entity || ':' || kind || ':' || value"),
  ],
}

// The output tables of SPEC §5, as data: DDL for every dialect and docs/tables.md come from here.

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
}

const c = (name: string, type: ColumnType, comment: string): TableColumn => ({name, type, comment})

export const MEMBERSHIP: TableDef = {
  name: 'segment_membership',
  comment: 'Current members of every segment, one row per segment and entity, group-resolved; replaced by each successful run',
  columns: [
    c('segment', 'string', 'segment name'),
    c('entity', 'string', 'entity name from the models (customer, account, ...)'),
    c('entity_key', 'string', 'the entity key, as a string'),
    c('entered_at', 'timestamp', 'as_of of the run in which this membership began (UTC)'),
    c('holdout', 'boolean', 'TRUE for members in the control group; syncs leave them out'),
    c('run_id', 'string', 'the run that last wrote this row'),
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
  ],
}

export const OUTPUT_TABLES: TableDef[] = [MEMBERSHIP, RUNS]

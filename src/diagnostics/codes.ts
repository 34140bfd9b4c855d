// Every diagnostic code segc can emit, with its severity and a one-line meaning.
// Codes are part of the public contract (tests and CI scripts match on them):
// add new ones, never rename. docs/diagnostics.md is generated from this table.
export const CODES = {
  // loading
  project_not_found: {severity: 'error', meaning: 'no segc.yaml in the directory or any parent'},
  file_unreadable: {severity: 'error', meaning: 'a project file could not be read'},
  yaml_syntax: {severity: 'error', meaning: 'the file is not valid YAML'},
  yaml_limit: {severity: 'error', meaning: 'a file is larger or deeper than segc accepts'},
  nesting_limit: {severity: 'error', meaning: 'conditions nested deeper than segc accepts (200 levels)'},
  unknown_kind: {severity: 'error', meaning: 'a document whose first key is not a known definition kind'},
  misplaced_kind: {severity: 'error', meaning: 'a definition in the wrong folder (models vs segments)'},
  // schema
  missing_key: {severity: 'error', meaning: 'a required key is missing'},
  unknown_key: {severity: 'error', meaning: 'a key that this definition does not take'},
  wrong_type: {severity: 'error', meaning: 'a value of the wrong YAML type'},
  bad_value: {severity: 'error', meaning: 'a value outside the allowed set or range'},
  bad_name: {severity: 'error', meaning: 'a name that does not match ^[a-z][a-z0-9_]{0,62}$'},
  // names and types
  duplicate_name: {severity: 'error', meaning: 'two definitions of one kind share a name'},
  unknown_entity: {severity: 'error', meaning: 'a reference to an entity that is not defined'},
  unknown_attribute: {severity: 'error', meaning: 'a reference to an attribute the entity does not declare'},
  unknown_property: {severity: 'error', meaning: 'a reference to a property the event does not declare'},
  unknown_trait: {severity: 'error', meaning: 'a reference to a trait that is not defined'},
  unknown_event: {severity: 'error', meaning: 'a reference to an event that is not defined'},
  unknown_segment: {severity: 'error', meaning: 'a reference to a segment that is not defined'},
  unknown_target: {severity: 'error', meaning: 'a target that segc.yaml does not define'},
  unknown_function: {severity: 'error', meaning: 'an expression calls a function segc does not know'},
  entity_mismatch: {severity: 'error', meaning: 'a condition or trait of one entity used in another'},
  type_mismatch: {severity: 'error', meaning: 'a comparison or aggregate applied to a value of the wrong type'},
  bad_condition: {severity: 'error', meaning: 'a condition that is not exactly one of the condition forms, or mixes their keys'},
  bad_time: {severity: 'error', meaning: 'a value that is not an ISO date/timestamp or relative time'},
  bad_duration: {severity: 'error', meaning: 'a duration that is not an integer and a unit (s, min, h, d, w)'},
  expr_syntax: {severity: 'error', meaning: 'an expression that does not parse'},
  cycle: {severity: 'error', meaning: 'definitions that reference each other in a loop'},
  env_missing: {severity: 'error', meaning: 'a ${env:NAME} whose variable is not set'},
  unsupported: {severity: 'error', meaning: 'a construct this version of segc cannot compile yet'},
  measure_without_holdout: {severity: 'error', meaning: 'a segment with measure: but no holdout to compare its members against'},
  not_fitted: {severity: 'error', meaning: 'a run needs a fitted model (fit: trait) with no version fitted for its current definition: run segc fit'},
  no_runs: {severity: 'error', meaning: "a command that reads run results (docs, stats, overlap, measure) on a target no run has written yet, or a sync field naming a trait the last run did not publish"},
  unknown_destination: {severity: 'error', meaning: 'a sync names a destination that segc.yaml does not define'},
  dbt_manifest: {severity: 'error', meaning: "dbt.manifest names a file that is missing, unreadable, not JSON or not dbt's manifest v12"},
  dbt_unknown: {severity: 'error', meaning: 'dbt: or dbt_source: names a model, seed, snapshot or source the manifest lacks (or dbt.manifest is not set)'},
  dbt_ephemeral: {severity: 'error', meaning: 'dbt: names an ephemeral model, which has no relation in the warehouse to read'},
  dbt_column: {severity: 'error', meaning: 'a column segc reads that the dbt node declares columns for but not this one'},
  bad_keys: {severity: 'error', meaning: 'segc forget was given no key to erase, an empty key, or a keys file that is empty or unreadable'},
  guard_refused: {severity: 'error', meaning: "a sync's guard refused its plan: nothing was sent (exit 3; --force overrides)"},
  // warnings
  expectation_failed: {severity: 'warning', meaning: "a run's segment size broke the segment's expect guard (an error with --strict: exit 3)"},
  dbt_columns_undeclared: {severity: 'warning', meaning: 'a dbt node segc reads declares no columns, so the columns segc reads cannot be checked'},
  review_overdue: {severity: 'warning', meaning: 'a segment whose review_by date has passed'},
  duplicate_key: {severity: 'warning', meaning: 'segc forget was given the same key twice: it is erased once'},
  no_segments: {severity: 'warning', meaning: 'the project defines no segment'},
  state_rebuilt: {severity: 'warning', meaning: "an incremental run found an event source's kept state missing or changed by hand, and rebuilt it from the source (a full scan of that source)"},
  // usage
  bad_flag: {severity: 'error', meaning: 'a command-line flag with an invalid value'},
  unknown_selection: {severity: 'error', meaning: '--select names a segment that does not exist'},
  unknown_sync: {severity: 'error', meaning: 'segc sync names a sync that does not exist'},
} as const satisfies Record<string, {severity: 'error' | 'warning'; meaning: string}>

export type Code = keyof typeof CODES

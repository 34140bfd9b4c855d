// JSON Schemas (draft 2020-12 subset that ajv checks) for every YAML file segc reads.
// They check shape only; names, references and types are checked by resolve/.
// `segc schema` prints them so editors (yaml-language-server) can complete and lint.

const NAME = {type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$'}
const IDENT = {type: 'string', minLength: 1}
const TEXT = {type: 'string'}
const SCALAR = {type: ['string', 'number', 'boolean']}
const DURATION = {type: 'string', description: 'an integer and a unit: s, min, h, d, w (e.g. 30d)'}
const TYPE = {enum: ['string', 'number', 'integer', 'boolean', 'timestamp', 'date']}
const AGGREGATE = {enum: ['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'first', 'last', 'most_frequent', 'active_periods']}

const comparisons = {
  eq: SCALAR,
  ne: SCALAR,
  gt: SCALAR,
  gte: SCALAR,
  lt: SCALAR,
  lte: SCALAR,
  in: {type: 'array', items: SCALAR, minItems: 1},
  not_in: {type: 'array', items: SCALAR, minItems: 1},
  between: {type: 'array', items: SCALAR, minItems: 2, maxItems: 2},
  is_null: {type: 'boolean'},
  contains: {type: 'string'},
  starts_with: {type: 'string'},
  ends_with: {type: 'string'},
}

const where = {
  type: 'object',
  description: 'property: value (meaning eq) or property: {comparison: value}',
  additionalProperties: {
    anyOf: [SCALAR, {type: 'object', properties: comparisons, additionalProperties: false, minProperties: 1}],
  },
}

const windowKeys = {
  within: DURATION,
  before: DURATION,
}

const aggregateKeys = {
  event: NAME,
  where: {$ref: '#/$defs/where'},
  ...windowKeys,
  aggregate: AGGREGATE,
  of: IDENT,
  period: DURATION,
  min_count: {type: 'integer', minimum: 1},
}

const condition = {
  type: 'object',
  description: 'exactly one of attribute, trait, event, sequence, segment, all, any, not',
  properties: {
    attribute: IDENT,
    trait: NAME,
    segment: NAME,
    ...aggregateKeys,
    sequence: {
      type: 'array',
      minItems: 1,
      items: {type: 'object', properties: {event: NAME, where: {$ref: '#/$defs/where'}}, required: ['event'], additionalProperties: false},
    },
    max_gap: DURATION,
    all: {type: 'array', items: {$ref: '#/$defs/condition'}, minItems: 1},
    any: {type: 'array', items: {$ref: '#/$defs/condition'}, minItems: 1},
    not: {$ref: '#/$defs/condition'},
    ...comparisons,
  },
  additionalProperties: false,
  minProperties: 1,
}

const attribute = {
  anyOf: [
    TYPE,
    {
      type: 'object',
      properties: {type: TYPE, column: IDENT, sensitive: {type: 'boolean'}, label: TEXT, description: TEXT},
      required: ['type'],
      additionalProperties: false,
    },
  ],
}

const DBT = {dbt: {...IDENT, description: "a dbt model, seed or snapshot, resolved through dbt.manifest to the relation dbt builds"}, dbt_source: {...IDENT, description: 'a dbt source table, SOURCE.TABLE, resolved through dbt.manifest'}}

// SPEC §20. The kind `key` is the entity key; other kinds are named in identity.ids.
const ID_COLUMNS = {type: 'object', propertyNames: NAME, additionalProperties: IDENT, minProperties: 1, description: 'identifier kind (key, or a kind of identity.ids): column'}

const identity = {
  type: 'object',
  description: 'stitch identifiers (anonymous ids, emails, ...) into one profile per entity key (SPEC §20)',
  properties: {
    ids: {
      type: 'object',
      description: 'identifier kinds besides the entity key, highest priority first',
      propertyNames: {...NAME, not: {const: 'key'}},
      additionalProperties: {
        type: ['object', 'null'],
        properties: {
          normalize: {type: 'array', items: {enum: ['trim', 'lowercase']}, description: 'trim: spaces, tabs, CR and LF at both ends; lowercase: ASCII A-Z only'},
          exclude: {type: 'array', items: SCALAR, description: 'placeholder values that are no identifiers (normalized as the kind says)'},
        },
        additionalProperties: false,
      },
    },
    edges: {
      type: 'array',
      description: 'relations (or events) whose rows link identifiers',
      items: {
        type: 'object',
        properties: {table: IDENT, sql: IDENT, ...DBT, event: NAME, timestamp: IDENT, ids: ID_COLUMNS},
        additionalProperties: false,
      },
    },
    anonymous: {type: 'boolean', description: 'profiles without an entity key are entities of the population too (default false)'},
    salt: {type: 'string', description: 'prefix of the hashed anonymous keys; ${env:NAME} is a secret'},
    max_depth: {type: 'integer', minimum: 1, maximum: 10000, description: 'labelling levels before the run fails with identity_depth (default 64)'},
    max_ids_per_profile: {type: 'integer', minimum: 1, description: 'identifiers in one profile above which a run warns (run --strict: exit 3)'},
  },
  additionalProperties: false,
}

const entity = {
  type: 'object',
  properties: {
    table: IDENT,
    sql: IDENT,
    ...DBT,
    key: IDENT,
    identity,
    label: TEXT,
    description: TEXT,
    attributes: {type: 'object', propertyNames: NAME, additionalProperties: attribute},
    profile: {type: 'array', items: NAME, maxItems: 500, description: 'traits of this entity published as columns of segment_profiles_<entity> and sendable as sync fields (SPEC §19)'},
  },
  required: ['key'],
  additionalProperties: false,
}

const event = {
  type: 'object',
  properties: {
    entity: NAME,
    table: IDENT,
    sql: IDENT,
    ...DBT,
    key: IDENT,
    ids: {...ID_COLUMNS, description: "identifier kind: column, instead of key (SPEC §20); the event belongs to the profile of its first identifier that has one"},
    timestamp: IDENT,
    loaded_at: {...IDENT, description: 'the column holding when each row landed in the warehouse (SPEC §13): incremental runs read rows by it, so lateness does not matter for this event'},
    label: TEXT,
    description: TEXT,
    where: {$ref: '#/$defs/where'},
    properties: {type: 'object', propertyNames: NAME, additionalProperties: attribute},
  },
  required: ['entity', 'timestamp'],
  additionalProperties: false,
}

const trait = {
  type: 'object',
  description: 'an aggregate of an event (event, aggregate, ...), an expression (expr), a score (ntile), a fitted model (fit) or a prediction from one (predict)',
  properties: {
    ...aggregateKeys,
    of: {anyOf: [IDENT, {type: 'array', items: IDENT, minItems: 1, maxItems: 50}]},
    fit: {enum: ['bgnbd', 'gamma_gamma', 'kmeans', 'propensity']},
    goal: {
      type: 'object',
      description: 'what a propensity model predicts: an event (with an optional where) or entering a segment',
      properties: {event: NAME, where: {$ref: '#/$defs/where'}, segment: NAME},
      additionalProperties: false,
    },
    population: {...NAME, description: 'the segment a propensity model is trained on and scores (default: every entity)'},
    features: {type: 'array', items: IDENT, minItems: 1, maxItems: 100, description: 'the traits and attributes a propensity model reads'},
    l2: {type: 'number', description: 'the ridge penalty of a propensity model (> 0; default 1)'},
    levels: {type: 'integer', minimum: 1, maximum: 100, description: 'one-hot columns per string feature of a propensity model (default 10)'},
    time_unit: DURATION,
    k: {type: 'integer', minimum: 1, maximum: 100},
    standardize: {type: 'boolean'},
    predict: {enum: ['p_alive', 'expected_purchases', 'expected_spend', 'clv', 'probability', 'percentile']},
    model: {anyOf: [NAME, {type: 'array', items: NAME, minItems: 1, maxItems: 2}]},
    horizon: DURATION,
    discount_rate: {type: 'number', exclusiveMinimum: 0, maximum: 10},
    between: {type: 'array', items: DURATION, minItems: 2, maxItems: 2},
    expr: {type: 'string', minLength: 1},
    ntile: {type: 'integer', minimum: 1, maximum: 1000},
    order: {enum: ['asc', 'desc']},
    label: TEXT,
    description: TEXT,
  },
  additionalProperties: false,
  minProperties: 1,
}

export const modelsSchema = {
  $id: 'https://segc.dev/schema/models.json',
  title: 'segc models file (models/*.yaml)',
  type: 'object',
  properties: {
    entities: {type: 'object', propertyNames: NAME, additionalProperties: {$ref: '#/$defs/entity'}},
    events: {type: 'object', propertyNames: NAME, additionalProperties: {$ref: '#/$defs/event'}},
    traits: {type: 'object', propertyNames: NAME, additionalProperties: {$ref: '#/$defs/trait'}},
  },
  additionalProperties: false,
  $defs: {entity, event, trait, where},
}

const meta = {
  description: TEXT,
  owner: TEXT,
  tags: {type: 'array', items: {type: 'string'}},
  purpose: TEXT,
  action: TEXT,
  kpi: TEXT,
  review_by: {type: 'string', description: 'ISO date'},
}

export const segmentSchema = {
  $id: 'https://segc.dev/schema/segment.json',
  title: 'segc segment (segments/*.yaml)',
  type: 'object',
  properties: {
    segment: NAME,
    entity: NAME,
    ...meta,
    rule: {$ref: '#/$defs/condition'},
    exclude: {$ref: '#/$defs/condition'},
    consent: {type: 'array', items: IDENT},
    holdout: {
      type: 'object',
      properties: {percent: {type: 'number', minimum: 0, maximum: 100}, salt: {type: ['string', 'number']}},
      required: ['percent'],
      additionalProperties: false,
    },
    refresh: {enum: ['dynamic', 'static']},
    expect: {
      type: 'object',
      properties: {
        min_size: {type: 'integer', minimum: 0},
        max_size: {type: 'integer', minimum: 0},
        max_share: {type: 'number', minimum: 0, maximum: 1},
        max_change: {type: 'number', minimum: 0},
      },
      additionalProperties: false,
    },
    measure: {
      type: 'object',
      properties: {
        outcome: {
          type: 'object',
          properties: {event: NAME, where: {$ref: '#/$defs/where'}, within: DURATION},
          required: ['event', 'within'],
          additionalProperties: false,
        },
      },
      required: ['outcome'],
      additionalProperties: false,
    },
  },
  required: ['segment', 'entity', 'rule'],
  additionalProperties: false,
  $defs: {condition, where},
}

export const groupSchema = {
  $id: 'https://segc.dev/schema/group.json',
  title: 'segc group (segments/*.yaml)',
  type: 'object',
  properties: {
    group: NAME,
    entity: NAME,
    ...meta,
    segments: {type: 'array', items: NAME, minItems: 1},
  },
  required: ['group', 'entity', 'segments'],
  additionalProperties: false,
}

const secretish = {type: 'string'}
const httpBase = {base_url: {type: 'string', pattern: '^https?://', description: 'where the API is served (tests and proxies); the vendor default otherwise'}}
const delivery = {
  batch_size: {type: 'integer', minimum: 1, maximum: 10000, description: 'operations per request (default per destination)'},
  concurrency: {type: 'integer', minimum: 1, maximum: 32, description: 'requests in flight at once'},
  rate_limit: {type: 'number', exclusiveMinimum: 0, description: 'requests per second at most'},
  timeout_seconds: {type: 'number', exclusiveMinimum: 0, description: 'one request'},
  max_attempts: {type: 'integer', minimum: 1, maximum: 20, description: 'tries per batch before its operations stay pending'},
}
const destinationSchema = {
  type: 'object',
  required: ['type'],
  discriminator: {propertyName: 'type'},
  oneOf: [
    {properties: {type: {const: 'webhook'}, url: {type: 'string', pattern: '^(https?://|\\$\\{env:)'}, signing_secret: secretish, headers: {type: 'object', additionalProperties: {type: 'string'}}, ...delivery}, required: ['url', 'signing_secret'], additionalProperties: false},
    {properties: {type: {const: 'file'}, path: IDENT, format: {enum: ['csv', 'parquet', 'jsonl']}}, required: ['path'], additionalProperties: false},
    {properties: {type: {const: 'postgres'}, url: secretish, schema: IDENT, table: IDENT, ...delivery}, required: ['url'], additionalProperties: false},
    {properties: {type: {const: 'klaviyo'}, api_key: secretish, list_id: {type: ['string', 'integer']}, id_field: {enum: ['email', 'phone_number', 'external_id'], description: 'the profile identifier identify_by holds (default email)'}, ...httpBase, ...delivery}, required: ['api_key'], additionalProperties: false},
    {properties: {type: {const: 'hubspot'}, access_token: secretish, list_id: {type: ['string', 'integer']}, id_property: {...IDENT, description: 'the contact property identify_by holds (default email)'}, ...httpBase, ...delivery}, required: ['access_token'], additionalProperties: false},
  ],
}

export const configSchema = {
  $id: 'https://segc.dev/schema/segc.json',
  title: 'segc project config (segc.yaml)',
  type: 'object',
  properties: {
    name: IDENT,
    output: {type: 'object', properties: {schema: IDENT}, additionalProperties: false},
    default_target: IDENT,
    targets: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        required: ['type'],
        discriminator: {propertyName: 'type'},
        oneOf: [
          {properties: {type: {const: 'duckdb'}, path: IDENT, threads: {type: 'integer', minimum: 1}, memory_limit: IDENT, temp_directory: IDENT, schema: IDENT}, additionalProperties: false},
          {
            properties: {
              type: {const: 'snowflake'},
              account: secretish,
              user: secretish,
              password: secretish,
              private_key_path: secretish,
              private_key_passphrase: secretish,
              authenticator: secretish,
              warehouse: IDENT,
              database: IDENT,
              role: IDENT,
              schema: IDENT,
              query_timeout_seconds: {type: 'integer', minimum: 1},
            },
            required: ['account', 'user', 'database'],
            additionalProperties: false,
          },
          {
            properties: {
              type: {const: 'bigquery'},
              project: IDENT,
              dataset: IDENT,
              location: IDENT,
              key_file: secretish,
              maximum_bytes_billed: {type: 'integer', minimum: 1},
            },
            required: ['project', 'dataset'],
            additionalProperties: false,
          },
        ],
      },
    },
    destinations: {type: 'object', description: 'where syncs push membership (SPEC §11); secrets only as ${env:NAME}', propertyNames: NAME, additionalProperties: destinationSchema},
    retention: {
      type: 'object',
      description: 'how long history is kept (SPEC §15): each run deletes what is older, in its transaction',
      properties: {
        history: {...DURATION, description: 'membership history intervals closed before as_of minus this are deleted (e.g. 400d)'},
        transitions: {...DURATION, description: 'transitions, group transitions and the sync log older than as_of minus this are deleted (e.g. 400d)'},
      },
      additionalProperties: false,
    },
    incremental: {
      type: 'object',
      description: 'incremental runs (SPEC §13): a run reads what changed since the last one, and keeps state in segment_state_* tables',
      properties: {
        late_arrival: {...DURATION, description: 'events land in the warehouse at most this long after their timestamp (e.g. 2d); later ones are missed until a --full run'},
        read_whole: {
          enum: ['auto', 'never'],
          description: 'auto (default): an event relation is read whole, and its state rebuilt, when that reads fewer rows than its kept state and slices would; never: always from kept state while it is valid',
        },
      },
      required: ['late_arrival'],
      additionalProperties: false,
    },
    dbt: {
      type: 'object',
      description: "a dbt project whose models and sources models may name (dbt:, dbt_source:)",
      properties: {manifest: {...IDENT, description: "the dbt project's target/manifest.json (v12, dbt 1.8 and later), relative to the project root"}},
      required: ['manifest'],
      additionalProperties: false,
    },
    lineage: {
      type: 'object',
      description: 'where run, sync and fit report lineage (SPEC §16)',
      properties: {
        openlineage: {
          type: 'object',
          properties: {
            url: {type: 'string', pattern: '^(https?://|\\$\\{env:)', description: 'the OpenLineage endpoint; events go to {url}/api/v1/lineage'},
            namespace: {...IDENT, description: "the jobs' namespace (default: the project name)"},
            api_key: {...secretish, description: 'sent as a Bearer token'},
            timeout_seconds: {type: 'number', exclusiveMinimum: 0, maximum: 60, description: 'one request (default 5)'},
          },
          required: ['url'],
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  required: ['name'],
  additionalProperties: false,
}

export const syncSchema = {
  $id: 'https://segc.dev/schema/sync.json',
  title: 'segc sync (syncs/*.yaml)',
  type: 'object',
  properties: {
    sync: NAME,
    description: TEXT,
    owner: TEXT,
    destination: NAME,
    segments: {type: 'array', items: NAME, minItems: 1, description: 'segments to send (or group:)'},
    group: {...NAME, description: 'every segment of this group'},
    mode: {enum: ['audience', 'upsert', 'mirror', 'events'], description: 'audience: list membership; upsert: records with fields, kept up to date; mirror: upsert and delete; events: entered/exited messages'},
    identify_by: {...NAME, description: 'entity attribute that identifies the record at the destination (default: the entity key)'},
    fields: {
      type: 'object',
      propertyNames: NAME,
      additionalProperties: {
        anyOf: [
          {type: 'string'},
          {type: 'object', properties: {trait: NAME, round: {type: 'integer', minimum: 0, maximum: 9, description: 'decimals, rounded half away from zero'}}, required: ['trait'], additionalProperties: false},
        ],
      },
      description: "destination field: entity attribute, a trait of the entity's profile (bare or {trait, round}) or built-in (in_segment, segment, entered_at, as_of, entity_key)",
    },
    consent: {type: 'array', items: NAME, description: 'boolean attributes that must all be TRUE'},
    guards: {
      type: 'object',
      properties: {
        max_removals: {type: 'number', minimum: 0, maximum: 1, description: 'largest share of the synced state one sync may remove'},
        min_size: {type: 'integer', minimum: 0, description: 'fewest sendable rows'},
        allow_empty: {type: 'boolean', description: 'allow an empty sendable set over a non-empty state'},
        max_rejected: {type: 'number', minimum: 0, maximum: 1, description: 'share of operations the destination may reject before the sync exits 2 (default 0.01)'},
      },
      additionalProperties: false,
    },
    after_run: {type: 'boolean', description: 'segc run --sync runs it after a successful run'},
  },
  required: ['sync', 'destination', 'mode'],
  additionalProperties: false,
}

export const testSchema = {
  $id: 'https://segc.dev/schema/test.json',
  title: 'segc fixture test (segments/**/*.test.yaml)',
  type: 'object',
  properties: {
    test: {type: 'string', minLength: 1},
    description: TEXT,
    as_of: {type: 'string', description: 'ISO timestamp the project is run at'},
    given: {
      type: 'object',
      description: 'rows per source relation (as named in the models), columns as the models declare them',
      additionalProperties: {type: 'array', items: {type: 'object'}},
    },
    expect: {
      type: 'object',
      description: 'segment: exact list of member keys (holdout members included)',
      propertyNames: NAME,
      additionalProperties: {type: 'array', items: {type: ['string', 'number']}},
    },
    models: {
      type: 'object',
      description: 'parameters of the fitted models the segments read, as segment_models stores them: {r, alpha, a, b}, {p, q, gamma} or {means, stddevs, centroids}',
      propertyNames: NAME,
      additionalProperties: {type: 'object'},
    },
  },
  required: ['test', 'as_of', 'expect'],
  additionalProperties: false,
}

export const ALL_SCHEMAS = {config: configSchema, models: modelsSchema, segment: segmentSchema, group: groupSchema, test: testSchema, sync: syncSchema}

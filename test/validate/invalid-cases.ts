// The invalid-project cases: shared by the validate tests and the language server's (test/lsp), which must report the same.

export const ACCOUNT_MODELS = `
entities:
  account:
    table: main.accounts
    key: id
    attributes: { seats: integer }
traits:
  seats_x2: { expr: "seats * 2" }
`

export interface Case {
  name: string
  file: string
  text: string
  /** every expected problem: [code, line, col] */
  expect: Array<[string, number, number]>
}

// Positions are 1-based and point at the YAML node at fault; worked out by reading each text.
export const CASES: Case[] = [
  {name: 'YAML syntax error', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: age, eq: 1\n', expect: [['yaml_syntax', 4, 1]]},
  {name: 'unknown top-level key', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\ndescripton: x\nrule: {attribute: age, eq: 1}\n', expect: [['unknown_key', 3, 1]]},
  {name: 'missing rule', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\n', expect: [['missing_key', 1, 1]]},
  {name: 'bad segment name', file: 'segments/a.yaml', text: 'segment: Bad-Name\nentity: customer\nrule: {attribute: age, eq: 1}\n', expect: [['bad_name', 1, 10]]},
  {name: 'unknown attribute', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule:\n  attribute: contry\n  eq: US\n', expect: [['unknown_attribute', 4, 14]]},
  {name: 'unknown trait', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {trait: nope, gt: 1}\n', expect: [['unknown_trait', 3, 15]]},
  {name: 'unknown event', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {event: ordr}\n', expect: [['unknown_event', 3, 15]]},
  {name: 'unknown segment', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {segment: b}\n', expect: [['unknown_segment', 3, 17]]},
  {name: 'unknown entity', file: 'segments/a.yaml', text: 'segment: a\nentity: person\nrule: {attribute: age, eq: 1}\n', expect: [['unknown_entity', 2, 9]]},
  {name: 'unknown property in where', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule:\n  event: order\n  where: {colour: red}\n', expect: [['unknown_property', 5, 11]]},
  {name: 'number compared to a string attribute', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: country, eq: 5}\n', expect: [['type_mismatch', 3, 32]]},
  {name: 'relative time compared to a number', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: age, gte: -30d}\n', expect: [['type_mismatch', 3, 29]]},
  {name: 'not a time', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: signup_at, gte: yesterday}\n', expect: [['bad_time', 3, 35]]},
  {name: 'bad duration', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {event: order, within: 30 days}\n', expect: [['bad_duration', 3, 30]]},
  {name: 'contains on a number', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: age, contains: "1"}\n', expect: [['type_mismatch', 3, 24]]},
  {name: 'sum of a string property', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {event: order, aggregate: sum, of: category, gt: 1}\n', expect: [['type_mismatch', 3, 42]]},
  {name: 'trait of another entity', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {trait: seats_x2, gt: 1}\n', expect: [['entity_mismatch', 3, 15]]},
  {name: 'attribute of another entity', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: seats, gt: 1}\n', expect: [['entity_mismatch', 3, 19]]},
  {name: 'two forms in one condition', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: age, trait: orders_total, gt: 1}\n', expect: [['bad_condition', 3, 24]]},
  {name: 'window on an attribute condition', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {attribute: age, gt: 1, within: 30d}\n', expect: [['bad_condition', 3, 31]]},
  {
    name: 'segment reference cycle lists the loop',
    file: 'segments/a.yaml',
    text: 'segment: a\nentity: customer\nrule: {segment: b}\n---\nsegment: b\nentity: customer\nrule: {segment: a}\n',
    expect: [['cycle', 1, 1]],
  },
  {
    name: 'duplicate segment name',
    file: 'segments/a.yaml',
    text: 'segment: a\nentity: customer\nrule: {attribute: age, eq: 1}\n---\nsegment: a\nentity: customer\nrule: {attribute: age, eq: 2}\n',
    expect: [['duplicate_name', 5, 1]],
  },
  {name: 'sequence with an unknown step event and a bad max_gap', file: 'segments/a.yaml', text: 'segment: a\nentity: customer\nrule: {sequence: [{event: order}, {event: ordr}], max_gap: 1 day}\n', expect: [['unknown_event', 3, 43], ['bad_duration', 3, 60]]},
  {name: 'unknown kind', file: 'segments/a.yaml', text: 'segmant: a\nentity: customer\n', expect: [['unknown_kind', 1, 1]]},
  {name: 'expression that does not parse', file: 'models/x.yaml', text: 'traits:\n  bad: { expr: "age * (2 +" }\n', expect: [['expr_syntax', 2, 27]]},
  {name: 'unknown function', file: 'models/x.yaml', text: 'traits:\n  bad: { expr: "sqrt(age)" }\n', expect: [['unknown_function', 2, 17]]},
  {name: 'trait cycle', file: 'models/x.yaml', text: 'traits:\n  t1: { expr: "t2 + 1" }\n  t2: { expr: "t1 + 1" }\n', expect: [['cycle', 2, 3]]},
  {
    name: 'several problems are all reported',
    file: 'segments/a.yaml',
    text: 'segment: a\nentity: customer\nrule:\n  all:\n    - {attribute: contry, eq: US}\n    - {trial: x}\n    - {event: order, within: 5x}\n',
    expect: [
      ['unknown_attribute', 5, 19],
      ['unknown_key', 6, 8],
      ['bad_duration', 7, 30],
    ],
  },
]

import {describe, expect, it} from 'vitest'
import {formatDiagnostic} from '../../src/diagnostics/diagnostic.js'
import {validateProject} from '../../src/validate/validate-project.js'
import {MODELS} from '../language/fixture-shop.js'
import {CONFIG, writeProject} from '../helpers/project.js'

// syncs/*.yaml and segc.yaml's destinations: every problem positioned, as everywhere else.

const SEGMENTS = `segment: vips
entity: customer
rule: {attribute: vip, eq: true}
---
segment: adults
entity: customer
rule: {attribute: age, gte: 18}
---
group: tiers
entity: customer
segments: [vips, adults]
`
const DESTINATIONS = `destinations:
  hook: {type: webhook, url: "\${env:HOOK_URL}", signing_secret: "\${env:HOOK_SECRET}"}
  out: {type: file, path: out.csv}
`

function problems(sync: string, config = CONFIG + DESTINATIONS): string[] {
  const dir = writeProject({'segc.yaml': config, 'models/m.yaml': MODELS, 'segments/s.yaml': SEGMENTS, 'syncs/s.yaml': sync})
  return validateProject({project: dir}).diagnostics.map(formatDiagnostic)
}

describe('sync definitions', () => {
  it('a valid sync: segments or a group, fields from attributes and built-ins, boolean consent', () => {
    expect(problems('sync: a\ndestination: hook\nsegments: [vips]\nmode: upsert\nfields: {c: country, since: entered_at, in: in_segment}\nconsent: [opt_in]\n')).toEqual([])
    expect(problems('sync: b\ndestination: out\ngroup: tiers\nmode: audience\nidentify_by: country\n')).toEqual([])
  })

  it('unknown names, wrong types and bad shapes, each at its position', () => {
    expect(
      problems(`sync: a
destination: hooks
segments: [vips, adult, tiers]
mode: upsert
identify_by: emial
fields: {c: countyr}
consent: [country]
`),
    ).toEqual([
      "syncs/s.yaml:2:14: error[unknown_destination]: no destination 'hooks' in segc.yaml (did you mean 'hook'?)",
      "syncs/s.yaml:3:18: error[unknown_segment]: no segment 'adult' (did you mean 'adults'?)",
      "syncs/s.yaml:3:25: error[unknown_segment]: no segment 'tiers' ('tiers' is a group: use group: tiers)",
      "syncs/s.yaml:5:14: error[unknown_attribute]: identify_by: entity 'customer' has no attribute 'emial'",
      "syncs/s.yaml:6:13: error[unknown_attribute]: field 'c': 'countyr' is neither an attribute of 'customer' nor a built-in (in_segment, segment, entered_at, as_of, entity_key) (did you mean 'country'?)",
      "syncs/s.yaml:7:11: error[type_mismatch]: consent attribute 'country' is string; consent needs a boolean attribute",
    ])
    expect(problems('sync: a\ndestination: hook\nsegments: [vips]\nmode: push\nguards: {max_removals: 2}\n')).toEqual([
      "syncs/s.yaml:4:7: error[bad_value]: 'mode' must be one of audience, upsert, mirror, events, not 'push'",
      "syncs/s.yaml:5:24: error[bad_value]: 'guards.max_removals' must be <= 1",
    ])
    expect(problems('sync: a\ndestination: hook\nmode: audience\n')).toEqual(["syncs/s.yaml:1:1: error[missing_key]: sync 'a' needs segments: or group:"])
    expect(problems('sync: a\ndestination: out\nsegments: [vips]\nmode: events\nfields: {id: country}\n')).toEqual([
      "syncs/s.yaml:4:7: error[unsupported]: destination 'out' is a file: it holds the current sendable set (lists, records), not a stream of changes, so use mode audience, upsert or mirror",
      "syncs/s.yaml:5:10: error[bad_value]: field 'id': a file destination writes its own 'id' column (segment, entity_key, id); name the field otherwise",
    ])
    expect(problems('segment: x\n')).toEqual(["syncs/s.yaml:1:1: error[unknown_kind]: a document in syncs/ must start with sync, not 'segment'"])
  })

  it('destinations: the type decides the keys; secrets are not checked until a sync runs', () => {
    expect(problems('sync: a\ndestination: hook\nsegments: [vips]\nmode: audience\n', CONFIG + 'destinations:\n  hook: {type: webhook, url: "ftp://x", signing_secret: s, retries: 3}\n  k: {type: klavio}\n')).toEqual([
      'segc.yaml:5:30: error[bad_value]: \'destinations.hook.url\' must match pattern "^(https?://|\\$\\{env:)"',
      "segc.yaml:5:60: error[unknown_key]: unknown key 'retries' in 'destinations.hook'",
      "segc.yaml:6:6: error[bad_value]: 'destinations.k' has an unknown type 'klavio': one of webhook, file, postgres, klaviyo, hubspot",
    ])
  })
})

import type {Membership} from './project.js'

export interface DiffFixture {
  /** rows of a current membership table (segment, entity, entity_key, holdout) */
  current: Array<{segment: string; entity: string; entity_key: string; holdout: boolean}>
  /** rows of the run's segments (segment, entity, cause) */
  runSegments: Array<{segment: string; entity: string; cause: string}>
  /** the changes the diff must give, as `segment|entity_key|change|holdout|was_holdout` */
  want: string[]
}

/**
 * A current membership made from a new one (`fresh`, computed independently): every third
 * member missing (entered), a stranger in every fifth segment (exited), the holdout flag
 * flipped on every seventh member (holdout), and a removed segment (exited); the expected
 * changes follow from how it was made.
 */
export function diffFixture(fresh: Membership, segments: readonly string[]): DiffFixture {
  const current: DiffFixture['current'] = []
  const want: string[] = []
  let i = 0
  segments.forEach((seg, s) => {
    for (const key of fresh.members[seg]!) {
      const held = fresh.holdout[seg]!.includes(key)
      i++
      if (i % 3 === 0) want.push(`${seg}|${key}|entered|${held}|null`)
      else if (i % 7 === 0) {
        current.push({segment: seg, entity: 'customer', entity_key: key, holdout: !held})
        want.push(`${seg}|${key}|holdout|${held}|${!held}`)
      } else current.push({segment: seg, entity: 'customer', entity_key: key, holdout: held})
    }
    if (s % 5 === 0) {
      current.push({segment: seg, entity: 'customer', entity_key: 'nobody', holdout: false})
      want.push(`${seg}|nobody|exited|null|false`)
    }
  })
  current.push({segment: 'gone', entity: 'customer', entity_key: 'c1', holdout: true})
  want.push('gone|c1|exited|null|true')
  const runSegments = [...segments.map((segment) => ({segment, entity: 'customer', cause: 'data'})), {segment: 'gone', entity: 'customer', cause: 'segment_removed'}]
  return {current, runSegments, want}
}

/** A change row as diffFixture's `want` spells it. */
export const changeKey = (r: Record<string, unknown>): string =>
  `${String(r.segment)}|${String(r.entity_key)}|${String(r.change)}|${r.holdout === null || r.holdout === undefined ? 'null' : String(r.holdout)}|${r.was_holdout === null || r.was_holdout === undefined ? 'null' : String(r.was_holdout)}`

import {Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {withCatalog, type OverlapRow} from '../inspect/read-catalog.js'

export interface OverlapLine extends OverlapRow {
  /** both / the smaller segment's size: 1 when one segment sits inside the other */
  share_of_smaller: number | null
  /** both / (both + only_a + only_b) */
  jaccard: number | null
}

export default class Overlap extends SegcCommand {
  static override summary = 'The largest overlaps between segments of one entity, from the latest run.'
  static override description = `Reads segment_overlap (written by every run, every pair of segments of one entity) and lists the pairs sharing the most entities, with the share of the smaller segment they make up and the Jaccard index. Two segments that share most of their members are often two teams messaging the same people. Read-only; exits 1 before the target's first run.`
  static override examples = ['<%= config.bin %> overlap', '<%= config.bin %> overlap --limit 50 --json']
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    limit: Flags.integer({description: 'how many pairs to show', default: 20, min: 1}),
  }

  async run(): Promise<{target: string; pairs: OverlapLine[]}> {
    const {flags} = await this.parse(Overlap)
    const result = await withCatalog({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})}, async (reader, p) => {
      const rows = await reader.overlap()
      const pairs = rows
        .filter((r) => r.both > 0)
        .map((r) => {
          const smaller = Math.min(r.both + r.only_a, r.both + r.only_b)
          const union = r.both + r.only_a + r.only_b
          return {...r, share_of_smaller: smaller > 0 ? r.both / smaller : null, jaccard: union > 0 ? r.both / union : null}
        })
        .sort((a, b) => b.both - a.both || a.segment_a.localeCompare(b.segment_a) || a.segment_b.localeCompare(b.segment_b))
        .slice(0, flags.limit)
      return {target: p.target.name, pairs}
    })
    if (!this.jsonEnabled()) {
      const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`)
      this.out(
        result.pairs.length
          ? textTable(['segment_a', 'segment_b', 'both', 'only_a', 'only_b', 'of_smaller', 'jaccard'], result.pairs.map((r) => [r.segment_a, r.segment_b, r.both, r.only_a, r.only_b, pct(r.share_of_smaller), pct(r.jaccard)]))
          : 'no two segments share a member',
      )
    }
    return result
  }
}

import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {liftStatistics, type LiftCounts, type LiftStatistics} from '../catalog/lift.js'
import {checkSegmentArgs, withCatalog} from '../inspect/read-catalog.js'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'

export type MeasureLine = {segment: string; as_of: string} & LiftCounts & LiftStatistics

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v))

export default class Measure extends SegcCommand {
  static override summary = "Members against the holdout on each segment's measure: outcome, from the latest run."
  static override description = `Reads segment_lift: for each segment with a holdout and measure:, the entities that entered it (each once, from its first entry, once its outcome window has closed), how many of them had the outcome, in and out of the holdout; the conversion rates, absolute and relative lift, its 95% confidence interval and the two-sided p-value of the pooled two-proportion z-test. When there is too little data the statistics are left out and the reason is given. Read-only; exits 1 before the target's first run.`
  static override examples = ['<%= config.bin %> measure', '<%= config.bin %> measure win_back --json']
  static override strict = false
  static override args = {segments: Args.string({description: 'segments to show (default: every segment with measure:)'})}
  static override flags = {target: Flags.string({description: 'target from segc.yaml (default: default_target)'})}

  async run(): Promise<{target: string; segments: MeasureLine[]}> {
    const {argv, flags} = await this.parse(Measure)
    const names = argv as string[]
    const result = await withCatalog({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})}, async (reader, p) => {
      checkSegmentArgs(p, names)
      const unmeasured = names.filter((s) => !p.v.project.segments.get(s)!.measure)
      if (unmeasured.length) {
        throw new DiagnosticsError(unmeasured.map((s) => diag('bad_value', {file: 'SEGMENT', line: 1, col: names.indexOf(s) + 1}, `segment '${s}' has no measure: (add a holdout and measure: {outcome: {event: ..., within: 30d}})`)))
      }
      const latest = new Map<string, MeasureLine>()
      for (const r of await reader.lift()) {
        const counts = {members: Number(r.members), members_converted: Number(r.members_converted), holdout: Number(r.holdout), holdout_converted: Number(r.holdout_converted)}
        const {reason} = liftStatistics(counts)
        latest.set(String(r.segment), {
          segment: String(r.segment),
          as_of: r.as_of,
          ...counts,
          rate_members: n(r.rate_members),
          rate_holdout: n(r.rate_holdout),
          lift_abs: n(r.lift_abs),
          lift_rel: n(r.lift_rel),
          ci_low: n(r.ci_low),
          ci_high: n(r.ci_high),
          p_value: n(r.p_value),
          ...(reason ? {reason} : {}),
        })
      }
      const wanted = names.length ? names : [...p.v.project.segments.values()].filter((s) => s.measure).map((s) => s.name)
      return {target: p.target.name, segments: wanted.flatMap((s) => (latest.has(s) ? [latest.get(s)!] : []))}
    })
    if (!this.jsonEnabled()) {
      const pct = (x: number | null, digits = 1) => (x === null ? '-' : `${(x * 100).toFixed(digits)}%`)
      const rows = result.segments.map((s) => [
        s.segment,
        s.as_of.slice(0, 10),
        `${s.members_converted}/${s.members}`,
        pct(s.rate_members),
        `${s.holdout_converted}/${s.holdout}`,
        pct(s.rate_holdout),
        s.lift_abs === null ? '-' : `${s.lift_abs >= 0 ? '+' : ''}${(s.lift_abs * 100).toFixed(2)} pts`,
        s.ci_low === null ? '-' : `[${(s.ci_low * 100).toFixed(2)}, ${(s.ci_high! * 100).toFixed(2)}]`,
        s.p_value === null ? '-' : s.p_value < 0.0001 ? '<0.0001' : s.p_value.toFixed(4),
      ])
      this.out(result.segments.length ? textTable(['segment', 'as_of', 'members', 'rate', 'holdout', 'rate', 'lift', '95% CI (pts)', 'p'], rows) : 'no segment with measure: has been run yet')
      for (const s of result.segments) if (s.reason) this.out(`${s.segment}: no statistics: ${s.reason}`)
    }
    return result
  }
}

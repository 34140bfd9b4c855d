import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {identityStats, type IdentityStats} from '../identity/stats.js'
import {checkSegmentArgs, withCatalog, type SizeRow, type StateRow} from '../inspect/read-catalog.js'

export interface SegmentStats {
  segment: string
  entity: string
  size: number
  holdout_size: number
  /** over the runs shown, leaving out the segment's first run (its members all "enter" then) */
  entered: number
  exited: number
  /** (entered + exited) / the mean size over the runs shown; NULL for an always-empty segment */
  churn: number | null
  history: Array<Omit<SizeRow, 'segment'>>
}

export default class Stats extends SegcCommand {
  static override summary = 'Sizes, entries and exits of segments over the recent runs.'
  static override description = `Reads segment_sizes on the target. Without SEGMENT: one line per current segment with its latest size and holdout, and the entries, exits and churn ((entered + exited) / mean size) summed over the last --runs runs (a segment's first run, where every member enters, is not counted). With SEGMENT names: their size, entries and exits run by run. With --state: the state incremental runs keep (SPEC §13), per event source: its table's rows, the keys they hold and rows per key, the source rows its day buckets stand for, the first day kept and the day state is frozen up to. With --identity: what the last run's identity map holds per entity with identity (SPEC §20): identifiers by kind and status, profiles known and anonymous, events that count for no entity, the largest profiles by identifiers (docs/identity.md lists the --json fields). Read-only; exits 1 before the target's first run.`
  static override examples = ['<%= config.bin %> stats', '<%= config.bin %> stats win_back at_risk --runs 5', '<%= config.bin %> stats --json', '<%= config.bin %> stats --state', '<%= config.bin %> stats --identity']
  static override strict = false
  static override args = {segments: Args.string({description: 'segments to show run by run (default: a summary of all)'})}
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    runs: Flags.integer({description: 'how many recent runs to cover', default: 10, min: 1}),
    state: Flags.boolean({description: 'the state incremental runs keep, per event source: rows, keys, rows per key, the events day buckets stand for, days covered', default: false}),
    identity: Flags.boolean({description: "the last run's identity map: identifiers by kind and status, profiles known and anonymous, events that count for no entity, the largest profiles", default: false}),
  }

  async run(): Promise<{target: string; runs: string[]; segments: SegmentStats[]} | {target: string; state: StateRow[]} | {target: string; as_of: string; identity: IdentityStats[]}> {
    const {argv, flags} = await this.parse(Stats)
    const names = argv as string[]
    if (flags.identity) {
      if (names.length || flags.state) throw new DiagnosticsError([diag('bad_flag', {file: '--identity', line: 1, col: 1}, '--identity reports the identity map of every entity with identity; it takes no segment and no --state')])
      return this.identity(flags)
    }
    if (flags.state) {
      if (names.length) throw new DiagnosticsError([diag('bad_flag', {file: '--state', line: 1, col: 1}, `--state reports the incremental state of every event source; it takes no segment (got ${names.join(', ')})`)])
      return this.state(flags)
    }
    const result = await withCatalog({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})}, async (reader, p) => {
      checkSegmentArgs(p, names)
      const catalog = await reader.catalog()
      const sizes = await reader.sizes(flags.runs)
      const runs = [...new Set(sizes.map((s) => s.as_of))]
      const wanted = names.length ? names : catalog.map((c) => String(c.segment))
      const entityOf = new Map(catalog.map((c) => [String(c.segment), String(c.entity)]))
      const segments = wanted.map((segment): SegmentStats => {
        const history = sizes.filter((s) => s.segment === segment).map(({segment: _, ...rest}) => rest)
        const last = history.at(-1)
        const moves = history.filter((h) => !h.first)
        const entered = moves.reduce((n, h) => n + h.entered, 0)
        const exited = moves.reduce((n, h) => n + h.exited, 0)
        const mean = history.length ? history.reduce((n, h) => n + h.size, 0) / history.length : 0
        const entity = entityOf.get(segment) ?? p.v.project.segments.get(segment)!.entity
        return {segment, entity, size: last?.size ?? 0, holdout_size: last?.holdout_size ?? 0, entered, exited, churn: mean > 0 ? (entered + exited) / mean : null, history}
      })
      return {target: p.target.name, runs, segments}
    })
    if (!this.jsonEnabled()) {
      const span = result.runs.length ? `${result.runs.length} run${result.runs.length === 1 ? '' : 's'} from ${result.runs[0]} to ${result.runs.at(-1)}` : 'no runs'
      this.out(`${result.target}: ${span}\n`)
      if (names.length) {
        for (const s of result.segments) {
          this.out(`${s.segment} (${s.entity})`)
          this.out(textTable(['as_of', 'size', 'holdout', 'entered', 'exited'], s.history.map((h) => [h.as_of, h.size, h.holdout_size, h.entered, h.exited])) + '\n')
        }
      } else {
        const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`)
        this.out(textTable(['segment', 'entity', 'size', 'holdout', 'entered', 'exited', 'churn'], result.segments.map((s) => [s.segment, s.entity, s.size, s.holdout_size, s.entered, s.exited, pct(s.churn)])))
      }
    }
    return result
  }

  private async identity(flags: {target?: string; project?: string}): Promise<{target: string; as_of: string; identity: IdentityStats[]}> {
    const result = await withCatalog({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})}, async (reader, p) => {
      const asOf = (await reader.runs()).at(-1)!.as_of
      return {target: p.target.name, as_of: asOf, identity: await identityStats(reader.conn, p.adapter.dialect, p.v.project, new Date(asOf))}
    })
    if (!this.jsonEnabled()) {
      if (!result.identity.length) this.out(`${result.target}: no entity declares identity (SPEC §20)`)
      for (const e of result.identity) {
        this.out(`${e.entity}: identity map of the run at ${result.as_of}${e.mapped ? '' : ' (none written yet)'}; ${e.profiles.known} known profiles, ${e.profiles.anonymous} anonymous\n`)
        this.out(textTable(['kind', 'status', 'identifiers'], e.nodes.map((n) => [n.kind, n.status, n.identifiers])) + '\n')
        this.out(textTable(['event', 'rows for no entity'], e.unattributed_events.map((u) => [u.event, u.rows])) + '\n')
        this.out('largest profiles\n' + textTable(['profile', 'status', 'identifiers'], e.largest.map((l) => [l.profile, l.status, l.identifiers])) + '\n')
      }
    }
    return result
  }

  private async state(flags: {target?: string; project?: string}): Promise<{target: string; state: StateRow[]}> {
    const result = await withCatalog({...this.projectOpts(flags), ...(flags.target ? {target: flags.target} : {})}, async (reader, p) => ({target: p.target.name, state: await reader.state()}))
    if (!this.jsonEnabled()) {
      if (!result.state.length) this.out(`${result.target}: no incremental state (segc.yaml has no incremental:, or no run has kept any yet)`)
      else {
        const ratio = (x: number | null) => (x === null ? '-' : x.toFixed(3))
        const n = (x: number | null) => (x === null ? 'missing' : x.toLocaleString('en-US'))
        this.out(`${result.target}: state of ${result.state.length} event source${result.state.length === 1 ? '' : 's'}\n`)
        this.out(
          textTable(
            ['source', 'state table', 'rows', 'keys', 'rows/key', 'day-bucket events', 'first day', 'frozen before'],
            result.state.map((s) => [s.source, s.state_table, n(s.state_rows), n(s.keys), ratio(s.rows_per_key), n(s.events), s.first_day ?? '-', s.frozen.slice(0, 10)]),
          ),
        )
        this.out(`\ntotal: ${n(result.state.reduce((t, s) => t + (s.state_rows ?? 0), 0))} rows, ${n(result.state.reduce((t, s) => t + (s.key_rows ?? 0), 0))} of them values per key; day buckets standing for ${n(result.state.reduce((t, s) => t + (s.events ?? 0), 0))} events`)
      }
    }
    return result
  }
}

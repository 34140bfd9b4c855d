import {Args, Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'
import {explainIdentifier, type WhyId} from '../why/why-id.js'
import {explainEntity, type Why, type WhyNode} from '../why/why.js'

const MARK = {true: '✓', false: '✗', unknown: '?'} as const

const show = (v: unknown) => (v === null ? 'NULL' : typeof v === 'number' ? String(Number(v.toPrecision(10))) : typeof v === 'string' ? v : JSON.stringify(v))

export default class WhyCommand extends SegcCommand {
  static override summary = 'Explain why one entity is, or is not, in each segment.'
  static override description = `Evaluates every segment of the entity (or those named with --segment) for one key, read-only, at --as-of (default: the as_of of the target's last successful run, so it agrees with the membership that run wrote): whether it is a member and in the holdout, and why — the rule as a tree with each condition's outcome (✓ true, ✗ false, ? unknown: the value was NULL, which the rule reads as false) and the value it compared (an attribute, a trait, the count or aggregate of events in the window), then the exclusion, consent and, in a group, the earlier stage that took it. A key that does not exist is an error (exit 1). With --id KIND:VALUE instead of a key (SPEC §20): where that identifier landed in the identity labelling at the as_of — its status (key, stitched, anonymous, ambiguous, erased, or none when it is no identifier; exit 0 either way), its profile, and one shortest path to its key as hops with the edge relation of each, or for an ambiguous one its nearest keys (docs/identity.md lists the --json fields).`
  static override examples = ['<%= config.bin %> why c0042', '<%= config.bin %> why c0042 --segment win_back --segment at_risk', '<%= config.bin %> why acct_17 --entity account --json', '<%= config.bin %> why --id email:jane@example.com']
  static override args = {key: Args.string({description: "the entity's key (or --id)", required: false})}
  static override flags = {
    entity: Flags.string({description: 'the entity the key belongs to (default: the only entity segments use)'}),
    segment: Flags.string({description: 'explain only these segments (repeatable)', multiple: true}),
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'as-of': Flags.string({description: "the instant to evaluate at, ISO 8601 (default: the target's last successful run's as_of)"}),
    id: Flags.string({description: 'explain an identifier instead of a key: KIND:VALUE, e.g. email:jane@example.com (SPEC §20)'}),
  }

  async run(): Promise<Why | WhyId> {
    const {args, flags} = await this.parse(WhyCommand)
    if (flags.id !== undefined) {
      if (args.key !== undefined || flags.segment) throw new DiagnosticsError([diag('bad_flag', {file: '--id', line: 1, col: 1}, '--id explains an identifier: it takes no KEY and no --segment')])
      const w = await explainIdentifier({
        ...this.projectOpts(flags),
        id: flags.id,
        ...(flags.entity ? {entity: flags.entity} : {}),
        ...(flags.target ? {target: flags.target} : {}),
        ...(flags['as-of'] ? {asOf: flags['as-of']} : {}),
      })
      if (!this.jsonEnabled()) this.out(renderWhyId(w))
      return w
    }
    if (args.key === undefined) throw new DiagnosticsError([diag('bad_flag', {file: 'KEY', line: 1, col: 1}, 'segc why needs a KEY, or --id KIND:VALUE')])
    const why = await explainEntity({
      ...this.projectOpts(flags),
      key: args.key,
      ...(flags.entity ? {entity: flags.entity} : {}),
      ...(flags.segment ? {segments: flags.segment} : {}),
      ...(flags.target ? {target: flags.target} : {}),
      ...(flags['as-of'] ? {asOf: flags['as-of']} : {}),
    })
    if (!this.jsonEnabled()) this.out(renderWhy(why))
    return why
  }
}

export function renderWhy(w: Why): string {
  const lines = [`${w.entity} ${w.key} at ${w.as_of} (target ${w.target})`]
  const labelled = Object.entries(w.identity_map ?? {}).filter(([, m]) => m === 'labelled').map(([e]) => e)
  if (labelled.length) lines.push(`identity: the map of ${labelled.join(', ')} was labelled afresh at this as_of (the last run's map does not fit it)`)
  if (w.erased) lines.push(`erased: segc forget erased this key (request ${w.erased.request_id}, ${w.erased.requested_at}); no segment admits it, whatever the rules below say`)
  const node = (n: WhyNode, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${MARK[n.outcome]} ${n.text}${n.value !== undefined ? `  [${show(n.value)}]` : ''}`)
    for (const i of n.items ?? []) node(i, depth + 1)
  }
  for (const s of w.segments) {
    lines.push('', `${s.member ? '●' : '○'} ${s.segment}: ${s.member ? (s.holdout ? 'member, in the holdout' : 'member') : 'not a member'}${s.taken_by ? ` (the group gave it to ${s.taken_by}, an earlier stage)` : ''}`)
    if (s.frozen) lines.push('  static: membership was fixed at its first run; the rule below is evaluated now, for comparison')
    lines.push('  rule')
    node(s.rule, 2)
    if (s.exclude) {
      lines.push('  excluded when')
      node(s.exclude, 2)
    }
    for (const c of s.consent ?? []) node(c, 1)
  }
  for (const m of w.propensity ?? []) {
    lines.push('', `${m.model} (version ${m.version}): probability ${m.probability === null ? 'NULL (outside its population)' : show(m.probability)}; log-odds = ${show(m.intercept)} (intercept)`)
    for (const c of m.contributions) {
      const what = c.level !== undefined ? `${c.feature} is ${c.level}` : c.feature
      lines.push(`  ${c.contribution >= 0 ? '+' : '−'} ${show(Math.abs(c.contribution))}  ${what}  [${show(c.value)}]`)
    }
  }
  return lines.join('\n')
}

export function renderWhyId(w: WhyId): string {
  const id = (r: {kind: string; value: string}) => `${r.kind}:${r.value}`
  const lines = [`${w.entity} identifier ${id(w.id)} at ${w.as_of} (target ${w.target})`]
  const what = {
    key: `a key: profile ${w.profile}`,
    stitched: `stitched to profile ${w.profile}, ${w.distance} edge${w.distance === 1 ? '' : 's'} from its key`,
    anonymous: `anonymous: profile ${w.profile} (no key reaches it)`,
    ambiguous: `ambiguous: ${w.distance} edge${w.distance === 1 ? '' : 's'} from two or more keys, so it belongs to no profile`,
    erased: 'erased: it belongs to a profile segc forget erased; no segment admits it and no event of it counts',
    none: `no identifier (${w.reason})`,
  }[w.status]
  lines.push(what)
  for (const h of w.path ?? []) lines.push(`  ${id(h.from)} → ${id(h.to)}  (${h.relation})`)
  if (w.nearest_keys) lines.push(`  nearest keys: ${w.nearest_keys.join(', ')}`)
  return lines.join('\n')
}

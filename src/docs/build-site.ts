// `segc docs`: a static catalog site from the target's tables and the project's definitions.
// Every page is plain HTML with inline SVG; one local script filters the index. Nothing is
// fetched from anywhere: the site opens from disk.
import {mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {withCatalog, type FlowRow, type OverlapRow, type SizeRow} from '../inspect/read-catalog.js'
import {Explainer} from '../explain/explain.js'
import {formatSql} from '../generate/generate-sql.js'
import {profileColumnType} from '../generate/profile-sql.js'
import {commentedProfileColumns} from '../catalog/profile-columns.js'
import {profileEntities, profileTable} from '../resolve/resolve-profile.js'
import {identitiesTable} from '../warehouse/tables.js'
import {membershipSelect} from '../generate/run-statements.js'
import {fitDefinitionHash, loadModels} from '../project/models.js'
import {buildPlan, ModelNotFitted, modelsReached, type StoredModel} from '../plan/build-plan.js'
import type {Group, Project, Segment} from '../resolve/model.js'
import type {Prepared, SessionOptions} from '../project/session.js'
import type {Row} from '../warehouse/warehouse.js'
import {flowBars, intervalChart, lineChart} from './charts.js'
import {CSS, esc, JS, page} from './html.js'
import {modelPage, propensityTraits, propensityVersions, type PropensityVersion} from './model-page.js'

/** A segment not evaluated within this long before the target's latest run is flagged stale. */
export const STALE_AFTER_DAYS = 7

export interface SiteResult {
  out: string
  pages: number
  segments: number
  groups: number
  runs: number
  target: string
}

/** `segc plan --impact --json`, shown on the site as a proposed change (SPEC §14) */
export interface ImpactFile {
  as_of: string
  target: string
  segments: Array<{segment: string; status: string; size_before: number; size_after: number; entering: number; exiting: number}>
  groups?: Array<{group: string; from: string | null; to: string | null; count: number}>
}

interface SiteData {
  impact?: ImpactFile
  project: Project
  explain: Explainer
  runs: Array<{run_id: string; as_of: string}>
  sizes: Map<string, SizeRow[]>
  overlap: OverlapRow[]
  lift: Map<string, Row & {as_of: string}>
  flows: FlowRow[]
  dialect: Prepared['adapter']['dialect']
  now: Date
  models: Map<string, StoredModel>
  /** every stored version of each propensity model */
  propensity: Map<string, PropensityVersion[]>
}

const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'))
const pct = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`)
const day = (iso: string) => iso.slice(0, 10)

function staleReasons(s: Segment, d: SiteData): string[] {
  const out: string[] = []
  if (s.reviewBy && s.reviewBy < d.now.toISOString().slice(0, 10)) out.push(`review was due ${s.reviewBy}`)
  if (!s.owner) out.push('no owner')
  const last = d.sizes.get(s.name)?.at(-1)?.as_of
  const latest = d.runs.at(-1)?.as_of
  if (!last) out.push('never run')
  else if (latest && Date.parse(latest) - Date.parse(last) > STALE_AFTER_DAYS * 86400_000) out.push(`not run since ${day(last)}`)
  return out
}

function indexPage(d: SiteData): string {
  const segments = [...d.project.segments.values()]
  const options = (values: string[]) => [...new Set(values)].sort().map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join('')
  const rows = segments
    .map((s) => {
      const last = d.sizes.get(s.name)?.at(-1)
      const stale = staleReasons(s, d)
      const search = [s.name, s.description, s.owner, s.purpose, s.entity, ...s.tags].filter(Boolean).join(' ').toLowerCase()
      return `<tr data-search="${esc(search)}" data-tag="${esc(s.tags.join('|'))}" data-owner="${esc(s.owner ?? '')}" data-entity="${esc(s.entity)}" data-stale="${stale.length ? 'yes' : 'no'}">
<td><a href="segments/${s.name}.html">${esc(s.name)}</a><div class="muted">${esc(s.description ?? '')}</div></td>
<td>${esc(s.entity)}</td><td>${esc(s.owner ?? '')}</td><td>${s.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('')}</td>
<td class="num">${num(last?.size)}</td><td class="num">${last ? `+${num(last.entered)} / −${num(last.exited)}` : '–'}</td>
<td>${stale.map((r) => `<span class="flag">${esc(r)}</span>`).join('')}${impactOf(s.name, d) ? `<span class="flag proposed">proposed: ${esc(impactOf(s.name, d)!.status)}</span>` : ''}</td></tr>`
    })
    .join('\n')
  const groups = [...d.project.groups.values()].map((g) => `<li><a href="groups/${g.name}.html">${esc(g.name)}</a> <span class="muted">${esc(g.description ?? '')}</span></li>`).join('')
  const models = propensityTraits(d.project)
    .map((t) => {
      const latest = d.propensity.get(t.name)?.filter((v) => v.current).at(-1)
      return `<li><a href="models/${t.name}.html">${esc(t.name)}</a> <span class="muted">${esc(d.explain.goalText(t.name))}${latest ? ` · AUC ${latest.params.auc.toFixed(3)} (version ${latest.version})` : ' · not fitted'}</span></li>`
    })
    .join('')
  const profiles = profileEntities(d.project)
    .map((e) => `<li><a href="profiles/${e}.html">${esc(profileTable(e))}</a> <span class="muted">${commentedProfileColumns(d.project, e).filter((c) => c.kind === 'trait').length} traits</span></li>`)
    .join('')
  // the identity maps (SPEC §20): which table holds each entity's identifiers, and its columns
  const identities = [...d.project.entities.values()]
    .filter((e) => e.identity)
    .map((e) => {
      const def = identitiesTable(e.name)
      const kinds = ['key', ...e.identity!.kinds.map((k) => k.name)].join(', ')
      return `<li><code>${esc(`${d.project.outputSchema}.${def.name}`)}</code> <span class="muted">identifiers ${esc(kinds)}${e.identity!.anonymous ? ' · anonymous profiles are entities' : ''} · columns ${esc(def.columns.map((c) => c.name).join(', '))}</span></li>`
    })
    .join('')
  const latest = d.runs.at(-1)
  return page(
    'Segments',
    '',
    `${impactBanner(d)}<h1>Segments</h1>
<p class="muted">${segments.length} segments · ${d.runs.length} runs · latest as_of ${latest ? esc(day(latest.as_of)) : '–'} · project ${esc(d.project.name)}</p>
<div class="filters">
<input type="search" id="q" placeholder="Search name, description, owner, purpose, tag" aria-label="Search segments">
<select data-filter="tag" aria-label="Tag"><option value="">All tags</option>${options(segments.flatMap((s) => s.tags))}</select>
<select data-filter="owner" aria-label="Owner"><option value="">All owners</option>${options(segments.flatMap((s) => (s.owner ? [s.owner] : [])))}</select>
<select data-filter="entity" aria-label="Entity"><option value="">All entities</option>${options(segments.map((s) => s.entity))}</select>
<label><input type="checkbox" id="stale"> stale only</label>
<span class="count" id="count"></span>
</div>
<table id="segments"><thead><tr><th>Segment</th><th>Entity</th><th>Owner</th><th>Tags</th><th class="num">Size</th><th class="num">Last run</th><th>Flags</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${groups ? `<h2>Groups</h2><ul>${groups}</ul>` : ''}
${models ? `<h2>Propensity models</h2><ul id="models">${models}</ul>` : ''}
${profiles ? `<h2>Profiles</h2><ul id="profiles">${profiles}</ul>` : ''}
${identities ? `<h2>Identity</h2><ul id="identities">${identities}</ul>` : ''}`,
    true,
  )
}

const KIND: Record<string, string> = {key: 'key', run: 'run', trait: 'trait', in: 'member flag', holdout: 'holdout flag', stage: 'group stage'}

/** One entity's profile table (SPEC §19): each column, its type and what it means. */
function profilePage(entity: string, d: SiteData): string {
  const columns = commentedProfileColumns(d.project, entity)
  const link = (c: (typeof columns)[number]) =>
    c.kind === 'in' || c.kind === 'holdout' ? `<a href="../segments/${c.segment}.html">${esc(c.name)}</a>` : c.kind === 'stage' ? `<a href="../groups/${c.group}.html">${esc(c.name)}</a>` : esc(c.name)
  const rows = columns.map((c) => `<tr data-column="${esc(c.name)}"><td><code>${link(c)}</code></td><td>${esc(KIND[c.kind]!)}</td><td><code>${esc(profileColumnType(d.dialect, c.type))}</code></td><td>${esc(c.comment)}</td></tr>`).join('\n')
  const table = `${d.project.outputSchema}.${profileTable(entity)}`
  return `<p><a href="../index.html">← all segments</a></p>
<h1>Profile of ${esc(entity)}</h1>
<p><code>${esc(table)}</code>: one row per ${esc(entity)} at the latest successful run's as_of, for BI tools and sync fields. Every run rewrites the rows whose values changed; <code>changed_run_id</code> says which run last did.</p>
<table id="columns"><thead><tr><th>Column</th><th>Kind</th><th>Type</th><th>Definition</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
}

const impactOf = (segment: string, d: SiteData) => d.impact?.segments.find((x) => x.segment === segment)

/** The proposed change over the index: what `segc plan --impact` found, in people. */
function impactBanner(d: SiteData): string {
  const i = d.impact
  if (!i) return ''
  const entering = i.segments.reduce((n, x) => n + x.entering, 0)
  const exiting = i.segments.reduce((n, x) => n + x.exiting, 0)
  const removed = i.segments.filter((x) => x.status === 'removed')
  return `<div class="banner" role="note" id="impact"><strong>Proposed change</strong> (evaluated on ${esc(i.target)} at ${esc(i.as_of)}): ${i.segments.length} segment${i.segments.length === 1 ? '' : 's'} affected, ${num(entering)} entering, ${num(exiting)} exiting.${
    removed.length ? ` Removed: ${removed.map((x) => `${esc(x.segment)} (${num(x.size_before)} members exit)`).join(', ')}.` : ''
  } Affected segments are flagged below; each one's page shows its numbers.</div>`
}

/** On an affected segment's page: its size before and after the proposed change, who enters and exits. */
function impactSection(s: Segment, d: SiteData): string {
  const x = impactOf(s.name, d)
  if (!x) return ''
  const moves = (d.impact!.groups ?? []).filter((g) => g.from === s.name || g.to === s.name)
  return `<section class="banner" id="impact"><h2>Proposed change (${esc(x.status)})</h2>
<table><thead><tr><th class="num">Before</th><th class="num">After</th><th class="num">Entering</th><th class="num">Exiting</th></tr></thead>
<tbody><tr><td class="num">${num(x.size_before)}</td><td class="num">${num(x.size_after)}</td><td class="num">+${num(x.entering)}</td><td class="num">−${num(x.exiting)}</td></tr></tbody></table>
${moves.length ? `<p>Moves within the group: ${moves.map((g) => `${esc(g.from ?? '(none)')} → ${esc(g.to ?? '(none)')}: ${num(g.count)}`).join('; ')}</p>` : ''}
<p class="muted">Evaluated on ${esc(d.impact!.target)} at ${esc(d.impact!.as_of)} by segc plan --impact; the tables below are the runs so far.</p></section>`
}

function overlapSection(s: Segment, d: SiteData): string {
  const mine = d.overlap
    .filter((o) => o.segment_a === s.name || o.segment_b === s.name)
    .map((o) => {
      const self = o.segment_a === s.name
      const other = self ? o.segment_b : o.segment_a
      const selfSize = o.both + (self ? o.only_a : o.only_b)
      const otherSize = o.both + (self ? o.only_b : o.only_a)
      const union = o.both + o.only_a + o.only_b
      return {other, both: o.both, ofSelf: selfSize ? o.both / selfSize : null, ofOther: otherSize ? o.both / otherSize : null, jaccard: union ? o.both / union : 0}
    })
    .filter((o) => o.both > 0)
    .sort((a, b) => b.jaccard - a.jaccard || b.both - a.both)
    .slice(0, 6)
  if (!mine.length) return '<h2>Overlap</h2><p class="muted">No member of this segment is in another segment of its entity.</p>'
  return `<h2>Overlap with its nearest segments</h2>
<table class="overlap"><thead><tr><th>Segment</th><th class="num">In both</th><th class="num">Share of this one</th><th class="num">Share of the other</th><th></th></tr></thead><tbody>
${mine.map((o) => `<tr><td><a href="${o.other}.html">${esc(o.other)}</a></td><td class="num">${num(o.both)}</td><td class="num">${pct(o.ofSelf)}</td><td class="num">${pct(o.ofOther)}</td><td><span class="bar" style="width:${Math.round(o.jaccard * 120)}px"></span></td></tr>`).join('\n')}
</tbody></table>`
}

function flowsTable(flows: FlowRow[], link: (segment: string) => string): string {
  if (!flows.length) return '<p class="muted">No moves recorded yet.</p>'
  const name = (s: string | null) => (s === null ? '<span class="muted">(none)</span>' : `<a href="${link(s)}">${esc(s)}</a>`)
  return `<table class="flows"><thead><tr><th>From</th><th>To</th><th class="num">Entities</th></tr></thead><tbody>
${flows.map((f) => `<tr><td>${name(f.from_segment)}</td><td>${name(f.to_segment)}</td><td class="num">${num(f.entities)}</td></tr>`).join('\n')}
</tbody></table>`
}

function liftSection(s: Segment, d: SiteData): string {
  if (!s.measure) return ''
  const r = d.lift.get(s.name)
  const intro = `<p>Outcome: ${esc(d.explain.segment(s).match(/Success is measured as (.*)$/)?.[1] ?? '')}</p>`
  if (!r) return `<h2>Lift</h2>${intro}<p class="muted">No run has measured it yet.</p>`
  const n = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(r[k]))
  const table = `<table class="lift"><thead><tr><th></th><th class="num">Entered</th><th class="num">Converted</th><th class="num">Rate</th></tr></thead><tbody>
<tr><td>Members</td><td class="num">${num(n('members'))}</td><td class="num">${num(n('members_converted'))}</td><td class="num">${pct(n('rate_members'), 2)}</td></tr>
<tr><td>Holdout</td><td class="num">${num(n('holdout'))}</td><td class="num">${num(n('holdout_converted'))}</td><td class="num">${pct(n('rate_holdout'), 2)}</td></tr>
</tbody></table>`
  const lift = n('lift_abs')
  const verdict =
    lift === null
      ? '<p class="muted">Too few entities or conversions to estimate a lift yet (the statistics are left out rather than shown misleadingly).</p>'
      : `<p>Lift ${lift >= 0 ? '+' : ''}${(lift * 100).toFixed(2)} points (${n('lift_rel') === null ? 'relative –' : `${pct(n('lift_rel'))} relative`}), 95% interval [${(n('ci_low')! * 100).toFixed(2)}, ${(n('ci_high')! * 100).toFixed(2)}] points, p = ${n('p_value')!.toFixed(4)}.</p>` +
        intervalChart(`Lift of ${s.name} with its 95% interval, in points`, lift, n('ci_low')!, n('ci_high')!)
  return `<h2>Lift (members against the holdout, as of ${esc(day(r.as_of))})</h2>${intro}${table}${verdict}`
}

function segmentPage(s: Segment, d: SiteData): string {
  const sizes = d.sizes.get(s.name) ?? []
  const stale = staleReasons(s, d)
  const latest = d.runs.at(-1)
  let sqlText = ''
  if (latest) {
    try {
      const compiled = membershipSelect(d.dialect, buildPlan(d.project, new Date(latest.as_of), [s.name], {models: d.models}))
      sqlText = compiled ? formatSql(d.dialect, compiled) : ''
    } catch (error) {
      if (!(error instanceof ModelNotFitted)) throw error
      sqlText = `-- needs ${error.models.join(', ')} fitted (segc fit)`
    }
  }
  const group = s.group ? d.project.groups.get(s.group.name) : undefined
  // the propensity models this segment's rule reaches, each with its own page
  const usedModels = modelsReached(d.project, [s.name]).filter((m) => propensityTraits(d.project).some((t) => t.name === m))
  const meta: Array<[string, string]> = [
    ['Owner', esc(s.owner ?? 'none')],
    ['Purpose', esc(s.purpose ?? '–')],
    ...(s.kpi ? [['KPI', esc(s.kpi)] as [string, string]] : []),
    ['Tags', s.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('') || '–'],
    ['Entity', esc(s.entity)],
    ['Review by', esc(s.reviewBy ?? '–')],
    ['Refresh', esc(s.refresh)],
    ...(s.holdout ? [['Holdout', `${esc(s.holdout.percent)}%`] as [string, string]] : []),
    ...(usedModels.length ? [['Models', usedModels.map((m) => `<a href="../models/${m}.html">${esc(m)}</a>`).join(', ')] as [string, string]] : []),
    ...(group ? [['Group', `<a href="../groups/${group.name}.html">${esc(group.name)}</a> (position ${s.group!.position + 1} of ${group.segments.length})`] as [string, string]] : []),
  ]
  const flows = group ? d.flows.filter((f) => f.group_name === group.name && (f.from_segment === s.name || f.to_segment === s.name)) : []
  return page(
    s.name,
    '../',
    `<h1>${esc(s.name)}</h1>
<p>${esc(s.description ?? '')}</p>
${stale.map((r) => `<span class="flag">${esc(r)}</span>`).join('')}
<dl class="meta">${meta.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
${impactSection(s, d)}
<h2>Who is in it</h2>
<p class="rule">${esc(d.explain.segment(s))}</p>
<h2>Size over time</h2>
${sizes.length ? lineChart(`Size of ${s.name} per run`, sizes.map((r) => ({label: day(r.as_of), value: r.size}))) : '<p class="muted">Not run yet.</p>'}
${sizes.length ? `<h2>Entered and exited per run</h2>${flowBars(`Entities entering and leaving ${s.name} per run`, sizes.map((r) => ({label: day(r.as_of), entered: r.first ? 0 : r.entered, exited: r.exited})))}` : ''}
${overlapSection(s, d)}
${group ? `<h2>Moves within ${esc(group.name)}</h2>${flowsTable(flows, (x) => `${x}.html`)}` : ''}
${liftSection(s, d)}
<h2>Compiled SQL</h2>
<details><summary>The membership query for ${esc(d.dialect.name)}${latest ? ` at ${esc(latest.as_of)}` : ''}</summary><pre><code>${esc(sqlText)}</code></pre></details>`,
  )
}

function groupPage(g: Group, d: SiteData): string {
  const rows = g.segments.map((n, i) => {
    const last = d.sizes.get(n)?.at(-1)
    return `<tr><td class="num">${i + 1}</td><td><a href="../segments/${n}.html">${esc(n)}</a><div class="muted">${esc(d.project.segments.get(n)?.description ?? '')}</div></td><td class="num">${num(last?.size)}</td></tr>`
  })
  const flows = d.flows.filter((f) => f.group_name === g.name)
  return page(
    g.name,
    '../',
    `<h1>${esc(g.name)} <span class="muted">(group)</span></h1>
<p>${esc(g.description ?? '')}</p>
<dl class="meta"><dt>Owner</dt><dd>${esc(g.owner ?? 'none')}</dd><dt>Entity</dt><dd>${esc(g.entity)}</dd></dl>
<p class="rule">${esc(d.explain.group(g))}</p>
<h2>Segments, in priority order</h2>
<table><thead><tr><th class="num">#</th><th>Segment</th><th class="num">Size</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>
<h2>Flows between its segments (all runs)</h2>
${flowsTable(flows, (x) => `../segments/${x}.html`)}`,
  )
}

/** Builds the site into a scratch directory and moves it into place: readers never see half a site. */
export async function buildSite(opts: SessionOptions & {out?: string; now?: Date; impact?: ImpactFile}): Promise<SiteResult> {
  return withCatalog(opts, async (reader, p) => {
    const runs = await reader.runs()
    const sizes = new Map<string, SizeRow[]>()
    for (const r of await reader.sizes()) {
      const rows = sizes.get(r.segment)
      if (rows) rows.push(r)
      else sizes.set(r.segment, [r])
    }
    const lift = new Map<string, Row & {as_of: string}>()
    for (const r of await reader.lift()) lift.set(String(r.segment), r)
    const d: SiteData = {...(opts.impact ? {impact: opts.impact} : {}), project: p.v.project, explain: new Explainer(p.v.project), runs, sizes, overlap: await reader.overlap(), lift, flows: await reader.flows(), dialect: p.adapter.dialect, now: opts.now ?? new Date(), models: await loadModels(reader.conn, p.v.project, p.adapter.dialect), propensity: await propensityVersions(reader.conn, p.v.project, p.adapter.dialect, (m) => fitDefinitionHash(p.v.project, m))}
    const files = new Map<string, string>([
      ['index.html', indexPage(d)],
      ['assets/site.css', CSS],
      ['assets/site.js', JS],
    ])
    for (const s of d.project.segments.values()) files.set(`segments/${s.name}.html`, segmentPage(s, d))
    for (const g of d.project.groups.values()) files.set(`groups/${g.name}.html`, groupPage(g, d))
    for (const e of profileEntities(d.project)) files.set(`profiles/${e}.html`, page(`Profile of ${e}`, '../', profilePage(e, d)))
    for (const t of propensityTraits(d.project)) files.set(`models/${t.name}.html`, page(t.name, '../', modelPage(t, d.propensity.get(t.name) ?? [], d.explain, d.project)))
    const out = resolve(p.v.root, opts.out ?? '.segc/site')
    const scratch = `${out}.tmp-${process.pid}`
    rmSync(scratch, {recursive: true, force: true})
    try {
      for (const [path, text] of files) {
        mkdirSync(dirname(join(scratch, path)), {recursive: true})
        writeFileSync(join(scratch, path), text)
      }
      rmSync(out, {recursive: true, force: true})
      mkdirSync(dirname(out), {recursive: true})
      renameSync(scratch, out)
    } catch (error) {
      rmSync(scratch, {recursive: true, force: true})
      throw error
    }
    return {out, pages: [...files.keys()].filter((f) => f.endsWith('.html')).length, segments: d.project.segments.size, groups: d.project.groups.size, runs: runs.length, target: p.target.name}
  })
}

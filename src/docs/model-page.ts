// The catalog's page for a propensity model (SPEC §17): what it predicts, for whom, how well
// each version ranked and how well its probabilities matched what happened, and what each
// feature does to the odds, in words.
import {sql} from 'kysely'
import {duration, type Explainer} from '../explain/explain.js'
import {compilerFor, render} from '../generate/generate-sql.js'
import {table} from '../generate/output-sql.js'
import {modelsReached} from '../plan/build-plan.js'
import type {PropensityParams} from '../plan/propensity-plan.js'
import type {Project, PropensitySpec, Trait} from '../resolve/model.js'
import type {Dialect} from '../warehouse/dialect.js'
import {MODELS} from '../warehouse/tables.js'
import type {WarehouseConnection} from '../warehouse/warehouse.js'
import {calibrationChart, lineChart} from './charts.js'
import {esc} from './html.js'

export interface PropensityVersion {
  version: number
  as_of: string
  params: PropensityParams
  /** false for a version fitted for an earlier definition of the trait (runs never score with it) */
  current: boolean
}

const day = (iso: string) => iso.slice(0, 10)
const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–')

/** The propensity traits of a project, by name. */
export function propensityTraits(project: Project): Array<Trait & {spec: PropensitySpec}> {
  return [...project.traits.values()].flatMap((t) => (t.def.kind === 'fit' && t.def.model === 'propensity' ? [{...t, spec: t.def.propensity}] : []))
}

/** Every stored version of each propensity model, oldest first; `hash` says which are for the current definition. */
export async function propensityVersions(conn: WarehouseConnection, project: Project, dialect: Dialect, hash: (model: string) => string): Promise<Map<string, PropensityVersion[]>> {
  const out = new Map<string, PropensityVersion[]>()
  const names = propensityTraits(project).map((t) => t.name)
  if (!names.length || !(await conn.tableExists(project.outputSchema, MODELS.name))) return out
  const rows = await conn.query(
    render(compilerFor(dialect), sql`SELECT model, version, as_of, params, definition_hash FROM ${table(project.outputSchema, MODELS.name)} WHERE kind = 'propensity' ORDER BY model, version`),
  )
  for (const r of rows) {
    const model = String(r.model)
    if (!names.includes(model)) continue
    const v: PropensityVersion = {version: Number(r.version), as_of: new Date(String(r.as_of)).toISOString(), params: JSON.parse(String(r.params)) as PropensityParams, current: String(r.definition_hash) === hash(model)}
    out.set(model, [...(out.get(model) ?? []), v])
  }
  return out
}

/** The segments whose rules reach the model (through a probability or percentile trait), by name. */
export function segmentsUsing(project: Project, model: string): string[] {
  return [...project.segments.keys()].filter((s) => modelsReached(project, [s]).includes(model)).sort()
}

/**
 * One coefficient in words: which way the feature moves the odds, and by how much per unit of
 * the design (a standard deviation for a number, being true for a boolean, having the level
 * against having none of the listed levels for a string).
 */
export function coefficientText(explain: Explainer, entity: string, t: Trait & {spec: PropensitySpec}, p: PropensityParams, j: number): string {
  const c = p.columns[j]!
  const b = p.coefficients[j]!
  const f = t.spec.features.find((x) => x.name === c.feature)
  const name = f ? explain.valueName(f.name, f.target, entity) : c.feature
  const way = b > 0 ? 'more likely' : b < 0 ? 'less likely' : 'no change'
  const odds = `odds ×${Math.exp(b).toPrecision(3)}`
  if (c.level !== undefined) {
    return `${name} is “${c.level}” → ${way} than a value outside the listed ones (${odds})`
  }
  if (p.types[c.feature] === 'boolean') return `${name} is true → ${way} (${odds})`
  const sd = p.stddevs[c.feature]!
  return `more ${name} → ${way} (${odds} per standard deviation, ${Number(sd.toPrecision(3)).toLocaleString('en-US')}; mean ${Number(p.means[c.feature]!.toPrecision(4)).toLocaleString('en-US')})`
}

export function modelPage(t: Trait & {spec: PropensitySpec}, versions: PropensityVersion[], explain: Explainer, project: Project): string {
  const spec = t.spec
  const entity = project.entities.get(t.entity)
  const members = entity?.label ?? `${t.entity}s`
  const goal =
    spec.goal.kind === 'event'
      ? `${esc(explain.did(spec.goal.event))}${spec.goal.where.length ? ' (with its filter)' : ''}`
      : `entered <a href="../segments/${esc(spec.goal.segment)}.html">${esc(spec.goal.segment)}</a>`
  const population = spec.population ? `<a href="../segments/${esc(spec.population)}.html">${esc(spec.population)}</a>` : `every ${esc(t.entity)}`
  const users = segmentsUsing(project, t.name)
  const predictions = [...project.traits.values()].filter((x) => x.def.kind === 'predict' && x.def.propensity === t.name)
  const meta: Array<[string, string]> = [
    ['Predicts', `${esc(members)} who ${goal} within ${esc(duration(spec.horizonSeconds))} of a run`],
    ['Goal', goal],
    ['Horizon', esc(duration(spec.horizonSeconds))],
    ['Population', population],
    ['Features', spec.features.map((f) => `<span class="tag">${esc(f.name)}</span>`).join('')],
    ['Regularization', `l2 = ${esc(spec.l2)}, up to ${esc(spec.levels)} levels per string feature`],
    ['Scored as', predictions.map((x) => `${esc(x.name)} (${x.def.kind === 'predict' ? esc(x.def.predict) : ''})`).join(', ') || '–'],
    ['Used by', users.map((s) => `<a href="../segments/${esc(s)}.html">${esc(s)}</a>`).join(', ') || '<span class="muted">no segment</span>'],
  ]
  const current = versions.filter((v) => v.current)
  const latest = current.at(-1)
  let body = ''
  if (!latest) body = '<h2>Versions</h2><p class="muted">Not fitted yet for this definition: run <code>segc fit</code>.</p>'
  else {
    const p = latest.params
    const order = p.coefficients.map((_, j) => j).sort((a, b) => Math.abs(p.coefficients[b]!) - Math.abs(p.coefficients[a]!))
    body = `<h2>Latest version</h2>
<p id="latest">Version ${latest.version}, fitted at ${esc(latest.as_of)} on the snapshot at ${esc(p.cutoff)}: ${p.n_train.toLocaleString('en-US')} ${esc(members.toLowerCase())}, ${p.positives_train.toLocaleString('en-US')} reached the goal (base rate ${fixed(p.base_rate * 100, 2)}%). Out-of-time AUC ${fixed(p.auc, 3)}${p.auc < 0.6 ? ' — <span class="flag">weak: the features barely rank who reaches the goal</span>' : ''}; ${p.iterations} Newton iterations.</p>
<h2>AUC over versions</h2>
<p class="muted">How well each version's features ranked who reached the goal on the snapshot after the one it learned from (0.5 is chance, 1 a perfect ranking).</p>
${lineChart(`Out-of-time AUC of ${t.name} per version`, current.map((v) => ({label: `v${v.version} ${day(v.as_of)}`, value: v.params.auc})), 1)}
<table class="versions"><thead><tr><th class="num">Version</th><th>Fitted at</th><th>Snapshot</th><th class="num">Entities</th><th class="num">Base rate</th><th class="num">AUC</th><th class="num">Iterations</th></tr></thead><tbody>
${versions
  .map((v) => `<tr${v.current ? '' : ' class="muted"'}><td class="num">${v.version}${v.current ? '' : ' (earlier definition)'}</td><td>${esc(v.as_of)}</td><td>${esc(day(v.params.cutoff))}</td><td class="num">${v.params.n_train.toLocaleString('en-US')}</td><td class="num">${fixed(v.params.base_rate * 100, 2)}%</td><td class="num">${fixed(v.params.auc, 3)}</td><td class="num">${v.params.iterations}</td></tr>`)
  .join('\n')}
</tbody></table>
<h2>Calibration</h2>
<p class="muted">Ten bins of equal size by predicted probability (the snapshot at which the AUC was measured): when the points lie on the diagonal, a predicted 20% means one in five reached the goal.</p>
${calibrationChart(`Calibration of ${t.name} version ${latest.version}: observed against predicted share per bin`, p.calibration)}
<table class="calibration"><thead><tr><th class="num">Bin</th><th class="num">Predicted</th><th class="num">Observed</th><th class="num">Entities</th></tr></thead><tbody>
${p.calibration.map((r) => `<tr><td class="num">${r.bin}</td><td class="num">${fixed(r.predicted * 100, 2)}%</td><td class="num">${fixed(r.observed * 100, 2)}%</td><td class="num">${r.n.toLocaleString('en-US')}</td></tr>`).join('\n')}
</tbody></table>
<h2>What moves the prediction</h2>
<p class="muted">Strongest first; each holds the other features fixed. Intercept ${fixed(p.intercept, 4)} (the log-odds of someone at every mean, false and outside every level).</p>
<ul class="coefficients">${order.map((j) => `<li>${esc(coefficientText(explain, t.entity, t, p, j))}</li>`).join('')}</ul>`
  }
  return `<h1>${esc(t.name)} <span class="muted">(propensity model)</span></h1>
<p>${esc(t.label ?? '')}</p>
<dl class="meta">${meta.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
${body}`
}

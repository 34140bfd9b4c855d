import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {fitProject, ModelsNotFitted, type FitResult} from '../models/fit-project.js'

const fmt = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : Number(v.toPrecision(6)).toString()) : String(v))

export default class Fit extends SegcCommand {
  static override summary = 'Fit the models behind fit: traits and store a new version of each.'
  static override description = `Fits BG/NBD and Gamma-Gamma by maximum likelihood from per-entity summaries grouped in the warehouse (x, t_x, T, m_x of the UTC days with a matching event up to --as-of), and k-means by Lloyd iterations run in the warehouse. Each model is fitted on its own and every one that fits is stored as a new version in segment_models, in one transaction; one that cannot be fitted (too little data, no parameter identified) is named and the command exits 2. A BG/NBD history that shows no dropout is fitted at the model's NBD limit (every customer alive), with a warning. Runs score with the latest version; a refit changes the definition hash of every segment that uses it (segc plan shows them).`
  static override examples = ['<%= config.bin %> fit', '<%= config.bin %> fit purchases spend --as-of 2026-06-01', '<%= config.bin %> fit --target demo --json', '<%= config.bin %> fit purchases --as-of 1997-09-30 --validate-until 1998-06-30']
  static override strict = false
  static override args = {traits: Args.string({description: 'fit: traits to fit (default: all of them)'})}
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'as-of': Flags.string({description: 'read the history up to this instant, ISO 8601 (default: now, UTC)'}),
    'validate-until': Flags.string({description: 'also compare, per number of repeat purchases, predicted with actual repeat purchases between --as-of and this instant'}),
  }

  async run(): Promise<FitResult> {
    const {argv, flags} = await this.parse(Fit)
    try {
      const result = await fitProject({...this.projectOpts(flags), traits: argv as string[], ...(flags.target ? {target: flags.target} : {}), ...(flags['as-of'] ? {asOf: flags['as-of']} : {}), ...(flags['validate-until'] ? {validateUntil: flags['validate-until']} : {})})
      this.report(result)
      return result
    } catch (error) {
      // the models that did fit are stored: show them before the failure
      if (error instanceof ModelsNotFitted) this.report(error.result)
      throw error
    }
  }

  private report(result: FitResult): void {
    for (const m of result.models) for (const w of m.warnings ?? []) process.stderr.write(`warning: ${w}\n`)
    if (this.jsonEnabled() || !result.models.length) return
    this.out(`fitted at as_of ${result.as_of} on ${result.target}\n`)
    const rows = result.models.map((m) => {
      const params =
        m.kind === 'kmeans'
          ? `k=${(m.params.centroids as unknown[]).length} over ${(m.params.features as string[]).join(', ')}`
          : m.kind === 'propensity'
            ? `auc=${fmt(m.params.auc)} base_rate=${fmt(m.params.base_rate)} iterations=${String(m.params.iterations)} over ${(m.params.features as string[]).join(', ')}`
            : Object.entries(m.params).map(([k, v]) => `${k}=${v === null ? '-' : fmt(v)}`).join(' ')
      return [m.model, m.kind, m.version, m.n, m.log_likelihood === null ? '-' : m.log_likelihood.toFixed(2), params]
    })
    this.out(textTable(['model', 'kind', 'version', 'entities', 'log_lik', 'parameters'], rows))
    for (const m of result.models) {
      if (m.kind === 'kmeans') (m.detail.profiles as string[]).forEach((p, i) => this.out(`  ${m.model} cluster ${i + 1}: ${p}`))
      else if (m.kind === 'propensity') {
        const cols = m.params.columns as Array<{feature: string; level?: string}>
        const coef = m.params.coefficients as number[]
        this.out(`  ${m.model}: out-of-time AUC ${fmt(m.params.auc)}, base rate ${fmt(m.params.base_rate)}, ${String(m.detail.iterations)} Newton iterations; intercept ${fmt(m.params.intercept)}`)
        cols.forEach((c, j) => this.out(`    ${coef[j]! >= 0 ? '+' : '−'}${fmt(Math.abs(coef[j]!))}  ${c.level === undefined ? c.feature : `${c.feature} = ${c.level}`}`))
      } else this.out(`  ${m.model}: ${Object.entries(m.detail).map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmt(v)}`).join(', ')}`)
      if (m.validation) {
        const total = m.validation.reduce((s, r) => ({predicted: s.predicted + r.predicted, actual: s.actual + r.actual, customers: s.customers + r.customers}), {predicted: 0, actual: 0, customers: 0})
        this.out(`\n${m.model}: repeat purchases after as_of, predicted against actual`)
        this.out(textTable(['x', 'customers', 'predicted', 'actual'], [...m.validation.map((r) => [r.x, r.customers, Number(r.predicted.toFixed(1)), r.actual]), ['total', total.customers, Number(total.predicted.toFixed(1)), total.actual]]))
      }
    }
  }
}

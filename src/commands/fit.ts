import {Args, Flags} from '@oclif/core'
import {SegcCommand, textTable} from '../cli/segc-command.js'
import {fitProject, type FittedVersion} from '../models/fit-project.js'

const fmt = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : Number(v.toPrecision(6)).toString()) : String(v))

export default class Fit extends SegcCommand {
  static override summary = 'Fit the models behind fit: traits and store a new version of each.'
  static override description = `Fits BG/NBD and Gamma-Gamma by maximum likelihood from per-entity summaries grouped in the warehouse (x, t_x, T, m_x of the UTC days with a matching event up to --as-of), and k-means by Lloyd iterations run in the warehouse. Stores a new version of every model in segment_models, all or nothing: a fit on too little data or that does not converge exits 2 and stores nothing. Runs score with the latest version; a refit changes the definition hash of every segment that uses it (segc plan shows them).`
  static override examples = ['<%= config.bin %> fit', '<%= config.bin %> fit purchases spend --as-of 2026-06-01', '<%= config.bin %> fit --target demo --json', '<%= config.bin %> fit purchases --as-of 1997-09-30 --validate-until 1998-06-30']
  static override strict = false
  static override args = {traits: Args.string({description: 'fit: traits to fit (default: all of them)'})}
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    'as-of': Flags.string({description: 'read the history up to this instant, ISO 8601 (default: now, UTC)'}),
    'validate-until': Flags.string({description: 'also compare, per number of repeat purchases, predicted with actual repeat purchases between --as-of and this instant'}),
  }

  async run(): Promise<{target: string; as_of: string; models: FittedVersion[]}> {
    const {argv, flags} = await this.parse(Fit)
    const result = await fitProject({...this.projectOpts(flags), traits: argv as string[], ...(flags.target ? {target: flags.target} : {}), ...(flags['as-of'] ? {asOf: flags['as-of']} : {}), ...(flags['validate-until'] ? {validateUntil: flags['validate-until']} : {})})
    if (!this.jsonEnabled()) {
      this.out(`fitted at as_of ${result.as_of} on ${result.target}\n`)
      const rows = result.models.map((m) => {
        const params = m.kind === 'kmeans' ? `k=${(m.params.centroids as unknown[]).length} over ${(m.params.features as string[]).join(', ')}` : Object.entries(m.params).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')
        return [m.model, m.kind, m.version, m.n, m.log_likelihood === null ? '-' : m.log_likelihood.toFixed(2), params]
      })
      this.out(textTable(['model', 'kind', 'version', 'entities', 'log_lik', 'parameters'], rows))
      for (const m of result.models) {
        if (m.kind === 'kmeans') (m.detail.profiles as string[]).forEach((p, i) => this.out(`  ${m.model} cluster ${i + 1}: ${p}`))
        else this.out(`  ${m.model}: ${Object.entries(m.detail).map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmt(v)}`).join(', ')}`)
        if (m.validation) {
          const total = m.validation.reduce((s, r) => ({predicted: s.predicted + r.predicted, actual: s.actual + r.actual, customers: s.customers + r.customers}), {predicted: 0, actual: 0, customers: 0})
          this.out(`\n${m.model}: repeat purchases after as_of, predicted against actual`)
          this.out(textTable(['x', 'customers', 'predicted', 'actual'], [...m.validation.map((r) => [r.x, r.customers, Number(r.predicted.toFixed(1)), r.actual]), ['total', total.customers, Number(total.predicted.toFixed(1)), total.actual]]))
        }
      }
    }
    return result
  }
}

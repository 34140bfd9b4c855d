import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {buildSite, type SiteResult} from '../docs/build-site.js'

export default class Docs extends SegcCommand {
  static override summary = 'Build a static catalog site of the segments from the target\'s tables.'
  static override description = `Writes a self-contained site (HTML, inline SVG charts, one local script; nothing loaded from the network) that opens from disk: an index of every segment with search and filters by tag, owner and entity, stale segments flagged (review_by passed, no owner, not run for ${7} days before the latest run); a page per segment with its description, owner, purpose, plain-English rule, size and entries/exits over time, overlap with its nearest segments, group moves, lift against the holdout where it has measure:, and the compiled SQL folded away; a page per group with the flows between its segments. The site is built in a scratch directory and moved into place. Exits 1 before the target's first run.`
  static override examples = ['<%= config.bin %> docs', '<%= config.bin %> docs --target demo --out site']
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    out: Flags.string({description: 'directory to write the site to, relative to the project (replaced)', default: '.segc/site'}),
  }

  async run(): Promise<SiteResult> {
    const {flags} = await this.parse(Docs)
    const started = Date.now()
    const result = await buildSite({...this.projectOpts(flags), out: flags.out, ...(flags.target ? {target: flags.target} : {})})
    if (!this.jsonEnabled()) {
      this.out(`wrote ${result.pages} pages (${result.segments} segments, ${result.groups} groups, ${result.runs} runs of ${result.target}) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      this.out(`open ${result.out}/index.html`)
    }
    return result
  }
}

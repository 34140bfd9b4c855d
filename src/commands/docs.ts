import {Flags} from '@oclif/core'
import {SegcCommand} from '../cli/segc-command.js'
import {readFileSync} from 'node:fs'
import {buildSite, type ImpactFile, type SiteResult} from '../docs/build-site.js'
import {diag, DiagnosticsError} from '../diagnostics/diagnostic.js'

export default class Docs extends SegcCommand {
  static override summary = 'Build a static catalog site of the segments from the target\'s tables.'
  static override description = `Writes a self-contained site (HTML, inline SVG charts, one local script; nothing loaded from the network) that opens from disk: an index of every segment with search and filters by tag, owner and entity, stale segments flagged (review_by passed, no owner, not run for ${7} days before the latest run); a page per segment with its description, owner, purpose, plain-English rule, size and entries/exits over time, overlap with its nearest segments, group moves, lift against the holdout where it has measure:, and the compiled SQL folded away; a page per group with the flows between its segments. The site is built in a scratch directory and moved into place. Exits 1 before the target's first run.`
  static override examples = ['<%= config.bin %> docs', '<%= config.bin %> docs --target demo --out site']
  static override flags = {
    target: Flags.string({description: 'target from segc.yaml (default: default_target)'}),
    out: Flags.string({description: 'directory to write the site to, relative to the project (replaced)', default: '.segc/site'}),
    impact: Flags.string({description: 'the output of segc plan --impact --json: show the proposed change (a banner on the index, the numbers on each affected segment\'s page)'}),
  }

  async run(): Promise<SiteResult> {
    const {flags} = await this.parse(Docs)
    const started = Date.now()
    const impact = flags.impact ? readImpact(flags.impact) : undefined
    const result = await buildSite({...this.projectOpts(flags), out: flags.out, ...(flags.target ? {target: flags.target} : {}), ...(impact ? {impact} : {})})
    if (!this.jsonEnabled()) {
      this.out(`wrote ${result.pages} pages (${result.segments} segments, ${result.groups} groups, ${result.runs} runs of ${result.target}) in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      this.out(`open ${result.out}/index.html`)
    }
    return result
  }
}

/** The file written by `segc plan --impact --json`, or a clear error (exit 1) naming what is wrong. */
function readImpact(path: string): ImpactFile {
  const fail = (message: string): never => {
    throw new DiagnosticsError([diag('bad_flag', {file: '--impact', line: 1, col: 1}, `--impact ${path}: ${message}`)])
  }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    return fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(error as Error).message})`)
  }
  const r = raw as Partial<ImpactFile>
  const fields = ['segment', 'status', 'size_before', 'size_after', 'entering', 'exiting'] as const
  if (typeof r?.as_of !== 'string' || typeof r.target !== 'string' || !Array.isArray(r.segments) || r.segments.some((s) => !s || fields.some((f) => !(f in s)))) {
    fail('not the output of segc plan --impact --json (it needs as_of, target and segments with segment, status, size_before, size_after, entering, exiting)')
  }
  return r as ImpactFile
}

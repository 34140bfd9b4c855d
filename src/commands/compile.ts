import {identityEntities, storedProject} from '../identity/attribute.js'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {adapterFor, DIALECTS} from '../../adapters/index.js'
import {SegcCommand} from '../cli/segc-command.js'
import {diag, DiagnosticsError, hasErrors} from '../diagnostics/diagnostic.js'
import type {Dialect} from '../warehouse/dialect.js'
import {formatSql} from '../generate/generate-sql.js'
import {SyncStatements} from '../generate/sync-sql.js'
import {buildPlan, modelsReached, placeholderModels} from '../plan/build-plan.js'
import {parseAsOf} from '../resolve/time.js'
import {compileRun} from '../run/compile-run.js'
import {checkSelection} from '../project/session.js'
import {resolveTarget} from '../project/targets.js'
import {validateProject, type Validated} from '../validate/validate-project.js'
import {Explainer} from '../explain/explain.js'
import {SEGC_VERSION} from '../version.js'

export default class Compile extends SegcCommand {
  static override summary = 'Print (or write) the SQL a run would execute.'
  static override description = `Compiles the project for one warehouse dialect without connecting to it. By default prints every statement of a run in order; with --membership prints one read-only SELECT returning segment, entity_key and holdout of the selected segments at --as-of (group-resolved, exclude and consent applied), for previews in notebooks and BI tools; with --explain prints each segment's rule in plain English (what segment_catalog.rule_text holds) and no SQL; with --syncs prints each sync's plan query (what segc sync runs in the warehouse). Relative times and windows are resolved against --as-of, so the SQL names concrete instants.`
  static override examples = [
    '<%= config.bin %> compile --membership --as-of 2026-06-01',
    '<%= config.bin %> compile --dialect duckdb --select win_back --out build/sql',
    '<%= config.bin %> compile --explain --select high_value_at_risk',
  ]
  static override flags = {
    target: Flags.string({description: 'compile for this target of segc.yaml (its dialect and output schema)', exclusive: ['dialect']}),
    dialect: Flags.string({description: 'compile for this dialect', options: Object.keys(DIALECTS), exclusive: ['target']}),
    select: Flags.string({description: 'comma-separated segments (and what they reference)', delimiter: ',', multiple: true}),
    'as-of': Flags.string({description: 'the instant to evaluate at, ISO 8601 (default: now, UTC)'}),
    out: Flags.directory({description: 'write the SQL into this directory instead of printing it'}),
    membership: Flags.boolean({description: 'only the read-only membership SELECT', default: false}),
    explain: Flags.boolean({description: 'print each selected segment\'s rule in plain English instead of SQL', default: false, exclusive: ['membership', 'out']}),
    syncs: Flags.boolean({description: "only each sync's plan query (segc sync): the sendable set diffed against what the destination acknowledged", default: false, exclusive: ['membership', 'explain']}),
  }

  async run() {
    const {flags} = await this.parse(Compile)
    const v = validateProject(this.projectOpts(flags))
    if (hasErrors(v.diagnostics)) throw new DiagnosticsError(v.diagnostics)
    if (flags.explain) return this.explain(v, flags.select)
    const dialect = flags.dialect ? DIALECTS[flags.dialect]! : adapterFor(resolveTarget(v, flags.target, process.env, {substitute: false}).type)?.dialect
    if (!dialect) throw new DiagnosticsError([diag('bad_value', {file: 'segc.yaml', line: 1, col: 1}, `the target's type cannot be compiled by this build of segc (dialects: ${Object.keys(DIALECTS).join(', ')})`)])
    const asOf = parseAsOf(flags['as-of'])
    if (!asOf) throw new DiagnosticsError([diag('bad_flag', {file: '--as-of', line: 1, col: 1}, `--as-of '${flags['as-of']}' is not an ISO timestamp or date`)])
    checkSelection(v, flags.select)
    const models = placeholderModels(v.project)
    const reached = modelsReached(v.project, flags.select)
    const notice = reached.length ? `-- fitted models (${reached.join(', ')}) show placeholder parameters: a run uses the versions stored in segment_models\n` : ''
    if (flags.syncs) return this.syncs(v, dialect, asOf, flags.out)
    // a run of the whole project writes the profiles too (SPEC §19): so does its compiled SQL
    // events with ids read through the last run's identity map (SPEC §20), which this command, opening no target, does not check
    const plan = buildPlan(storedProject(v.project, dialect), asOf, flags.select, {models, profile: flags.select === undefined})
    const stitched = identityEntities(v.project).map((e) => e.name)
    const identityNote = stitched.length ? `-- events with ids are attributed through the last successful run's identity map (${stitched.map((n) => `segment_identities_${n}`).join(', ')}); a run labels again first\n` : ''
    const files: Record<string, string> = {}
    const compiled = compileRun(v, dialect, plan, flags.target ?? 'compile')
    files['membership.sql'] = compiled.membership ? notice + identityNote + formatSql(dialect, compiled.membership) + ';\n' : '-- no segments selected\n'
    if (!flags.membership) {
      files['run.sql'] =
        `-- segc ${SEGC_VERSION}: the statements of one run at ${asOf.toISOString()} (as a first run on an empty target), executed in one transaction\n` +
        notice +
        compiled.run.map((s) => formatSql(dialect, s) + ';').join('\n\n') +
        '\n'
    }
    if (flags.out) {
      const dir = resolve(flags.out)
      mkdirSync(dir, {recursive: true})
      for (const [name, text] of Object.entries(files)) if (name === 'membership.sql' || !flags.membership) writeFileSync(join(dir, name), text)
      if (!this.jsonEnabled()) this.out(`wrote ${Object.keys(files).filter((n) => n === 'membership.sql' || !flags.membership).map((n) => join(dir, n)).join(', ')}`)
    } else if (!this.jsonEnabled()) {
      this.out(flags.membership ? files['membership.sql']! : files['run.sql']!)
    }
    return {status: 'ok', dialect: dialect.name, as_of: asOf.toISOString(), plan, sql: flags.membership ? {membership: files['membership.sql']} : files}
  }

  private syncs(v: Validated, dialect: Dialect, asOf: Date, out: string | undefined) {
    const st = new SyncStatements(dialect, v.project.outputSchema)
    const syncs = [...v.syncs.values()].map((s) => ({sync: s.name, destination: s.destination, mode: s.mode, sql: formatSql(dialect, st.plan(s, v.project.entities.get(s.entity)!, asOf.toISOString()))}))
    const text = syncs.length
      ? syncs.map((s) => `-- sync ${s.sync} (${s.mode} to ${s.destination}): one row per add, remove, update or skip, as segc sync plans it after a run at ${asOf.toISOString()}\n${s.sql};`).join('\n\n') + '\n'
      : '-- no syncs (syncs/*.yaml)\n'
    if (out) {
      const dir = resolve(out)
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, 'syncs.sql'), text)
      if (!this.jsonEnabled()) this.out(`wrote ${join(dir, 'syncs.sql')}`)
    } else if (!this.jsonEnabled()) this.out(text)
    return {status: 'ok', dialect: dialect.name, as_of: asOf.toISOString(), syncs}
  }

  private explain(v: Validated, select: string[] | undefined) {
    const {project} = v
    checkSelection(v, select)
    const explainer = new Explainer(project)
    const segments = [...project.segments.values()].filter((s) => !select || select.includes(s.name)).map((s) => ({segment: s.name, entity: s.entity, rule_text: explainer.segment(s)}))
    const groups = [...project.groups.values()].filter((g) => !select || g.segments.some((n) => select.includes(n))).map((g) => ({group: g.name, entity: g.entity, rule_text: explainer.group(g)}))
    if (!this.jsonEnabled()) this.out([...segments.map((s) => `${s.segment}\n  ${s.rule_text}`), ...groups.map((g) => `group ${g.group}\n  ${g.rule_text}`)].join('\n\n'))
    return {status: 'ok', segments, groups}
  }
}

import {diag, DiagnosticsError, type Diagnostic} from '../diagnostics/diagnostic.js'
import type {Validated} from '../validate/validate-project.js'
import {Site} from '../resolve/site.js'
import {registerSecret} from './redact.js'
import type {TargetConfig} from '../warehouse/warehouse.js'

const ENV = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The default when segc.yaml names no targets: the embedded DuckDB under .segc/. */
export const DEFAULT_TARGET: TargetConfig = {name: 'local', type: 'duckdb', path: '.segc/warehouse.duckdb'}

/**
 * Picks the target (flag, else default_target, else the only one) and substitutes
 * ${env:NAME}. Every substituted value is registered as a secret, so it is redacted from
 * anything segc prints, whichever key it came from.
 */
export function resolveTarget(v: Validated, name: string | undefined, env: NodeJS.ProcessEnv = process.env, opts: {substitute?: boolean} = {}): TargetConfig {
  const targets = (v.config.targets as Record<string, Record<string, unknown>> | undefined) ?? {}
  const configDoc = v.loaded.documents.find((d) => d.kind === 'config')
  const site = configDoc ? new Site(configDoc.file, configDoc.node) : undefined
  const at = (path: string[]) => (site ? path.reduce((s, k) => s.child(k), site).keyAt : {file: 'segc.yaml', line: 1, col: 1})
  const names = Object.keys(targets)
  const chosen = name ?? (v.config.default_target as string | undefined) ?? (names.length === 1 ? names[0] : undefined)
  if (chosen === undefined) {
    if (names.length === 0) return {...DEFAULT_TARGET}
    throw new DiagnosticsError([diag('unknown_target', at(['targets']), `several targets are defined (${names.join(', ')}); set default_target or pass --target`)])
  }
  const raw = targets[chosen]
  if (!raw) {
    if (names.length === 0 && chosen === DEFAULT_TARGET.name) return {...DEFAULT_TARGET}
    const where = name !== undefined ? at(['targets']) : at(['default_target'])
    throw new DiagnosticsError([diag('unknown_target', where, `no target '${chosen}' in segc.yaml${names.length ? ` (targets: ${names.join(', ')})` : ''}`)])
  }
  const problems: Diagnostic[] = []
  const resolved: TargetConfig = {name: chosen, type: String(raw.type)}
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'type') continue
    if (typeof value !== 'string' || opts.substitute === false) {
      resolved[key] = value
      continue
    }
    resolved[key] = value.replace(ENV, (_, variable: string) => {
      const found = env[variable]
      if (found === undefined || found === '') {
        problems.push(diag('env_missing', at(['targets', chosen, key]), `target '${chosen}' needs the environment variable ${variable} (for '${key}'), which is not set`))
        return ''
      }
      registerSecret(found)
      return found
    })
  }
  if (problems.length) throw new DiagnosticsError(problems)
  return resolved
}

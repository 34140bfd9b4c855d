// A destination's settings as a delivery uses them: segc.yaml's keys with ${env:NAME}
// substituted (each value registered as a secret) and the delivery limits they override.
import {diag, DiagnosticsError, type Diagnostic} from '../diagnostics/diagnostic.js'
import {Site} from '../resolve/site.js'
import {registerSecret} from '../project/redact.js'
import type {Prepared} from '../project/session.js'
import type {DeliveryLimits} from '../destination/destination.js'

const ENV = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

/** A destination's keys with ${env:NAME} substituted (each value registered as a secret). */
export function destinationConfig(p: Prepared, name: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const raw = ((p.v.config.destinations ?? {}) as Record<string, Record<string, unknown>>)[name]!
  const doc = p.v.loaded.documents.find((d) => d.kind === 'config')!
  const at = (key: string) => new Site(doc.file, doc.node).child('destinations').child(name).child(key).at
  const problems: Diagnostic[] = []
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    out[key] =
      typeof value !== 'string'
        ? value
        : value.replace(ENV, (_, variable: string) => {
            const found = env[variable]
            if (found === undefined || found === '') {
              problems.push(diag('env_missing', at(key), `destination '${name}' needs the environment variable ${variable} (for '${key}'), which is not set`))
              return ''
            }
            registerSecret(found)
            return found
          })
  }
  if (problems.length) throw new DiagnosticsError(problems)
  return out
}

/** A destination's delivery limits: its defaults, overridden by segc.yaml's keys. */
export function deliveryLimits(defaults: DeliveryLimits, config: Record<string, unknown>): DeliveryLimits {
  return {
    ...defaults,
    ...(config.batch_size !== undefined ? {batchSize: Number(config.batch_size)} : {}),
    ...(config.concurrency !== undefined ? {concurrency: Number(config.concurrency)} : {}),
    ...(config.rate_limit !== undefined ? {ratePerSecond: Number(config.rate_limit)} : {}),
    ...(config.timeout_seconds !== undefined ? {timeoutSeconds: Number(config.timeout_seconds)} : {}),
    ...(config.max_attempts !== undefined ? {maxAttempts: Number(config.max_attempts)} : {}),
  }
}


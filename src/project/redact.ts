// Values read from ${env:...} may be secrets: every one is remembered here and replaced by
// *** in anything segc prints (messages, --json, errors from warehouse SDKs).
const secrets = new Set<string>()

export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value)
}

export function redact(text: string): string {
  let out = text
  // longest first, so a secret that contains another is masked whole
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***')
  return out
}

export function redactDeep<T>(value: T): T {
  if (secrets.size === 0) return value
  return JSON.parse(redact(JSON.stringify(value))) as T
}

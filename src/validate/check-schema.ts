import type {ErrorObject} from 'ajv'
import {isMap, type Pair} from 'yaml'
import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import {didYouMean} from '../diagnostics/did-you-mean.js'
import {definitionId, type LoadedDocument} from '../load/load-project.js'
import {nodeAtPath, positionAt} from '../load/source-file.js'
import {loadValidators, type Validators} from './validators.js'

let validators: Validators | undefined

function getValidators(): Validators {
  validators ??= loadValidators()
  return validators
}

export interface SchemaResult {
  diagnostics: Diagnostic[]
  /**
   * Definitions with a shape error, as `file#doc` (segments, groups, config) or
   * `file#doc/entities/name` (models): resolve skips them but still knows their names,
   * so one broken definition does not cascade into unknown-name errors elsewhere.
   */
  invalid: Set<string>
  /** instance paths of every shape error, per document id (`file#doc`) */
  errorPaths: Map<string, string[][]>
}

/** Shape-checks every document with its JSON Schema; each ajv error becomes a diagnostic at the YAML node at fault. */
export function checkSchemas(documents: readonly LoadedDocument[]): SchemaResult {
  const diagnostics: Diagnostic[] = []
  const invalid = new Set<string>()
  const errorPaths = new Map<string, string[][]>()
  for (const doc of documents) {
    const validate = getValidators()[doc.kind]
    if (validate(doc.value)) continue
    for (const e of pickErrors(validate.errors ?? [])) {
      const path = pathOf(e.instancePath)
      if (e.propertyName !== undefined) path.push(e.propertyName)
      const id = `${doc.file.path}#${doc.index}`
      errorPaths.set(id, [...(errorPaths.get(id) ?? []), path])
      invalid.add(definitionId(doc, path))
      if (doc.kind === 'models' && path.length < 2) invalid.add(definitionId(doc))
      diagnostics.push(toDiagnostic(doc, e))
    }
  }
  return {diagnostics, invalid, errorPaths}
}

function pathOf(instancePath: string): string[] {
  if (!instancePath) return []
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/**
 * ajv reports every failed branch of an anyOf/oneOf. Keep, for each such choice, only the
 * branch that got furthest into the value (the one the author most likely meant).
 */
function pickErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const choices = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
  const dropped = new Set<ErrorObject>()
  for (const choice of choices) {
    const prefix = choice.schemaPath + '/'
    const branches = new Map<string, ErrorObject[]>()
    for (const e of errors) {
      if (e === choice || !e.schemaPath.startsWith(prefix)) continue
      const branch = e.schemaPath.slice(prefix.length).split('/')[0]!
      branches.set(branch, [...(branches.get(branch) ?? []), e])
    }
    const depth = (es: ErrorObject[]) => Math.max(...es.map((e) => pathOf(e.instancePath).length + (e.keyword === 'type' ? 0 : 0.5)))
    let best: string | undefined
    for (const [b, es] of branches) if (best === undefined || depth(es) > depth(branches.get(best)!)) best = b
    for (const [b, es] of branches) if (b !== best) es.forEach((e) => dropped.add(e))
    if (best !== undefined) dropped.add(choice)
  }
  return errors.filter((e) => !dropped.has(e) && e.keyword !== 'if' && e.keyword !== 'propertyNames')
}

function toDiagnostic(doc: LoadedDocument, e: ErrorObject): Diagnostic {
  const path = pathOf(e.instancePath)
  const {node, pair} = nodeAtPath(doc.node, path)
  const at = (n: unknown) => positionAt(doc.file, n)
  const where = path.length ? `'${path.join('.')}'` : 'the document'
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty)
      const keyPair = isMap(node) ? (node.items.find((it) => String((it.key as {value?: unknown})?.value) === key) as Pair | undefined) : undefined
      const allowed = Object.keys((e.parentSchema as {properties?: object})?.properties ?? {})
      return diag('unknown_key', at(keyPair ?? node), `unknown key '${key}' in ${where}${didYouMean(key, allowed)}`, {key})
    }
    case 'required':
      return diag('missing_key', at(pair ?? node), `${where} is missing the required key '${String(p.missingProperty)}'`, {key: p.missingProperty})
    case 'type':
      return diag('wrong_type', at(node), `${where} must be ${article(String(p.type))}`)
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String)
      const got = String(nodeValue(node))
      return diag('bad_value', at(node), `${where} must be one of ${allowed.join(', ')}, not '${got}'${didYouMean(got, allowed)}`)
    }
    case 'pattern':
      if ((e.schema as string).startsWith('^[a-z]')) {
        const named = e.propertyName !== undefined ? nodeAtPath(doc.node, [...path, e.propertyName]).pair : undefined
        const name = e.propertyName ?? String(nodeValue(node))
        return diag('bad_name', at(named ?? node), `invalid name '${name}': names are lower case letters, digits and _, start with a letter, at most 63 characters`)
      }
      return diag('bad_value', at(node), `${where} ${e.message}`)
    case 'discriminator':
      return diag('bad_value', at(node), `${where} has an unknown type '${String(p.tagValue ?? '')}': one of ${discriminatorValues(e).join(', ')}`)
    case 'const':
      return diag('bad_value', at(node), `${where} must be '${String(p.allowedValue)}'`)
    default:
      return diag('bad_value', at(node), `${where} ${e.message ?? 'is invalid'}`)
  }
}

function nodeValue(node: unknown): unknown {
  return node && typeof node === 'object' && 'value' in node ? (node as {value: unknown}).value : node
}

function article(type: string): string {
  const names = type.split(',').map((t) => ({object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', integer: 'an integer', boolean: 'true or false'})[t] ?? t)
  return names.join(' or ')
}

/** The `type` values a discriminated oneOf admits (targets: warehouses; destinations: their kinds). */
function discriminatorValues(e: ErrorObject): string[] {
  const branches = ((e.parentSchema as {oneOf?: Array<{properties?: {type?: {const?: string}}}>} | undefined)?.oneOf ?? [])
  return branches.map((b) => b.properties?.type?.const).filter((v): v is string => typeof v === 'string')
}

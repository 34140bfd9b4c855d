// The JSON Schema validators, compiled ahead of time. Compiling the six schemas with ajv takes
// ~150 ms, which every segc command paid at start (the whole of `segc validate` is ~0.4 s);
// `npm run build` writes them once as ajv standalone code next to this module, and loading
// that takes ~7 ms. The build stamps them with a hash of the schemas and ajv's version: a
// stale or missing file (a plain `tsc`, or the sources run by vitest) compiles at run time.
import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import type {ValidateFunction} from 'ajv'
import {configSchema, groupSchema, modelsSchema, segmentSchema, syncSchema, testSchema} from './schemas.js'

export type SchemaKind = 'config' | 'models' | 'segment' | 'group' | 'test' | 'sync'
export type Validators = Record<SchemaKind, ValidateFunction>
/** what the build's module exports: the validators and the hash they were built from */
type Built = Partial<Validators> & {schemasHash?: string}

const SCHEMAS: Record<SchemaKind, object> = {config: configSchema, models: modelsSchema, segment: segmentSchema, group: groupSchema, test: testSchema, sync: syncSchema}
const OPTIONS = {allErrors: true, verbose: true, discriminator: true, strict: false, allowUnionTypes: true}
/** where the build writes the compiled validators, beside this module */
export const GENERATED = 'validators.generated.cjs'

const require = createRequire(import.meta.url)

/** What the compiled validators must have been built from: the schemas, the options and ajv's version. */
export function schemasHash(): string {
  const version = (require('ajv/package.json') as {version: string}).version
  return createHash('sha256').update(JSON.stringify({SCHEMAS, OPTIONS, version})).digest('hex')
}

function ajv(code?: object) {
  const {Ajv} = require('ajv') as typeof import('ajv')
  return new Ajv({...OPTIONS, ...(code ? {code} : {})})
}

/** The validators compiled now, from the schemas. */
export function compileValidators(): Validators {
  const a = ajv()
  return Object.fromEntries(Object.entries(SCHEMAS).map(([k, s]) => [k, a.compile(s)])) as Validators
}

/** The source of a CommonJS module exporting every validator and the `schemasHash` it was built from. */
export function standaloneSource(): string {
  const a = ajv({source: true})
  for (const [k, s] of Object.entries(SCHEMAS)) a.addSchema(s, k)
  const standalone = require('ajv/dist/standalone') as {default: (ajv: unknown, refs: Record<string, string>) => string}
  const code = standalone.default(a, Object.fromEntries(Object.keys(SCHEMAS).map((k) => [k, k])))
  return `${code}\nexports.schemasHash = ${JSON.stringify(schemasHash())};\n`
}

/** The compiled validators when `generated` was built from these schemas, else compiled now. */
export function pickValidators(generated: Built | undefined): Validators {
  if (generated?.schemasHash === schemasHash() && (Object.keys(SCHEMAS) as SchemaKind[]).every((k) => typeof generated[k] === 'function')) {
    return generated as Validators
  }
  return compileValidators()
}

/** The validators: the build's compiled ones if present and current, else compiled now. */
export function loadValidators(): Validators {
  let generated: Built | undefined
  try {
    generated = require(`./${GENERATED}`) as Built
  } catch {
    generated = undefined
  }
  return pickValidators(generated)
}

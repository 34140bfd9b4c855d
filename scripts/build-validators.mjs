// Part of `npm run build`, after tsc: writes the JSON Schema validators as ajv standalone code
// beside dist/src/validate/validators.js, so no segc command compiles them at start
// (src/validate/validators.ts says why and how a stale file is caught).
import {writeFileSync} from 'node:fs'
import {GENERATED, standaloneSource} from '../dist/src/validate/validators.js'

writeFileSync(new URL(`../dist/src/validate/${GENERATED}`, import.meta.url), standaloneSource())

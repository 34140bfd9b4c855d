// Regenerates the reference parts of docs/ from the code (run after `npm run build`).
// Tests check that docs/diagnostics.md and docs/tables.md cover every code and column.
import {readFileSync, writeFileSync} from 'node:fs'
import {CODES} from '../dist/src/diagnostics/codes.js'

let out = `# Diagnostic codes

Every problem segc reports prints as \`FILE:LINE:COL: severity[CODE]: message\` (or, with \`--json\`, an object with \`code\`, \`severity\`, \`file\`, \`line\`, \`col\`, \`message\`). Codes are stable: scripts may match on them. Flags that are wrong point at the flag (\`--as-of:1:1\`).

| code | severity | meaning |
|---|---|---|
`
for (const [k, v] of Object.entries(CODES)) out += `| \`${k}\` | ${v.severity} | ${v.meaning} |\n`
writeFileSync(new URL('../docs/diagnostics.md', import.meta.url), out)
console.log('wrote docs/diagnostics.md')

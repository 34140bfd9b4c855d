import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** CLI tests run the built bin/run.js: build once so they never test stale output. */
export default function setup() {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: root, stdio: 'inherit'})
}

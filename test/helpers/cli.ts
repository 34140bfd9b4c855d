import {spawn, spawnSync} from 'node:child_process'
import {cpSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(REPO, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the built CLI as a user would, in its own process. */
export function segc(args: string[], opts: {cwd?: string; env?: Record<string, string>; timeoutMs?: number} = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: opts.cwd ?? REPO, env: {...process.env, ...opts.env}, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000})
  return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

/** A copy of the example project in a temp directory. */
export function exampleCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'segc-cli-'))
  for (const entry of ['segc.yaml', 'models', 'segments']) cpSync(join(REPO, entry), join(dir, entry), {recursive: true})
  return dir
}

export function noStackTrace(text: string): boolean {
  return !/\n\s+at .+:\d+:\d+\)?/.test(text)
}

/** A copy of a project directory (its warehouse file included) in a new temp directory. */
export function cloneProject(base: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'segc-clone-'))
  cpSync(base, dir, {recursive: true})
  return dir
}

/** Runs the built CLI without blocking this process (for servers the test itself runs). */
export function segcAsync(args: string[], opts: {cwd?: string; env?: Record<string, string>; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: opts.cwd ?? REPO, env: {...process.env, ...opts.env}})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code: code ?? -1, stdout, stderr})
    })
  })
}

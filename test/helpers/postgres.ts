import {execFileSync} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {freePort} from './ports.js'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

// A real PostgreSQL server from Debian's package, started for a test in a temp directory on a
// free port (as the postgres user when the tests run as root) and removed afterwards.

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0]
  return version ? join(root, version, 'bin') : undefined
}

export const POSTGRES_AVAILABLE = binDir() !== undefined

export interface PostgresServer {
  url: string
  stop(): void
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir()
  if (!bin) throw new Error('PostgreSQL is not installed (.ci/run installs Debian\'s postgresql package)')
  const dir = mkdtempSync(join(tmpdir(), 'segc-pg-'))
  const data = join(dir, 'data')
  const root = userInfo().uid === 0
  // initdb refuses to run as root: the data directory belongs to the postgres user then
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}).trim())
    chownSync(dir, uid, gid)
  }
  const run = (cmd: string, args: string[]) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], {stdio: 'pipe'}) : execFileSync(join(bin, cmd), args, {stdio: 'pipe'}))
  run('initdb', ['-D', data, '-U', 'segc', '--auth=trust', '--encoding=UTF8', '--no-sync'])
  const port = await freePort()
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off`, 'start'])
  return {
    url: `postgres://segc@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  }
}

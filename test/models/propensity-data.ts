import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {duckdbAdapter} from '../../adapters/duckdb/index.js'
import {prepare} from '../../src/project/session.js'
import {rng} from '../helpers/rng.js'

// A generated SaaS history with known structure for the propensity tests: engagement drives
// sessions and upgrades, plan and opt-in shift the odds. Seeded, so every run is the same.

export const DAY = 86400_000
export const AS_OF = new Date('2026-03-01T00:00:00Z')
export const HORIZON = 30 * DAY
export const C1 = new Date(AS_OF.getTime() - HORIZON)
export const C0 = new Date(C1.getTime() - HORIZON)
const START = C0.getTime() - 60 * DAY
/** events keep arriving after as_of: no fit may read them */
const END = AS_OF.getTime() + 10 * DAY

export interface User {
  id: string
  plan: string | null
  opt_in: boolean | null
  age: number | null
  constant: number
  flag: boolean
}
export interface Ev {
  user: string
  ts: number
  plan?: string
}

export interface Data {
  users: User[]
  sessions: Ev[]
  upgrades: Ev[]
  converts: Ev[]
}


function poisson(rand: () => number, lambda: number): number {
  const l = Math.exp(-lambda)
  let k = 0
  let p = 1
  do {
    k++
    p *= rand()
  } while (p > l)
  return k - 1
}

/** plan counts: four common levels, a rare one (edu), two tied at the levels cut (a_tie, b_tie), NULLs */
const PLANS: Array<[string | null, number]> = [
  ['free', 700],
  ['trial', 500],
  ['pro', 300],
  ['team', 200],
  ['edu', 5],
  ['b_tie', 4],
  ['a_tie', 4],
  [null, 150],
]
const PLAN_EFFECT: Record<string, number> = {free: -0.4, trial: 0.8, pro: 0, team: 0.3, edu: 1, a_tie: 0, b_tie: 0}

export function generate(seed = 33): Data {
  const rand = rng(seed)
  const users: User[] = []
  const sessions: Ev[] = []
  const upgrades: Ev[] = []
  const converts: Ev[] = []
  let n = 0
  for (const [plan, count] of PLANS) {
    for (let i = 0; i < count; i++) {
      const id = `u${String(++n).padStart(5, '0')}`
      const r = rand()
      const user: User = {id, plan, opt_in: r < 0.1 ? null : rand() < 0.5, age: rand() < 0.08 ? null : 18 + Math.floor(rand() * 50), constant: 5, flag: rand() < 0.1}
      users.push(user)
      const engagement = rand()
      const perDay = (0.5 + 8 * engagement * engagement) / 30
      const total = poisson(rand, perDay * (END - START) / DAY)
      for (let k = 0; k < total; k++) sessions.push({user: id, ts: START + Math.floor(rand() * (END - START) / 1000) * 1000})
      // upgrades in every 30-day window from C0 on (and after as_of): odds from engagement, plan, opt-in and age
      for (let w = C0.getTime(); w < END; w += HORIZON) {
        const eta = -3 + 3 * engagement + (user.opt_in ? 0.6 : 0) + (plan ? PLAN_EFFECT[plan]! : 0) + (user.age === null ? 0 : 0.01 * (user.age - 40))
        if (rand() < 1 / (1 + Math.exp(-eta))) upgrades.push({user: id, ts: w + 1000 + Math.floor(rand() * (HORIZON - 2000) / 1000) * 1000, plan: 'pro'})
        // upgrades to another plan: not the goal (its where is plan = pro)
        if (rand() < 0.1) upgrades.push({user: id, ts: w + 1000 + Math.floor(rand() * (HORIZON - 2000) / 1000) * 1000, plan: 'team'})
        // converts: exactly the flagged users, in every window (perfectly separable by flag)
        if (user.flag) converts.push({user: id, ts: w + 5000})
      }
    }
  }
  return {users, sessions, upgrades, converts}
}

export const MODELS = `
entities:
  user:
    table: main.users
    key: id
    attributes: {plan: string, opt_in: boolean, age: integer, constant: number, flag: boolean, signup_at: timestamp}
events:
  session: {entity: user, table: main.sessions, key: user_id, timestamp: ts}
  upgrade: {entity: user, table: main.upgrades, key: user_id, timestamp: ts, properties: {plan: string}, label: upgraded}
  convert: {entity: user, table: main.converts, key: user_id, timestamp: ts}
  never: {entity: user, table: main.sessions, key: user_id, timestamp: ts, where: {user_id: nobody}, properties: {user_id: string}}
traits:
  sessions_30d: {event: session, within: 30d}
  will_upgrade:
    fit: propensity
    goal: {event: upgrade, where: {plan: pro}}
    horizon: 30d
    features: [sessions_30d, plan, opt_in, age, constant]
    l2: 2.0
    levels: 6
  upgrade_score: {predict: probability, model: will_upgrade}
  upgrade_pct: {predict: percentile, model: will_upgrade}
`

const ts = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`
const str = (s: string | null) => (s === null ? 'NULL' : `'${s}'`)

/** Appends rows to a table in chunks of VALUES. */
export async function insert(conn: {execute(sql: string): Promise<unknown>}, tableName: string, rows: string[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) await conn.execute(`INSERT INTO ${tableName} VALUES ${rows.slice(i, i + 5000).join(', ')}`)
}
export const eventRow = (e: Ev) => `(${str(e.user)}, ${ts(e.ts)}${e.plan !== undefined ? `, ${str(e.plan)}` : ''})`

/** A project directory whose DuckDB target holds `data`. */
export async function propensityProject(dir: string, data: Data, extraModels = '', segments: Record<string, string> = {}): Promise<string> {
  mkdirSync(join(dir, 'models'), {recursive: true})
  mkdirSync(join(dir, 'segments'), {recursive: true})
  writeFileSync(join(dir, 'segc.yaml'), 'name: prop\ndefault_target: local\ntargets:\n  local: {type: duckdb, path: prop.duckdb}\n')
  writeFileSync(join(dir, 'models/m.yaml'), MODELS + extraModels)
  for (const [name, text] of Object.entries(segments)) writeFileSync(join(dir, 'segments', name), text)
  const conn = await duckdbAdapter.connect({name: 'load', type: 'duckdb', path: join(dir, 'prop.duckdb')}, dir)
  try {
    await conn.execute('CREATE TABLE main.users (id VARCHAR, plan VARCHAR, opt_in BOOLEAN, age INTEGER, constant DOUBLE, flag BOOLEAN, signup_at TIMESTAMP)')
    await conn.execute('CREATE TABLE main.sessions (user_id VARCHAR, ts TIMESTAMP)')
    await conn.execute('CREATE TABLE main.upgrades (user_id VARCHAR, ts TIMESTAMP, plan VARCHAR)')
    await conn.execute('CREATE TABLE main.converts (user_id VARCHAR, ts TIMESTAMP)')
    await insert(conn, 'main.users', data.users.map((u) => `(${str(u.id)}, ${str(u.plan)}, ${u.opt_in === null ? 'NULL' : u.opt_in}, ${u.age ?? 'NULL'}, ${u.constant}, ${u.flag}, ${ts(START)})`))
    await insert(conn, 'main.sessions', data.sessions.map(eventRow))
    await insert(conn, 'main.upgrades', data.upgrades.map(eventRow))
    await insert(conn, 'main.converts', data.converts.map(eventRow))
  } finally {
    await conn.close()
  }
  return dir
}

// ---- the independent construction (SPEC §17), from the generated arrays, not from SQL ----

export interface OwnRow {
  key: string
  features: Array<number | boolean | string | null>
  y: number
}

/** sessions_30d, plan, opt_in, age, constant at `c`, and the label from (c, c + horizon]. */
export function ownSnapshot(data: Data, c: number, horizon = HORIZON): OwnRow[] {
  const count = new Map<string, number>()
  for (const s of data.sessions) if (s.ts > c - 30 * DAY && s.ts <= c) count.set(s.user, (count.get(s.user) ?? 0) + 1)
  const goal = new Set(data.upgrades.filter((u) => u.plan === 'pro' && u.ts > c && u.ts <= c + horizon).map((u) => u.user))
  return data.users
    .map((u) => ({key: u.id, features: [count.get(u.id) ?? 0, u.plan, u.opt_in, u.age, u.constant], y: goal.has(u.id) ? 1 : 0}))
    .sort((a, b) => (a.key < b.key ? -1 : 1))
}

export interface OwnStats {
  types: Array<'number' | 'string' | 'boolean'>
  means: Array<number | undefined>
  sds: Array<number | undefined>
  levels: Array<string[] | undefined>
}

export function ownStats(rows: OwnRow[], types: OwnStats['types'], levels: number): OwnStats {
  const out: OwnStats = {types, means: [], sds: [], levels: []}
  types.forEach((t, i) => {
    const vals = rows.map((r) => r.features[i]).filter((v) => v !== null)
    if (t === 'number') {
      const xs = vals as number[]
      const m = xs.reduce((a, b) => a + b, 0) / xs.length
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length)
      out.means[i] = sd > 0 ? m : undefined
      out.sds[i] = sd > 0 ? sd : undefined
    } else if (t === 'string') {
      const counts = new Map<string, number>()
      for (const v of vals as string[]) counts.set(v, (counts.get(v) ?? 0) + 1)
      out.levels[i] = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, levels).map(([v]) => v)
    }
  })
  return out
}

export function ownDesign(rows: OwnRow[], s: OwnStats): number[][] {
  return rows.map((r) =>
    s.types.flatMap((t, i) => {
      const v = r.features[i]
      if (t === 'number') return s.sds[i] === undefined ? [] : [((v === null ? s.means[i]! : (v as number)) - s.means[i]!) / s.sds[i]!]
      if (t === 'boolean') return [v === true ? 1 : 0]
      return s.levels[i]!.map((l) => (v === l ? 1 : 0))
    }),
  )
}

/** A prepared project and a connection to its target, closed whatever f does. */
export async function withConn<T>(dir: string, f: (conn: Awaited<ReturnType<typeof duckdbAdapter.connect>>, p: ReturnType<typeof prepare>) => Promise<T>): Promise<T> {
  const p = prepare({project: dir})
  const conn = await duckdbAdapter.connect(p.target, p.v.root)
  try {
    return await f(conn, p)
  } finally {
    await conn.close()
  }
}

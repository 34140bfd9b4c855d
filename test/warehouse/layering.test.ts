// The layout's rules (docs/architecture.md, "The rooms"), read from the sources' import lines:
// each room imports only what its row in the docs allows, no two files and no two rooms import
// each other (directly or round a longer circle), only the shells reach run/, nothing reaches
// the shells, the warehouse interface imports no stage and destinations import no adapter.
// A new file that breaks a rule fails here; each rule is also shown failing on a graph broken
// on purpose, so none of them passes for want of anything to look at.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

type Graph = Map<string, string[]>

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** every relative import of a file (static, type-only, re-export or dynamic), as a source path from the repository root */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!)
  return found.map((spec) => relative(root, resolve(join(root, dirname(file)), spec)).replace(/\.js$/, '.ts'))
}

function realGraph(): Graph {
  return new Map(['src', 'adapters', 'destinations'].flatMap(sources).map((f) => [f, imports(f)]))
}

/** docs/architecture.md's table of rooms: room → the rooms it may import ('any' for the commands) */
function roomsFromDocs(): Map<string, Set<string> | 'any'> {
  const text = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const table = text.split('<!-- rooms: begin -->')[1]?.split('<!-- rooms: end -->')[0]
  if (!table) throw new Error('docs/architecture.md has no rooms table')
  const rooms = new Map<string, Set<string> | 'any'>()
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const room = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1]
    if (!room) continue
    const may = cells[3] ?? ''
    rooms.set(room, may === 'any room' ? 'any' : new Set([...may.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)))
  }
  return rooms
}

const ROOMS = roomsFromDocs()

/** the room a file is in: the longest room that is the file itself or a folder holding it */
function roomOf(file: string, rooms = ROOMS): string | undefined {
  let best: string | undefined
  for (const room of rooms.keys()) if ((file === room || file.startsWith(room + '/')) && (!best || room.length > best.length)) best = room
  return best
}

const edges = (g: Graph) => [...g].flatMap(([from, tos]) => tos.map((to) => ({from, to})))
const roomEdges = (g: Graph) =>
  edges(g)
    .map(({from, to}) => ({from, to, a: roomOf(from), b: roomOf(to)}))
    .filter((e) => e.a !== e.b)

/** the strongly connected parts of more than one node: each is a circle (Tarjan) */
function circles(nodes: string[], next: (n: string) => string[]): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        part.push(w)
      } while (w !== v)
      if (part.length > 1) out.push(part.sort())
    }
  }
  for (const n of nodes) if (!index.has(n)) visit(n)
  return out
}

const rules = {
  'every file is in a room': (g: Graph) => [...g.keys()].filter((f) => !roomOf(f)),
  'a room imports only what its row allows': (g: Graph) =>
    roomEdges(g)
      .filter(({a, b}) => {
        const may = ROOMS.get(a!)
        return may !== 'any' && (!b || !may?.has(b))
      })
      .map(({from, to}) => `${from} → ${to}`),
  'no circle between files': (g: Graph) => circles([...g.keys()], (f) => (g.get(f) ?? []).filter((t) => g.has(t))).map((c) => c.join(' ↔ ')),
  'no circle between rooms': (g: Graph) => {
    const next = new Map<string, Set<string>>()
    for (const {a, b} of roomEdges(g)) if (a && b) next.set(a, (next.get(a) ?? new Set()).add(b))
    return circles([...ROOMS.keys()], (r) => [...(next.get(r) ?? [])]).map((c) => c.join(' ↔ '))
  },
  'only commands, cli and demo import run': (g: Graph) =>
    edges(g)
      .filter(({from, to}) => to.startsWith('src/run/') && !from.startsWith('src/run/') && !/^src\/(commands|cli|demo)\//.test(from))
      .map(({from, to}) => `${from} → ${to}`),
  'no stage imports the commands or the cli': (g: Graph) =>
    edges(g)
      .filter(({from, to}) => (to.startsWith('src/commands/') && !from.startsWith('src/commands/')) || (to.startsWith('src/cli/') && !/^src\/(commands|cli)\//.test(from)))
      .map(({from, to}) => `${from} → ${to}`),
  'the warehouse interface imports no stage': (g: Graph) =>
    edges(g)
      .filter(({from, to}) => from.startsWith('src/warehouse/') && !to.startsWith('src/warehouse/'))
      .map(({from, to}) => `${from} → ${to}`),
  'destinations import no adapter': (g: Graph) =>
    edges(g)
      .filter(({from, to}) => from.startsWith('destinations/') && to.startsWith('adapters/'))
      .map(({from, to}) => `${from} → ${to}`),
} satisfies Record<string, (g: Graph) => string[]>

/** the real graph with one import added, as if a file had gained that line */
function broken(from: string, to: string): Graph {
  const g = realGraph()
  g.set(from, [...(g.get(from) ?? []), to])
  return g
}

describe('layering', () => {
  const graph = realGraph()

  it('finds the files and the rooms it judges', () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(ROOMS.size).toBeGreaterThan(20)
    // the reader sees real imports, type-only and dynamic ones included
    expect(imports('adapters/duckdb/index.ts')).toContain('src/warehouse/warehouse.ts')
    expect(imports('adapters/duckdb/dialect.ts')).toContain('src/warehouse/dialect.ts')
    expect(imports('destinations/index.ts').some((t) => t.startsWith('destinations/klaviyo/'))).toBe(true)
    // every room the table names holds a file or is one, so no row is a leftover
    for (const room of ROOMS.keys()) expect([...graph.keys()].some((f) => roomOf(f) === room), room).toBe(true)
  })

  for (const [name, rule] of Object.entries(rules)) {
    it(name, () => {
      expect(rule(graph)).toEqual([])
    })
  }

  describe('each rule fails when broken on purpose', () => {
    const cases: Array<[keyof typeof rules, Graph]> = [
      ['every file is in a room', new Map([...graph, ['src/nowhere/new.ts', []]])],
      ['a room imports only what its row allows', broken('src/plan/build-plan.ts', 'src/generate/generate-sql.ts')],
      ['no circle between files', broken('src/generate/expr-writer.ts', 'src/generate/generate-sql.ts')],
      ['no circle between rooms', broken('src/project/session.ts', 'src/models/fit-project.ts')],
      ['only commands, cli and demo import run', broken('src/sync/run-sync.ts', 'src/run/run-project.ts')],
      ['no stage imports the commands or the cli', broken('src/generate/generate-sql.ts', 'src/cli/segc-command.ts')],
      ['the warehouse interface imports no stage', broken('src/warehouse/tables.ts', 'src/resolve/model.ts')],
      ['destinations import no adapter', broken('destinations/file/index.ts', 'adapters/duckdb/index.ts')],
    ]
    for (const [name, g] of cases) {
      it(name, () => {
        expect(rules[name](g).length).toBeGreaterThan(0)
      })
    }
    it('a type-only import counts as an import', () => {
      // openlineage.ts imports the plan's types only (`import type`): a circle through such a line is a circle still
      expect(readFileSync(join(root, 'src/lineage/openlineage.ts'), 'utf8')).toMatch(/import type \{[^}]*\} from '\.\.\/plan\/plan-types\.js'/)
      expect(imports('src/lineage/openlineage.ts')).toContain('src/plan/plan-types.ts')
      expect(rules['no circle between files'](broken('src/plan/plan-types.ts', 'src/lineage/openlineage.ts')).length).toBeGreaterThan(0)
    })
  })
})

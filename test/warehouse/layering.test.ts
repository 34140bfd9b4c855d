// The stages' import direction (docs/architecture.md): adapters depend on the warehouse
// interface, not on the run stage; generate never reaches into run; the interface imports no
// stage but the generator's Dialect type. Read from the sources' import lines, so a new file
// that breaks the direction fails here.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** every relative import of a file, as a path from the repository root */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1])
  return found.map((spec) => relative(root, resolve(join(root, dirname(file)), spec)))
}

const into = (files: string[], folder: string) =>
  files.flatMap((file) => imports(file).filter((target) => target.startsWith(folder)).map((target) => `${file} → ${target}`))

describe('layering', () => {
  it('finds the files it judges', () => {
    expect(sources('adapters').length).toBeGreaterThanOrEqual(12)
    expect(sources('src/generate').length).toBeGreaterThan(5)
    // the reader sees real imports: every adapter's index imports the interface
    expect(imports('adapters/duckdb/index.ts')).toContain('src/warehouse/warehouse.js')
  })

  it('adapters import the warehouse interface, never the run stage', () => {
    expect(into(sources('adapters'), 'src/run/')).toEqual([])
  })

  it('generate does not reach into run', () => {
    expect(into(sources('src/generate'), 'src/run/')).toEqual([])
  })

  it('the interface imports no stage but the Dialect type', () => {
    const outside = sources('src/warehouse').flatMap((file) =>
      imports(file).filter((target) => !target.startsWith('src/warehouse/') && target !== 'src/generate/dialect.js'),
    )
    expect(outside).toEqual([])
  })
})

import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {isMap, isScalar, type YAMLMap} from 'yaml'
import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import {parseSource, positionAt, type SourceFile} from './source-file.js'

export type DocumentKind = 'config' | 'models' | 'segment' | 'group' | 'test' | 'sync'

/** One top-level YAML document, tagged with the kind its first key names. */
export interface LoadedDocument {
  kind: DocumentKind
  file: SourceFile
  index: number
  node: YAMLMap
  value: Record<string, unknown>
}

export interface LoadedProject {
  root: string
  files: SourceFile[]
  documents: LoadedDocument[]
  diagnostics: Diagnostic[]
}

/**
 * A definition's identity across the stages: `file#doc` for a document, `file#doc/space/name` for
 * one definition of a models file. Validate marks ids with shape errors, resolve skips them; both
 * name them the same way from here.
 */
export function definitionId(doc: LoadedDocument, path: readonly string[] = []): string {
  const base = `${doc.file.path}#${doc.index}`
  return doc.kind === 'models' && path.length >= 2 ? `${base}/${path[0]}/${path[1]}` : base
}

export const CONFIG_FILE = 'segc.yaml'
const MODEL_KINDS = new Set(['entities', 'events', 'traits'])
const SEGMENT_KINDS = new Set(['segment', 'group'])

export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start)
  for (;;) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function yamlFilesUnder(root: string, folder: string): string[] {
  const base = join(root, folder)
  if (!existsSync(base)) return []
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (/\.ya?ml$/.test(entry.name)) out.push(full)
    }
  }
  walk(base)
  return out
}

export function isFixtureTestFile(path: string): boolean {
  return /\.test\.ya?ml$/.test(path)
}

/** Reads segc.yaml, models/, segments/ (fixture tests excluded) and syncs/ of the project at root. */
export function loadProject(root: string, opts: {tests?: boolean; overlay?: ReadonlyMap<string, string>} = {}): LoadedProject {
  const diagnostics: Diagnostic[] = []
  const files: SourceFile[] = []
  const documents: LoadedDocument[] = []
  const configPath = join(root, CONFIG_FILE)
  const paths: Array<[string, Folder]> = [[configPath, 'config']]
  const overlay = opts.overlay ?? new Map<string, string>()
  const under = (folder: string) => withOverlay(root, folder, yamlFilesUnder(root, folder), overlay)
  for (const p of under('models')) paths.push([p, 'models'])
  for (const p of under('segments')) if (!isFixtureTestFile(p) || opts.tests) paths.push([p, 'segments'])
  for (const p of under('syncs')) paths.push([p, 'syncs'])
  for (const [full, folder] of paths) {
    const rel = relative(root, full).split(sep).join('/')
    let text: string
    try {
      const unsaved = overlay.get(full)
      if (unsaved !== undefined) text = unsaved
      else if (statSync(full).isDirectory()) continue
      else text = readFileSync(full, 'utf8')
    } catch (error) {
      diagnostics.push(diag(folder === 'config' ? 'project_not_found' : 'file_unreadable', {file: rel, line: 1, col: 1}, `cannot read ${rel}: ${(error as Error).message}`))
      continue
    }
    const parsed = parseSource(rel, text)
    diagnostics.push(...parsed.diagnostics)
    files.push(parsed.file)
    parsed.file.documents.forEach((doc, index) => {
      const node = doc.contents
      if (node === null || (isScalar(node) && node.value === null)) return // an empty document
      if (!isMap(node)) {
        diagnostics.push(diag('wrong_type', positionAt(parsed.file, node), 'expected a mapping at the top of the document'))
        return
      }
      const value = doc.toJS({maxAliasCount: 100}) as Record<string, unknown>
      const first = node.items[0]?.key
      const firstKey = isScalar(first) ? String(first.value) : ''
      const kind = kindOf(folder, firstKey, rel)
      if (kind === undefined) {
        const expected = folder === 'models' ? 'entities, events or traits' : folder === 'syncs' ? 'sync' : 'segment or group'
        const wrongFolder = (folder === 'models' && SEGMENT_KINDS.has(firstKey)) || (folder === 'segments' && MODEL_KINDS.has(firstKey))
        diagnostics.push(
          wrongFolder
            ? diag('misplaced_kind', positionAt(parsed.file, first), `'${firstKey}' definitions belong in ${folder === 'models' ? 'segments/' : 'models/'}, not ${folder}/`)
            : diag('unknown_kind', positionAt(parsed.file, first ?? node), `a document in ${folder}/ must start with ${expected}, not '${firstKey}'`),
        )
        return
      }
      documents.push({kind, file: parsed.file, index, node, value})
    })
  }
  return {root, files, documents, diagnostics}
}

/**
 * The files of a folder with an editor's unsaved texts laid over them (segc lsp): an open file
 * counts even when it is not (or no longer) on disk, in the order a walk of the disk gives.
 */
function withOverlay(root: string, folder: string, onDisk: string[], overlay: ReadonlyMap<string, string>): string[] {
  if (overlay.size === 0) return onDisk
  const base = join(root, folder) + sep
  const extra = [...overlay.keys()].filter((p) => p.startsWith(base) && /\.ya?ml$/.test(p) && !onDisk.includes(p))
  if (extra.length === 0) return onDisk
  const rank = (p: string) => relative(base, p).split(sep)
  const cmp = (a: string, b: string): number => {
    const [x, y] = [rank(a), rank(b)]
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]!.localeCompare(y[i]!)
    return x.length - y.length
  }
  return [...onDisk, ...extra].sort(cmp)
}

export type Folder = 'config' | 'models' | 'segments' | 'syncs'

export function kindOf(folder: Folder, firstKey: string, path: string): DocumentKind | undefined {
  if (folder === 'config') return 'config'
  if (folder === 'syncs') return firstKey === 'sync' ? 'sync' : undefined
  if (folder === 'models') return MODEL_KINDS.has(firstKey) ? 'models' : undefined
  if (isFixtureTestFile(path)) return firstKey === 'test' ? 'test' : undefined
  return SEGMENT_KINDS.has(firstKey) ? (firstKey as 'segment' | 'group') : undefined
}

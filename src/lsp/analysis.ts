import {join, relative, sep} from 'node:path'
import type {Diagnostic} from '../diagnostics/diagnostic.js'
import type {SourceFile} from '../load/source-file.js'
import {buildNameIndex, type NameIndex} from '../resolve/name-index.js'
import {validateProject, type Validated} from '../validate/validate-project.js'

/** One pass of the language over the project, with the editor's unsaved texts laid over the disk. */
export interface Analysis {
  root: string
  validated: Validated
  index: NameIndex
  /** diagnostics per file path relative to the root, every loaded file present (clean ones empty) */
  byFile: Map<string, Diagnostic[]>
  files: Map<string, SourceFile>
  /** milliseconds the pass took */
  ms: number
}

/** load → validate → resolve, as `segc validate` runs them (fixture tests included), then the name index. */
export function analyse(root: string, overlay: ReadonlyMap<string, string>): Analysis {
  const started = performance.now()
  const validated = validateProject({project: root, tests: true, overlay})
  const index = buildNameIndex(validated.loaded.documents, validated.project)
  const byFile = new Map<string, Diagnostic[]>()
  const files = new Map<string, SourceFile>()
  for (const f of validated.loaded.files) {
    files.set(f.path, f)
    byFile.set(f.path, [])
  }
  for (const d of validated.diagnostics) {
    const list = byFile.get(d.file) ?? []
    list.push(d)
    byFile.set(d.file, list)
  }
  return {root, validated, index, byFile, files, ms: performance.now() - started}
}

/** The path of a file relative to the project root, as diagnostics name it; undefined outside the project. */
export function projectPath(root: string, absolute: string): string | undefined {
  const rel = relative(root, absolute)
  if (rel === '' || rel.startsWith('..') || rel.includes(':')) return undefined
  const path = rel.split(sep).join('/')
  if (path === 'segc.yaml') return path
  return /^(models|segments|syncs)\/.+\.ya?ml$/.test(path) ? path : undefined
}

export const absolutePath = (root: string, path: string): string => join(root, ...path.split('/'))

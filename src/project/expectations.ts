import {diag, type Diagnostic} from '../diagnostics/diagnostic.js'
import type {Project} from '../resolve/model.js'

export interface SizeFacts {
  segment: string
  entity: string
  size: number
  entered: number
  exited: number
}

/** `--strict` and an `expect` guard failed: nothing was committed (exit 3). */
export class ExpectationsFailed extends Error {
  constructor(
    message: string,
    readonly result: unknown,
  ) {
    super(message)
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

/**
 * SPEC §4 `expect` against a run's sizes. `universe` counts each entity's rows (needed only
 * for max_share). max_change compares with the size before the run and is skipped when that
 * was 0 (a first run has no basis for a change rate).
 */
export function checkExpectations(project: Project, sizes: readonly SizeFacts[], universe: ReadonlyMap<string, number>): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const s of sizes) {
    const e = project.segments.get(s.segment)?.expect
    if (!e) continue
    const fail = (check: string, text: string, data: Record<string, unknown>) =>
      out.push(diag('expectation_failed', e.loc, `segment '${s.segment}': ${text}`, {segment: s.segment, check, ...data}))
    if (e.minSize !== undefined && s.size < e.minSize) fail('min_size', `size ${s.size} is below min_size ${e.minSize}`, {actual: s.size, limit: e.minSize})
    if (e.maxSize !== undefined && s.size > e.maxSize) fail('max_size', `size ${s.size} is above max_size ${e.maxSize}`, {actual: s.size, limit: e.maxSize})
    const total = universe.get(s.entity)
    if (e.maxShare !== undefined && total) {
      const share = s.size / total
      if (share > e.maxShare) fail('max_share', `${pct(share)} of all ${s.entity} entities (${s.size} of ${total}) is above max_share ${pct(e.maxShare)}`, {actual: share, limit: e.maxShare})
    }
    const previous = s.size - s.entered + s.exited
    if (e.maxChange !== undefined && previous > 0) {
      const change = (s.entered + s.exited) / previous
      if (change > e.maxChange) fail('max_change', `${s.entered} entered and ${s.exited} exited: a change of ${pct(change)} of ${previous} is above max_change ${pct(e.maxChange)}`, {actual: change, limit: e.maxChange})
    }
  }
  return out
}

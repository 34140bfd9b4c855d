import {distance} from 'fastest-levenshtein'

/** The closest candidate within a typo's reach, for "did you mean" hints. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase())
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c
      bestDistance = d
    }
  }
  const reach = name.length <= 3 ? 1 : Math.max(2, Math.floor(name.length / 3))
  return best !== undefined && bestDistance <= reach ? best : undefined
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closest(name, candidates)
  return c ? ` (did you mean '${c}'?)` : ''
}

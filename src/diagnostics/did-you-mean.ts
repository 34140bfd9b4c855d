import {distance} from 'fastest-levenshtein'

const letters = (s: string) => [...s.toLowerCase()].sort().join('')

/** The closest candidate within a typo's reach, for "did you mean" hints. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    // swapped letters (trial for trait) cost 2+ edits in Levenshtein; count an anagram as 1
    const d = letters(c) === letters(name) && c !== name ? 1 : distance(name.toLowerCase(), c.toLowerCase())
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c
      bestDistance = d
    }
  }
  const reach = name.length <= 3 ? 1 : name.length <= 6 ? 3 : Math.max(3, Math.floor(name.length / 3))
  return best !== undefined && bestDistance <= reach ? best : undefined
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closest(name, candidates)
  return c ? ` (did you mean '${c}'?)` : ''
}

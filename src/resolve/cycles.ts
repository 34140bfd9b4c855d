/**
 * Every loop in a dependency graph, each listed whole (a → b → c → a), one per strongly
 * connected component, so an author sees the entire loop rather than one edge of it.
 */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const components: string[][] = []
  let counter = 0
  // Iterative Tarjan: recursion would overflow on long reference chains.
  for (const start of [...edges.keys()].sort()) {
    if (index.has(start)) continue
    const work: Array<{node: string; next: number}> = [{node: start, next: 0}]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (work.length) {
      const frame = work[work.length - 1]!
      const deps = (edges.get(frame.node) ?? []).filter((d) => edges.has(d))
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!
        if (!index.has(dep)) {
          index.set(dep, counter)
          low.set(dep, counter++)
          stack.push(dep)
          onStack.add(dep)
          work.push({node: dep, next: 0})
        } else if (onStack.has(dep)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(dep)!))
        continue
      }
      work.pop()
      if (work.length) {
        const parent = work[work.length - 1]!.node
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!))
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = []
        let n: string
        do {
          n = stack.pop()!
          onStack.delete(n)
          component.push(n)
        } while (n !== frame.node)
        const selfLoop = (edges.get(frame.node) ?? []).includes(frame.node)
        if (component.length > 1 || selfLoop) components.push(component)
      }
    }
  }
  return components.map((c) => loopThrough(c, edges))
}

/** A concrete path around a strongly connected component, starting at its smallest name. */
function loopThrough(component: string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component)
  const start = [...component].sort()[0]!
  // breadth-first search from start back to start inside the component
  const prev = new Map<string, string>()
  const queue = [start]
  while (queue.length) {
    const n = queue.shift()!
    for (const d of edges.get(n) ?? []) {
      if (!members.has(d)) continue
      if (d === start) {
        const path = [start]
        for (let x: string | undefined = n; x !== undefined && x !== start; x = prev.get(x)) path.splice(1, 0, x)
        return [...path, start]
      }
      if (!prev.has(d)) {
        prev.set(d, n)
        queue.push(d)
      }
    }
  }
  return [start, start]
}

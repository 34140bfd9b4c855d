declare module 'fmin' {
  export interface Point extends Array<number> {
    fx: number
  }
  export function nelderMead(f: (x: number[]) => number, x0: number[], parameters?: {maxIterations?: number; minErrorDelta?: number; minTolerance?: number; nonZeroDelta?: number; zeroDelta?: number}): {x: number[]; fx: number}
  const fmin: {nelderMead: typeof nelderMead}
  export default fmin
}

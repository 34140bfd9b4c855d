declare module 'fmin' {
  export interface Point extends Array<number> {
    fx: number
  }
  export function nelderMead(f: (x: number[]) => number, x0: number[], parameters?: {maxIterations?: number; minErrorDelta?: number; minTolerance?: number; nonZeroDelta?: number; zeroDelta?: number}): {x: number[]; fx: number}
  export function conjugateGradient(f: (x: number[], fxprime: number[]) => number, initial: number[], params?: {maxIterations?: number}): {x: number[]; fx: number; fxprime: number[]}
  const fmin: {nelderMead: typeof nelderMead; conjugateGradient: typeof conjugateGradient}
  export default fmin
}

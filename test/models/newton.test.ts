import {describe, expect, it} from 'vitest'
import {newtonRaphson, type NewtonSums} from '../../src/models/propensity.js'

// The Newton loop of `segc fit: propensity` fed by sums written here in plain arithmetic
// (Σ log-loss, its gradient and Hessian over a generated logistic data set), once exact and once
// with the kind of noise a warehouse's unordered float sums carry at a million rows. The oracle
// is the optimum's own condition: the penalized gradient at the returned β is zero.

const L2 = 1
function data(n: number): {x: number[][]; y: number[]} {
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const truth = [-1.2, 0.8, -0.5, 1.5]
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < n; i++) {
    const row = [1, rand() * 2 - 1, rand() * 2 - 1, rand() < 0.3 ? 1 : 0]
    const eta = row.reduce((a, v, j) => a + v * truth[j]!, 0)
    x.push(row)
    y.push(rand() < 1 / (1 + Math.exp(-eta)) ? 1 : 0)
  }
  return {x, y}
}

function exactSums(x: number[][], y: number[]): NewtonSums {
  return async (beta) => {
    const q = beta.length
    let loss = 0
    const g = new Array<number>(q).fill(0)
    const H = Array.from({length: q}, () => new Array<number>(q).fill(0))
    x.forEach((row, r) => {
      const eta = row.reduce((a, v, j) => a + v * beta[j]!, 0)
      const p = 1 / (1 + Math.exp(-eta))
      loss += -(y[r]! * Math.log(p) + (1 - y[r]!) * Math.log(1 - p))
      for (let i = 0; i < q; i++) {
        g[i]! += (p - y[r]!) * row[i]!
        for (let j = 0; j < q; j++) H[i]![j]! += p * (1 - p) * row[i]! * row[j]!
      }
    })
    return {loss, g, H}
  }
}

/** the gradient of the penalized objective (intercept unpenalized) at β */
async function penalizedGradient(sums: NewtonSums, beta: number[]): Promise<number[]> {
  const {g} = await sums(beta)
  return g.map((v, i) => (i === 0 ? v : v + L2 * beta[i]!))
}

describe('newtonRaphson', () => {
  const {x, y} = data(2000)
  const exact = exactSums(x, y)

  it('with exact sums: every |Δβ| below 1e-8, at the optimum', async () => {
    const fit = await newtonRaphson(exact, 4, L2, 't')
    expect(fit.stopped).toBe('tolerance')
    expect(fit.iterations).toBeLessThan(12)
    for (const v of await penalizedGradient(exact, fit.beta)) expect(Math.abs(v)).toBeLessThan(1e-9)
  })

  it('with noisy sums (steps that never reach 1e-8): stops at the noise, as close to the optimum as the noise allows', async () => {
    let seed = 7
    const jitter = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2e-5
    // about 1e-8 of Σ|terms| on the gradient: Δβ noise of a few 1e-8 at this Hessian
    const noisy: NewtonSums = async (beta) => {
      const s = await exact(beta)
      return {loss: s.loss, g: s.g.map((v) => v + jitter()), H: s.H}
    }
    const reference = await newtonRaphson(exact, 4, L2, 't')
    const fit = await newtonRaphson(noisy, 4, L2, 't')
    expect(fit.stopped).toBe('noise')
    fit.beta.forEach((b, i) => expect(Math.abs(b - reference.beta[i]!)).toBeLessThan(1e-6))
    for (const v of await penalizedGradient(exact, fit.beta)) expect(Math.abs(v)).toBeLessThan(1e-4)
  })
})

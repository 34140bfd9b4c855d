// Charts as inline SVG, drawn at build time: the site needs no script and no network to show them.
import {esc} from './html.js'

export interface Point {
  label: string
  value: number
}

const W = 640
const H = 180
const PAD = {left: 56, right: 12, top: 12, bottom: 28}

const fmt = (n: number) => n.toLocaleString('en-US', {maximumFractionDigits: 1})

function scale(max: number) {
  const top = max <= 0 ? 1 : max
  const innerH = H - PAD.top - PAD.bottom
  return (v: number) => PAD.top + innerH - (v / top) * innerH
}

function xAxis(points: Point[], x: (i: number) => number): string {
  if (points.length === 0) return ''
  const ticks = points.length <= 2 ? points.map((_, i) => i) : [0, Math.floor((points.length - 1) / 2), points.length - 1]
  const anchor = (i: number) => (points.length > 1 && i === 0 ? 'start' : points.length > 1 && i === points.length - 1 ? 'end' : 'middle')
  return ticks.map((i) => `<text x="${x(i).toFixed(1)}" y="${H - 8}" text-anchor="${anchor(i)}" class="tick">${esc(points[i]!.label)}</text>`).join('')
}

/** Size over time: a line with its points, the y axis from 0 to the largest value (or to `top`). */
export function lineChart(title: string, points: Point[], top?: number): string {
  const max = top ?? Math.max(0, ...points.map((p) => p.value))
  const y = scale(max)
  const innerW = W - PAD.left - PAD.right
  const x = (i: number) => PAD.left + (points.length <= 1 ? innerW / 2 : (i / (points.length - 1)) * innerW)
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3"><title>${esc(p.label)}: ${fmt(p.value)}</title></circle>`).join('')
  return `<svg class="chart line" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<title>${esc(title)}</title>
<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" class="axis"/>
<text x="${PAD.left - 6}" y="${y(max) + 4}" text-anchor="end" class="tick">${fmt(max)}</text>
<text x="${PAD.left - 6}" y="${y(0) + 4}" text-anchor="end" class="tick">0</text>
<path d="${path}" class="series"/>${dots}${xAxis(points, x)}
</svg>`
}

/** Entered (up) and exited (down) per run, as bars around a zero line. */
export function flowBars(title: string, points: Array<{label: string; entered: number; exited: number}>): string {
  const max = Math.max(1, ...points.map((p) => Math.max(p.entered, p.exited)))
  const innerW = W - PAD.left - PAD.right
  const mid = PAD.top + (H - PAD.top - PAD.bottom) / 2
  const half = (H - PAD.top - PAD.bottom) / 2
  const step = points.length ? innerW / points.length : innerW
  const bw = Math.max(1, Math.min(24, step * 0.6))
  const x = (i: number) => PAD.left + step * i + step / 2
  const bars = points
    .map((p, i) => {
      const up = (p.entered / max) * half
      const down = (p.exited / max) * half
      return `<rect x="${(x(i) - bw / 2).toFixed(1)}" y="${(mid - up).toFixed(1)}" width="${bw.toFixed(1)}" height="${up.toFixed(1)}" class="entered"><title>${esc(p.label)}: ${fmt(p.entered)} entered</title></rect>` +
        `<rect x="${(x(i) - bw / 2).toFixed(1)}" y="${mid.toFixed(1)}" width="${bw.toFixed(1)}" height="${down.toFixed(1)}" class="exited"><title>${esc(p.label)}: ${fmt(p.exited)} exited</title></rect>`
    })
    .join('')
  return `<svg class="chart bars" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<title>${esc(title)}</title>
<line x1="${PAD.left}" y1="${mid}" x2="${W - PAD.right}" y2="${mid}" class="axis"/>
<text x="${PAD.left - 6}" y="${PAD.top + 8}" text-anchor="end" class="tick">+${fmt(max)}</text>
<text x="${PAD.left - 6}" y="${H - PAD.bottom}" text-anchor="end" class="tick">−${fmt(max)}</text>${bars}${xAxis(points.map((p) => ({label: p.label, value: 0})), x)}
</svg>`
}

/** A difference with its interval on a horizontal axis through zero (lift and its 95% CI). */
export function intervalChart(title: string, estimate: number, low: number, high: number): string {
  const w = 640
  const h = 60
  const span = Math.max(Math.abs(low), Math.abs(high), Math.abs(estimate), 1e-9) * 1.2
  const x = (v: number) => 20 + ((v + span) / (2 * span)) * (w - 40)
  return `<svg class="chart interval" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">
<title>${esc(title)}</title>
<line x1="${x(0)}" y1="8" x2="${x(0)}" y2="${h - 18}" class="axis"/>
<text x="${x(0)}" y="${h - 4}" text-anchor="middle" class="tick">0</text>
<line x1="${x(low).toFixed(1)}" y1="26" x2="${x(high).toFixed(1)}" y2="26" class="series"/>
<circle cx="${x(estimate).toFixed(1)}" cy="26" r="5"/>
<text x="${x(low).toFixed(1)}" y="${h - 4}" text-anchor="middle" class="tick">${(low * 100).toFixed(2)}</text>
<text x="${x(high).toFixed(1)}" y="${h - 4}" text-anchor="middle" class="tick">${(high * 100).toFixed(2)}</text>
</svg>`
}

/**
 * Observed against predicted share per bin, on equal axes from 0 to the largest of either, with
 * the diagonal a perfectly calibrated model would lie on.
 */
export function calibrationChart(title: string, bins: Array<{bin: number; predicted: number; observed: number; n: number}>): string {
  const size = 300
  const pad = 40
  const top = Math.min(1, Math.max(0.01, ...bins.flatMap((b) => [b.predicted, b.observed])) * 1.05)
  const x = (v: number) => pad + (v / top) * (size - pad - 10)
  const y = (v: number) => size - pad - (v / top) * (size - pad - 10)
  const pctText = (v: number) => `${(v * 100).toLocaleString('en-US', {maximumFractionDigits: 1})}%`
  const dots = bins
    .map((b) => `<circle class="bin" cx="${x(b.predicted).toFixed(1)}" cy="${y(b.observed).toFixed(1)}" r="4"><title>bin ${b.bin}: predicted ${pctText(b.predicted)}, observed ${pctText(b.observed)} of ${fmt(b.n)}</title></circle>`)
    .join('')
  return `<svg class="chart calibration" viewBox="0 0 ${size} ${size}" role="img" aria-label="${esc(title)}" style="max-width:${size}px">
<title>${esc(title)}</title>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(top)}" y2="${y(0)}" class="axis"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(0)}" y2="${y(top)}" class="axis"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(top).toFixed(1)}" y2="${y(top).toFixed(1)}" class="diagonal"/>
<text x="${x(0)}" y="${y(0) + 14}" text-anchor="middle" class="tick">0</text>
<text x="${x(top).toFixed(1)}" y="${y(0) + 14}" text-anchor="end" class="tick">${pctText(top)}</text>
<text x="${x(0) - 4}" y="${(y(top) + 4).toFixed(1)}" text-anchor="end" class="tick">${pctText(top)}</text>
<text x="${((x(0) + x(top)) / 2).toFixed(1)}" y="${size - 6}" text-anchor="middle" class="tick">predicted</text>
<text x="12" y="${((y(0) + y(top)) / 2).toFixed(1)}" text-anchor="middle" class="tick" transform="rotate(-90 12 ${((y(0) + y(top)) / 2).toFixed(1)})">observed</text>
${dots}
</svg>`
}

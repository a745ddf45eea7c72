/**
 * Static SVG charts drawn in Node: the series panels (replay) and the bar groups (compare).
 * They are plain markup in the HTML, so they show without JavaScript, print, and cost no
 * library bytes in the page; the inline script only adds the hover read-out.
 */
import {fmtBytes, fmtInt} from '../table.js'
import {escapeHtml} from './escape.js'

export type NumberFormat = 'bytes' | 'int'

export function formatNumber(v: number, f: NumberFormat = 'int'): string {
  return f === 'bytes' ? fmtBytes(v) : fmtInt(v)
}

/** Round-number step for about `count` ticks over [0, max] (1, 2, 5 × 10^k; bytes use powers of two). */
export function niceTicks(max: number, count = 4, f: NumberFormat = 'int'): number[] {
  if (!(max > 0)) return [0]
  let step: number
  if (f === 'bytes' && max >= 1024) {
    step = 2 ** Math.ceil(Math.log2(max / count))
  } else {
    const raw = max / count
    const p = 10 ** Math.floor(Math.log10(raw))
    const m = raw / p
    step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p
    if (step < 1) step = 1
  }
  const ticks: number[] = []
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v)
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step)
  return ticks
}

export interface Bucket {
  /** First and last x index in the bucket. */
  from: number
  to: number
  min: number
  max: number
  last: number
  firstIsMin: boolean
}

/** At most `buckets` buckets of consecutive values, each with min, max and last (an honest envelope). */
export function downsample(values: ArrayLike<number>, buckets: number): Bucket[] {
  const n = values.length
  const out: Bucket[] = []
  if (n === 0) return out
  const b = Math.min(n, Math.max(1, buckets))
  for (let k = 0; k < b; k++) {
    const from = Math.floor((k * n) / b)
    const to = Math.floor(((k + 1) * n) / b) - 1
    let min = Infinity
    let max = -Infinity
    let minAt = from
    let maxAt = from
    for (let i = from; i <= to; i++) {
      const v = values[i]!
      if (v < min) {
        min = v
        minAt = i
      }
      if (v > max) {
        max = v
        maxAt = i
      }
    }
    out.push({from, to, min, max, last: values[to]!, firstIsMin: minAt <= maxAt})
  }
  return out
}

export const SERIES_COLORS = ['#1f5fa8', '#c0392b', '#2e8b57', '#8e44ad', '#d68910', '#555555']

export interface PanelSeries {
  name: string
  values: ArrayLike<number>
  format: NumberFormat
}

export interface Panel {
  width: number
  height: number
  svg: string
  /** Hover data: per bucket [fromIndex, toIndex, last value per series]. */
  hover: {xLabel: string; names: string[]; formats: NumberFormat[]; buckets: number[][]}
}

/** One line panel: the series share the y axis (same unit); x is the event index. */
export function seriesPanel(series: readonly PanelSeries[], opts: {width?: number; height?: number; xLabel: string; xValues?: ArrayLike<number>; markers?: {x: number; label: string}[]; maxBuckets?: number}): Panel {
  const W = opts.width ?? 880
  const H = opts.height ?? 170
  const L = 78
  const R = 12
  const T = 10
  const B = 30
  const n = Math.max(0, ...series.map((s) => s.values.length))
  const f = series[0]?.format ?? 'int'
  let max = 0
  for (const s of series) for (let i = 0; i < s.values.length; i++) max = Math.max(max, s.values[i]!)
  const ticks = niceTicks(max, 4, f)
  const top = ticks[ticks.length - 1]! || 1
  const x = (i: number): number => L + (n <= 1 ? 0 : (i / (n - 1)) * (W - L - R))
  const y = (v: number): number => T + (1 - v / top) * (H - T - B)
  const parts: string[] = []
  parts.push(`<svg class="series-panel" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`)
  for (const t of ticks) {
    const yy = y(t).toFixed(1)
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}"/>`)
    parts.push(`<text class="tick" x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatNumber(t, f))}</text>`)
  }
  const xv = opts.xValues
  const xTicks = niceTicks(Math.max(0, n - 1), 6)
  for (const t of xTicks) {
    if (t > n - 1) continue
    const label = xv ? formatNumber(xv[Math.round(t)] ?? t) : formatNumber(t)
    parts.push(`<text class="tick" x="${x(t).toFixed(1)}" y="${H - B + 14}" text-anchor="middle">${escapeHtml(label)}</text>`)
  }
  parts.push(`<text class="axis-label" x="${W - R}" y="${H - 3}" text-anchor="end">${escapeHtml(opts.xLabel)}</text>`)
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}"/>`)
  for (const m of opts.markers ?? []) {
    const xx = x(m.x).toFixed(1)
    parts.push(`<line class="marker" x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}"><title>${escapeHtml(m.label)}</title></line>`)
    parts.push(`<text class="marker-label" x="${xx}" y="${T + 8}" dx="3">${escapeHtml(m.label)}</text>`)
  }
  const buckets = opts.maxBuckets ?? 600
  const perSeries = series.map((s) => downsample(s.values, buckets))
  series.forEach((s, k) => {
    const bs = perSeries[k]!
    const d: string[] = []
    for (const b of bs) {
      const xx = x((b.from + b.to) / 2).toFixed(1)
      const [a, c] = b.firstIsMin ? [b.min, b.max] : [b.max, b.min]
      d.push(`${d.length ? 'L' : 'M'}${xx} ${y(a).toFixed(1)}`)
      if (c !== a) d.push(`L${xx} ${y(c).toFixed(1)}`)
      if (b.last !== c) d.push(`L${xx} ${y(b.last).toFixed(1)}`)
    }
    parts.push(`<path class="line" stroke="${SERIES_COLORS[k % SERIES_COLORS.length]}" d="${d.join('')}"><title>${escapeHtml(s.name)}</title></path>`)
  })
  parts.push(`<line class="guide" x1="0" x2="0" y1="${T}" y2="${H - B}" visibility="hidden"/>`)
  parts.push('</svg>')
  const base = perSeries[0] ?? []
  return {
    width: W,
    height: H,
    svg: parts.join(''),
    hover: {
      xLabel: opts.xLabel,
      names: series.map((s) => s.name),
      formats: series.map((s) => s.format),
      buckets: base.map((b, i) => [b.from, b.to, ...perSeries.map((ps) => ps[i]?.last ?? 0)]),
    },
  }
}

export interface BarMetric {
  name: string
  format?: NumberFormat
}

/**
 * Grouped bars: one group per policy, one bar per metric. Metrics have different units, so each
 * bar's height is its value over the largest value of the same metric across groups; the value
 * itself is printed on the bar.
 */
export function barGroups(metrics: readonly BarMetric[], groups: readonly {label: string; values: readonly number[]}[], opts: {width?: number; height?: number} = {}): string {
  const W = opts.width ?? 880
  const H = opts.height ?? 240
  const T = 22
  const B = 40
  const L = 10
  const gw = (W - L * 2) / Math.max(1, groups.length)
  const bw = Math.min(46, (gw * 0.8) / Math.max(1, metrics.length))
  const maxOf = metrics.map((_, m) => Math.max(0, ...groups.map((g) => g.values[m] ?? 0)))
  const parts: string[] = [`<svg class="bars" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`]
  parts.push(`<line class="axis" x1="${L}" x2="${W - L}" y1="${H - B}" y2="${H - B}"/>`)
  groups.forEach((g, gi) => {
    const gx = L + gi * gw + (gw - bw * metrics.length) / 2
    metrics.forEach((m, mi) => {
      const v = g.values[mi] ?? 0
      const h = maxOf[mi]! > 0 ? (v / maxOf[mi]!) * (H - T - B) : 0
      const xx = gx + mi * bw
      const label = formatNumber(v, m.format)
      parts.push(
        `<rect class="bar" x="${xx.toFixed(1)}" y="${(H - B - h).toFixed(1)}" width="${(bw - 3).toFixed(1)}" height="${h.toFixed(1)}" fill="${SERIES_COLORS[mi % SERIES_COLORS.length]}"><title>${escapeHtml(`${g.label} · ${m.name}: ${label}`)}</title></rect>`,
      )
      parts.push(`<text class="bar-value" x="${(xx + (bw - 3) / 2).toFixed(1)}" y="${(H - B - h - 4).toFixed(1)}" text-anchor="middle">${escapeHtml(label)}</text>`)
    })
    parts.push(`<text class="group-label" x="${(L + gi * gw + gw / 2).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${escapeHtml(g.label)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

/**
 * Static SVG charts drawn in Node: the series panels (replay) and the bar groups (compare).
 * They are plain markup in the HTML, so they show without JavaScript, print, and cost no
 * library bytes in the page; the inline script only adds the hover read-out.
 */
import {fmtBytes, fmtDecimal, fmtInt} from '../table.js'
import {escapeHtml} from './escape.js'

export type NumberFormat = 'bytes' | 'int'

export function formatNumber(v: number, f: NumberFormat = 'int'): string {
  return f === 'bytes' ? fmtBytes(v) : fmtInt(v)
}

/** The 1, 2, 5 × 10^k step at or above `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(raw))
  const m = raw / p
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p
}

/**
 * Width of `s` in px at font size `px`, estimated from character classes of a sans-serif face, on
 * the generous side (DejaVu Sans, among the widest: digits 0.64 em, `+` 0.84 em). Used to keep
 * labels apart and inside the chart.
 */
export function textWidth(s: string, px: number): number {
  let w = 0
  for (const ch of s) {
    if (/[il.,:;'|! ]/.test(ch)) w += 0.36
    else if (/[()[\]ftjr–-]/.test(ch)) w += 0.5
    else if (/[mwMW@%—…]/.test(ch)) w += 1.0
    else if (/[+=<>~A-Z]/.test(ch)) w += 0.84
    else w += 0.66
  }
  return w * px
}

/** `s` cut with an ellipsis to at most `maxPx` wide at font size `px`. */
export function clipText(s: string, maxPx: number, px: number): string {
  if (textWidth(s, px) <= maxPx) return s
  const chars = [...s]
  while (chars.length && textWidth(chars.join('') + '…', px) > maxPx) chars.pop()
  return chars.length ? chars.join('') + '…' : ''
}

/** Round-number step for about `count` ticks over [0, max] (1, 2, 5 × 10^k; bytes use powers of two). */
export function niceTicks(max: number, count = 4, f: NumberFormat = 'int'): number[] {
  if (!(max > 0)) return [0]
  let step: number
  if (f === 'bytes' && max >= 1024) {
    step = 2 ** Math.ceil(Math.log2(max / count))
  } else {
    step = Math.max(1, niceStep(max / count))
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

export interface ChartMarker {
  /** Position on the x axis, in the units of `x` (the index when there is no `x`). */
  x: number
  /** Untrusted text (a trace_marker write). */
  label: string
}

export interface PanelOptions {
  width?: number
  height?: number
  xLabel: string
  /** The x position of each value (non-decreasing, e.g. seconds of trace time); default: the index. */
  x?: ArrayLike<number>
  /** How x ticks read: 'seconds' (as many decimals as the step needs) or 'int'. */
  xFormat?: 'seconds' | 'int'
  markers?: readonly ChartMarker[]
  /** Write the markers' text above the plot (else the lines only). */
  markerLabels?: boolean
  /** The read-out of a bucket holding the values [from, to] (default: the xLabel and the range). */
  describe?: (from: number, to: number) => string
  maxBuckets?: number
  /** Unique prefix for ids inside the SVG (clip paths). */
  id?: string
}

export interface Panel {
  width: number
  height: number
  svg: string
  /** Marker labels written, and markers drawn without their text for want of room. */
  markerLabelsShown: number
  markerLabelsHidden: number
  /** Hover data: per bucket [fromIndex, toIndex, last value per series], its x in the viewBox and its read-out. */
  hover: {names: string[]; formats: NumberFormat[]; buckets: number[][]; px: number[]; xText: string[]; plot: [number, number]}
}

const TICK_PX = 11
const MARKER_PX = 10
const MARKER_LANES = 3
const MARKER_LABEL_MAX = 48

/** Ticks every `step` in [lo, hi] whose labels, centred, keep at least 8 px apart (the step grows until they do). */
function xTicks(lo: number, hi: number, pos: (v: number) => number, label: (v: number, step: number) => string, minStep: number): {v: number; text: string}[] {
  let step = Math.max(minStep, niceStep((hi - lo) / 6))
  for (let guard = 0; guard < 40; guard++) {
    const out: {v: number; text: string}[] = []
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push({v: k * step, text: label(k * step, step)})
    let ok = true
    for (let i = 1; i < out.length && ok; i++) {
      const a = pos(out[i - 1]!.v) + textWidth(out[i - 1]!.text, TICK_PX) / 2
      const b = pos(out[i]!.v) - textWidth(out[i]!.text, TICK_PX) / 2
      if (b - a < 8) ok = false
    }
    if (ok) return out
    step = niceStep(step * 1.5)
  }
  return []
}

function secondsLabel(v: number, step: number): string {
  return fmtDecimal(v, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)))
}

/**
 * One line panel: the series share the y axis (same unit); x is the given position of each value
 * (trace time) or its index. Markers are dashed vertical lines; their text goes above the plot in
 * up to three lanes, never overlapping (a label without room is left out and counted; its line
 * carries it as a tooltip), cut to the chart's width. Markers closer than 5 px share a line
 * ("text (+2)"), so a burst of writes does not grey the chart.
 */
export function seriesPanel(series: readonly PanelSeries[], opts: PanelOptions): Panel {
  const W = opts.width ?? 880
  const L = 78
  const R = 12
  const labelsOn = Boolean(opts.markerLabels && opts.markers?.length)
  const T = 10 + (labelsOn ? MARKER_LANES * 13 : 0)
  const H = (opts.height ?? 170) + (T - 10)
  const B = 30
  const n = Math.max(0, ...series.map((s) => s.values.length))
  const f = series[0]?.format ?? 'int'
  let max = 0
  for (const s of series) for (let i = 0; i < s.values.length; i++) max = Math.max(max, s.values[i]!)
  const ticks = niceTicks(max, 4, f)
  const top = ticks[ticks.length - 1]! || 1
  // x in data units: the positions given, else the index.
  const xs = opts.x && opts.x.length >= n && n > 0 && opts.x[n - 1]! > opts.x[0]! ? opts.x : undefined
  const xOf = (i: number): number => (xs ? xs[i]! : i)
  const lo = n ? xOf(0) : 0
  const hi = n ? xOf(n - 1) : 0
  const pos = (v: number): number => L + (hi <= lo ? 0 : ((v - lo) / (hi - lo)) * (W - L - R))
  const y = (v: number): number => T + (1 - v / top) * (H - T - B)
  const parts: string[] = []
  const id = opts.id ?? 'p'
  parts.push(`<svg class="series-panel" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">`)
  parts.push(`<defs><clipPath id="${id}-clip"><rect x="${L}" y="0" width="${W - L - R}" height="${H - B}"/></clipPath></defs>`)
  for (const t of ticks) {
    const yy = y(t).toFixed(1)
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}"/>`)
    parts.push(`<text class="tick" x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatNumber(t, f))}</text>`)
  }
  if (n > 1 && hi > lo) {
    const seconds = xs !== undefined && opts.xFormat === 'seconds'
    for (const t of xTicks(lo, hi, pos, seconds ? secondsLabel : (v) => fmtInt(v), seconds ? 1e-6 : 1)) {
      const xx = pos(t.v).toFixed(1)
      parts.push(`<line class="xtick" x1="${xx}" x2="${xx}" y1="${H - B}" y2="${H - B + 4}"/>`)
      parts.push(`<text class="tick x-tick" x="${xx}" y="${H - B + 15}" text-anchor="middle">${escapeHtml(t.text)}</text>`)
    }
  }
  parts.push(`<text class="axis-label" x="${W - R}" y="${H - 3}" text-anchor="end">${escapeHtml(opts.xLabel)}</text>`)
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}"/>`)
  // Markers inside the plotted range, in x order; those closer than 5 px share one line.
  const marks = (opts.markers ?? []).filter((m) => n > 0 && m.x >= lo && m.x <= hi).sort((a, b) => a.x - b.x)
  const groupsOfMarks: {x: number; labels: string[]}[] = []
  for (const m of marks) {
    const last = groupsOfMarks.at(-1)
    if (last && pos(m.x) - last.x < 5) last.labels.push(m.label)
    else groupsOfMarks.push({x: pos(m.x), labels: [m.label]})
  }
  const lanes: number[] = Array.from({length: MARKER_LANES}, () => -Infinity)
  let shown = 0
  let hidden = 0
  for (const g of groupsOfMarks) {
    const xx = g.x
    let laneY = T
    let label = ''
    if (labelsOn) {
      // Right of the line, cut to the room left before the chart's right edge.
      const more = g.labels.length > 1 ? ` (+${g.labels.length - 1})` : ''
      const room = Math.min(textWidth('m', MARKER_PX) * MARKER_LABEL_MAX, W - R - (xx + 3))
      const first = g.labels[0]!.replace(/\s+/g, ' ').trim()
      let text = clipText(first, room - textWidth(more, MARKER_PX), MARKER_PX)
      // A stub ("captur…") says nothing: the line's tooltip and the list under the chart have it.
      if (text !== first && [...text].length < 16) text = ''
      const w = textWidth(text + more, MARKER_PX)
      const x0 = xx + 3
      const lane = lanes.findIndex((end) => x0 >= end + 6)
      if (text && lane >= 0) {
        lanes[lane] = x0 + w
        laneY = 10 + lane * 13
        label = `<text class="marker-label" x="${x0.toFixed(1)}" y="${laneY + 9}" clip-path="url(#${id}-clip)">${escapeHtml(text + more)}</text>`
        shown += g.labels.length
      } else hidden += g.labels.length
    }
    const title = g.labels.slice(0, 8).join('\n') + (g.labels.length > 8 ? `\n… ${fmtInt(g.labels.length - 8)} more` : '')
    parts.push(`<line class="marker" x1="${xx.toFixed(1)}" x2="${xx.toFixed(1)}" y1="${laneY}" y2="${H - B}"><title>${escapeHtml(title)}</title></line>`)
    if (label) parts.push(label)
  }
  const buckets = opts.maxBuckets ?? 600
  const perSeries = series.map((s) => downsample(s.values, buckets))
  const bucketX = (b: Bucket): number => pos((xOf(b.from) + xOf(b.to)) / 2)
  series.forEach((s, k) => {
    const bs = perSeries[k]!
    const d: string[] = []
    for (const b of bs) {
      const xx = bucketX(b).toFixed(1)
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
  const describe = opts.describe ?? ((a: number, b: number) => `${opts.xLabel} ${a === b ? fmtInt(a) : `${fmtInt(a)}–${fmtInt(b)}`}`)
  return {
    width: W,
    height: H,
    svg: parts.join(''),
    markerLabelsShown: shown,
    markerLabelsHidden: hidden,
    hover: {
      names: series.map((s) => s.name),
      formats: series.map((s) => s.format),
      buckets: base.map((b, i) => [b.from, b.to, ...perSeries.map((ps) => ps[i]?.last ?? 0)]),
      px: base.map((b) => Math.round(bucketX(b) * 10) / 10),
      xText: base.map((b) => describe(b.from, b.to)),
      plot: [L, W - R],
    },
  }
}

export interface BarMetric {
  name: string
  format?: NumberFormat
}

const BAR_VALUE_PX = 10.5
const GROUP_LABEL_PX = 12

/**
 * Grouped bars: one group per policy, one bar per metric. Metrics have different units, so each
 * bar's height is its value over the largest value of the same metric across groups; the value
 * itself is written above the bar. The values never overlap: written level when every one fits
 * its bar's slot with room to spare, else all turned upright (each within its own slot, the top
 * margin grown to the longest). Group labels are cut to their group's width (full text in a
 * tooltip).
 */
export function barGroups(metrics: readonly BarMetric[], groups: readonly {label: string; values: readonly number[]}[], opts: {width?: number; height?: number} = {}): string {
  const M = Math.max(1, metrics.length)
  const labels = groups.map((g) => metrics.map((m, mi) => formatNumber(g.values[mi] ?? 0, m.format)))
  const widest = Math.max(0, ...labels.flat().map((s) => textWidth(s, BAR_VALUE_PX)))
  const L = 10
  // Upright labels need a slot at least one line high; widen the chart (it scales to the page) if not.
  const W = Math.max(opts.width ?? 880, L * 2 + groups.length * ((M * 16) / 0.9))
  const gw = (W - L * 2) / Math.max(1, groups.length)
  const slotMax = (gw * 0.9) / M
  const level = widest + 8 <= slotMax
  const slot = level ? Math.min(slotMax, Math.max(46, widest + 8)) : Math.min(slotMax, 46)
  const barW = Math.min(40, slot - 4)
  const T = level ? 22 : Math.ceil(widest) + 12
  const B = 40
  const H = (opts.height ?? 240) - 22 + T
  const maxOf = metrics.map((_, m) => Math.max(0, ...groups.map((g) => g.values[m] ?? 0)))
  const parts: string[] = [`<svg class="bars" viewBox="0 0 ${W.toFixed(0)} ${H}" width="${W.toFixed(0)}" height="${H}" role="img">`]
  parts.push(`<line class="axis" x1="${L}" x2="${(W - L).toFixed(1)}" y1="${H - B}" y2="${H - B}"/>`)
  groups.forEach((g, gi) => {
    const gx = L + gi * gw + (gw - slot * M) / 2
    metrics.forEach((m, mi) => {
      const v = g.values[mi] ?? 0
      const h = maxOf[mi]! > 0 ? (v / maxOf[mi]!) * (H - T - B) : 0
      const cx = gx + mi * slot + slot / 2
      const label = labels[gi]![mi]!
      parts.push(
        `<rect class="bar" x="${(cx - barW / 2).toFixed(1)}" y="${(H - B - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${SERIES_COLORS[mi % SERIES_COLORS.length]}"><title>${escapeHtml(`${g.label} · ${m.name}: ${label}`)}</title></rect>`,
      )
      const ty = H - B - h - 4
      if (level) parts.push(`<text class="bar-value" x="${cx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="middle">${escapeHtml(label)}</text>`)
      else {
        // Upright, reading bottom to top, centred on the bar (the baseline offset puts the glyphs' middle on cx).
        const bx = cx + BAR_VALUE_PX * 0.35
        parts.push(`<text class="bar-value upright" x="${bx.toFixed(1)}" y="${ty.toFixed(1)}" transform="rotate(-90 ${bx.toFixed(1)} ${ty.toFixed(1)})">${escapeHtml(label)}</text>`)
      }
    })
    const gl = clipText(g.label, gw - 8, GROUP_LABEL_PX)
    parts.push(`<text class="group-label" x="${(L + gi * gw + gw / 2).toFixed(1)}" y="${H - B + 18}" text-anchor="middle"><title>${escapeHtml(g.label)}</title>${escapeHtml(gl)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

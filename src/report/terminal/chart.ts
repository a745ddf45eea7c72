/**
 * A small line chart for the terminal (the replay's table bytes over the trace), drawn by
 * asciichart after reducing the series to one value per column: the maximum of each bucket, so
 * a short peak is never lost.
 */
import asciichart from 'asciichart'

import {fmtBytes, fmtInt} from '../table.js'

export interface AsciiSeriesOptions {
  /** Plot rows (default 8). */
  height?: number
  /** Plot columns, axis labels excluded (default 60). */
  width?: number
  format?: 'bytes' | 'int'
  color?: boolean
  /** Caption above the chart. */
  title?: string
  /** Name of the x axis, e.g. "kernel calls". */
  xLabel?: string
  /** x of the first and last value (default: their indices), e.g. calls replayed 0 … 2,606. */
  xRange?: [number, number]
}

/** Max of each of `width` buckets (values shorter than width are kept as they are). */
export function bucketMax(values: ArrayLike<number>, width: number): number[] {
  const n = values.length
  if (n <= width) return Array.from(values)
  const out: number[] = []
  for (let k = 0; k < width; k++) {
    const from = Math.floor((k * n) / width)
    const to = Math.floor(((k + 1) * n) / width)
    let m = -Infinity
    for (let i = from; i < to; i++) m = Math.max(m, values[i]!)
    out.push(m)
  }
  return out
}

export function renderAsciiSeries(values: ArrayLike<number>, opts: AsciiSeriesOptions = {}): string[] {
  const fmt = opts.format === 'bytes' ? fmtBytes : fmtInt
  const out: string[] = []
  if (opts.title) out.push(opts.title)
  if (values.length === 0) {
    out.push('  (no data)')
    return out
  }
  const series = bucketMax(values, Math.max(2, opts.width ?? 60))
  let min = Infinity
  let max = -Infinity
  for (const v of series) {
    min = Math.min(min, v)
    max = Math.max(max, v)
  }
  const labels = [fmt(min), fmt(max)]
  const pad = Math.max(...labels.map((l) => l.length)) + 1
  // A flat series still gets a visible line (asciichart needs max > min to scale).
  const config: asciichart.PlotConfig = {
    height: max > min ? Math.max(2, opts.height ?? 8) : 1,
    format: (x) => fmt(x).padStart(pad),
    colors: opts.color ? [asciichart.blue] : undefined,
  }
  if (max === min) {
    config.min = min
    config.max = min + 1
  }
  out.push(...asciichart.plot(series, config).split('\n'))
  const n = values.length
  const [x0, x1] = opts.xRange ?? [0, n - 1]
  const first = fmtInt(x0)
  const axis = `${' '.repeat(pad + 2)}${first}${(opts.xLabel ? ` … ${fmtInt(x1)} ${opts.xLabel}` : ` … ${fmtInt(x1)}`).padStart(series.length - first.length + 1)}`
  out.push(axis)
  // min/max of the buckets are the series' own: every value sits in one bucket.
  out.push(`${' '.repeat(pad + 2)}first ${fmt(values[0]!)}, max ${fmt(max)}, last ${fmt(values[n - 1]!)}`)
  return out
}

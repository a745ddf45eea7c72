/**
 * Plain-text tables and number formatting for human output. Renderers only: no metrics here.
 */

import {escapeControl} from '../ingest/text.js'
import {outputStyle, styled, wrapText} from './output-style.js'

export type Align = 'left' | 'right'

export interface Column {
  header: string
  align?: Align
  /** A shorter form of a cell, used when the table is too wide for the output (e.g. drop a percentage). */
  compact?: (cell: string) => string
  /** May be left out when the table does not fit (named in a note under it); the first column never is. */
  optional?: boolean
}

/**
 * Render rows under headers with aligned columns and a rule under the header, fitted to the
 * output width (src/report/output-style.ts): first the columns' compact forms, then one space
 * between columns, then optional columns left out from the right, with a note naming them.
 */
export function renderTable(columns: readonly Column[], rawRows: readonly (readonly string[])[]): string[] {
  // Cells carry input text (comm, probe, caller, marker): terminal controls in it are shown, not obeyed.
  const rows = rawRows.map((r) => r.map(escapeControl))
  const {width: maxWidth} = outputStyle()
  let cols = columns.map((c, i) => ({c, i}))
  let body = rows.map((r) => columns.map((_, i) => styled(r[i] ?? '')))
  const headers = columns.map((c) => styled(c.header))
  const widthOf = (gap: number) => cols.reduce((s, {i}) => s + Math.max(headers[i]!.length, ...body.map((r) => r[i]!.length)), 0) + gap * (cols.length - 1)
  let gap = 2
  if (widthOf(gap) > maxWidth && columns.some((c) => c.compact)) body = body.map((r) => r.map((cell, i) => (columns[i]!.compact ? columns[i]!.compact!(cell) : cell)))
  if (widthOf(gap) > maxWidth) gap = 1
  const left: string[] = []
  while (widthOf(gap) > maxWidth) {
    const drop = [...cols].reverse().find(({c, i}) => i > 0 && c.optional)
    if (!drop) break
    cols = cols.filter((x) => x !== drop)
    left.unshift(headers[drop.i]!)
  }
  const widths = cols.map(({i}) => Math.max(headers[i]!.length, ...body.map((r) => r[i]!.length)))
  const sep = ' '.repeat(gap)
  const fmt = (cells: readonly string[]) =>
    cols
      .map(({c, i}, k) => {
        const w = widths[k]!
        return (c.align ?? 'right') === 'left' ? cells[i]!.padEnd(w) : cells[i]!.padStart(w)
      })
      .join(sep)
      .trimEnd()
  const rule = outputStyle().ascii ? '-' : '─'
  const out = [fmt(headers), widths.map((w) => rule.repeat(w)).join(sep), ...body.map(fmt)]
  if (left.length) out.push(...wrapText(`(${left.join(', ')} left out to fit ${maxWidth} columns; --json has every column)`, ' '))
  return out
}

/** Bytes with a binary unit and up to 3 significant decimals: 1536 → "1.5 KiB". */
export function fmtBytes(bytes: number): string {
  if (bytes === 0) return '0'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = bytes
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)
  return `${s} ${units[u]}`
}

/** Integer with thousands separators: 131072 → "131,072". */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** A decimal with thousands separators and a fixed number of digits: 1234.5, 3 → "1,234.500". */
export function fmtDecimal(v: number, digits: number): string {
  return v.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits})
}

export function fmtPercent(p: number): string {
  return p === 0 ? '0' : p < 0.01 ? '<0.01%' : `${p.toFixed(p >= 10 ? 1 : 2)}%`
}

/** Signed delta, e.g. "+3" / "−1,024" / "0". */
export function fmtDelta(n: number, unit: (n: number) => string = fmtInt): string {
  if (n === 0) return '0'
  return n > 0 ? `+${unit(n)}` : `${outputStyle().ascii ? '-' : '−'}${unit(-n)}`
}

/** Exact bytes in the largest binary unit that divides them, with separators: 4660K → "4,660 KiB". */
export function fmtBytesExact(bytes: number): string {
  if (bytes === 0) return '0'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = bytes
  let u = 0
  while (u < units.length - 1 && v >= 1024 && v % 1024 === 0) {
    v /= 1024
    u++
  }
  return `${fmtInt(v)} ${units[u]}`
}

/** "1 range", "2,048 ranges". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${fmtInt(n)} ${n === 1 ? word : many}`
}

/**
 * Plain-text tables and number formatting for human output. Renderers only: no metrics here.
 */

import {escapeControl} from '../ingest/text.js'

export type Align = 'left' | 'right'

export interface Column {
  header: string
  align?: Align
}

/** Render rows under headers with aligned columns and a rule under the header. */
export function renderTable(columns: readonly Column[], rawRows: readonly (readonly string[])[]): string[] {
  // Cells carry input text (comm, probe, caller, marker): terminal controls in it are shown, not obeyed.
  const rows = rawRows.map((r) => r.map(escapeControl))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)))
  const fmt = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const w = widths[i]!
        return (columns[i]!.align ?? 'right') === 'left' ? cell.padEnd(w) : cell.padStart(w)
      })
      .join('  ')
      .trimEnd()
  return [fmt(columns.map((c) => c.header)), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(fmt)]
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

export function fmtPercent(p: number): string {
  return p === 0 ? '0' : p < 0.01 ? '<0.01%' : `${p.toFixed(p >= 10 ? 1 : 2)}%`
}

/** Signed delta, e.g. "+3" / "−1,024" / "0". */
export function fmtDelta(n: number, unit: (n: number) => string = fmtInt): string {
  if (n === 0) return '0'
  return n > 0 ? `+${unit(n)}` : `−${unit(-n)}`
}

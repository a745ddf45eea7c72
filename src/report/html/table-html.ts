/** An HTML table of a report's rows; numbers are written with the text output's formatter (thousands separators). */
import {type Column, fmtInt} from '../table.js'
import {escapeHtml} from './escape.js'

/** A cell as the page shows it: a number gets thousands separators (fmtInt), text is escaped. */
export function cellText(cell: string | number): string {
  return typeof cell === 'number' ? fmtInt(cell) : cell
}

export function tableHtml(columns: readonly Column[], rows: readonly (readonly (string | number)[])[], cls = 'numbers'): string {
  const head = columns.map((c) => `<th class="${c.align === 'left' ? 'l' : 'r'}">${escapeHtml(c.header)}</th>`).join('')
  const body = rows
    .map((r) => '<tr>' + r.map((cell, i) => `<td class="${columns[i]?.align === 'left' ? 'l' : 'r'}">${escapeHtml(cellText(cell))}</td>`).join('') + '</tr>')
    .join('\n')
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

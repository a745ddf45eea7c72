/**
 * One self-contained HTML report: styles, script and data inline, no URL anywhere, so it opens
 * offline and makes no request. Commands build an HtmlReportDoc from their own report objects
 * (audit, replay, compare) and call renderHtmlReport(); nothing here recomputes a metric.
 *
 * Every string placed in markup goes through escapeHtml(); every data block through
 * jsonForScript(); the page script writes capture strings with textContent only.
 */
import {writeFileAtomic} from '../atomic-file.js'

import {type Column, fmtDecimal, fmtInt} from '../table.js'
import {escapeHtml, jsonForScript} from './escape.js'
import {mapSectionHtml} from './map-html.js'
import {type MapSection} from './map-model.js'
import {PAGE_SCRIPT} from './page-script.js'
import {PAGE_STYLE} from './page-style.js'
import {type BarMetric, type ChartMarker, type NumberFormat, SERIES_COLORS, barGroups, formatNumber, seriesPanel} from './svg.js'
import {tableHtml} from './table-html.js'

export type {MapSection} from './map-model.js'

export interface TableSection {
  kind: 'table'
  title: string
  columns: Column[]
  rows: (string | number)[][]
  note?: string
}

export interface SeriesSpec {
  name: string
  /** One value per x (event index); the chart keeps a min/max envelope of ≤ 600 buckets. */
  values: ArrayLike<number>
  format?: NumberFormat
  /** Series with the same panel share a y axis; default: one panel per format. */
  panel?: string
}

export interface SeriesChartSection {
  kind: 'series'
  title: string
  /** What x is, e.g. "trace time (s)" or "kernel calls". */
  xLabel: string
  /** The x position of each value (non-decreasing: trace seconds, calls); default the index. */
  x?: ArrayLike<number>
  /** 'seconds': x is trace time, read to the microsecond; default 'int'. */
  xFormat?: 'seconds' | 'int'
  /** A second coordinate of each value for the read-out and the table (e.g. kernel calls so far). */
  xAlt?: {name: string; values: ArrayLike<number>}
  series: SeriesSpec[]
  /** Vertical markers (trace_marker writes) at x positions in the units of `x`. Labels are untrusted text. */
  markers?: ChartMarker[]
  /** Rows in the table under the chart (evenly spaced samples, plus the last), default 11. */
  tableRows?: number
  note?: string
}

export interface BarGroupSection {
  kind: 'bars'
  title: string
  metrics: BarMetric[]
  /** One group per policy, values in metrics order. */
  groups: {label: string; values: number[]}[]
  note?: string
}

/** Address ranges, each with a heading, a line of why, its runs as ptdump lines (as the text prints them) and notes. */
export interface RangeListSection {
  kind: 'ranges'
  title: string
  items: {head: string; why?: string; lines: string[]; notes?: string[]}[]
  note?: string
}

export type HtmlSection = MapSection | SeriesChartSection | BarGroupSection | TableSection | RangeListSection

export interface HtmlReportDoc {
  title: string
  /** The one or two lines that answer the question, shown first (under the title). */
  headline?: string[]
  /** Shown at the top in this order: kernel, granule, VA bits, policy, source … (values untrusted). */
  meta: Record<string, string>
  sections: HtmlSection[]
  /** ptreplay version for the footer. */
  version: string
}

/** Markers listed under a chart at most. */
const MARKER_ROWS = 200

function seriesSectionHtml(s: SeriesChartSection, id: number): string {
  const groups = new Map<string, SeriesSpec[]>()
  for (const sp of s.series) {
    const key = sp.panel ?? sp.format ?? 'int'
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key)!.push(sp)
  }
  const n = Math.max(0, ...s.series.map((sp) => sp.values.length))
  const seconds = s.xFormat === 'seconds' && s.x !== undefined
  const xText = (i: number): string => (s.x ? (seconds ? fmtDecimal(s.x[i]!, 6) : fmtInt(s.x[i]!)) : fmtInt(i))
  const altText = (i: number): string => fmtInt(s.xAlt!.values[i] ?? 0)
  const span = (f: (i: number) => string, a: number, b: number): string => (f(a) === f(b) ? f(a) : `${f(a)}–${f(b)}`)
  const describe = (a: number, b: number): string => `${s.xLabel} ${span(xText, a, b)}${s.xAlt ? ` · ${s.xAlt.name} ${span(altText, a, b)}` : ''}`
  const out: string[] = []
  const hover: unknown[] = []
  let k = 0
  let hidden = 0
  for (const [, specs] of groups) {
    const p = seriesPanel(
      specs.map((sp) => ({name: sp.name, values: sp.values, format: sp.format ?? 'int'})),
      {xLabel: s.xLabel, x: s.x, xFormat: s.xFormat, markers: s.markers, markerLabels: k === 0, describe, id: `s${id}p${k}`},
    )
    if (k === 0) hidden = p.markerLabelsHidden
    const legend = specs.map((sp, i) => `<span class="key"><i class="sw" style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></i>${escapeHtml(sp.name)}</span>`).join('')
    out.push(`<div class="panel" data-series="${id}" data-panel="${k}"><div class="legend">${legend}</div>${p.svg}</div>`)
    hover.push(p.hover)
    k++
  }
  out.push(`<script type="application/json" id="series-data-${id}">${jsonForScript(hover)}</script>`)
  // Numbers under the picture: evenly spaced samples and the last value.
  const want = Math.max(2, s.tableRows ?? 11)
  const idx = new Set<number>()
  for (let i = 0; i < want; i++) idx.add(Math.round((i * (n - 1)) / (want - 1)))
  const cols: Column[] = [{header: s.xLabel}, ...(s.xAlt ? [{header: s.xAlt.name}] : []), ...s.series.map((sp) => ({header: sp.name}))]
  const rows = n ? [...idx].sort((a, b) => a - b).map((i) => [xText(i), ...(s.xAlt ? [altText(i)] : []), ...s.series.map((sp) => formatNumber(sp.values[i] ?? 0, sp.format))]) : []
  out.push(tableHtml(cols, rows))
  const marks = s.markers ?? []
  if (marks.length) {
    const shown = marks.slice(0, MARKER_ROWS)
    const summary = `Markers: ${fmtInt(marks.length)}${hidden ? ` (${fmtInt(hidden)} drawn without their text for want of room; hover a dashed line or see this list)` : ''}`
    out.push(
      `<details class="markers"><summary>${escapeHtml(summary)}</summary>` +
        tableHtml([{header: s.xLabel}, {header: 'marker', align: 'left'}], shown.map((m) => [seconds ? fmtDecimal(m.x, 6) : fmtInt(m.x), m.label])) +
        (marks.length > shown.length ? `<p class="note">${escapeHtml(`${fmtInt(marks.length - shown.length)} more not listed`)}</p>` : '') +
        '</details>',
    )
  }
  return out.join('\n')
}

function barsSectionHtml(s: BarGroupSection): string {
  const legend = s.metrics.map((m, i) => `<span class="key"><i class="sw" style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></i>${escapeHtml(m.name)}</span>`).join('')
  const cols: Column[] = [{header: 'policy', align: 'left'}, ...s.metrics.map((m) => ({header: m.name}))]
  const rows = s.groups.map((g) => [g.label, ...s.metrics.map((m, i) => formatNumber(g.values[i] ?? 0, m.format))])
  return [`<div class="legend">${legend}</div>`, '<p class="hint">Bar heights are relative to the largest value of the same metric.</p>', barGroups(s.metrics, s.groups), tableHtml(cols, rows)].join('\n')
}

function rangesSectionHtml(s: RangeListSection): string {
  return s.items
    .map(
      (it) =>
        `<div class="range-item"><div class="range-head">${escapeHtml(it.head)}</div>` +
        (it.why ? `<div class="range-why">${escapeHtml(it.why)}</div>` : '') +
        (it.lines.length ? `<pre class="runs">${escapeHtml(it.lines.join('\n'))}</pre>` : '') +
        (it.notes?.length ? `<ul class="range-notes">${it.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '') +
        '</div>',
    )
    .join('\n')
}

export function renderHtmlReport(doc: HtmlReportDoc): string {
  const body: string[] = []
  body.push(`<header><h1>${escapeHtml(doc.title)}</h1>`)
  if (doc.headline?.length) body.push(`<div class="headline">${doc.headline.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</div>`)
  body.push('<dl class="meta">')
  for (const [k, v] of Object.entries(doc.meta)) body.push(`<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
  body.push('</dl></header><main>')
  doc.sections.forEach((s, i) => {
    body.push(`<section class="${s.kind}" id="section-${i}"><h2>${escapeHtml(s.title)}</h2>`)
    if (s.kind === 'map') body.push(mapSectionHtml(s, i))
    else if (s.kind === 'series') body.push(seriesSectionHtml(s, i))
    else if (s.kind === 'bars') body.push(barsSectionHtml(s))
    else if (s.kind === 'ranges') body.push(rangesSectionHtml(s))
    else body.push(tableHtml(s.columns, s.rows))
    if (s.note) body.push(`<p class="note">${escapeHtml(s.note)}</p>`)
    body.push('</section>')
  })
  body.push('</main>')
  body.push(`<footer>${escapeHtml(`Generated by ptreplay ${doc.version}`)}</footer>`)
  body.push('<div id="tip" role="tooltip" hidden></div>')
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // No network at view time: nothing may load from anywhere (inline style and script only).
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${PAGE_STYLE}</style></head><body>`,
    ...body,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n')
}

/** Write the report through an exclusive temp file in the same directory, renamed into place (atomic-file.ts). */
export function writeHtmlAtomically(path: string, html: string): void {
  writeFileAtomic(path, html)
}

/**
 * writeHtmlAtomically() for a command that has done its work: a failure is noted in `failures`
 * (`PATH: cannot write the HTML report: …`), so the command still prints its text report and then
 * exits 2 with the note.
 */
export function writeHtmlOrNote(path: string, html: string, failures: string[]): void {
  try {
    writeHtmlAtomically(path, html)
  } catch (e) {
    failures.push(`${path}: cannot write the HTML report: ${(e as Error).message}`)
  }
}

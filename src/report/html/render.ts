/**
 * One self-contained HTML report: styles, script and data inline, no URL anywhere, so it opens
 * offline and makes no request. Commands build an HtmlReportDoc from their own report objects
 * (audit, replay, compare) and call renderHtmlReport(); nothing here recomputes a metric.
 *
 * Every string placed in markup goes through escapeHtml(); every data block through
 * jsonForScript(); the page script writes capture strings with textContent only.
 */
import {writeFileAtomic} from '../atomic-file.js'

import {type Column} from '../table.js'
import {escapeHtml, jsonForScript} from './escape.js'
import {CATEGORIES, type MapColumn, type MapSection} from './map-model.js'
import {PAGE_SCRIPT} from './page-script.js'
import {PAGE_STYLE} from './page-style.js'
import {type BarMetric, type NumberFormat, SERIES_COLORS, barGroups, formatNumber, seriesPanel} from './svg.js'
import {fmtBytes, fmtInt} from '../table.js'

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
  /** e.g. "events" */
  xLabel: string
  /** Optional x value per index (e.g. trace timestamps) for tick labels; the axis is still by index. */
  xValues?: ArrayLike<number>
  series: SeriesSpec[]
  /** Vertical markers at x indices (trace_marker phases). Labels are untrusted text. */
  markers?: {x: number; label: string}[]
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

export type HtmlSection = MapSection | SeriesChartSection | BarGroupSection | TableSection

export interface HtmlReportDoc {
  title: string
  /** Shown at the top in this order: kernel, granule, VA bits, policy, source … (values untrusted). */
  meta: Record<string, string>
  sections: HtmlSection[]
  /** ptreplay version for the footer. */
  version: string
}

function tableHtml(columns: readonly Column[], rows: readonly (readonly (string | number)[])[], cls = 'numbers'): string {
  const head = columns.map((c) => `<th class="${c.align === 'left' ? 'l' : 'r'}">${escapeHtml(c.header)}</th>`).join('')
  const body = rows
    .map((r) => '<tr>' + r.map((cell, i) => `<td class="${columns[i]?.align === 'left' ? 'l' : 'r'}">${escapeHtml(String(cell))}</td>`).join('') + '</tr>')
    .join('\n')
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

const KIND_LABEL: Record<string, string> = {PTE: 'PTE', CONT_PTE: 'cont-PTE', PMD: 'PMD', CONT_PMD: 'cont-PMD', PUD: 'PUD', INVALID: 'invalid', HOLE: 'hole'}

function sizeLabel(bytes: number): string {
  return fmtBytes(bytes).replace(' ', '').replace('iB', '')
}

function mapLegend(col: MapColumn): string {
  const g = col.geometry
  const items = CATEGORIES.filter((c) => c !== 'HOLE')
    .filter((c) => c !== 'PUD' || g.kindBytes.PUD > 0)
    .map((c) => {
      const size = c === 'INVALID' ? 'F' : sizeLabel(g.kindBytes[c as keyof typeof g.kindBytes])
      return `<span class="key"><i class="sw c${CATEGORIES.indexOf(c)}"></i>${escapeHtml(`${KIND_LABEL[c]} ${size}`)}</span>`
    })
  items.push('<span class="key"><i class="sw hole"></i>hole</span>')
  items.push('<span class="key"><i class="sw chg"></i>attribute change</span>')
  return `<div class="legend">${items.join('')}</div>`
}

function mapSectionHtml(s: MapSection, id: number): string {
  const out: string[] = []
  out.push(mapLegend(s.columns[0]!))
  out.push('<p class="hint">Click a cell to zoom in ×8 (down to one PMD slot), shift-click or right-click to zoom out, wheel zooms; hover for the range, level, attributes and the events that touched it.</p>')
  // One row per region (the union over the columns, in address order), one cell per column, so
  // side-by-side maps of the same region line up.
  const names = new Map<string, {label: string; start: number}>()
  for (const c of s.columns) for (const r of c.regions) if (!names.has(r.name)) names.set(r.name, {label: r.label, start: r.start})
  const order = [...names.entries()].sort((a, b) => a[1].start - b[1].start)
  out.push(`<div class="maps cols${s.columns.length}" data-map-section="${id}" data-columns="${s.columns.length}" style="grid-template-columns:repeat(${s.columns.length},minmax(0,1fr))">`)
  if (s.columns.length > 1) s.columns.forEach((c) => out.push(`<h3 class="map-col-label">${escapeHtml(c.label)}</h3>`))
  for (const [name, info] of order) {
    s.columns.forEach((c, ci) => {
      const r = c.regions.find((x) => x.name === name)
      if (!r) {
        out.push(`<div class="map-region empty"><div class="map-head"><b>${escapeHtml(info.label)}</b></div><p class="note">nothing mapped</p></div>`)
        return
      }
      out.push(
        `<div class="map-region" data-col="${ci}" data-region="${escapeHtml(r.name)}"><div class="map-head"><b>${escapeHtml(r.label)}</b> <span class="bounds">${escapeHtml(hex(r.start))}–${escapeHtml(hex(r.end))}</span></div>` +
          `<div class="map-slot"><noscript>The map needs JavaScript; the numbers are in the table below.</noscript></div></div>`,
      )
    })
  }
  out.push('</div>')
  out.push(`<script type="application/json" id="map-data-${id}">${jsonForScript(s.columns)}</script>`)
  // Numbers under the picture.
  const cols: Column[] = [{header: 'map', align: 'left'}, {header: 'region', align: 'left'}, {header: 'extent', align: 'left'}, {header: 'runs'}, {header: 'attr. changes'}]
  for (const c of CATEGORIES) cols.push({header: KIND_LABEL[c]!})
  cols.push({header: 'detail'})
  const rows: string[][] = []
  for (const c of s.columns) {
    for (const r of c.regions) {
      rows.push([
        c.label || '·',
        r.label,
        `${hex(r.extentStart)}–${hex(r.extentEnd)}`,
        fmtInt(r.runCount),
        fmtInt(r.protChanges),
        ...r.bytes.map((b) => (b ? fmtBytes(b) : '·')),
        r.detailBytes === c.geometry.pageSize ? 'exact' : `summarised below ${fmtBytes(r.detailBytes)}`,
      ])
    }
  }
  out.push(tableHtml(cols, rows))
  const dropped = s.columns.reduce((a, c) => a + c.droppedEvents, 0)
  if (dropped) out.push(`<p class="note">${escapeHtml(`${fmtInt(dropped)} events beyond the hover limit are not listed on the map.`)}</p>`)
  return out.join('\n')
}

function hex(kva: number): string {
  if (kva >= 2 ** 52) return '0x0000000000000000'
  return '0xfff' + kva.toString(16).padStart(13, '0')
}

function seriesSectionHtml(s: SeriesChartSection, id: number): string {
  const groups = new Map<string, SeriesSpec[]>()
  for (const sp of s.series) {
    const key = sp.panel ?? sp.format ?? 'int'
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key)!.push(sp)
  }
  const out: string[] = []
  const hover: unknown[] = []
  let k = 0
  for (const [, specs] of groups) {
    const p = seriesPanel(
      specs.map((sp) => ({name: sp.name, values: sp.values, format: sp.format ?? 'int'})),
      {xLabel: s.xLabel, xValues: s.xValues, markers: s.markers},
    )
    const legend = specs.map((sp, i) => `<span class="key"><i class="sw" style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></i>${escapeHtml(sp.name)}</span>`).join('')
    out.push(`<div class="panel" data-series="${id}" data-panel="${k}"><div class="legend">${legend}</div>${p.svg}</div>`)
    hover.push(p.hover)
    k++
  }
  out.push(`<script type="application/json" id="series-data-${id}">${jsonForScript(hover)}</script>`)
  // Numbers under the picture: evenly spaced samples and the last value.
  const n = Math.max(0, ...s.series.map((sp) => sp.values.length))
  const want = Math.max(2, s.tableRows ?? 11)
  const idx = new Set<number>()
  for (let i = 0; i < want; i++) idx.add(Math.round((i * (n - 1)) / (want - 1)))
  const cols: Column[] = [{header: s.xLabel}, ...s.series.map((sp) => ({header: sp.name}))]
  const rows = n
    ? [...idx].sort((a, b) => a - b).map((i) => [s.xValues ? formatNumber(s.xValues[i] ?? i) : fmtInt(i), ...s.series.map((sp) => formatNumber(sp.values[i] ?? 0, sp.format))])
    : []
  out.push(tableHtml(cols, rows))
  return out.join('\n')
}

function barsSectionHtml(s: BarGroupSection): string {
  const legend = s.metrics.map((m, i) => `<span class="key"><i class="sw" style="background:${SERIES_COLORS[i % SERIES_COLORS.length]}"></i>${escapeHtml(m.name)}</span>`).join('')
  const cols: Column[] = [{header: 'policy', align: 'left'}, ...s.metrics.map((m) => ({header: m.name}))]
  const rows = s.groups.map((g) => [g.label, ...s.metrics.map((m, i) => formatNumber(g.values[i] ?? 0, m.format))])
  return [`<div class="legend">${legend}</div>`, '<p class="hint">Bar heights are relative to the largest value of the same metric.</p>', barGroups(s.metrics, s.groups), tableHtml(cols, rows)].join('\n')
}

export function renderHtmlReport(doc: HtmlReportDoc): string {
  const body: string[] = []
  body.push(`<header><h1>${escapeHtml(doc.title)}</h1><dl class="meta">`)
  for (const [k, v] of Object.entries(doc.meta)) body.push(`<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
  body.push('</dl></header><main>')
  doc.sections.forEach((s, i) => {
    body.push(`<section class="${s.kind}" id="section-${i}"><h2>${escapeHtml(s.title)}</h2>`)
    if (s.kind === 'map') body.push(mapSectionHtml(s, i))
    else if (s.kind === 'series') body.push(seriesSectionHtml(s, i))
    else if (s.kind === 'bars') body.push(barsSectionHtml(s))
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

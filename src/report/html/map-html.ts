/**
 * The markup of a map section: the legend, one zoomable canvas host per region and column (the
 * page script draws them from the JSON block), and the numbers under the picture. One column
 * (audit, replay) is one map per region, full width; several columns (compare) are one row per
 * region holding a map per column in a responsive grid, each at least MIN_MAP_PX wide so its
 * buttons and addresses stay on one line: the columns wrap to the next line instead of shrinking.
 */
import {type Column, fmtBytes, fmtInt} from '../table.js'
import {escapeHtml, jsonForScript} from './escape.js'
import {CATEGORIES} from './map-encoding.js'
import type {MapColumn, MapSection} from './map-model.js'
import {tableHtml} from './table-html.js'

/** Narrowest map in a multi-column section (px). */
export const MIN_MAP_PX = 360

export const KIND_LABEL: Record<string, string> = {PTE: 'PTE', CONT_PTE: 'cont-PTE', PMD: 'PMD', CONT_PMD: 'cont-PMD', PUD: 'PUD', INVALID: 'invalid', HOLE: 'hole'}

function sizeLabel(bytes: number): string {
  return fmtBytes(bytes).replace(' ', '').replace('iB', '')
}

/** A kernel virtual address as ptdump prints it (the model's Kva numbers are offsets under 2^52). */
export function hexKva(kva: number): string {
  if (kva >= 2 ** 52) return '0x0000000000000000'
  return '0xfff' + kva.toString(16).padStart(13, '0')
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

const SLOT = '<div class="map-slot"><noscript>The map needs JavaScript; the numbers are in the table below.</noscript></div>'

function regionHead(label: string, start: number, end: number): string {
  return `<div class="map-head"><b>${escapeHtml(label)}</b> <span class="bounds">${escapeHtml(hexKva(start))}–${escapeHtml(hexKva(end))}</span></div>`
}

export function mapSectionHtml(s: MapSection, id: number): string {
  const out: string[] = []
  out.push(mapLegend(s.columns[0]!))
  out.push('<p class="hint">Click a cell to zoom in ×8 (down to one PMD slot), shift-click or right-click to zoom out, wheel zooms; hover for the range, level, attributes and the events that touched it.</p>')
  // The union of the columns' regions, in address order.
  const names = new Map<string, {label: string; start: number; end: number}>()
  for (const c of s.columns) for (const r of c.regions) if (!names.has(r.name)) names.set(r.name, {label: r.label, start: r.start, end: r.end})
  const order = [...names.entries()].sort((a, b) => a[1].start - b[1].start)
  const multi = s.columns.length > 1
  out.push(`<div class="maps${multi ? ' multi' : ''}" data-map-section="${id}" data-columns="${s.columns.length}">`)
  for (const [name, info] of order) {
    if (!multi) {
      const r = s.columns[0]!.regions.find((x) => x.name === name)!
      out.push(`<div class="map-region" data-col="0" data-region="${escapeHtml(r.name)}">${regionHead(r.label, r.start, r.end)}${SLOT}</div>`)
      continue
    }
    // One row per region: its maps side by side, zoomed together, wrapping when the page is narrow.
    out.push(`<div class="map-row" data-region="${escapeHtml(name)}">${regionHead(info.label, info.start, info.end)}`)
    out.push(`<div class="map-cols" style="grid-template-columns:repeat(auto-fit,minmax(${MIN_MAP_PX}px,1fr))">`)
    s.columns.forEach((c, ci) => {
      const r = c.regions.find((x) => x.name === name)
      const head = `<h3 class="map-col-label" title="${escapeHtml(c.label)}">${escapeHtml(c.label)}</h3>`
      if (!r) out.push(`<div class="map-region empty">${head}<p class="note">nothing mapped</p></div>`)
      else out.push(`<div class="map-region" data-col="${ci}" data-region="${escapeHtml(r.name)}">${head}${SLOT}</div>`)
    })
    out.push('</div></div>')
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
        `${hexKva(r.extentStart)}–${hexKva(r.extentEnd)}`,
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

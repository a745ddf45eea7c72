/**
 * A one-line map per region for the terminal: the occupied extent of the region squeezed into
 * one character per cell, each cell showing the leaf size that maps most of its bytes.
 * ASCII characters always carry the meaning; colour (a background per leaf size, underline
 * where attributes change inside the cell) is added only on a TTY without NO_COLOR.
 */
import {outputStyle} from '../output-style.js'
import {type Kva, formatKva} from '../../model/address.js'
import type {Geometry} from '../../model/geometry.js'
import type {Region} from '../../model/layout.js'
import {REGION_LABELS} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import {CATEGORIES, CODE, codeOf} from '../html/map-encoding.js'
import {occupiedExtent} from '../html/map-model.js'
import {fmtBytes} from '../table.js'

/** Character per category (CATEGORIES order: PTE, cont-PTE, PMD, cont-PMD, PUD, invalid, hole). */
export const STRIP_CHARS = ['.', ':', '+', '=', '#', 'x', ' '] as const
/** A cell mostly hole but partly mapped. */
export const PARTLY_MAPPED = '_'
/** 256-colour backgrounds close to the HTML palette (cool = large leaves, hot = 4K pages). */
const BG = [167, 215, 72, 68, 24, 97]

export interface StripCell {
  /** CATEGORIES index of the leaf kind with most bytes, or CODE.HOLE. */
  code: number
  partly: boolean
  /** An attribute change between neighbouring entries falls inside the cell. */
  change: boolean
}

/** Aggregate [start, end) into `n` equal cells (one walk over the runs in range). */
export function stripCells(pt: PageTables, start: Kva, end: Kva, n: number): StripCell[] {
  const span = (end - start) / n
  const acc = Array.from({length: n}, () => new Array<number>(CATEGORIES.length).fill(0))
  const change = new Array<boolean>(n).fill(false)
  let lastProt: number | undefined
  let lastEnd = -1
  for (const r of pt.runs(start, end)) {
    const code = codeOf(r)
    const c0 = Math.min(n - 1, Math.floor((r.start - start) / span))
    const c1 = Math.min(n - 1, Math.floor((r.end - 1 - start) / span))
    for (let c = c0; c <= c1; c++) {
      const cs = start + c * span
      acc[c]![code]! += Math.min(r.end, cs + span) - Math.max(r.start, cs)
    }
    if (code !== CODE.HOLE) {
      if (lastProt !== undefined && lastEnd === r.start && lastProt !== r.prot) change[c0] = true
      lastProt = r.prot
    } else {
      lastProt = undefined
    }
    lastEnd = r.end
  }
  return acc.map((a, i) => {
    let best = -1
    let bestBytes = 0
    let mapped = 0
    for (let k = 0; k < CODE.HOLE; k++) {
      mapped += a[k]!
      if (a[k]! > bestBytes) {
        bestBytes = a[k]!
        best = k
      }
    }
    const hole = span - mapped
    if (best < 0) return {code: CODE.HOLE, partly: false, change: change[i]!}
    return {code: best, partly: bestBytes < hole, change: change[i]!}
  })
}

export interface StripOptions {
  /** Characters in the strip (default 64). */
  width?: number
  color?: boolean
}

export function renderStripCells(cells: readonly StripCell[], color: boolean): string {
  let out = ''
  for (const c of cells) {
    const ch = c.code === CODE.HOLE ? ' ' : c.partly ? PARTLY_MAPPED : STRIP_CHARS[c.code]!
    if (!color || c.code === CODE.HOLE) {
      out += ch
      continue
    }
    const ul = c.change ? '\x1b[4m' : ''
    out += c.partly ? `${ul}\x1b[38;5;${BG[c.code]}m${ch}\x1b[0m` : `${ul}\x1b[48;5;${BG[c.code]}m\x1b[38;5;255m${ch}\x1b[0m`
  }
  return out
}

/** "Linear map   |....++##|  2 GiB @ 0xffff000000000000" (the extent's size and start). */
export function renderRegionStrip(pt: PageTables, region: Region, opts: StripOptions = {}): string | undefined {
  const ext = occupiedExtent(pt, region.start, region.end)
  if (!ext) return undefined
  const width = Math.max(8, opts.width ?? 64)
  const cells = stripCells(pt, ext[0], ext[1], width)
  const label = (REGION_LABELS[region.name] ?? region.name).padEnd(12)
  return `${label} |${renderStripCells(cells, opts.color ?? false)}| ${fmtBytes(ext[1] - ext[0])} @ ${formatKva(ext[0])}`
}

/** Strip width for a terminal of `columns` (label 14 + bars 2 + extent ≤ 30), 64 when unknown. */
export function stripWidth(columns: number | undefined): number {
  if (!columns) columns = Number.isFinite(outputStyle().width) ? outputStyle().width : undefined
  if (!columns) return 64
  return Math.max(24, Math.min(120, columns - 46))
}

export function renderStripLegend(geo: Geometry, color: boolean): string {
  const sizes = [geo.pageSize, geo.contPteSize, geo.entrySize[1]!, geo.contPmdSize, geo.entrySize[2] ?? 0]
  const names = ['PTE', 'cont-PTE', 'PMD', 'cont-PMD', 'PUD']
  const parts: string[] = []
  for (let k = 0; k < 5; k++) {
    if (k === 4 && !geo.pudBlocks) continue
    const sample = renderStripCells([{code: k, partly: false, change: false}], color)
    parts.push(`${sample} ${names[k]} ${fmtBytes(sizes[k]!).replace(' ', '')}`)
  }
  parts.push(`${renderStripCells([{code: CODE.INVALID, partly: false, change: false}], color)} invalid`)
  parts.push(`${PARTLY_MAPPED} mostly hole`)
  if (color) parts.push('underlined: attributes change')
  return parts.join('  ')
}

/** The legend, wrapped at its items to the output width (colour codes take no columns). */
function legendLines(legend: string): string[] {
  const width = outputStyle().width
  const items = legend.split('  ')
  const out: string[] = []
  let line = ''
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length
  for (const it of items) {
    if (line && visible(line) + 2 + visible(it) > width) {
      out.push(line)
      line = it
    } else line = line ? `${line}  ${it}` : it
  }
  if (line) out.push(line)
  return out
}

/** The strips of every region that maps anything, under a legend. */
export function renderRegionStrips(pt: PageTables, regions: readonly Region[], opts: StripOptions = {}): string[] {
  const lines: string[] = []
  for (const reg of regions) {
    const l = renderRegionStrip(pt, reg, opts)
    if (l) lines.push(l)
  }
  if (!lines.length) return []
  return ['Map (per region: the leaf size mapping most of each cell)', ...lines, ...legendLines(renderStripLegend(pt.geo, opts.color ?? false))]
}

/** Colour only on a TTY and when NO_COLOR is unset or empty (no-color.org). */
export function useColor(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true
}

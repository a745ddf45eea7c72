/**
 * The fragmentation map's data: per region, the model's runs in a compact binary encoding that the
 * page decodes once and aggregates into cells for whatever view the reader zooms to.
 *
 * Why runs and not pre-drawn cells: a cell grid per zoom level from a 4 TiB linear map down to
 * one 2 MiB slot (21 levels of ×2) cannot be shipped; the runs can — one record per place where
 * level or attributes change, which is the fragmentation itself. A record is a header byte
 * (leaf code, level, gap flag), a LEB128 length in pages and a LEB128 attribute index: 3–5 bytes,
 * and gzip takes regular patterns (a 4 MiB RW/ro alternation) down to almost nothing. The page
 * inflates it with the browser's own DecompressionStream: no library, no network. The encoding
 * itself is src/report/html/map-encoding.ts.
 *
 * Bounded size: when the encoding of a map exceeds its byte budget, every `detailBytes`-aligned
 * slot holding more than one run is replaced by one summary record (leaf-size mix in 1/255ths,
 * number of runs and of attribute changes), doubling detailBytes until the budget holds. The
 * record count is then at most span/detailBytes plus the number of large runs, whatever the
 * number of runs. The page says where detail was summarised; nothing is invented.
 */
import {type Kva, alignDown, alignUp} from '../../model/address.js'
import {type Geometry, type LeafKind, lvlName} from '../../model/geometry.js'
import type {Region} from '../../model/layout.js'
import {REGION_LABELS} from '../../model/layout.js'
import {type PageTables} from '../../model/pagetable.js'
import {HOLE} from '../../model/run.js'
import {describeProt} from '../../model/prot.js'
import {CATEGORIES, CODE, type Piece, codeOf, encodeRegion, packed} from './map-encoding.js'

/** A range some event touched, for the map's hover ("set_memory_ro by insmod …"). Labels are untrusted text. */
export interface MapEvent {
  start: Kva
  end: Kva
  label: string
}

export interface MapRegionData {
  name: string
  label: string
  /** Region bounds (Kva). */
  start: Kva
  end: Kva
  /** Default view: the occupied part of the region (first to last entry the model holds). */
  extentStart: Kva
  extentEnd: Kva
  /** Base64 of gzip(records); see the module comment for the record layout. */
  records: string
  recordCount: number
  /** Runs of the model inside the region (before any summarising). */
  runCount: number
  /** Smallest span drawn exactly: pageSize when nothing was summarised. */
  detailBytes: number
  /** Bytes per category (CATEGORIES order) over the region, hole = table entries that are none. */
  bytes: number[]
  /** Attribute changes between neighbouring entries (valid or invalid leaves) in the region. */
  protChanges: number
}

export interface MapGeometry {
  pageSize: number
  vaBits: number
  levels: number
  label: string
  /** Smallest view: one PMD slot (2 MiB with 4K pages). */
  minViewBytes: number
  /** Size one leaf of each kind maps, for the legend ("2M"). */
  kindBytes: Record<LeafKind, number>
  /** Level names by level number (0 = PTE). */
  levelNames: string[]
}

/** One map: the regions of one page-table state (one policy in compare). */
export interface MapColumn {
  label: string
  geometry: MapGeometry
  /** describeProt() strings, indexed by the records. */
  prots: string[]
  regions: MapRegionData[]
  /** Flattened [start, end, labelIndex] triples sorted by start (Kva numbers, exact). */
  events: number[]
  eventLabels: string[]
  /** Events not kept because of maxEvents. */
  droppedEvents: number
}

export interface MapSection {
  kind: 'map'
  title: string
  /** Maps shown side by side, zoomed together region by region (compare). */
  columns: MapColumn[]
  note?: string
}

export interface MapSectionOptions {
  title?: string
  label?: string
  /** Events that touched the map, shown on hover (their labels are untrusted text). */
  events?: Iterable<MapEvent>
  /** Keep at most this many events (default 20,000); the rest are counted. */
  maxEvents?: number
  /** Byte budget of all regions' encoded records (base64), default 3.5 MB. */
  budgetBytes?: number
  /** Regions with nothing mapped are left out unless true. */
  includeEmpty?: boolean
}

export function mapGeometry(geo: Geometry): MapGeometry {
  return {
    pageSize: geo.pageSize,
    vaBits: geo.vaBits,
    levels: geo.levels,
    label: geo.label,
    minViewBytes: geo.entrySize[1]!,
    kindBytes: {
      PTE: geo.pageSize,
      CONT_PTE: geo.contPteSize,
      PMD: geo.entrySize[1]!,
      CONT_PMD: geo.contPmdSize,
      PUD: geo.entrySize[2] ?? 0,
    },
    levelNames: Array.from({length: geo.levels}, (_, l) => lvlName(geo, l)),
  }
}

/** The first and last byte of [start, end) that the model holds a non-hole entry for, or undefined. */
export function occupiedExtent(pt: PageTables, start: Kva, end: Kva): [Kva, Kva] | undefined {
  let first: Kva | undefined
  let last: Kva = start
  for (const r of pt.runs(start, end)) {
    if (r.prot === HOLE) continue
    if (first === undefined) first = r.start
    last = r.end
  }
  return first === undefined ? undefined : [first, last]
}

/**
 * The map of one page-table state: one region per entry of `regions` that holds anything, with
 * the attribute table and the events that touched it. Walks each region's runs once (plus once
 * per coarsening step when the budget forces one).
 */
export function mapColumnFromPageTables(pt: PageTables, regions: readonly Region[], opts: MapSectionOptions = {}): MapColumn {
  const geo = pt.geo
  const protIndex = new Map<number, number>()
  const prots: string[] = []
  const perRegion: {reg: Region; pieces: Piece[]; bytes: number[]; protChanges: number; extent: [Kva, Kva]}[] = []
  for (const reg of regions) {
    const pieces: Piece[] = []
    const bytes = new Array<number>(CATEGORIES.length).fill(0)
    let protChanges = 0
    let lastProt: number | undefined
    let mapped = 0
    let first: Kva | undefined
    let last: Kva = reg.start
    let lastEnd = -1
    for (const r of pt.runs(reg.start, reg.end)) {
      const code = codeOf(r)
      let idx = -1
      // Changes are counted between neighbouring entries only: a hole or a gap breaks the chain.
      if (code === CODE.HOLE || r.start !== lastEnd) lastProt = undefined
      lastEnd = r.end
      if (code !== CODE.HOLE) {
        idx = protIndex.get(r.prot) ?? -1
        if (idx < 0) {
          idx = prots.length
          prots.push(describeProt(r.prot))
          protIndex.set(r.prot, idx)
        }
        if (lastProt !== undefined && lastProt !== idx) protChanges++
        lastProt = idx
        mapped += r.end - r.start
        if (first === undefined) first = r.start
        last = r.end
      }
      // Align to pages: ptdump entries always are; a clipped region bound might not be.
      const s = alignDown(r.start, geo.pageSize)
      const e = alignUp(r.end, geo.pageSize)
      const prev = pieces[pieces.length - 1]
      pieces.push({start: prev && s < prev.end ? prev.end : s, end: e, code, lvl: r.lvl, prot: idx})
      bytes[code]! += r.end - r.start
    }
    if (!mapped && !opts.includeEmpty) continue
    const extent: [Kva, Kva] = first === undefined ? [reg.start, reg.end] : [first, last]
    perRegion.push({reg, pieces: pieces.filter((p) => p.end > p.start), bytes, protChanges, extent})
  }

  const budget = opts.budgetBytes ?? 3_500_000
  let detail: number = geo.pageSize
  let encoded: {records: string; count: number}[] = []
  for (;;) {
    encoded = perRegion.map((r) => {
      const e = encodeRegion(r.pieces, alignDown(r.reg.start, geo.pageSize), geo.pageSize, detail)
      return {records: packed(e.bytes), count: e.records}
    })
    const total = encoded.reduce((a, e) => a + e.records.length, 0)
    if (total <= budget || detail >= 2 ** 40) break
    // Coarsen: start at one PMD slot (the finest zoom the map promises), then double.
    detail = detail < geo.entrySize[1]! ? geo.entrySize[1]! : detail * 2
  }

  const column: MapColumn = {
    label: opts.label ?? '',
    geometry: mapGeometry(geo),
    prots,
    regions: perRegion.map((r, i) => ({
      name: r.reg.name,
      label: REGION_LABELS[r.reg.name] ?? r.reg.name,
      start: alignDown(r.reg.start, geo.pageSize),
      end: r.reg.end,
      extentStart: r.extent[0],
      extentEnd: r.extent[1],
      records: encoded[i]!.records,
      recordCount: encoded[i]!.count,
      runCount: r.pieces.length,
      detailBytes: detail,
      bytes: r.bytes,
      protChanges: r.protChanges,
    })),
    events: [],
    eventLabels: [],
    droppedEvents: 0,
  }
  if (opts.events) addEvents(column, opts.events, opts.maxEvents ?? 20_000)
  return column
}

function addEvents(column: MapColumn, events: Iterable<MapEvent>, max: number): void {
  const kept: MapEvent[] = []
  let dropped = 0
  for (const e of events) {
    if (kept.length < max) kept.push(e)
    else dropped++
  }
  kept.sort((a, b) => a.start - b.start || a.end - b.end)
  const labels = new Map<string, number>()
  for (const e of kept) {
    let i = labels.get(e.label)
    if (i === undefined) {
      i = column.eventLabels.length
      column.eventLabels.push(e.label)
      labels.set(e.label, i)
    }
    column.events.push(e.start, Math.max(e.end, e.start + 1), i)
  }
  column.droppedEvents = dropped
}

/** A map section of one page-table state (audit, replay's final state). */
export function mapSectionFromPageTables(pt: PageTables, regions: readonly Region[], opts: MapSectionOptions = {}): MapSection {
  return {kind: 'map', title: opts.title ?? 'Fragmentation map', columns: [mapColumnFromPageTables(pt, regions, opts)]}
}


/**
 * PageTables → ptdump text, exactly as the kernel prints /sys/kernel/debug/kernel_page_tables.
 *
 * This replays arch/arm64/mm/ptdump.c note_page() over the model's runs instead of over every
 * entry: note_page() only acts when the level or the masked attributes change, or when the walk
 * reaches the next marker, so calling it at run starts and at the first entry ≥ each marker is
 * the same as calling it for every entry. Attribute tokens, level names and marker order come
 * from the reader's tables (src/ingest/ptdump/tables.ts), so reader and writer cannot drift.
 *
 * Used by `synth machine` (write a plausible dump) and `verify` (show runs the kernel's way).
 * Round trip: parsePtdump(renderPtdump(pt, regions, {era})) rebuilds pt exactly (tested).
 */
import {type Kva, KVA_BASE, KVA_END, alignUp, formatKva} from '../model/address.js'
import type {Region} from '../model/layout.js'
import {type PageTables} from '../model/pagetable.js'
import {F_KASAN_EARLY, HOLE} from '../model/run.js'
import {P_VALID, type Prot, memTypeOf} from '../model/prot.js'
import {
  ERAS,
  type KernelVersion,
  MARKERS,
  MARKER_ORDERS,
  type ProtBitsDesc,
  type PtdumpEra,
  levelNameOf,
  pteBitsOf,
} from '../ingest/ptdump/tables.js'

export interface PtdumpTextOptions {
  /** Version family: marker order, holes printed or not, level names, the 5.6–5.11 first line. */
  era: PtdumpEra
  /**
   * Kernel version ([major, minor], e.g. [6, 12]) choosing the pte_bits[] rows (GP column, BLK
   * meaning, memory-type names). Default: the era's default (tables.ts ERAS).
   */
  version?: KernelVersion
  /**
   * Only print lines that intersect [from, to) and the headers inside it (e.g. `verify` showing
   * the runs around an address). The walk itself still starts at the first region, so lines are
   * cut exactly where the whole dump would cut them.
   */
  from?: Kva
  to?: Kva
}

const UNITS = 'KMGTPE'

/** note_page()'s `%9lu%c` size field for a byte count (exact for any count; BigInt above 2^53). */
export function ptdumpSizeField(bytes: number | bigint): string {
  if (typeof bytes === 'number' && bytes <= Number.MAX_SAFE_INTEGER) {
    let delta = Math.floor(bytes / 1024)
    let u = 0
    while (delta % 1024 === 0 && u < 5) {
      delta /= 1024
      u++
    }
    return `${String(delta).padStart(9)}${UNITS[u]}`
  }
  let delta = BigInt(bytes) >> 10n
  let u = 0
  while ((delta & 1023n) === 0n && u < 5) {
    delta >>= 10n
    u++
  }
  return `${delta.toString().padStart(9)}${UNITS[u]}`
}

/** Whether a pte_bits[] row matches an entry (dump_prot(): `(prot & mask) == val`). */
function matches(d: ProtBitsDesc, prot: Prot, lvl: number, cont: boolean): boolean {
  switch (d.kind) {
    case 'bit':
      return (prot & d.mask) === d.val
    case 'cont':
      return cont
    case 'table-bit':
      // bits[1:0]: pages 11 (table bit set), blocks 01, invalid blocks 00 (model assumption).
      return lvl === 0
    case 'sect':
      return lvl > 0 && (prot & P_VALID) !== 0
    case 'memtype':
      return memTypeOf(prot) === d.memType
  }
}

/** The attribute text (" tok" per pte_bits[] row) for one entry shape. */
function attrText(bits: readonly ProtBitsDesc[], prot: Prot, lvl: number, cont: boolean): string {
  let s = ''
  for (const d of bits) {
    const tok = matches(d, prot, lvl, cont) ? d.set : d.clear
    if (tok !== null) s += ' ' + tok
  }
  return s
}

interface Marker {
  addr: Kva
  name: string
}

/**
 * address_markers[] of the era for the given regions: each region contributes its start and end
 * marker at region.start / region.end, in the era's order. Regions the era has no marker for
 * (e.g. 'bpf' after 5.12) are skipped.
 */
export function markersFor(regions: readonly Region[], era: PtdumpEra): Marker[] {
  const out: Marker[] = []
  for (const name of MARKER_ORDERS[ERAS[era].order]) {
    const def = MARKERS.find((m) => m.name === name)!
    if (!def.region) continue
    const r = regions.find((x) => x.name === def.region)
    if (!r) continue
    out.push({name, addr: def.role === 'start' ? r.start : r.end})
  }
  return out
}

/** Line-shape key note_page() compares: level and masked prot (CONT included, flags not). */
interface Cur {
  /** -1 = 0x0000000000000000 (the 5.6–5.11 first line) */
  start: number
  lvl: number
  prot: Prot
  cont: boolean
  /** No entry known here: a gap in the model (5.4 dumps omit holes). Never printed. */
  gap: boolean
}

/**
 * Render pt as kernel ptdump lines (without newlines). `regions` gives the marker addresses.
 * Gaps in pt (a model read from a 5.4 dump) print nothing, in every era.
 */
export function* renderPtdump(pt: PageTables, regions: readonly Region[], opts: PtdumpTextOptions): Generator<string> {
  const geo = pt.geo
  const era = ERAS[opts.era]
  const bits = pteBitsOf(opts.version ?? era.defaultVersion)
  const markers = markersFor(regions, opts.era)
  const SENTINEL: Marker = {addr: Infinity, name: ''}
  const attrCache = new Map<string, string>()
  let mi = 0
  const next = (): Marker => markers[mi + 1] ?? SENTINEL
  const out: string[] = []
  let cur: Cur | undefined
  if (era.firstMarkerBug) {
    // ptdump_walk() (v5.6–5.11) leaves st.level = 0: the state already "is" a PGD hole from 0.
    cur = {start: -1, lvl: geo.levels - 1, prot: HOLE, cont: false, gap: false}
  }

  const from = opts.from ?? -Infinity
  const to = opts.to ?? KVA_END
  const printLine = (c: Cur, end: Kva): void => {
    if (c.gap) return
    if (end <= from || (c.start === -1 ? 0 : c.start) >= to) return
    const hole = c.prot === HOLE
    if (hole && !era.holes) return
    let head: string
    if (c.start === -1) {
      head = `0x0000000000000000-${formatKva(end)}   ${ptdumpSizeField(end === KVA_END ? 1n << 64n : KVA_BASE + BigInt(end))}`
    } else {
      head = `${formatKva(c.start)}-${formatKva(end)}   ${ptdumpSizeField(end - c.start)}`
    }
    const name = levelNameOf(geo, c.lvl, hole, opts.era)
    if (hole) {
      out.push(`${head} ${name}`)
      return
    }
    const key = `${c.prot}:${c.lvl === 0 ? 0 : 1}:${c.cont ? 1 : 0}`
    let attrs = attrCache.get(key)
    if (attrs === undefined) {
      attrs = attrText(bits, c.prot, c.lvl, c.cont)
      attrCache.set(key, attrs)
    }
    out.push(`${head} ${name}${attrs}`)
  }

  const header = (): void => {
    mi++
    const m = markers[mi]!
    if (m.addr >= from && m.addr <= to) out.push(`---[ ${m.name} ]---`)
  }

  /** note_page(addr, shape) as in arch/arm64/mm/ptdump.c (v5.6+; v5.4 differs only in printing). */
  const note = (addr: Kva, lvl: number, prot: Prot, cont: boolean, gap: boolean): void => {
    if (cur === undefined) {
      cur = {start: addr, lvl, prot, cont, gap}
      if (markers.length && markers[0]!.addr >= from && markers[0]!.addr <= to) out.push(`---[ ${markers[0]!.name} ]---`)
    } else if (prot !== cur.prot || lvl !== cur.lvl || cont !== cur.cont || gap !== cur.gap || addr >= next().addr) {
      printLine(cur, addr)
      if (addr >= next().addr) header()
      cur = {start: addr, lvl, prot, cont, gap}
    }
    if (addr >= next().addr) header()
  }

  /** Note the segment [s, e) of one shape: at s, then at the first entry ≥ each marker inside. */
  const segment = (s: Kva, e: Kva, lvl: number, prot: Prot, cont: boolean, gap: boolean, entry: number): void => {
    note(s, lvl, prot, cont, gap)
    let a = s
    for (;;) {
      const m = next().addr
      if (m >= e) break
      let b = s + alignUp(Math.max(m - s, 0), entry)
      if (b <= a) b = a + entry // more than two markers crossed at once: the next entry prints the rest
      if (b >= e) break
      note(b, lvl, prot, cont, gap)
      a = b
    }
  }

  let pos: Kva | undefined
  const base = regions.length ? Math.min(...regions.map((r) => r.start)) : undefined
  for (const r of pt.runs()) {
    if (pos === undefined && base !== undefined && base < r.start) pos = base
    if (pos !== undefined && r.start > pos) segment(pos, r.start, -2, 0, false, true, geo.pageSize)
    const entry = r.flags & F_KASAN_EARLY ? geo.entrySize[1]! : geo.entrySize[r.lvl]!
    segment(r.start, r.end, r.lvl, r.prot, r.cont, false, entry)
    pos = r.end
    for (const l of out) yield l
    out.length = 0
  }
  if (pos !== undefined && pos < KVA_END) segment(pos, KVA_END, -2, 0, false, true, geo.pageSize)
  // The final flush: note_page(st, 0, -1, 0) prints the last line, ending at 0 (= 2^64).
  if (cur) printLine(cur, KVA_END)
  for (const l of out) yield l
}

/**
 * Random but well-formed kernel page tables for property tests: a walk from PAGE_OFFSET to 2^64
 * where each entry is a hole, a leaf (only where the kernel allows one: PTE, PMD block, PUD block
 * on 4K, top-level block on 2/3-level tables) or a table (recursing one level down), plus
 * regions whose markers sit on entry boundaries in the era's order.
 *
 * The first top-level entry is always a table down to PTE level, with a one-entry leaf right
 * after each table, so every level name occurs and boundaries reveal the entry sizes (what a
 * real dump always shows; geometry detection is checked on these).
 */
import type {KernelVersion} from '../../../src/kernel/version.js'
import {KVA_END, pageOffsetKva} from '../../../src/model/address.js'
import type {Geometry} from '../../../src/model/geometry.js'
import type {Region, RegionName} from '../../../src/model/layout.js'
import {PageTables} from '../../../src/model/pagetable.js'
import {HOLE, type Run} from '../../../src/model/run.js'
import {MEM_TYPES, P_AF, P_GP, P_NG, P_PXN, P_RDONLY, P_SHARED, P_USER, P_UXN, P_VALID, type Prot, withMemType} from '../../../src/model/prot.js'
import {ERAS, type PtdumpEra, pteBitsOf} from '../../../src/ingest/ptdump/tables.js'

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A Prot the era can print (memory types of its pte_bits[]; GP only where the column exists). */
export function randomProt(rnd: () => number, era: PtdumpEra, version = ERAS[era].defaultVersion): Prot {
  const bits = pteBitsOf(version)
  const mts = ['', ...bits.filter((d) => d.kind === 'memtype').map((d) => d.memType!)] as (typeof MEM_TYPES)[number][]
  const hasGp = bits.some((d) => d.kernel === 'PTE_GP')
  let p = 0
  if (rnd() < 0.9) p |= P_VALID
  for (const b of [P_RDONLY, P_PXN, P_SHARED, P_AF, P_NG, P_UXN, P_USER]) if (rnd() < 0.5) p |= b
  if (hasGp && rnd() < 0.2) p |= P_GP
  return withMemType(p, mts[Math.floor(rnd() * mts.length)]!)
}

export interface Generated {
  pt: PageTables
  regions: Region[]
  runs: Run[]
}

export function generateTables(seed: number, geo: Geometry, era: PtdumpEra, version?: KernelVersion): Generated {
  const rnd = mulberry32(seed)
  const runs: Run[] = []
  const prots = Array.from({length: 4}, () => randomProt(rnd, era, version))
  const pick = () => (rnd() < 0.8 ? prots[Math.floor(rnd() * prots.length)]! : randomProt(rnd, era, version))
  let budget = 12
  const leafOk = (lvl: number) => lvl === 0 || lvl === 1 || (lvl === 2 && geo.pudBlocks)
  const contSize = (lvl: number) => (lvl === 0 ? geo.contPteSize : lvl === 1 ? geo.contPmdSize : 0)

  const gen = (lvl: number, start: number, count: number, forced: boolean): void => {
    const E = geo.entrySize[lvl]!
    let i = 0
    if (forced) {
      if (lvl > 0) gen(lvl - 1, start, geo.ptrsPerTable, true)
      else runs.push({start, end: start + E, lvl, cont: false, prot: pick(), flags: 0})
      i = 1
      if (leafOk(lvl) && count > 1) {
        // A one-entry leaf (a one-page hole at PTE level) right after: an odd entry boundary.
        runs.push({start: start + E, end: start + 2 * E, lvl, cont: false, prot: lvl === 0 ? HOLE : pick(), flags: 0})
        i = 2
      }
    }
    while (i < count) {
      const s = start + i * E
      const left = count - i
      const r = rnd()
      let c = r < 0.3 ? 1 : r < 0.6 ? Math.min(left, 1 + Math.floor(rnd() * 16)) : Math.min(left, 1 + Math.floor(rnd() * left))
      const kind = rnd()
      if (kind < 0.25 && lvl > 0 && budget > 0) {
        budget--
        gen(lvl - 1, s, geo.ptrsPerTable, false)
        c = 1
      } else if (kind < 0.65 && leafOk(lvl)) {
        const cs = contSize(lvl)
        let cont = false
        if (cs && rnd() < 0.3 && s % cs === 0 && c * E >= cs) {
          c = Math.floor((c * E) / cs) * (cs / E)
          cont = true
        }
        runs.push({start: s, end: s + c * E, lvl, cont, prot: pick(), flags: 0})
      } else {
        runs.push({start: s, end: s + c * E, lvl, cont: false, prot: HOLE, flags: 0})
      }
      i += c
    }
  }

  const base = pageOffsetKva(geo.vaBits)
  const top = geo.levels - 1
  gen(top, base, (KVA_END - base) / geo.entrySize[top]!, true)

  // Marker addresses: run starts and some entry boundaries inside runs, never 2^64.
  const cands = new Set<number>()
  for (const r of runs) {
    if (r.start > base) cands.add(r.start)
    const E = r.cont ? contSize(r.lvl) : geo.entrySize[r.lvl]!
    const n = (r.end - r.start) / E
    if (n > 2 && rnd() < 0.3) cands.add(r.start + E * (1 + Math.floor(rnd() * (n - 1))))
  }
  const sorted = [...cands].filter((x) => x < KVA_END).sort((a, b) => a - b)
  const names: RegionName[] =
    ERAS[era].order === '6.9+' ? ['linear', 'modules', 'vmalloc', 'vmemmap', 'pci', 'fixmap'] : ['linear', 'modules', 'vmalloc', 'fixmap', 'pci', 'vmemmap']
  const regions: Region[] = []
  let j = 0
  let start = base
  for (const name of names) {
    // end: a later candidate; at most two markers share an address (note_page() prints two at once).
    const step = 1 + Math.floor(rnd() * Math.max(1, Math.floor(sorted.length / 14)))
    j += step - 1
    if (j >= sorted.length) break
    const end = sorted[j]!
    if (end <= start) break
    regions.push({name, start, end})
    j++
    if (rnd() < 0.5) start = end
    else {
      if (j >= sorted.length) break
      start = sorted[j]!
      j++
    }
  }
  const pt = PageTables.fromRuns(geo, runs)
  return {pt, regions, runs}
}

/** The same tables without hole entries (what a v5.4 dump can show). */
export function withoutHoles(g: Generated): PageTables {
  return PageTables.fromRuns(g.pt.geo, [...g.pt.runs()].filter((r) => r.prot !== HOLE))
}

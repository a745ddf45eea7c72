/**
 * The kernel page tables: runs of entries (RunTable, run-table.ts) plus the table pages that hold
 * them and the kernel-shaped primitives that change both.
 *
 * Table pages are not objects: a table at level L exists for every slot of the level above
 * (size entrySize[L+1]) that holds at least one level-L entry (docs/page-table-model.md). The
 * counts are kept incrementally by the kernel-shaped primitives below (splitEntry adds exactly
 * one table, collapseToLeaf frees exactly one, ensureTables allocates through holes) and can be
 * recounted from scratch with recountTables() — tests check that the two agree.
 *
 * Primitive names follow the kernel operations they are the building blocks of
 * (arch/arm64/mm/mmu.c: split_pmd/split_pud → splitEntry, split_contpte/split_contpmd →
 * clearContGroup, pageattr_*_entry → setProt, try_collapse_kernel_pmd → collapseToLeaf).
 */

import {type Kva, KVA_END, alignDown, formatKva} from './address.js'
import {type Geometry, LEAF_KINDS, tlbReach} from './geometry.js'
import {accumulateMeta} from './leaf-totals.js'
import {ModelError} from './model-error.js'
import type {Prot} from './prot.js'
import {F_KASAN_EARLY, GAP_META, HOLE, type Run, metaCont, metaFlags, metaLvl, metaProt, pack} from './run.js'
import {RunTable} from './run-table.js'
import {TableCounter, countTablePages} from './table-counter.js'

/** One run as scalars (PageTables.builder()). */
export interface RunSink {
  add(start: Kva, end: Kva, lvl: number, cont: boolean, prot: Prot, flags: number): void
}
export class PageTables extends RunTable {
  /** tables[L] = table pages holding level-L entries (L < levels-1; the top level is swapper_pg_dir). */
  readonly tables: number[]

  constructor(geo: Geometry) {
    super(geo)
    this.tables = new Array<number>(geo.levels - 1).fill(0)
  }

  /**
   * Build from runs in ascending, non-overlapping order (gaps allowed: a 5.4 dump omits holes).
   * Adjacent runs of equal shape are merged. Table counts are computed from scratch.
   */
  static fromRuns(geo: Geometry, runs: Iterable<Run>): PageTables {
    const b = PageTables.builder(geo)
    for (const r of runs) b.add(r.start, r.end, r.lvl, r.cont, r.prot, r.flags)
    return b.finish()
  }

  /**
   * fromRuns() fed one run at a time as scalars (a reader building the model from its own
   * columns: no Run object per run). Runs ascending: each new key is appended to the store.
   */
  static builder(geo: Geometry): RunSink & {finish(): PageTables} {
    const pt = new PageTables(geo)
    const tree = pt.tree
    const tables = new TableCounter(geo)
    let lastEnd = 0
    let lastMeta = GAP_META
    return {
      add(start: Kva, end: Kva, lvl: number, cont: boolean, prot: Prot, flags: number): void {
        if (end <= start) throw new ModelError(`empty or reversed run ${formatKva(start)}-${formatKva(end)}`)
        if (start < lastEnd) throw new ModelError(`run ${formatKva(start)} overlaps the previous one ending ${formatKva(lastEnd)}`)
        if (lvl < 0 || lvl >= geo.levels) throw new ModelError(`level ${lvl} does not exist in ${geo.label}`)
        if (end > KVA_END) throw new ModelError(`run ${formatKva(start)} ends beyond 2^64`)
        if (start > lastEnd && lastMeta !== GAP_META) {
          tree.append(lastEnd, GAP_META)
          pt.gapKeys++
          lastMeta = GAP_META
        }
        const m = pack(lvl, cont, prot, flags)
        accumulateMeta(geo, pt.totals, start, end, m, 1)
        tables.add(start, end, lvl, flags)
        if (m !== lastMeta) {
          if (start === 0) {
            tree.set(0, m)
            pt.gapKeys--
          } else tree.append(start, m)
          lastMeta = m
        }
        lastEnd = end
      },
      finish(): PageTables {
        if (lastEnd < KVA_END && lastMeta !== GAP_META) {
          tree.append(lastEnd, GAP_META)
          pt.gapKeys++
        }
        for (let i = 0; i < tables.counts.length; i++) pt.tables[i] = tables.counts[i]!
        return pt
      },
    }
  }

  clone(): PageTables {
    const pt = new PageTables(this.geo)
    // Two number arrays per block: a copy proportional to the runs.
    pt.tree = this.tree.clone()
    pt.gapKeys = this.gapKeys
    for (let i = 0; i < this.tables.length; i++) pt.tables[i] = this.tables[i]!
    pt.totals.invalidBytes = this.totals.invalidBytes
    pt.totals.tlbEntries = this.totals.tlbEntries
    for (const k of LEAF_KINDS) pt.totals.mappedBytes[k] = this.totals.mappedBytes[k]
    return pt
  }

  /** Total table pages below the top level. */
  get tablePages(): number {
    let n = 0
    for (const t of this.tables) n += t
    return n
  }

  /** Check structural invariants (docs/page-table-model.md#invariants); returns human-readable problems. */
  check(): string[] {
    const out: string[] = []
    let prevMeta = -1
    let gaps = 0
    const keys = this.tree.keysArray()
    const metas = this.tree.valuesArray()
    if (keys[0] !== 0) out.push('the first run does not start at 0')
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      const m = metas[i]!
      const end = keys[i + 1] ?? KVA_END
      if (end <= k) out.push(`empty run at ${formatKva(k)}`)
      if (m === prevMeta) out.push(`unmerged neighbours at ${formatKva(k)}`)
      prevMeta = m
      if (m === GAP_META) {
        gaps++
        continue
      }
      const lvl = metaLvl(m)
      const cont = metaCont(m)
      const size = cont ? tlbReach(this.geo, lvl, true) : this.geo.entrySize[lvl]!
      if (metaProt(m) !== HOLE && !(metaFlags(m) & F_KASAN_EARLY) && (k % size !== 0 || end % size !== 0)) {
        out.push(`run ${formatKva(k)}-${formatKva(end)} not aligned to its ${cont ? 'contiguous group' : 'entry'} size ${size}`)
      }
    }
    if (gaps !== this.gapKeys) out.push(`gap count ${this.gapKeys} ≠ ${gaps}`)
    return out
  }

  /** Count table pages from scratch (docs/page-table-model.md#table-pages). */
  recountTables(): number[] {
    return countTablePages(this.geo, this.runs())
  }

  // ---------------------------------------------------------------------------------------------
  // Kernel-shaped primitives.

  /**
   * Turn the leaf at `lvl` ≥ 1 containing addr into a table of lvl-1 entries with the same prot,
   * contiguous hint on all of them iff toCont. Mirrors split_pmd()/split_pud() (mmu.c, 6.18+):
   * allocates exactly one table page. Returns false if there is no leaf there (hole or table).
   */
  splitEntry(addr: Kva, toCont: boolean): boolean {
    const e = this.entryAt(addr)
    if (!e || e.lvl === 0 || e.prot === HOLE) return false
    const size = this.geo.entrySize[e.lvl]!
    const s = alignDown(addr, size)
    this.replace(s, s + size, [{start: s, end: s + size, lvl: e.lvl - 1, cont: toCont, prot: e.prot, flags: e.flags}])
    this.tables[e.lvl - 1]! += 1
    return true
  }

  /**
   * Clear PTE_CONT on the whole contiguous group containing addr (split_contpte/split_contpmd).
   * Returns false if the entry there has no contiguous hint.
   */
  clearContGroup(addr: Kva): boolean {
    const e = this.entryAt(addr)
    if (!e || !e.cont) return false
    const g = tlbReach(this.geo, e.lvl, true)
    const s = alignDown(addr, g)
    this.replace(s, s + g, [{start: s, end: s + g, lvl: e.lvl, cont: false, prot: e.prot, flags: e.flags}])
    return true
  }

  /**
   * Rewrite the prot of every entry in [start, end) as `(prot & ~clear) | set`, keeping levels
   * and contiguous hints (pageattr_pud/pmd/pte_entry, change_page_range). Holes stay holes.
   * The caller guarantees that start and end are entry boundaries.
   */
  setProt(start: Kva, end: Kva, set: Prot, clear: Prot): void {
    if (start >= 0 && start < end && end <= KVA_END) {
      const m = this.locate(start)
      if (this.cEnd >= end) {
        // Inside one run: one shape change (or none).
        const prot = (m >> 8) - 2
        if (m === GAP_META || prot === HOLE) return
        const p = (prot & ~clear) | set
        if (p !== prot) this.paint(start, end, pack(m & 15, (m & 16) !== 0, p, (m >> 5) & 7))
        return
      }
    }
    const out: Run[] = []
    let changes = false
    this.forEachRun(start, end, (s, e, lvl, cont, prot, flags) => {
      const p = prot === HOLE ? prot : (prot & ~clear) | set
      if (p !== prot) changes = true
      out.push({start: s, end: e, lvl, cont, prot: p, flags})
    })
    // Rewriting entries with the prot they already have changes nothing (and costs a replace).
    if (changes) this.replace(start, end, out)
  }

  /** Set or clear the contiguous hint on whole groups in [start, end) (map_mem with cont allowed). */
  setCont(start: Kva, end: Kva, cont: boolean): void {
    const out: Run[] = []
    for (const r of this.runs(start, end)) out.push(r.prot === HOLE ? r : {...r, cont})
    this.replace(start, end, out)
  }

  /**
   * Replace the table of lvl-1 entries under the lvl entry at slotStart by one leaf with `prot`,
   * freeing exactly one table page (try_collapse_kernel_pmd() in the RFC, x86 collapse_pmd_page()).
   * The caller has checked the kernel's conditions.
   */
  collapseToLeaf(slotStart: Kva, lvl: number, prot: Prot, cont = false): void {
    const size = this.geo.entrySize[lvl]!
    if (slotStart % size !== 0) throw new ModelError(`collapse at ${formatKva(slotStart)} not aligned to ${size}`)
    this.replace(slotStart, slotStart + size, [{start: slotStart, end: slotStart + size, lvl, cont, prot, flags: 0}])
    this.tables[lvl - 1]! -= 1
  }

  /**
   * Make [start, end) addressable by lvl entries, allocating tables through holes the way
   * vmap_range()/__create_pgd_mapping() do (one page per missing table). The new entries are
   * holes; a following replace()/map fills them. Entries already at a lower level are kept.
   * Returns the number of table pages allocated. Leaves at a higher level are an error (the
   * kernel would have to split them first).
   */
  ensureTables(start: Kva, end: Kva, lvl: number): number {
    let allocated = 0
    let addr = start
    while (addr < end) {
      const e = this.entryAt(addr)
      if (!e) throw new ModelError(`no table covers ${formatKva(addr)}`)
      if (e.lvl <= lvl) {
        addr = this.runAt(addr)!.end
        continue
      }
      if (e.prot !== HOLE) throw new ModelError(`a level-${e.lvl} leaf covers ${formatKva(addr)}; split it first`)
      const size = this.geo.entrySize[e.lvl]!
      const s = alignDown(addr, size)
      this.replace(s, s + size, [{start: s, end: s + size, lvl: e.lvl - 1, cont: false, prot: HOLE, flags: 0}])
      this.tables[e.lvl - 1]! += 1
      allocated++
    }
    return allocated
  }

  /** True if both describe the same entries (runs are canonical, so compare run by run). */
  equals(other: PageTables): boolean {
    if (this.tree.size !== other.tree.size) return false
    const ka = this.tree.keysArray()
    const kb = other.tree.keysArray()
    const va = this.tree.valuesArray()
    const vb = other.tree.valuesArray()
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || va[i] !== vb[i]) return false
    return true
  }
}

/**
 * The kernel page tables as maximal runs of identical entries.
 *
 * One Run stands for any number of consecutive kernel entries at one level with one prot and
 * one contiguous-hint state — exactly what ptdump's note_page() coalesces into a line (less the
 * marker cuts). A 4 TB PTE-mapped linear map with one attribute is one Run; memory grows with the
 * number of places where attributes or levels change, never with RAM size.
 *
 * Table pages are not objects either: a table at level L exists for every slot of the level above
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
import {type LeafTotals, accumulate, accumulateMeta, emptyTotals} from './leaf-totals.js'
import {ModelError} from './model-error.js'
import type {Prot} from './prot.js'
import {F_KASAN_EARLY, GAP_META, HOLE, NO_RUN, type Run, metaCont, metaFlags, metaLvl, metaProt, pack, runOf} from './run.js'
import {RunStore} from './run-store.js'
import {TableCounter, countTablePages} from './table-counter.js'

/** One run as scalars (PageTables.builder()). */
export interface RunSink {
  add(start: Kva, end: Kva, lvl: number, cont: boolean, prot: Prot, flags: number): void
}

export class PageTables {
  readonly geo: Geometry
  private tree: RunStore
  /** Number of GAP keys in the tree (so runCount needs no walk). */
  private gapKeys = 1
  /**
   * The last run located (locate()), valid while `cVer === ver`: every mutation bumps `ver`. The
   * kernel walks ask about the same run several times per call (present?, split boundary?, which
   * level?, rewrite), so most lookups cost no search.
   */
  private ver = 0
  private cVer = -1
  private cStart = 0
  private cEnd = 0
  private cMeta = GAP_META
  /** A second remembered run: the part of a painted run after the change (the next page's run when pages are changed in ascending order). */
  private c2Ver = -1
  private c2Start = 0
  private c2End = 0
  private c2Meta = GAP_META
  private readonly pair: [number, number] = [0, 0]
  /** Bounds of the run shapeAt() last described. */
  runStart: Kva = 0
  runEnd: Kva = 0
  /** tables[L] = table pages holding level-L entries (L < levels-1; the top level is swapper_pg_dir). */
  readonly tables: number[]
  readonly totals: LeafTotals

  constructor(geo: Geometry) {
    this.geo = geo
    this.tree = new RunStore()
    this.tree.set(0, GAP_META)
    this.tables = new Array<number>(geo.levels - 1).fill(0)
    this.totals = emptyTotals()
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

  /** Number of stored (maximal) runs — a measure of fragmentation and of memory use. */
  get runCount(): number {
    return this.tree.size - this.gapKeys
  }

  /** Total table pages below the top level. */
  get tablePages(): number {
    let n = 0
    for (const t of this.tables) n += t
    return n
  }

  /** Meta of the stored run (gap included) containing addr ∈ [0, KVA_END); sets cStart/cEnd. */
  private locate(addr: number): number {
    if (this.cVer === this.ver && addr >= this.cStart && addr < this.cEnd) return this.cMeta
    if (this.c2Ver === this.ver && addr >= this.c2Start && addr < this.c2End) {
      // Swap the two remembered runs: callers read the answer from the first.
      const s = this.c2Start
      const e = this.c2End
      const m = this.c2Meta
      this.c2Start = this.cStart
      this.c2End = this.cEnd
      this.c2Meta = this.cMeta
      this.c2Ver = this.cVer
      this.cStart = s
      this.cEnd = e
      this.cMeta = m
      this.cVer = this.ver
      return m
    }
    const p = this.tree.getPairOrNextLower(addr, this.pair)!
    const k = p[0]
    const m = p[1]
    this.cStart = k
    this.cMeta = m
    this.cEnd = this.tree.nextHigherKey(k) ?? KVA_END
    this.cVer = this.ver
    return m
  }

  /**
   * The packed shape (decode with metaLvl/metaCont/metaProt/metaFlags) of the stored run
   * containing addr, or NO_RUN in a gap; its bounds are left in runStart/runEnd. The
   * allocation-free form of runAt() for the kernel's hot paths. Always runStart <= addr <
   * runEnd, so a walk that continues at runEnd advances: outside [0, KVA_END) the gap extends to
   * ±Infinity.
   */
  shapeAt(addr: Kva): number {
    if (addr < 0 || addr >= KVA_END) {
      this.runStart = addr < 0 ? -Infinity : KVA_END
      this.runEnd = addr < 0 ? 0 : Infinity
      return NO_RUN
    }
    const m = this.locate(addr)
    this.runStart = this.cStart
    this.runEnd = this.cEnd
    return m
  }

  /** The stored (maximal) run containing addr, or undefined if addr lies in a gap. */
  runAt(addr: Kva): Run | undefined {
    if (addr < 0 || addr >= KVA_END) return undefined
    const m = this.locate(addr)
    if (m === GAP_META) return undefined
    return runOf(this.cStart, this.cEnd, m)
  }

  /**
   * The single kernel entry containing addr: its level, prot, cont and the bounds of that one
   * descriptor (entrySize[lvl]-aligned).
   */
  entryAt(addr: Kva): Run | undefined {
    const r = this.runAt(addr)
    if (!r) return undefined
    const size = this.geo.entrySize[r.lvl]!
    const start = Math.max(r.start, alignDown(addr, size))
    return {...r, start, end: Math.min(r.end, start + size)}
  }

  /** Runs intersecting [from, to), clipped to it, in address order. Gaps are skipped. */
  *runs(from: Kva = 0, to: Kva = KVA_END): Generator<Run> {
    if (from < 0) from = 0
    if (to > KVA_END) to = KVA_END
    if (from >= to) return
    const first = this.tree.getPairOrNextLower(from)!
    // One sequential iterator (amortized O(1) a step); a run's end is the next key.
    const it = this.tree.entries(first[0])
    const head = it.next()
    let k = head.value![0]
    let m = head.value![1]
    for (;;) {
      const nx = it.next()
      const end = nx.done ? KVA_END : nx.value[0]
      if (m !== GAP_META) yield runOf(k > from ? k : from, end < to ? end : to, m)
      if (nx.done || end >= to) return
      k = nx.value[0]
      m = nx.value[1]
    }
  }

  /** The first run intersecting [from, to), clipped to it (gaps skipped; with skipHoles, none entries too), or undefined. */
  firstRun(from: Kva, to: Kva = KVA_END, skipHoles = false): Run | undefined {
    if (from < 0) from = 0
    if (to > KVA_END) to = KVA_END
    if (from >= to) return undefined
    let a = from
    for (;;) {
      const m = this.locate(a)
      const k = this.cStart
      const end = this.cEnd
      if (m !== GAP_META && !(skipHoles && metaProt(m) === HOLE)) return runOf(k > from ? k : from, end < to ? end : to, m)
      if (end >= to) return undefined
      a = end
    }
  }

  /**
   * Call fn for each run intersecting [from, to), clipped, in address order, gaps skipped — the
   * allocation-free form of runs() for hot paths (one range scan, no generator, no
   * per-run object). fn must not modify the tables.
   */
  forEachRun(from: Kva, to: Kva, fn: (start: Kva, end: Kva, lvl: number, cont: boolean, prot: Prot, flags: number) => void): void {
    if (from < 0) from = 0
    if (to > KVA_END) to = KVA_END
    if (from >= to) return
    let m = this.locate(from)
    let k = this.cStart
    if (this.cEnd >= to) {
      // Inside one run: no range scan.
      if (m !== GAP_META) fn(from, to, m & 15, (m & 16) !== 0, (m >> 8) - 2, (m >> 5) & 7)
      return
    }
    const emit = (end: Kva): void => {
      if (m !== GAP_META) fn(k > from ? k : from, end < to ? end : to, m & 15, (m & 16) !== 0, (m >> 8) - 2, (m >> 5) & 7)
    }
    this.tree.forRange(k, to, false, (nk, nm) => {
      if (nk === k) return
      emit(nk)
      k = nk
      m = nm
    })
    emit(this.tree.nextHigherKey(k) ?? KVA_END)
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
  // Mutation. Every change goes through replace(), which keeps runs maximal and totals exact.

  /**
   * Replace everything in [start, end) by `runs` (ascending, inside [start, end); what they do
   * not cover becomes undescribed). Table counts are NOT touched: callers that change table
   * structure adjust `tables` themselves (see the primitives).
   */
  replace(start: Kva, end: Kva, runs: readonly Run[]): void {
    if (start < 0 || end > KVA_END || start >= end) throw new ModelError(`bad range ${formatKva(start)}-${formatKva(end)}`)
    if (runs.length === 1) {
      const r = runs[0]!
      // One run over the whole range, inside one stored run: rewrite the keys in place.
      if (r.start === start && r.end === end && r.lvl >= 0 && r.lvl < 16) {
        this.locate(start)
        if (this.cEnd >= end) return this.paint(start, end, pack(r.lvl, r.cont, r.prot, r.flags))
      }
    }
    this.ver++
    const tree = this.tree
    const geo = this.geo
    const totals = this.totals
    const gone = {start: 0, end: 0, lvl: 0, cont: false, prot: 0}
    this.forEachRun(start, end, (s, e, lvl, cont, prot) => {
      gone.start = s
      gone.end = e
      gone.lvl = lvl
      gone.cont = cont
      gone.prot = prot
      accumulate(geo, totals, gone, -1)
    })
    // The run that continues past `end` keeps its shape from `end` on.
    const atEnd = end < KVA_END ? tree.getPairOrNextLower(end)! : undefined
    // Remove the keys inside [start, end).
    const doomed: number[] = []
    tree.forRange(start, end, false, (k, m) => {
      doomed.push(k)
      if (m === GAP_META) this.gapKeys--
    })
    for (const k of doomed) tree.delete(k)
    if (atEnd && atEnd[0] < end) this.setKey(end, atEnd[1])
    // Lay the new runs, undescribed space between them.
    let at = start
    for (const r of runs) {
      if (r.start < at || r.end > end || r.end <= r.start) {
        throw new ModelError(`replacement run ${formatKva(r.start)}-${formatKva(r.end)} outside ${formatKva(start)}-${formatKva(end)} or out of order`)
      }
      if (r.start > at) this.setKey(at, GAP_META)
      this.setKey(r.start, pack(r.lvl, r.cont, r.prot, r.flags))
      accumulate(this.geo, this.totals, r)
      at = r.end
    }
    if (at < end) this.setKey(at, GAP_META)
    this.mergeAround(start, end)
    this.ver++
  }

  /**
   * replace() of [start, end) by one run of shape m when [start, end) lies inside the stored run
   * locate() just found: at most three store updates (split off the tail, rewrite or split the
   * head, merge with equal neighbours), no range scans, no objects. Same result as the general
   * path (test/model/pagetable.prop.test.ts checks both against an oracle).
   */
  private paint(start: Kva, end: Kva, m: number): void {
    const m0 = this.cMeta
    const k0 = this.cStart
    const k1 = this.cEnd
    if (m === m0) return
    this.ver++
    const tree = this.tree
    if (m0 !== GAP_META) accumulateMeta(this.geo, this.totals, start, end, m0, -1)
    accumulateMeta(this.geo, this.totals, start, end, m, 1)
    // Tail: [end, k1) keeps m0; or the next run merges (its key k1 goes) if it has the new shape.
    let dropTail = false
    if (end < k1) {
      tree.set(end, m0, true)
      if (m0 === GAP_META) this.gapKeys++
    } else if (k1 < KVA_END && tree.get(k1, GAP_META) === m) {
      dropTail = true
      if (m === GAP_META) this.gapKeys--
    }
    // Head: a new key at start, or k0 rewritten, or k0 dropped when the run before has the new shape.
    let runStart = start
    if (start > k0) {
      if (dropTail) tree.delete(k1)
      tree.set(start, m, true)
      if (m === GAP_META) this.gapKeys++
    } else {
      const before = k0 > 0 ? tree.nextLowerPair(k0, this.pair) : undefined
      if (m0 === GAP_META) this.gapKeys--
      if (before && before[1] === m) {
        runStart = before[0]
        // [k0, k1] holds exactly the keys k0 and k1 (one stored run): one range edit for both.
        if (dropTail) tree.deleteRange(k0, k1, true)
        else tree.delete(k0)
      } else {
        if (dropTail) tree.delete(k1)
        tree.set(k0, m, true)
        if (m === GAP_META) this.gapKeys++
      }
    }
    // The painted run is known unless it merged with the run after (whose end was not looked up);
    // so is the rest of the old run after it.
    if (!dropTail) {
      this.cStart = runStart
      this.cEnd = end
      this.cMeta = m
      this.cVer = this.ver
    }
    if (end < k1) {
      this.c2Start = end
      this.c2End = k1
      this.c2Meta = m0
      this.c2Ver = this.ver
    }
  }

  private setKey(k: number, m: number): void {
    const old = this.tree.get(k)
    if (old === GAP_META) this.gapKeys--
    if (m === GAP_META) this.gapKeys++
    this.tree.set(k, m, true)
  }

  /** Drop keys in [start, end] (and the one at start) whose shape equals the run before them. */
  private mergeAround(start: Kva, end: Kva): void {
    const tree = this.tree
    const before = start > 0 ? tree.getPairOrNextLower(start - 1) : undefined
    let prev = before ? before[1] : -1
    const drop: number[] = []
    tree.forRange(start, end, true, (k, m) => {
      if (m === prev) drop.push(k)
      else prev = m
    })
    for (const k of drop) {
      if (tree.get(k) === GAP_META) this.gapKeys--
      tree.delete(k)
    }
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

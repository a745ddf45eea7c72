/**
 * Page-table entries as maximal runs of identical entries: storage, queries and the one way to
 * change them (replace()). PageTables (pagetable.ts) adds the table-page accounting and the
 * kernel-shaped primitives on top.
 *
 * One Run stands for any number of consecutive kernel entries at one level with one prot and
 * one contiguous-hint state — exactly what ptdump's note_page() coalesces into a line (less the
 * marker cuts). A 4 TB PTE-mapped linear map with one attribute is one Run; memory grows with the
 * number of places where attributes or levels change, never with RAM size. The leaf totals
 * (bytes per leaf kind, TLB entries) are kept exact by every change.
 */

import {type Kva, KVA_END, alignDown, formatKva} from './address.js'
import type {Geometry} from './geometry.js'
import {type LeafTotals, accumulate, accumulateMeta, emptyTotals} from './leaf-totals.js'
import {ModelError} from './model-error.js'
import type {Prot} from './prot.js'
import {GAP_META, HOLE, NO_RUN, type Run, metaProt, pack, runOf} from './run.js'
import {RunStore} from './run-store.js'

export class RunTable {
  readonly geo: Geometry
  protected tree: RunStore
  /** Number of GAP keys in the tree (so runCount needs no walk). */
  protected gapKeys = 1
  /**
   * The last run located (locate()), valid while `cVer === ver`: every mutation bumps `ver`. The
   * kernel walks ask about the same run several times per call (present?, split boundary?, which
   * level?, rewrite), so most lookups cost no search.
   */
  private ver = 0
  private cVer = -1
  private cStart = 0
  protected cEnd = 0
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
  readonly totals: LeafTotals

  constructor(geo: Geometry) {
    this.geo = geo
    this.tree = new RunStore()
    this.tree.set(0, GAP_META)
    this.totals = emptyTotals()
  }

  /** Number of stored (maximal) runs — a measure of fragmentation and of memory use. */
  get runCount(): number {
    return this.tree.size - this.gapKeys
  }

  /** Meta of the stored run (gap included) containing addr ∈ [0, KVA_END); sets cStart/cEnd. */
  protected locate(addr: number): number {
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

  // ---------------------------------------------------------------------------------------------
  // Mutation. Every change goes through replace() (or its in-place form paint()), which keeps runs maximal and totals exact.

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
    // Remove the keys inside [start, end): one range delete (key by key was quadratic in the
    // blocks emptied when a whole fragmented linear map is replaced).
    tree.forRange(start, end, false, (_k, m) => {
      if (m === GAP_META) this.gapKeys--
    })
    tree.deleteRange(start, end, false)
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
  protected paint(start: Kva, end: Kva, m: number): void {
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
}

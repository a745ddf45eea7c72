/**
 * The kernel page tables as maximal runs of identical entries.
 *
 * One Run stands for any number of consecutive kernel entries at one level with one prot and
 * one contiguous-hint state — exactly what ptdump's note_page() coalesces into a line (less the
 * marker cuts). A 4 TB PTE-mapped linear map with one attribute is one Run; memory grows with the
 * number of places where attributes or levels change, never with RAM size.
 *
 * Table pages are not objects either: a table at level L exists for every slot of the level above
 * (size entrySize[L+1]) that holds at least one level-L entry (kernel-model.md §7, §8.1). The
 * counts are kept incrementally by the kernel-shaped primitives below (splitEntry adds exactly
 * one table, collapseToLeaf frees exactly one, ensureTables allocates through holes) and can be
 * recounted from scratch with recountTables() — tests check that the two agree.
 *
 * Primitive names follow the kernel operations they are the building blocks of
 * (arch/arm64/mm/mmu.c: split_pmd/split_pud → splitEntry, split_contpte/split_contpmd →
 * clearContGroup, pageattr_*_entry → setProt, try_collapse_kernel_pmd → collapseToLeaf).
 */
import * as btreeNs from 'sorted-btree'

import {type Kva, KVA_END, alignDown, formatKva} from './address.js'
import {type Geometry, type LeafKind, LEAF_KINDS, leafKind, tlbReach} from './geometry.js'
import {type Prot, P_VALID} from './prot.js'

// sorted-btree is CommonJS with `exports.default`; Node's ESM loader and Vite wrap it differently.
type BTreeClass<K, V> = import('sorted-btree', {with: {'resolution-mode': 'require'}}).default<K, V>
type BTreeCtor = new <K, V>() => BTreeClass<K, V>
const BTree: BTreeCtor =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ((btreeNs as any).default?.default ?? (btreeNs as any).default ?? btreeNs) as BTreeCtor

/** prot value of an empty (none) entry inside an existing table: a ptdump "hole" line. */
export const HOLE = -1

/** Run flag: KASAN early-shadow entries (note_kasan_page_table()): shared tables, not counted. */
export const F_KASAN_EARLY = 1

export interface Run {
  /** First byte, as a Kva. */
  start: Kva
  /** One past the last byte. */
  end: Kva
  /** Entry level from the leaf side: 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D, 4 = PGD (5 levels). */
  lvl: number
  /** PTE_CONT set on every entry of the run (whole, aligned contiguous groups). */
  cont: boolean
  /** Attributes of every entry, or HOLE for none entries. Invalid non-zero entries have P_VALID clear. */
  prot: Prot
  /** F_* flags */
  flags: number
}

interface RunValue {
  end: Kva
  lvl: number
  cont: boolean
  prot: Prot
  flags: number
}

/** Incrementally maintained totals (valid leaves only). */
export interface LeafTotals {
  mappedBytes: Record<LeafKind, number>
  /** Bytes of present-invalid or invalid non-zero leaves (e.g. KFENCE guard pages). */
  invalidBytes: number
  tlbEntries: number
}

export class ModelError extends Error {}

function sameShape(a: RunValue, b: RunValue): boolean {
  return a.lvl === b.lvl && a.cont === b.cont && a.prot === b.prot && a.flags === b.flags
}

export function emptyTotals(): LeafTotals {
  return {
    mappedBytes: {PUD: 0, CONT_PMD: 0, PMD: 0, CONT_PTE: 0, PTE: 0},
    invalidBytes: 0,
    tlbEntries: 0,
  }
}

/** Add (sign = 1) or remove (sign = -1) one run's contribution to totals. */
export function accumulate(geo: Geometry, t: LeafTotals, r: Pick<Run, 'start' | 'end' | 'lvl' | 'cont' | 'prot'>, sign = 1): void {
  if (r.prot === HOLE) return
  const bytes = r.end - r.start
  if (r.lvl >= geo.levels - 1 && r.lvl > 2) return // no leaves at a P4D/PGD level
  if ((r.prot & P_VALID) === 0) {
    t.invalidBytes += sign * bytes
    return
  }
  t.mappedBytes[leafKind(r.lvl, r.cont)] += sign * bytes
  t.tlbEntries += (sign * bytes) / tlbReach(geo, r.lvl, r.cont)
}

/**
 * Table pages needed to hold runs fed in ascending order: per level L below the top, the number
 * of distinct slots of size entrySize[L+1] that contain an entry at level ≤ L (a level-L entry
 * needs its table and every table above it; kernel-model.md §7, §8.1). KASAN early-shadow runs
 * share one set of static tables and are not counted. O(levels) per run, no per-page state.
 */
export class TableCounter {
  readonly counts: number[]
  private readonly lastSlot: number[]
  private readonly slotSize: number[]

  constructor(readonly geo: Geometry) {
    const top = geo.levels - 1
    this.counts = new Array<number>(top).fill(0)
    this.lastSlot = new Array<number>(top).fill(-1)
    this.slotSize = geo.entrySize.slice(1)
  }

  add(start: Kva, end: Kva, lvl: number, flags = 0): void {
    if (flags & F_KASAN_EARLY) return
    const top = this.counts.length
    for (let L = lvl; L < top; L++) {
      const S = this.slotSize[L]!
      const first = Math.floor(start / S)
      const last = Math.floor((end - 1) / S)
      const prev = this.lastSlot[L]!
      const from = first > prev ? first : prev + 1
      if (last >= from) {
        this.counts[L]! += last - from + 1
        this.lastSlot[L] = last
      }
    }
  }
}

/** countTablePages over a whole run sequence (ascending). */
export function countTablePages(geo: Geometry, runs: Iterable<Pick<Run, 'start' | 'end' | 'lvl' | 'flags'>>): number[] {
  const c = new TableCounter(geo)
  for (const r of runs) c.add(r.start, r.end, r.lvl, r.flags)
  return c.counts
}

export class PageTables {
  readonly geo: Geometry
  private tree: BTreeClass<number, RunValue>
  /** tables[L] = table pages holding level-L entries (L < levels-1; the top level is swapper_pg_dir). */
  readonly tables: number[]
  readonly totals: LeafTotals

  constructor(geo: Geometry) {
    this.geo = geo
    this.tree = new BTree<number, RunValue>()
    this.tables = new Array<number>(geo.levels - 1).fill(0)
    this.totals = emptyTotals()
  }

  /**
   * Build from runs in ascending, non-overlapping order (gaps allowed: a 5.4 dump omits holes).
   * Adjacent runs of equal shape are merged. Table counts are computed from scratch.
   */
  static fromRuns(geo: Geometry, runs: Iterable<Run>): PageTables {
    const pt = new PageTables(geo)
    let lastKey = -1
    let last: RunValue | undefined
    for (const r of runs) {
      if (r.end <= r.start) throw new ModelError(`empty or reversed run ${formatKva(r.start)}-${formatKva(r.end)}`)
      if (last && r.start < last.end) {
        throw new ModelError(`run ${formatKva(r.start)} overlaps the previous one ending ${formatKva(last.end)}`)
      }
      if (r.lvl < 0 || r.lvl >= geo.levels) throw new ModelError(`level ${r.lvl} does not exist in ${geo.label}`)
      const v: RunValue = {end: r.end, lvl: r.lvl, cont: r.cont, prot: r.prot, flags: r.flags}
      accumulate(geo, pt.totals, r)
      if (last && last.end === r.start && sameShape(last, v)) {
        last.end = r.end
      } else {
        pt.tree.set(r.start, v)
        lastKey = r.start
        last = v
      }
    }
    void lastKey
    const counts = pt.recountTables()
    for (let i = 0; i < counts.length; i++) pt.tables[i] = counts[i]!
    return pt
  }

  clone(): PageTables {
    const pt = new PageTables(this.geo)
    pt.tree = this.tree.mapValues((v) => ({...v}))
    for (let i = 0; i < this.tables.length; i++) pt.tables[i] = this.tables[i]!
    pt.totals.invalidBytes = this.totals.invalidBytes
    pt.totals.tlbEntries = this.totals.tlbEntries
    for (const k of LEAF_KINDS) pt.totals.mappedBytes[k] = this.totals.mappedBytes[k]
    return pt
  }

  /** Number of stored runs (a measure of fragmentation and of memory use). */
  get runCount(): number {
    return this.tree.size
  }

  /** Total table pages below the top level. */
  get tablePages(): number {
    let n = 0
    for (const t of this.tables) n += t
    return n
  }

  /** The stored (maximal) run containing addr, or undefined if addr lies in a gap. */
  runAt(addr: Kva): Run | undefined {
    const p = this.tree.getPairOrNextLower(addr)
    if (!p || p[1].end <= addr) return undefined
    return {start: p[0], ...p[1]}
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

  /** Runs intersecting [from, to), clipped to it, in address order. */
  *runs(from: Kva = 0, to: Kva = KVA_END): Generator<Run> {
    const first = this.tree.getPairOrNextLower(from)
    const startKey = first && first[1].end > from ? first[0] : from
    for (const [k, v] of this.tree.entries(startKey)) {
      if (k >= to) return
      if (v.end <= from) continue
      yield {start: Math.max(k, from), end: Math.min(v.end, to), lvl: v.lvl, cont: v.cont, prot: v.prot, flags: v.flags}
    }
  }

  /** Check structural invariants (kernel-model.md §8); returns human-readable problems. */
  check(): string[] {
    const out: string[] = []
    let prevEnd = -1
    let prev: RunValue | undefined
    for (const [k, v] of this.tree.entries()) {
      if (v.end <= k) out.push(`empty run at ${formatKva(k)}`)
      if (k < prevEnd) out.push(`overlap at ${formatKva(k)}`)
      if (prev && prevEnd === k && sameShape(prev, v)) out.push(`unmerged neighbours at ${formatKva(k)}`)
      const size = v.cont ? tlbReach(this.geo, v.lvl, true) : this.geo.entrySize[v.lvl]!
      if (v.prot !== HOLE && !(v.flags & F_KASAN_EARLY) && (k % size !== 0 || v.end % size !== 0)) {
        out.push(`run ${formatKva(k)}-${formatKva(v.end)} not aligned to its ${v.cont ? 'contiguous group' : 'entry'} size ${size}`)
      }
      prevEnd = v.end
      prev = v
    }
    return out
  }

  /** Count table pages from scratch (kernel-model.md §7). */
  recountTables(): number[] {
    return countTablePages(this.geo, this.runs())
  }

  // ---------------------------------------------------------------------------------------------
  // Mutation. Every change goes through replace(), which keeps runs maximal and totals exact.

  /**
   * Replace everything in [start, end) by `runs` (ascending, tiling [start, end) or part of it).
   * Runs that straddle start/end are clipped. Table counts are NOT touched: callers that change
   * table structure adjust `tables` themselves (see the primitives).
   */
  replace(start: Kva, end: Kva, runs: readonly Run[]): void {
    const tree = this.tree
    // Clip a run that begins before start and reaches into [start, end).
    const left = tree.getPairOrNextLower(start)
    if (left && left[0] < start && left[1].end > start) {
      const [lk, lv] = left
      const tail: RunValue = {...lv}
      accumulate(this.geo, this.totals, {start, end: lv.end, lvl: lv.lvl, cont: lv.cont, prot: lv.prot}, -1)
      lv.end = start
      if (tail.end > end) {
        // The run covers the whole range: keep its right part.
        tree.set(end, tail)
        accumulate(this.geo, this.totals, {start: end, end: tail.end, lvl: tail.lvl, cont: tail.cont, prot: tail.prot})
      }
      void lk
    }
    // Remove runs starting inside [start, end), keeping the part beyond end.
    const inside: [number, RunValue][] = []
    tree.forRange(start, end, false, (k, v) => {
      inside.push([k, v])
    })
    for (const [k, v] of inside) {
      tree.delete(k)
      if (v.end > end) {
        accumulate(this.geo, this.totals, {start: k, end, lvl: v.lvl, cont: v.cont, prot: v.prot}, -1)
        tree.set(end, v)
      } else {
        accumulate(this.geo, this.totals, {start: k, end: v.end, lvl: v.lvl, cont: v.cont, prot: v.prot}, -1)
      }
    }
    for (const r of runs) {
      if (r.start < start || r.end > end || r.end <= r.start) {
        throw new ModelError(`replacement run ${formatKva(r.start)}-${formatKva(r.end)} outside ${formatKva(start)}-${formatKva(end)}`)
      }
      tree.set(r.start, {end: r.end, lvl: r.lvl, cont: r.cont, prot: r.prot, flags: r.flags})
      accumulate(this.geo, this.totals, r)
    }
    // Merge around the edited range: from the run before start to the run at end.
    this.mergeFrom(start, end)
  }

  private mergeFrom(start: Kva, end: Kva): void {
    const tree = this.tree
    const before = tree.getPairOrNextLower(start - 1)
    let k = before && before[1].end === start ? before[0] : start
    let v = tree.get(k)
    if (!v) {
      const next = tree.nextHigherPair(start - 1)
      if (!next) return
      ;[k, v] = next
    }
    for (;;) {
      const n = tree.get(v.end)
      if (n && sameShape(v, n)) {
        tree.delete(v.end)
        v.end = n.end
        continue
      }
      if (v.end > end) return
      const next = tree.nextHigherPair(k)
      if (!next || next[0] > end) return
      ;[k, v] = next
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
    const out: Run[] = []
    for (const r of this.runs(start, end)) {
      out.push(r.prot === HOLE ? r : {...r, prot: (r.prot & ~clear) | set})
    }
    this.replace(start, end, out)
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
    const a = this.tree.entries()
    const b = other.tree.entries()
    for (;;) {
      const x = a.next()
      const y = b.next()
      if (x.done || y.done) return x.done === y.done
      if (x.value[0] !== y.value[0] || x.value[1].end !== y.value[1].end || !sameShape(x.value[1], y.value[1])) return false
    }
  }
}

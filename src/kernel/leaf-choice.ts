/**
 * __create_pgd_mapping()'s leaf choice (arch/arm64/mm/mmu.c, v6.1–v7.3: alloc_init_pud() → PUD
 * block, alloc_init_cont_pmd() → PTE_CONT on whole aligned CONT_PMD chunks, init_pmd() → PMD block,
 * alloc_init_cont_pte() → PTE_CONT on whole aligned CONT_PTE chunks, init_pte()) for a range whose
 * PA is congruent with its VA and whose tables hold nothing yet, with blocks and contiguous
 * mappings allowed: the largest aligned leaf first, as a flat decomposition (no table walk). It is
 * what map-mem.ts's walk produces on empty tables (test/kernel/leaf-choice.test.ts holds them equal),
 * without building tables: the audit's "ideal" reference uses it per stretch of equal attributes.
 */
import type {Kva} from '../model/address.js'
import type {Geometry} from '../model/geometry.js'
import type {Run} from '../model/run.js'

export interface LeafShape {
  lvl: number
  cont: boolean
  size: number
}

const SHAPES = new WeakMap<Geometry, LeafShape[]>()

/** Leaf shapes from largest to smallest that __create_pgd_mapping() may use (PUD blocks only where the geometry has them). */
export function leafShapes(geo: Geometry): LeafShape[] {
  let out = SHAPES.get(geo)
  if (out) return out
  out = []
  if (geo.pudBlocks) out.push({lvl: 2, cont: false, size: geo.entrySize[2]!})
  out.push({lvl: 1, cont: true, size: geo.contPmdSize})
  out.push({lvl: 1, cont: false, size: geo.entrySize[1]!})
  out.push({lvl: 0, cont: true, size: geo.contPteSize})
  out.push({lvl: 0, cont: false, size: geo.pageSize})
  SHAPES.set(geo, out)
  return out
}

export type LeafSink = (start: Kva, end: Kva, lvl: number, cont: boolean) => void

/**
 * Greedy decomposition of [s, e) with shapes[i..]: head, aligned middle, tail; ascending order.
 * Every leaf size is a power of two, so s / size is exact and alignUp/alignDown reduce to
 * ceil/floor of it (no floating-point remainder: this runs per stretch of a whole dump).
 */
export function decompose(sh: readonly LeafShape[], s: Kva, e: Kva, i: number, sink: LeafSink): void {
  const last = sh.length - 1
  while (s < e) {
    const shape = sh[i]!
    if (i === last) return sink(s, e, shape.lvl, shape.cont)
    const size = shape.size
    const a = Math.ceil(s / size) * size
    const b = Math.floor(e / size) * size
    if (a >= b) {
      i++
      continue
    }
    if (a > s) decompose(sh, s, a, i + 1, sink)
    sink(a, b, shape.lvl, shape.cont)
    s = b
    i++
  }
}

/**
 * Greedy decomposition of [start, end) into the largest aligned leaves, as runs (at most a few per
 * shape: head, middle, tail). Both bounds must be page aligned.
 */
export function decomposeRange(geo: Geometry, start: Kva, end: Kva, prot: number): Run[] {
  const out: Run[] = []
  decompose(leafShapes(geo), start, end, 0, (s, e, lvl, cont) => out.push({start: s, end: e, lvl, cont, prot, flags: 0}))
  return out
}


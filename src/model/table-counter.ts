import type {Kva} from './address.js'
import type {Geometry} from './geometry.js'
import {F_KASAN_EARLY, type Run} from './run.js'

/**
 * Table pages needed to hold runs fed in ascending order: per level L below the top, the number
 * of distinct slots of size entrySize[L+1] that contain an entry at level ≤ L (a level-L entry
 * needs its table and every table above it; docs/page-table-model.md). KASAN early-shadow runs
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

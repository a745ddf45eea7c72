/** Backing pages and virtual ranges for the areas a workload allocates. */
import {type Kva, alignDown} from '../../model/address.js'
import type {Rng} from '../rng.js'
import type {WorkloadTarget} from './types.js'

/** Picks buddy pages in the machine's RAM: page-granular and 2M-block (huge page) allocations. */
export class PageAllocator {
  private readonly starts: number[] = []
  private readonly total: number

  constructor(
    private readonly t: WorkloadTarget,
    private readonly rng: Rng,
  ) {
    let acc = 0
    for (const r of t.ram) {
      this.starts.push(acc)
      acc += (r.end - r.start) / t.pageSize
    }
    this.total = acc
  }

  private pageAt(i: number): Kva {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.starts[mid]! <= i) lo = mid
      else hi = mid - 1
    }
    return this.t.ram[lo]!.start + (i - this.starts[lo]!) * this.t.pageSize
  }

  /**
   * `n` order-0 pages as the page allocator hands them to vmalloc: consecutive from a random
   * place (per-CPU lists drain from a few recently split blocks), wrapping inside RAM.
   */
  pages(n: number): Kva[] {
    const out: Kva[] = []
    let i = this.rng.int(this.total)
    for (let k = 0; k < n; k++) {
      out.push(this.pageAt(i))
      i = (i + 1) % this.total
    }
    return out
  }

  /** One naturally aligned block of `bytes` (a huge page), as its pages; undefined if none fits. */
  block(bytes: number): Kva[] | undefined {
    for (let tries = 0; tries < 64; tries++) {
      const p = this.pageAt(this.rng.int(this.total))
      const s = alignDown(p - this.t.pageOffset, bytes) + this.t.pageOffset
      if (this.t.ram.some((r) => r.start <= s && s + bytes <= r.end)) {
        const out: Kva[] = []
        for (let a = s; a < s + bytes; a += this.t.pageSize) out.push(a)
        return out
      }
    }
    return undefined
  }
}

/** VA carved from a window, wrapping to its start (vmalloc reuses freed space). */
export class VaWindow {
  private next: Kva

  constructor(
    private readonly start: Kva,
    private readonly end: Kva,
    private readonly page: number,
  ) {
    this.next = start
  }

  alloc(bytes: number, align: number): Kva {
    let a = Math.ceil(this.next / align) * align
    if (a + bytes + this.page > this.end) a = Math.ceil(this.start / align) * align
    this.next = a + bytes + this.page
    return a
  }
}

/** A synthesized area: its start, page count and backing linear-map pages (not the kernel's vm_struct: src/kernel/vmalloc.ts VmStruct). */
export interface SynthArea {
  addr: Kva
  pages: number
  backing: Kva[]
}

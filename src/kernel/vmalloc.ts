/**
 * vm areas and their mappings, as mm/vmalloc.c (v7.3) makes them: `struct vm_struct`, the map
 * side (__vmap_pages_range_noflush → vmap_small_pages_range_noflush / vmap_range_noflush), the
 * unmap side (__vunmap_range_noflush) and the area lifetimes (alloc_vmap_area,
 * free_vmap_area_noflush, __purge_vmap_area_lazy). A trace that probes these functions (the 7.3
 * captures) lets the replay create, map, unmap and free every area the way the kernel did.
 */
import {type Kva, alignDown, formatKva} from '../model/address.js'
import {tlbReach} from '../model/geometry.js'
import {HOLE} from '../model/run.js'
import {TableCounter} from '../model/table-counter.js'
import {HW, type Prot, protBitsOfHwMask, withMemType} from '../model/prot.js'
import {type KernelContext, allocTablePage, kernelWarn} from './context.js'

/** include/linux/vmalloc.h (v7.3): the vm_struct flags the model reads. */
export const VM_IOREMAP = 0x1
export const VM_ALLOC = 0x2
export const VM_MAP = 0x4
export const VM_ALLOW_HUGE_VMAP = 0x400

/**
 * THREAD_SIZE: a task's kernel stack, vmalloc'd with CONFIG_VMAP_STACK (arch/arm64/include/asm/memory.h,
 * v7.3: THREAD_SHIFT = max(14 + KASAN_THREAD_SHIFT, PAGE_SHIFT)); the areas are aligned to
 * THREAD_ALIGN = 2 * THREAD_SIZE.
 */
export function threadSize(pageSize: number, kasan = false): number {
  return Math.max(1 << (14 + (kasan ? 1 : 0)), pageSize)
}

/**
 * struct vm_struct (include/linux/vmalloc.h, v7.3) as far as a trace reveals it. Everything beyond
 * the address range is optional: a trace that gives only set_memory_*() on a vmalloc address does
 * not say which pages back it.
 */
export interface VmStruct {
  /** area->addr */
  addr: Kva
  /** area->size, guard page included (get_vm_area_size() + PAGE_SIZE unless VM_NO_GUARD). */
  size: number
  /** VM_ALLOC; undefined when the trace cannot tell (it carries no kretprobe of the vmalloc allocator). */
  alloc?: boolean
  /** VM_ALLOW_HUGE_VMAP */
  allowHugeVmap: boolean
  /** area->nr_pages (≤6.17 the rodata_full alias loop walks all of them). */
  nrPages?: number
  /** page_address(area->pages[i]) for each backing page, when known (a sparse array: the pages the trace revealed). */
  pages?: readonly Kva[]
  /** area->page_order (CONFIG_HAVE_ARCH_HUGE_VMALLOC); 0 = base pages. */
  pageOrder?: number
}

/** pgprot value → the model's Prot: descriptor bits and ATTRINDX (arch/arm64/include/asm/memory.h MT_*, v7.3). */
const MT_NAMES = ['MEM/NORMAL', 'MEM/NORMAL-TAGGED', 'MEM/NORMAL-NC', 'DEVICE/nGnRnE', 'DEVICE/nGnRE'] as const
export function protOfPgprot(pgprot: bigint): Prot {
  const attrIndx = Number((pgprot >> 2n) & 7n)
  return withMemType(protBitsOfHwMask(pgprot & ~HW.PTE_CONT), MT_NAMES[attrIndx] ?? '')
}

/** Table pages under [start, end) per level (the entries there, holes included). */
function tablesIn(ctx: KernelContext, start: Kva, end: Kva): number[] {
  const c = new TableCounter(ctx.geo)
  ctx.pt.forEachRun(start, end, (s, e, lvl, _cont, _prot, flags) => c.add(s, e, lvl, flags))
  return c.counts
}

/**
 * Install one leaf of `lvl` over [addr, addr + entrySize[lvl]) (pmd_set_huge()/pud_set_huge(),
 * arch/arm64/mm/mmu.c, v7.3), freeing the (empty) tables below it the way vmap_try_huge_pmd()
 * calls pmd_free_pte_page() and vmap_try_huge_pud() pud_free_pmd_page() (mm/vmalloc.c, v7.3).
 */
function setHuge(ctx: KernelContext, addr: Kva, lvl: number, prot: Prot): void {
  const pt = ctx.pt
  const end = addr + ctx.geo.entrySize[lvl]!
  const e = pt.entryAt(addr)
  if (e && e.lvl === lvl && e.prot !== HOLE) kernelWarn(ctx, 'vmap-block-over-block', 'pmd_set_huge', addr, 'remapping a present block entry')
  const below = e && e.lvl < lvl ? tablesIn(ctx, addr, end) : undefined
  if (!e || e.lvl > lvl) ensure(ctx, addr, end, lvl)
  pt.replace(addr, end, [{start: addr, end, lvl, cont: false, prot, flags: 0}])
  if (below) {
    // pmd_free_pte_page()/pud_free_pmd_page(): the tables that held level < lvl entries go.
    for (let L = 0; L < lvl; L++) {
      pt.tables[L]! -= below[L]!
      ctx.tablePagesFreed += below[L]!
    }
  }
}

/** pXd_alloc_track()/pte_alloc_kernel_track(): the tables down to `lvl` over [start, end), allocated on demand. */
function ensure(ctx: KernelContext, start: Kva, end: Kva, lvl: number): void {
  const n = ctx.pt.ensureTables(start, end, lvl)
  for (let i = 0; i < n; i++) allocTablePage(ctx)
}

/** Map [addr, end) with PTEs of `prot`, contiguous groups where `cont` (set_pte_at / set_huge_pte_at). */
function mapPtes(ctx: KernelContext, addr: Kva, end: Kva, prot: Prot, cont: boolean): void {
  const pt = ctx.pt
  const e = pt.entryAt(addr)
  if (e && e.lvl > 0 && e.prot !== HOLE) {
    kernelWarn(ctx, 'vmap-pte-over-block', 'vmap_pte_range', addr, 'a block mapping covers the range')
    return
  }
  ensure(ctx, addr, end, 0)
  let busy = false
  pt.forEachRun(addr, end, (_s, _e, _l, _c, p) => {
    if (p !== HOLE) busy = true
  })
  // vmap_pages_pte_range(): WARN_ON(!pte_none()) → -EBUSY (mm/vmalloc.c, v7.3); the model maps anyway.
  if (busy) kernelWarn(ctx, 'vmap-pte-busy', 'vmap_pages_pte_range', addr, 'remapping already mapped page(s)')
  pt.replace(addr, end, [{start: addr, end, lvl: 0, cont, prot, flags: 0}])
}

/**
 * vmap_range_noflush(addr, end, phys_addr, prot, max_page_shift) (mm/vmalloc.c, v7.3): per PUD
 * and PMD slot the largest leaf allowed — vmap_try_huge_pud() (arch_vmap_pud_supported():
 * pud_sect_supported(), 4K pages), vmap_try_huge_pmd() (arch_vmap_pmd_supported(): true on arm64,
 * arch/arm64/include/asm/vmalloc.h) when max_page_shift reaches the level, the piece covers the
 * whole slot and phys_addr is aligned — else PTEs, contiguous where
 * arch_vmap_pte_range_map_size() says CONT_PTE_SIZE. `physAligned(a, size)`: whether the
 * physical address mapped at `a` is size-aligned.
 */
export function vmapRangeNoflush(ctx: KernelContext, addr: Kva, end: Kva, pgprot: bigint, maxPageShift: number, physAligned: (a: Kva, size: number) => boolean): number {
  const geo = ctx.geo
  const page = geo.pageSize
  const prot = protOfPgprot(pgprot)
  const contSize = geo.contPteSize
  let a = addr
  while (a < end) {
    let done = false
    for (const lvl of [2, 1]) {
      const size = geo.entrySize[lvl]!
      if (lvl >= geo.levels - 1) continue
      if (lvl === 2 && page !== 4096) continue // pud_sect_supported()
      if (Math.log2(size) > maxPageShift) continue
      if (a % size !== 0 || a + size > end || !physAligned(a, size)) continue
      setHuge(ctx, a, lvl, prot)
      a += size
      done = true
      break
    }
    if (done) continue
    // vmap_pte_range() up to the next PMD boundary.
    const pmdEnd = Math.min(end, alignDown(a, geo.entrySize[1]!) + geo.entrySize[1]!)
    while (a < pmdEnd) {
      // arch_vmap_pte_range_map_size() (arch/arm64/include/asm/vmalloc.h, v7.3)
      const cont = Math.log2(contSize) <= maxPageShift && pmdEnd - a >= contSize && a % contSize === 0 && physAligned(a, contSize)
      let stop = a + (cont ? contSize : page)
      if (cont) while (stop + contSize <= pmdEnd && physAligned(stop, contSize)) stop += contSize
      else while (stop < pmdEnd && !(Math.log2(contSize) <= maxPageShift && stop % contSize === 0 && pmdEnd - stop >= contSize && physAligned(stop, contSize))) stop += page
      mapPtes(ctx, a, stop, prot, cont)
      a = stop
    }
  }
  return 0
}

/**
 * __vmap_pages_range_noflush(addr, end, prot, pages, page_shift) (mm/vmalloc.c, v7.3): page_shift
 * == PAGE_SHIFT → vmap_small_pages_range_noflush(), one PTE per page; else vmap_range_noflush()
 * per 1 << page_shift chunk of one high-order page (physically aligned to its order).
 */
export function vmapPagesRange(ctx: KernelContext, addr: Kva, end: Kva, pgprot: bigint, pageShift: number): number {
  const page = ctx.geo.pageSize
  if (end <= addr) return 0
  if (pageShift <= Math.log2(page)) {
    mapPtes(ctx, addr, end, protOfPgprot(pgprot), false)
    return 0
  }
  const chunk = 2 ** pageShift
  // Each chunk is one page of order page_shift: its physical address is chunk-aligned.
  const aligned = (_a: Kva, size: number): boolean => size <= chunk
  for (let a = addr; a < end; a += chunk) vmapRangeNoflush(ctx, a, Math.min(end, a + chunk), pgprot, pageShift, aligned)
  return 0
}

/**
 * ioremap_page_range(addr, end, phys_addr, prot) → vmap_page_range() (mm/vmalloc.c, v7.3):
 * vmap_range_noflush() with pgprot_nx(prot) and ioremap_max_page_shift (PUD_SHIFT on arm64
 * unless nohugeiomap).
 */
export function ioremapPageRange(ctx: KernelContext, addr: Kva, end: Kva, phys: bigint, pgprot: bigint): number {
  const pud = Math.log2(ctx.geo.entrySize[2] ?? ctx.geo.entrySize[1]!)
  const aligned = (a: Kva, size: number): boolean => (phys + BigInt(a - addr)) % BigInt(size) === 0n
  return vmapRangeNoflush(ctx, addr, end, pgprot | HW.PTE_PXN, pud, aligned)
}

/**
 * __vunmap_range_noflush(start, end) (mm/vmalloc.c, v7.3): every entry in the range cleared —
 * pud_clear_huge()/pmd_clear_huge() a block whole, huge_ptep_get_and_clear() a contiguous group
 * whole (arch_vmap_pte_range_unmap_size()), ptep_get_and_clear() a PTE — and every table page
 * kept: the walk never frees one (pmd_free_pte_page() only runs when a later vmap installs a
 * block over the empty table).
 */
export function vunmapRange(ctx: KernelContext, start: Kva, end: Kva): void {
  const pt = ctx.pt
  if (end <= start) return
  let s = start
  let e = end
  const first = pt.entryAt(start)
  if (first && first.prot !== HOLE && (first.lvl > 0 || first.cont)) s = Math.min(s, entryStart(ctx, start, first.lvl, first.cont))
  const last = pt.entryAt(end - 1)
  if (last && last.prot !== HOLE && (last.lvl > 0 || last.cont)) e = Math.max(e, entryStart(ctx, end - 1, last.lvl, last.cont) + entryLen(ctx, last.lvl, last.cont))
  if (s !== start || e !== end) kernelWarn(ctx, 'vunmap-cuts-block', '__vunmap_range_noflush', start, `range cuts a block or contiguous group: cleared ${formatKva(s)}-${formatKva(e)}`)
  const out: {start: Kva; end: Kva; lvl: number; cont: boolean; prot: Prot; flags: number}[] = []
  let changed = false
  pt.forEachRun(s, e, (rs, re, lvl, cont, prot, flags) => {
    if (prot !== HOLE || cont) changed = true
    out.push({start: rs, end: re, lvl, cont: false, prot: HOLE, flags})
  })
  if (changed) pt.replace(s, e, out)
}

function entryLen(ctx: KernelContext, lvl: number, cont: boolean): number {
  return tlbReach(ctx.geo, lvl, cont)
}
function entryStart(ctx: KernelContext, a: Kva, lvl: number, cont: boolean): Kva {
  return alignDown(a, entryLen(ctx, lvl, cont))
}

/**
 * The busy and lazily-freed vmap areas (mm/vmalloc.c, v7.3: alloc_vmap_area() inserts into the
 * busy tree, free_vmap_area_noflush() moves to the purge list, __purge_vmap_area_lazy() hands
 * the purged ranges back to the free tree). find_vm_area(addr) finds the busy area containing
 * addr. Sorted by start; bounded by the areas alive at once.
 */
export class VmAreas {
  private readonly starts: Kva[] = []
  private readonly byStart = new Map<Kva, VmStruct>()
  /** Areas freed lazily and not yet purged (free_vmap_area_noflush → purge_vmap_area_lazy). */
  private readonly lazy = new Map<Kva, number>()

  get size(): number {
    return this.byStart.size
  }

  /** alloc_vmap_area(): a new busy area [addr, addr + size), guard page included. */
  insert(area: VmStruct): void {
    if (this.byStart.has(area.addr)) this.remove(area.addr)
    // An area over a lazily freed one: that range was purged (the tracepoint may lie outside the window).
    for (const [k, sz] of this.lazy) if (k < area.addr + area.size && area.addr < k + sz) this.lazy.delete(k)
    let lo = 0
    let hi = this.starts.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.starts[mid]! < area.addr) lo = mid + 1
      else hi = mid
    }
    this.starts.splice(lo, 0, area.addr)
    this.byStart.set(area.addr, area)
  }

  /** find_vm_area(addr): the busy area whose [addr, addr + size) holds addr. */
  find(addr: Kva): VmStruct | undefined {
    let lo = 0
    let hi = this.starts.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.starts[mid]! <= addr) lo = mid + 1
      else hi = mid
    }
    if (lo === 0) return undefined
    const a = this.byStart.get(this.starts[lo - 1]!)!
    return addr < a.addr + a.size ? a : undefined
  }

  /** free_vmap_area_noflush(va): the area leaves the busy tree for the purge list. */
  free(addr: Kva): VmStruct | undefined {
    const a = this.byStart.get(addr)
    if (!a) return undefined
    this.remove(addr)
    this.lazy.set(addr, a.size)
    return a
  }

  /** __purge_vmap_area_lazy(start, end): lazily freed areas inside [start, end) are purged. Returns how many. */
  purge(start: Kva, end: Kva): number {
    let n = 0
    for (const [k, sz] of this.lazy) {
      if (k >= start && k + sz <= end) {
        this.lazy.delete(k)
        n++
      }
    }
    return n
  }

  get lazyCount(): number {
    return this.lazy.size
  }

  private remove(addr: Kva): void {
    const i = this.starts.indexOf(addr)
    if (i >= 0) this.starts.splice(i, 1)
    this.byStart.delete(addr)
  }
}

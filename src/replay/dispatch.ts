/**
 * Calls → kernel mechanisms: the ReplayPolicy that drives src/kernel for one policy.
 *
 * Each assembled call (intents.ts) is replayed at the outermost level the trace recorded, with
 * what its inner hits revealed:
 *   set_memory_{ro,rw,x,nx}  → changeMemoryCommon() with a VmStruct whose backing pages are the
 *                              linear-alias pages the inner __change_memory_common/update_range_prot
 *                              hits show (unknown → the kernel model counts aliasUpdatesUnknown);
 *   change_memory_common     → the same, operation from the masks;
 *   __change_memory_common   → __changeMemoryCommon(); update_range_prot → updateRangeProt();
 *   set_memory_valid         → setMemoryValid();
 *   set_direct_map_*         → setDirectMap*Noflush() on page_address(page) (from the struct page
 *                              pointer, or the inner update_range_prot's start).
 * Everything else (markers, module and vmalloc events, the kernel's own split probes) is
 * bookkeeping, not a page-table change.
 */
import {
  EINVAL,
  type KernelContext,
  VmAreas,
  type VmStruct,
  ioremapPageRange,
  vmapPagesRange,
  vmapRangeNoflush,
  vunmapRange,
  __changeMemoryCommon,
  changeMemoryCommon,
  setDirectMapDefaultNoflush,
  setDirectMapInvalidNoflush,
  setDirectMapValidNoflush,
  setMemoryNx,
  setMemoryRo,
  setMemoryRox,
  setMemoryRw,
  setMemoryValid,
  setMemoryX,
  updateRangeProt,
} from '../kernel/index.js'
import type {Policy} from '../kernel/policy.js'
import {KVA_END, type Kva, alignDown} from '../model/address.js'
import type {Region} from '../model/layout.js'
import {HOLE, NO_RUN, metaProt} from '../model/run.js'
import type {ApplyOutcome, ReplayPolicy} from './engine.js'
import {FUNCTIONS} from '../ingest/normalize/functions.js'
import {type Intent, aliasPagesOf, opFromMasks} from './intents.js'

/** Split primitives, arm64 and the x86 comparison's, for per-call attribution. */
function splitCount(c: KernelContext['counters']): number {
  return c.split_pud + c.split_pmd + c.split_contpmd + c.split_contpte + c.direct_map_level2_splits + c.direct_map_level3_splits
}

export class KernelReplayPolicy implements ReplayPolicy {
  readonly name: string
  /** vmalloc-side PMD slots seen block-mapped: VM_ALLOW_HUGE_VMAP areas (see area()). */
  private readonly hugeSlots = new Set<number>()
  private readonly vmRegions: readonly Region[]
  /** The vm areas the trace created (alloc_vmap_area … free_vmap_area_noflush), for find_vm_area(). */
  readonly areas = new VmAreas()
  /** vmap/vunmap calls replayed: the trace maps and unmaps vm areas itself. */
  vmMaps = 0
  /** A kretprobe of the vmalloc allocator has been seen: from then on VM_ALLOC is known per area. */
  private sawAllocReturn = false

  constructor(
    readonly policy: Policy,
    readonly ctx: KernelContext,
    regions: readonly Region[] = [],
  ) {
    this.name = policy.name
    this.vmRegions = regions.filter((r) => r.name === 'vmalloc' || r.name === 'modules')
  }

  /** The kernel's counters so far, under the kernel's names (non-zero only). */
  counters(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.ctx.counters).filter(([, v]) => v !== 0))
  }

  /** The outcome apply() returns, reused: every field set up front, one object shape for all outcomes. */
  private readonly out: ApplyOutcome = {unknownMemory: false, tablePagesAllocated: 0, tablePagesFreed: 0, splits: 0, collapses: 0, unknownAliasPages: 0, errors: undefined}

  /** Apply one call; the outcome is valid until the next apply(). */
  apply(intent: Intent): ApplyOutcome {
    const ctx = this.ctx
    const errorsBefore = ctx.errors.length
    const allocBefore = ctx.tablePagesAllocated
    const freedBefore = ctx.tablePagesFreed
    const splitsBefore = splitCount(ctx.counters)
    const collapsesBefore = ctx.counters.collapse_pmd + ctx.counters.collapse_pud
    const unknownAliasBefore = ctx.aliasUpdatesUnknown
    ctx.event = intent.ev
    // One outcome object, rewritten per call (the engine reads it before the next call).
    const out = this.out
    out.unknownMemory = false
    out.errors = undefined
    this.dispatch(intent, out)
    out.tablePagesAllocated = ctx.tablePagesAllocated - allocBefore
    out.tablePagesFreed = ctx.tablePagesFreed - freedBefore
    out.splits = splitCount(ctx.counters) - splitsBefore
    out.collapses = ctx.counters.collapse_pmd + ctx.counters.collapse_pud - collapsesBefore
    out.unknownAliasPages = ctx.aliasUpdatesUnknown - unknownAliasBefore
    if (ctx.errors.length > errorsBefore) {
      out.errors = ctx.errors.slice(errorsBefore).map((e) => ({code: -e.errno === EINVAL ? 'EINVAL' : 'ENOMEM', message: e.message}))
    }
    // The context keeps every error; the engine keeps its own bounded copy. Warnings are bounded per kind (WarningLog).
    if (ctx.errors.length > 1000) ctx.errors.length = 0
    return out
  }

  /**
   * The vm_area of a set_memory_* call, as far as the trace and the model tell it. The trace
   * names the backing pages through the inner alias hits; it does not carry vm_struct flags.
   * A vmalloc range that lies in a PMD slot the model shows (or showed) block-mapped belongs to
   * a VM_ALLOW_HUGE_VMAP area backed by one PMD-order page (vmap_try_huge_pmd() is the only way a
   * VM_ALLOC area gets a PMD leaf), so it is given that flag and page_order — what the proposed
   * collapse and the huge-vmalloc bail-out look at (commit fcf8dda8cc48 ("arm64: pageattr: Explicitly
   * bail out when changing permissions for vmalloc_huge mappings") (in v6.16)).
   */
  private area(intent: Intent, addr: number, pages: number): VmStruct | undefined {
    const real = this.areas.find(addr)
    if (real) return this.realArea(intent, real, addr, pages)
    const ctx = this.ctx
    const page = ctx.geo.pageSize
    const pmd = ctx.geo.entrySize[1]!
    let huge = false
    let inVm = false
    for (const r of this.vmRegions) if (addr >= r.start && addr < r.end) inVm = true
    if (inVm) {
      const slot = alignDown(addr, pmd)
      if (this.hugeSlots.has(slot)) huge = true
      else {
        const e = ctx.pt.entryAt(addr)
        if (e && e.lvl >= 1 && e.prot !== HOLE && addr + pages * page <= slot + pmd) {
          this.hugeSlots.add(slot)
          huge = true
        }
      }
    }
    const lin = ctx.linear
    const alias = lin ? aliasPagesOf(intent, lin.start, lin.end) : undefined
    if (!alias && !huge) return undefined
    if (huge) {
      const slot = alignDown(addr, pmd)
      return {
        addr: slot,
        size: pmd,
        alloc: true,
        allowHugeVmap: true,
        pageOrder: Math.log2(pmd / page),
        ...(alias ? {pages: padAlias(alias.map((p) => p.addr), (addr - slot) / page, page), nrPages: pmd / page} : {}),
      }
    }
    // One backing page per inner call; the area's own start is not in the trace, so the range is
    // taken to start it (exact for 6.19, where only the pages in range are walked, and for ≤6.12,
    // where every page of the area is).
    return {addr, size: Math.max(pages, alias!.length) * page, alloc: true, allowHugeVmap: false, pages: alias!.map((p) => p.addr), nrPages: alias!.length}
  }

  /**
   * The area find_vm_area() returns, from the trace's own alloc_vmap_area/vmap events, with
   * area->pages[idx .. idx + numpages) named by this call's inner alias hits (pageattr.c,
   * change_memory_common(), v7.3: the rodata_full loop walks exactly those) and remembered for
   * later calls on the same pages.
   */
  private realArea(intent: Intent, real: VmStruct, addr: number, pages: number): VmStruct {
    const lin = this.ctx.linear
    const page = this.ctx.geo.pageSize
    const hits = lin ? aliasPagesOf(intent, lin.start, lin.end) : undefined
    const first = Math.round((alignDown(addr, page) - real.addr) / page)
    if (hits && hits.length) {
      const known = (real.pages ?? []).slice()
      for (let i = 0; i < hits.length; i++) known[first + i] = hits[i]!.addr
      real.pages = known
    }
    const p = real.pages
    let complete = p !== undefined && p.length >= first + pages
    for (let i = first; complete && i < first + pages; i++) if (p![i] === undefined) complete = false
    return complete ? real : {...real, pages: undefined}
  }

  /** vm area lifetimes and mappings (mm/vmalloc.c, v7.3), from the trace's vmalloc probes and tracepoints. */
  private vm(intent: Intent): void {
    const ctx = this.ctx
    const ev = intent.ev
    const page = ctx.geo.pageSize
    const pageShift = Math.log2(page)
    switch (intent.type) {
      case 'vm_alloc':
        // alloc_vmap_area tracepoint: [va_start, va_start + size), guard page included.
        // VM_ALLOC is known only once the trace has shown a kretprobe of the allocator (vmalloc_ret):
        // before that (or in a trace without it, e.g. trace-cmd's capture) the flag is unknown and
        // change_memory_common() does not refuse on it.
        if (ev.fn === 'alloc_vmap_area' && ev.addr !== undefined && ev.size) this.areas.insert({addr: ev.addr, size: ev.size, alloc: this.sawAllocReturn ? false : undefined, allowHugeVmap: false})
        return
      case 'vmap': {
        if (ev.addr === undefined || ev.end === undefined) return
        this.vmMaps++
        if (ev.fn === 'ioremap_page_range') {
          if (ev.phys !== undefined && ev.prot !== undefined) ioremapPageRange(ctx, ev.addr, ev.end, ev.phys, ev.prot)
          else vmapRangeNoflush(ctx, ev.addr, ev.end, ev.prot ?? 0n, pageShift, () => false)
          return
        }
        const shift = ev.pageShift ?? pageShift
        vmapPagesRange(ctx, ev.addr, ev.end, ev.prot ?? 0n, shift)
        const a = this.areas.find(ev.addr)
        if (a) {
          a.nrPages = (ev.end - ev.addr) / page
          // __vmalloc_node_range_noprof() maps with page_shift > PAGE_SHIFT only for VM_ALLOW_HUGE_VMAP (mm/vmalloc.c, v7.3).
          if (shift > pageShift) {
            a.allowHugeVmap = true
            a.pageOrder = shift - pageShift
          }
        }
        return
      }
      case 'vunmap':
        if (ev.addr === undefined || ev.end === undefined) return
        this.vmMaps++
        return void vunmapRange(ctx, ev.addr, ev.end)
      case 'vm_free':
        if (ev.fn === 'free_vmap_area_noflush' && ev.addr !== undefined) this.areas.free(ev.addr)
        return
      case 'vm_purge':
        if (ev.addr !== undefined && ev.end !== undefined) this.areas.purge(ev.addr, ev.end)
        return
      case 'other':
        // kretprobe of __vmalloc_node_range_noprof: the area at the returned address is VM_ALLOC.
        if (ev.kind === 'return' && ev.addr !== undefined && FUNCTIONS[ev.fn]?.kind === 'vm_alloc') {
          this.sawAllocReturn = true
          const a = this.areas.find(ev.addr)
          if (a) a.alloc = true
        }
        return
    }
  }

  /** Flag a call on memory the snapshot does not describe (none entries or no table at all). */
  private present(addr: number, size: number, out: ApplyOutcome): void {
    // Every page in a run that is neither a gap nor a hole (shapeAt: no callback, no objects).
    const pt = this.ctx.pt
    const end = addr + size
    if (!(size > 0) || addr < 0 || end > KVA_END) {
      if (size !== 0) out.unknownMemory = true
      return
    }
    for (let a = addr; a < end; a = pt.runEnd) {
      const m = pt.shapeAt(a)
      if (m === NO_RUN || metaProt(m) === HOLE) {
        out.unknownMemory = true
        return
      }
    }
  }

  private dispatch(intent: Intent, out: ApplyOutcome): void {
    const ctx = this.ctx
    const ev = intent.ev
    const page = ctx.geo.pageSize
    switch (intent.type) {
      case 'set_memory': {
        if (ev.addr === undefined) return void (out.unknownMemory = true)
        const pages = ev.pages ?? (ev.size ? ev.size / page : 1)
        const area = this.area(intent, ev.addr, pages)
        this.present(ev.addr, pages * page, out)
        switch (ev.op) {
          case 'ro':
            return void setMemoryRo(ctx, ev.addr, pages, area)
          case 'rw':
            return void setMemoryRw(ctx, ev.addr, pages, area)
          case 'x':
            return void setMemoryX(ctx, ev.addr, pages, area)
          case 'nx':
            return void setMemoryNx(ctx, ev.addr, pages, area)
          case 'rox':
            return void setMemoryRox(ctx, ev.addr, pages, area)
          default:
            return
        }
      }
      case 'change_range': {
        if (ev.addr === undefined || ev.setMask === undefined || ev.clearMask === undefined) return void (out.unknownMemory = true)
        if (ev.fn === 'change_memory_common') {
          const pages = ev.pages ?? (ev.size ? ev.size / page : 1)
          this.present(ev.addr, pages * page, out)
          if (!opFromMasks(ev.setMask, ev.clearMask) && ev.setMask === 0n && ev.clearMask === 0n) return
          return void changeMemoryCommon(ctx, ev.addr, pages, ev.setMask, ev.clearMask, this.area(intent, ev.addr, pages))
        }
        const size = ev.size ?? (ev.pages ?? 1) * page
        this.present(ev.addr, size, out)
        if (ev.fn === 'update_range_prot') return void updateRangeProt(ctx, ev.addr, size, ev.setMask, ev.clearMask)
        return void __changeMemoryCommon(ctx, ev.addr, size, ev.setMask, ev.clearMask)
      }
      case 'set_memory_valid': {
        if (ev.addr === undefined) return void (out.unknownMemory = true)
        const pages = ev.pages ?? 1
        this.present(ev.addr, pages * page, out)
        return void setMemoryValid(ctx, ev.addr, pages, ev.enable ?? true)
      }
      case 'set_direct_map': {
        const addr = ev.addr ?? intent.nested.find((n) => n.kind === 'change_range' && n.addr !== undefined)?.addr
        if (addr === undefined) return void (out.unknownMemory = true)
        this.present(addr, page, out)
        if (ev.op === 'invalid') return void setDirectMapInvalidNoflush(ctx, addr)
        if (ev.op === 'default') return void setDirectMapDefaultNoflush(ctx, addr)
        return void setDirectMapValidNoflush(ctx, addr, ev.pages ?? 1, ev.enable ?? true)
      }
      default:
        return this.vm(intent)
    }
  }
}

/**
 * Backing pages of a huge area from the alias hits of a call on part of it: the hits name the
 * pages from `first` on; a PMD-order page is physically contiguous, so page i of the area is the
 * first hit's page shifted by (i − first) pages. `page` is PAGE_SIZE (a one-page call has a single
 * hit, from which no stride can be read).
 */
function padAlias(hits: Kva[], first: number, page: number): Kva[] {
  if (!hits.length) return hits
  const base = hits[0]! - first * page
  const out: Kva[] = []
  for (let i = 0; i < first + hits.length; i++) out.push(i < first ? base + i * page : hits[i - first]!)
  return out
}

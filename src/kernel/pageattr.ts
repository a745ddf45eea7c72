/**
 * Permission changes on kernel mappings: arch/arm64/mm/pageattr.c.
 *
 * Two generations are modelled:
 * - 6.18+ (read in v6.19.9): update_range_prot() = split_kernel_leaf_mapping() at the range ends,
 *   then walk_kernel_page_table_range_lockless() with pageattr_ops, which rewrite whole blocks
 *   (pageattr_pud/pmd_entry) and each PTE (pageattr_pte_entry); a block only partly in range is a
 *   WARN_ON_ONCE and -EINVAL (what happens without BBML2).
 * - ≤6.17 (read in 6.1/6.12): apply_to_page_range(&init_mm, …, change_page_range) — PTEs only; a
 *   block in range is WARN_ON_ONCE(pmd_leaf()) and -EINVAL in apply_to_pmd_range() (mm/memory.c).
 *
 * All public functions take the hardware set/clear masks (bigint, pgtable-hwdef.h bits) the kernel
 * passes; PTE_WRITE (DBM) is invisible in ptdump and so not in our Prot.
 */
import {pageToVirt} from '../model/memory.js'
import {type Kva, alignDown, alignUp, formatKva, isAligned} from '../model/address.js'
import {ModelError} from '../model/model-error.js'
import {HOLE, NO_RUN, metaCont, metaLvl, metaProt} from '../model/run.js'
import {HW, type Prot, protBitsOfMaskCached} from '../model/prot.js'
import {collapseAfterChange, tryCollapseAliasesOf, tryCollapseVmallocRange} from './collapse.js'
import {
  EINVAL,
  type KernelContext,
  canSetDirectMap,
  hasLeafSplit,
  inLinearMap,
  kernelError,
  kernelWarn,
  leafPresent,
  leafValid,
} from './context.js'
import {splitKernelLeafMapping} from './split.js'
import type {VmStruct} from './vmalloc.js'
import {versionHas} from './version.js'

/** PTE_MAYBE_GP (asm/pgtable-prot.h): PTE_GP when system_supports_bti_kernel() (cfg.bti), else 0. */
export const PTE_MAYBE_GP = (ctx: KernelContext): bigint => (ctx.cfg.bti ? HW.PTE_GP : 0n)

export type SetMemoryOp = 'ro' | 'rw' | 'x' | 'nx'

/**
 * The (set_mask, clear_mask) each set_memory_* passes to change_memory_common() (pageattr.c):
 * ro (PTE_RDONLY, PTE_WRITE), rw (PTE_WRITE, PTE_RDONLY), nx (PTE_PXN, PTE_MAYBE_GP),
 * x (PTE_MAYBE_GP, PTE_PXN). `bti`: system_supports_bti_kernel().
 */
export function setMemoryMasks(op: SetMemoryOp, bti: boolean): readonly [set: bigint, clear: bigint] {
  const gp = bti ? HW.PTE_GP : 0n
  switch (op) {
    case 'ro':
      return [HW.PTE_RDONLY, HW.PTE_WRITE]
    case 'rw':
      return [HW.PTE_WRITE, HW.PTE_RDONLY]
    case 'nx':
      return [HW.PTE_PXN, gp]
    case 'x':
      return [gp, HW.PTE_PXN]
  }
}

/** set_direct_map_invalid_noflush() / _default_noflush() masks (pageattr.c): (0, PTE_VALID) and (PTE_VALID | PTE_WRITE, PTE_RDONLY). */
export const DIRECT_MAP_INVALID_MASKS: readonly [bigint, bigint] = [0n, HW.PTE_VALID]
export const DIRECT_MAP_DEFAULT_MASKS: readonly [bigint, bigint] = [HW.PTE_VALID | HW.PTE_WRITE, HW.PTE_RDONLY]

// -----------------------------------------------------------------------------------------------
// The permission walks.

/**
 * walk_kernel_page_table_range_lockless(start, end, &pageattr_ops) (pageattr.c, v6.19.9):
 * pageattr_pud_entry/pageattr_pmd_entry rewrite a valid block (pud_sect/pmd_sect) only if the
 * range covers it whole, else WARN_ON_ONCE + -EINVAL (the walk stops there; entries before it are
 * already rewritten); pageattr_pte_entry rewrites every PTE.
 */
export function pageattrWalk(ctx: KernelContext, start: Kva, end: Kva, set: Prot, clear: Prot): number {
  const pt = ctx.pt
  let addr = start
  // One stored run at a time (shapeAt: no Run objects), clipped to [start, end). shapeAt()
  // guarantees runStart <= addr < runEnd (outside [0, KVA_END) too), so addr strictly grows.
  while (addr < end) {
    const m = pt.shapeAt(addr)
    const rEnd = pt.runEnd < end ? pt.runEnd : end
    if (!(rEnd > addr)) throw new ModelError(`pageattr walk stuck at ${formatKva(addr)}`)
    const prot = metaProt(m)
    if (m === NO_RUN || prot === HOLE) {
      addr = rEnd
      continue
    }
    const lvl = metaLvl(m)
    const rStart = addr
    if (lvl >= 1) {
      const size = ctx.geo.entrySize[lvl]!
      if (!leafValid(prot)) {
        // Not p?d_sect(): the 6.19 callbacks leave it; the walker has no table to descend into.
        kernelWarn(ctx, 'pageattr-invalid-block', 'pageattr_walk', rStart, 'invalid block in range left unchanged')
        addr = rEnd
        continue
      }
      if (!isAligned(rStart, size)) return partialBlock(ctx, rStart, lvl)
      const fullEnd = alignDown(rEnd, size)
      rewrite(ctx, rStart, fullEnd, lvl, metaCont(m), set, clear)
      if (fullEnd < rEnd) return partialBlock(ctx, fullEnd, lvl)
      addr = rEnd
      continue
    }
    rewrite(ctx, rStart, rEnd, 0, metaCont(m), set, clear)
    addr = rEnd
  }
  return 0
}

function partialBlock(ctx: KernelContext, addr: Kva, lvl: number): number {
  const fn = lvl >= 2 ? 'pageattr_pud_entry' : 'pageattr_pmd_entry'
  kernelWarn(ctx, 'pageattr-partial-block', fn, addr, 'range covers part of a block')
  return kernelError(ctx, EINVAL, fn, addr, 'permission change on part of a block')
}

/**
 * Rewrite [s, e) at one level. If a contiguous group is only partly covered, the kernel writes
 * differing attributes under PTE_CONT (a misprogramming the TLB may not tolerate); the model keeps
 * runs canonical by clearing CONT on that group, and counts it.
 */
function rewrite(ctx: KernelContext, s: Kva, e: Kva, lvl: number, cont: boolean, set: Prot, clear: Prot): void {
  if (e <= s) return
  if (cont) {
    const g = lvl === 0 ? ctx.geo.contPteSize : ctx.geo.contPmdSize
    if (!isAligned(s, g) || !isAligned(e, g)) {
      kernelWarn(ctx, 'cont-partial-rewrite', 'pageattr', s, `permission change on part of a contiguous group ${formatKva(s)}-${formatKva(e)}`)
      if (!isAligned(s, g)) ctx.pt.setCont(alignDown(s, g), alignDown(s, g) + g, false)
      if (!isAligned(e, g)) ctx.pt.setCont(alignDown(e, g), alignUp(e, g), false)
    }
  }
  ctx.pt.setProt(s, e, set, clear)
}

/**
 * update_range_prot(start, size, set_mask, clear_mask) (pageattr.c, v6.19.9): split at both ends
 * (WARN_ON_ONCE and return on error), then the pageattr walk.
 */
export function updateRangeProt(ctx: KernelContext, start: Kva, size: number, setMask: bigint, clearMask: bigint): number {
  ctx.counters.update_range_prot++
  const ret = splitKernelLeafMapping(ctx, start, start + size)
  if (ret) {
    kernelWarn(ctx, 'update-range-prot-split-failed', 'update_range_prot', start, `split_kernel_leaf_mapping returned ${ret}`)
    return ret
  }
  return pageattrWalk(ctx, start, start + size, protBitsOfMaskCached(setMask), protBitsOfMaskCached(clearMask))
}

/**
 * apply_to_page_range(&init_mm, start, size, change_page_range, &data) as ≤6.17 pageattr.c uses
 * it (mm/memory.c): PTEs get `(pte & ~clear) | set`; any PUD/PMD leaf in range is
 * WARN_ON_ONCE(p?d_leaf()) → -EINVAL, even when fully covered (≤5.12: BUG_ON(pmd_huge)).
 * Creating tables through holes (create=true) is not modelled: holes stay holes, with a warning.
 */
export function applyToPageRange(ctx: KernelContext, start: Kva, size: number, setMask: bigint, clearMask: bigint): number {
  ctx.counters.apply_to_page_range++
  const set = protBitsOfMaskCached(setMask)
  const clear = protBitsOfMaskCached(clearMask)
  const pt = ctx.pt
  const end = start + size
  let addr = start
  while (addr < end) {
    const r = pt.firstRun(addr, end)
    if (!r) break
    if (r.prot === HOLE) {
      kernelWarn(ctx, 'permission-change-on-unmapped', 'apply_to_page_range', r.start, 'range crosses unmapped entries')
      addr = r.end
      continue
    }
    if (r.lvl >= 1) {
      const fn = r.lvl >= 2 ? 'apply_to_pud_range' : 'apply_to_pmd_range'
      kernelWarn(ctx, 'apply-to-page-range-block', fn, r.start, 'block in a PTE-level permission change')
      return kernelError(ctx, EINVAL, fn, r.start, 'block mapping in apply_to_page_range')
    }
    rewrite(ctx, r.start, r.end, 0, r.cont, set, clear)
    addr = r.end
  }
  return 0
}

// -----------------------------------------------------------------------------------------------
// Callers.

/**
 * __change_memory_common(start, size, set_mask, clear_mask) (pageattr.c): 6.18+ update_range_prot()
 * and a TLB flush unless the change only sets PTE_VALID; ≤6.17 apply_to_page_range() and a flush.
 * Under a comparison policy (ctx.cpa, e.g. x86-cpa) the change goes through its mechanism instead.
 */
export function __changeMemoryCommon(ctx: KernelContext, start: Kva, size: number, setMask: bigint, clearMask: bigint): number {
  ctx.counters.__change_memory_common++
  let ret: number
  if (ctx.cpa) {
    ret = ctx.cpa.changeRange(ctx, start, start + size, protBitsOfMaskCached(setMask), protBitsOfMaskCached(clearMask))
    ctx.counters.flush_tlb_kernel_range++
  } else if (hasLeafSplit(ctx.cfg)) {
    ret = updateRangeProt(ctx, start, size, setMask, clearMask)
    if (!(setMask === HW.PTE_VALID && clearMask === 0n)) ctx.counters.flush_tlb_kernel_range++
  } else {
    ret = applyToPageRange(ctx, start, size, setMask, clearMask)
    ctx.counters.flush_tlb_kernel_range++
  }
  if (ctx.cfg.collapse === 'general') collapseAfterChange(ctx, start, start + size, {})
  return ret
}

/** PMD order (PMD_SHIFT − PAGE_SHIFT): 9 / 11 / 13 for 4K / 16K / 64K. */
function pmdOrder(ctx: KernelContext): number {
  return ctx.geo.pageShift - 3
}

/**
 * change_memory_common(addr, numpages, set_mask, clear_mask) (pageattr.c): the set_memory_ro/rw/
 * x/nx path. find_vm_area() must find one area covering the range: none (a linear-map address) →
 * -EINVAL; not VM_ALLOC → -EINVAL; VM_ALLOW_HUGE_VMAP → -EINVAL from 6.16
 * (VERSION_GATES.hugeVmapBailout). Then with rodata_full and an RDONLY change the linear alias is
 * updated page by page: 6.19+ only area->pages[idx .. idx + numpages) (VERSION_GATES.aliasLoopInRange),
 * 6.18 all area->nr_pages returning on the first error, ≤6.17 all area->nr_pages with errors
 * ignored; then vm_unmap_aliases() and the range itself (v7.3.4 the same as v6.19.9).
 * Without `area` outside the linear map the vm_area checks are skipped (the trace does not say
 * which area it is) and alias updates are counted as unknown.
 */
export function changeMemoryCommon(ctx: KernelContext, addr: Kva, numpages: number, setMask: bigint, clearMask: bigint, area?: VmStruct): number {
  ctx.counters.change_memory_common++
  // A comparison policy (x86-cpa) takes the whole call: no find_vm_area(), its own alias handling.
  if (ctx.cpa) return ctx.cpa.changeMemoryCommon(ctx, addr, numpages, setMask, clearMask, area)
  const page = ctx.geo.pageSize
  const v = ctx.cfg.version
  // 6.18+: __change_memory_common() can fail (a split), and the alias loop returns its error (commit a166563e7ec3
  // ("arm64: mm: support large block mapping when rodata=full") (in v6.18)).
  const aliasErrorsReturn = hasLeafSplit(ctx.cfg)
  const aliasInRange = versionHas(v, 'aliasLoopInRange')
  let start = addr
  const size = page * numpages
  if (!isAligned(addr, page)) {
    start = alignDown(addr, page)
    kernelWarn(ctx, 'change-memory-common-unaligned', 'change_memory_common', addr, 'address not page-aligned')
  }
  const end = start + size
  if (!area && inLinearMap(ctx, start)) {
    return kernelError(ctx, EINVAL, 'change_memory_common', start, 'find_vm_area() found no vm_struct (a linear-map address)')
  }
  if (area) {
    if (start < area.addr || end > area.addr + area.size) {
      return kernelError(ctx, EINVAL, 'change_memory_common', start, 'range not inside one vm_area')
    }
    // RFC 2/6 ("allow huge vmap permission adjustments with bbml2_no_abort", docs/collapse-proposals.md) lifts the huge-vmap bail-out for the collapse variants.
    const hugeAllowed = (ctx.cfg.hugeVmapPerms ?? ctx.cfg.collapse !== 'none') && ctx.cfg.bbml2
    if (area.alloc === false || (versionHas(v, 'hugeVmapBailout') && area.allowHugeVmap && !hugeAllowed)) {
      return kernelError(ctx, EINVAL, 'change_memory_common', start, 'vm_area is not VM_ALLOC (or is VM_ALLOW_HUGE_VMAP)')
    }
  }
  if (numpages === 0) return 0

  const rdonlyChange = setMask === HW.PTE_RDONLY || clearMask === HW.PTE_RDONLY
  if (ctx.cfg.rodataFull && rdonlyChange) {
    const first = aliasInRange ? Math.round((start - (area?.addr ?? start)) / page) : 0
    const count = aliasInRange ? numpages : (area?.nrPages ?? area?.pages?.length ?? numpages)
    const pages = area?.pages
    if (!pages || pages.length < first + count) {
      ctx.aliasUpdatesUnknown += count
    } else if (ctx.cfg.collapse === 'order-aware' && (area?.pageOrder ?? 0) > 0) {
      const ret = orderAwareAliasLoop(ctx, pages, first, count, area!.pageOrder!, setMask, clearMask)
      if (ret && aliasErrorsReturn) return ret
    } else {
      for (let i = first; i < first + count; i++) {
        const ret = __changeMemoryCommon(ctx, pages[i]!, page, setMask, clearMask)
        if (ret && aliasErrorsReturn) return ret
      }
    }
    // RFC 6/6 call site: inside the rodata_full block, after the loop.
    if (setMask === HW.PTE_RDONLY && area?.allowHugeVmap) tryCollapseAliasesOf(ctx, area, first, count)
  }

  ctx.counters.vm_unmap_aliases++
  const ret = __changeMemoryCommon(ctx, start, size, setMask, clearMask)
  if (area && setMask === HW.PTE_RDONLY && area.allowHugeVmap && (ctx.cfg.collapse === 'both' || ctx.cfg.collapse === 'order-aware')) {
    if ((area.pageOrder ?? 0) >= pmdOrder(ctx)) tryCollapseVmallocRange(ctx, start, end)
  }
  return ret
}

/**
 * Ryan Roberts' review of RFC 6/6 (https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com,
 * docs/collapse-proposals.md point 4): walk the linear alias in area->page_order chunks, one
 * __change_memory_common() per run of pages inside one backing huge page, so a whole 2M page is
 * re-permissioned without splitting and a sub-range splits only at its ends. *Proposed.*
 */
function orderAwareAliasLoop(ctx: KernelContext, pages: readonly Kva[], first: number, count: number, order: number, setMask: bigint, clearMask: bigint): number {
  const page = ctx.geo.pageSize
  const chunk = 2 ** order
  let i = first
  const stop = first + count
  while (i < stop) {
    let j = i + 1
    const chunkEnd = (Math.floor(i / chunk) + 1) * chunk
    while (j < stop && j < chunkEnd && pages[j] === pages[i]! + (j - i) * page) j++
    const ret = __changeMemoryCommon(ctx, pages[i]!, (j - i) * page, setMask, clearMask)
    if (ret) return ret
    i = j
  }
  return 0
}

/** set_memory_ro() (pageattr.c): set PTE_RDONLY, clear PTE_WRITE. */
export function setMemoryRo(ctx: KernelContext, addr: Kva, numpages: number, area?: VmStruct): number {
  ctx.counters.set_memory_ro++
  return changeMemoryCommon(ctx, addr, numpages, ...setMemoryMasks('ro', ctx.cfg.bti), area)
}

/** set_memory_rw() (pageattr.c): set PTE_WRITE, clear PTE_RDONLY. */
export function setMemoryRw(ctx: KernelContext, addr: Kva, numpages: number, area?: VmStruct): number {
  ctx.counters.set_memory_rw++
  return changeMemoryCommon(ctx, addr, numpages, ...setMemoryMasks('rw', ctx.cfg.bti), area)
}

/** set_memory_nx() (pageattr.c): set PTE_PXN, clear PTE_MAYBE_GP. */
export function setMemoryNx(ctx: KernelContext, addr: Kva, numpages: number, area?: VmStruct): number {
  ctx.counters.set_memory_nx++
  return changeMemoryCommon(ctx, addr, numpages, ...setMemoryMasks('nx', ctx.cfg.bti), area)
}

/** set_memory_x() (pageattr.c): set PTE_MAYBE_GP, clear PTE_PXN. */
export function setMemoryX(ctx: KernelContext, addr: Kva, numpages: number, area?: VmStruct): number {
  ctx.counters.set_memory_x++
  return changeMemoryCommon(ctx, addr, numpages, ...setMemoryMasks('x', ctx.cfg.bti), area)
}

/** set_memory_rox() (include/linux/set_memory.h, arm64 has no override): set_memory_ro() then set_memory_x(). */
export function setMemoryRox(ctx: KernelContext, addr: Kva, numpages: number, area?: VmStruct): number {
  const ret = setMemoryRo(ctx, addr, numpages, area)
  if (ret) return ret
  return setMemoryX(ctx, addr, numpages, area)
}

/** set_memory_valid(addr, numpages, enable) (pageattr.c, ≤v6.19.9): set or clear PTE_VALID on any kernel VA. */
export function setMemoryValid(ctx: KernelContext, addr: Kva, numpages: number, enable: boolean): number {
  ctx.counters.set_memory_valid++
  const size = ctx.geo.pageSize * numpages
  return enable ? __changeMemoryCommon(ctx, addr, size, HW.PTE_VALID, 0n) : __changeMemoryCommon(ctx, addr, size, 0n, HW.PTE_VALID)
}

/** The no-flush direct-map update: update_range_prot() in 6.18+, apply_to_page_range() before. */
function directMapUpdate(ctx: KernelContext, addr: Kva, setMask: bigint, clearMask: bigint): number {
  const page = ctx.geo.pageSize
  if (ctx.cpa) return ctx.cpa.changeRange(ctx, addr, addr + page, protBitsOfMaskCached(setMask), protBitsOfMaskCached(clearMask))
  if (hasLeafSplit(ctx.cfg)) return updateRangeProt(ctx, addr, page, setMask, clearMask)
  return applyToPageRange(ctx, addr, page, setMask, clearMask)
}

/**
 * set_direct_map_invalid_noflush(page) (pageattr.c): 0 if !can_set_direct_map(), else clear
 * PTE_VALID on the page's linear address. `pageAddr` is page_address(page) (see pageAddress()).
 */
export function setDirectMapInvalidNoflush(ctx: KernelContext, pageAddr: Kva): number {
  ctx.counters.set_direct_map_invalid_noflush++
  if (!canSetDirectMap(ctx.cfg)) return 0
  return directMapUpdate(ctx, pageAddr, ...DIRECT_MAP_INVALID_MASKS)
}

/** set_direct_map_default_noflush(page) (pageattr.c): set PTE_VALID | PTE_WRITE, clear PTE_RDONLY. */
export function setDirectMapDefaultNoflush(ctx: KernelContext, pageAddr: Kva): number {
  ctx.counters.set_direct_map_default_noflush++
  if (!canSetDirectMap(ctx.cfg)) return 0
  return directMapUpdate(ctx, pageAddr, ...DIRECT_MAP_DEFAULT_MASKS)
}

/**
 * set_direct_map_valid_noflush(page, nr, valid) (pageattr.c, present in 6.19.9, absent in 6.12):
 * 0 if !can_set_direct_map(), else set_memory_valid().
 */
export function setDirectMapValidNoflush(ctx: KernelContext, pageAddr: Kva, nr: number, valid: boolean): number {
  ctx.counters.set_direct_map_valid_noflush++
  if (!canSetDirectMap(ctx.cfg)) return 0
  return setMemoryValid(ctx, pageAddr, nr, valid)
}

/**
 * vm_reset_perms(area) (mm/vmalloc.c, VM_FLUSH_RESET_PERMS): set_area_direct_map(area,
 * set_direct_map_invalid_noflush), _vm_unmap_aliases() with the flush, then
 * set_area_direct_map(area, set_direct_map_default_noflush) — once per PAGE_SIZE page, even for
 * huge vmalloc. Pages unknown → nothing can be replayed; returns the number of pages done.
 */
export function vmResetPerms(ctx: KernelContext, area: VmStruct): number {
  const pages = area.pages ?? []
  for (const p of pages) setDirectMapInvalidNoflush(ctx, p)
  ctx.counters.vm_unmap_aliases++
  ctx.counters.flush_tlb_kernel_range++
  for (const p of pages) setDirectMapDefaultNoflush(ctx, p)
  return pages.length
}

/** page_address(page) for a struct page pointer in the vmemmap: page_to_virt() (src/model/memory.ts). */
export const pageAddress = pageToVirt

/** True if every page in [addr, addr+size) is mapped by a present leaf (for tests and the engine). */
export function rangePresent(ctx: KernelContext, addr: Kva, size: number): boolean {
  for (const r of ctx.pt.runs(addr, addr + size)) if (!leafPresent(r.prot)) return false
  let covered = 0
  for (const r of ctx.pt.runs(addr, addr + size)) covered += r.end - r.start
  return covered === size
}


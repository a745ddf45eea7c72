/**
 * COMPARISON POLICY, not arm64 behaviour: x86's change_page_attr (arch/x86/mm/pat/set_memory.c,
 * collapse since commit 41d88484c71c ("x86/mm/pat: restore large ROX pages after fragmentation")
 * (in v6.15), plus commit 1dbf30fdb5e5 ("x86/mm/pat: don't collapse pages without PSE set")
 * (in v6.16)) mapped onto the arm64 geometry: what the same trace would cost if
 * arm64 split and collapsed the way x86 does.
 *
 * Mapping: x86 1G/2M/4K pages = arm64 PUD/PMD/PTE leaves. x86 has no contiguous hint: a
 * contiguous group that a change covers only in part loses CONT (counted as split_contpte /
 * split_contpmd), and x86 splits produce non-contiguous entries.
 * - __change_page_attr() → should_split_large_page(): a large page kept if the request covers it
 *   whole or leaves its prot unchanged; otherwise split_large_page() one level (1G → 512 × 2M,
 *   2M → 512 × 4K; vmstat direct_map_level3_splits / direct_map_level2_splits for the direct map)
 *   and retry.
 * - cpa_collapse_large_pages() (CPA_COLLAPSE, from set_memory_rox()): for each PMD slot of the
 *   range, collapse_large_pages(): PUD present and not a leaf, PMD present and not a leaf →
 *   collapse_pmd_page() (PA PMD-aligned, all 512 PTEs present with identical flags and
 *   consecutive pfns), and if that worked collapse_pud_page() (all 512 PMDs leaves, identical
 *   flags, contiguous, PA PUD-aligned; requires direct_gbpages, here: PUD blocks exist).
 */
import {type Kva, alignDown, alignUp, formatKva, isAligned} from '../model/address.js'
import {ModelError} from '../model/model-error.js'
import {HW, type Prot, applySetClear, protBitsOfMaskCached} from '../model/prot.js'
import {type CollapseOpts, tryCollapseKernelPmd, tryCollapseKernelPud} from './collapse.js'
import {type ComparisonCpa, ENOMEM, type KernelContext, allocTablePage, inLinearMap, kernelError} from './context.js'

/**
 * __change_page_attr_set_clr() over [start, end) with x86's split policy. Returns 0 or -ENOMEM.
 */
export function cpaChangeRange(ctx: KernelContext, start: Kva, end: Kva, set: Prot, clear: Prot, out?: {changed: boolean}): number {
  const pt = ctx.pt
  const geo = ctx.geo
  let addr = start
  while (addr < end) {
    const r = pt.firstRun(addr, end, true)
    if (!r) break
    const newProt = applySetClear(r.prot, set, clear)
    if (r.lvl >= 1) {
      const size = geo.entrySize[r.lvl]!
      const es = alignDown(r.start, size)
      const covered = es >= start && es + size <= end
      if (!covered && newProt !== r.prot) {
        // split_large_page(): one level down, no contiguous hint.
        if (r.cont) {
          if (r.lvl === 1) ctx.counters.split_contpmd++
          pt.clearContGroup(es)
        }
        if (!allocTablePage(ctx)) return kernelError(ctx, ENOMEM, 'split_large_page', es, 'page-table allocation failed')
        // addr stays and the level at addr drops by one: at most `levels` rounds. A block the
        // model cannot split (a misaligned run from a damaged dump) must not loop.
        if (!pt.splitEntry(r.start, false)) throw new ModelError(`split_large_page: no block to split at ${formatKva(r.start)}`)
        if (inLinearMap(ctx, es)) {
          if (r.lvl >= 2) ctx.counters.direct_map_level3_splits++
          else ctx.counters.direct_map_level2_splits++
        }
        if (r.lvl >= 2) ctx.counters.split_pud++
        else ctx.counters.split_pmd++
        if (out) out.changed = true // split_large_page() sets CPA_FLUSHTLB
        continue
      }
      // Whole large pages inside the range keep their size (try_preserve_large_page()); so do
      // large pages the change leaves as they are.
      const e = covered ? Math.min(r.end, alignDown(end, size)) : Math.min(r.end, es + size)
      if (newProt !== r.prot) {
        rewriteWhole(ctx, r.start, e, r.lvl, r.cont, set, clear)
        if (out) out.changed = true
      }
      addr = e
      continue
    }
    if (newProt !== r.prot) {
      rewriteWhole(ctx, r.start, r.end, 0, r.cont, set, clear)
      if (out) out.changed = true
    }
    addr = r.end
  }
  return 0
}

function rewriteWhole(ctx: KernelContext, s: Kva, e: Kva, lvl: number, cont: boolean, set: Prot, clear: Prot): void {
  if (e <= s) return
  if (cont) {
    const g = lvl === 0 ? ctx.geo.contPteSize : ctx.geo.contPmdSize
    for (const edge of [s, e]) {
      if (!isAligned(edge, g)) {
        if (lvl === 0) ctx.counters.split_contpte++
        else ctx.counters.split_contpmd++
        ctx.pt.setCont(alignDown(edge, g), alignUp(edge, g), false)
      }
    }
  }
  ctx.pt.setProt(s, e, set, clear)
}

/**
 * cpa_collapse_large_pages() for a non-array request: addr from start & PMD_MASK while within
 * [start, end), collapse_large_pages(addr). Counts collapse_pmd/collapse_pud and, for the direct
 * map, direct_map_level2_collapses / direct_map_level3_collapses (collapse_page_count()).
 */
export function cpaCollapseLargePages(ctx: KernelContext, start: Kva, end: Kva, opts: CollapseOpts = {}): number {
  const pmdSize = ctx.geo.entrySize[1]!
  let collapsed = 0
  for (let a = alignDown(start, pmdSize); a < end; a += pmdSize) collapsed += collapseLargePages(ctx, a, opts)
  if (collapsed) ctx.counters.flush_tlb_kernel_range++ // flush_tlb_all()
  return collapsed
}

/** collapse_large_pages(addr) (x86 set_memory.c): collapse_pmd_page(), then collapse_pud_page() if that worked. */
export function collapseLargePages(ctx: KernelContext, addr: Kva, opts: CollapseOpts = {}): number {
  const pmdSize = ctx.geo.entrySize[1]!
  const a = alignDown(addr, pmdSize)
  if (ctx.pt.runAt(a)?.lvl !== 0) return 0 // PUD leaf, PMD leaf, or not present
  if (!tryCollapseKernelPmd(ctx, a, opts)) return 0
  let n = 1
  if (inLinearMap(ctx, a)) ctx.counters.direct_map_level2_collapses++
  if (ctx.geo.pudBlocks && ctx.geo.levels >= 3) {
    const pud = alignDown(a, ctx.geo.entrySize[2]!)
    if (tryCollapseKernelPud(ctx, pud, opts)) {
      n++
      if (inLinearMap(ctx, pud)) ctx.counters.direct_map_level3_collapses++
    }
  }
  return n
}

/** The pending first half of a generic set_memory_rox() (set_memory_ro() then set_memory_x()), per context. */
const pendingRo = new WeakMap<KernelContext, {addr: Kva; numpages: number; seq: number; changed: boolean}>()
const calls = new WeakMap<KernelContext, number>()

/**
 * change_page_attr_set_clr() (arch/x86/mm/pat/set_memory.c, v6.19) for set_memory_ro/rw/x/nx on the
 * arm64 geometry:
 * - no find_vm_area(): x86 changes any mapped range, so no -EINVAL for a linear-map address or an
 *   area that is not VM_ALLOC (arm64's change_memory_common() refuses those);
 * - __change_page_attr_set_clr() over the range (cpaChangeRange), then cpa_process_alias() for
 *   every page whose direct-map alias the trace names, with the masks minus NX ("Directmap always
 *   has NX set, do not modify"): here PXN and the BTI guard bit, so ro/rw reach the alias and x/nx
 *   do not, whatever rodata= says;
 * - CPA_COLLAPSE only from set_memory_rox() (commit 41d88484c71c, in v6.15), and only when the
 *   change set CPA_FLUSHTLB (something changed). arm64 has no native set_memory_rox(): the generic
 *   one (include/linux/set_memory.h, commit d48567c9a0d1 ("mm: Introduce set_memory_rox()") (in
 *   v6.2)) is set_memory_ro() then set_memory_x() on the same range, which is how it shows in a
 *   trace: the x call right after an ro call on the same range closes an rox.
 */
export function x86ChangePageAttrSetClr(ctx: KernelContext, addr: Kva, numpages: number, setMask: bigint, clearMask: bigint, area?: {addr: Kva; pages?: readonly Kva[]; pageOrder?: number}): number {
  const page = ctx.geo.pageSize
  const start = alignDown(addr, page)
  const end = start + numpages * page
  const seq = (calls.get(ctx) ?? 0) + 1
  calls.set(ctx, seq)
  const out = {changed: false}
  const ret = cpaChangeRange(ctx, start, end, protBitsOfMaskCached(setMask), protBitsOfMaskCached(clearMask), out)
  ctx.counters.flush_tlb_kernel_range++
  if (ret) return ret
  const aliasSet = setMask & ~(HW.PTE_PXN | HW.PTE_GP)
  const aliasClear = clearMask & ~(HW.PTE_PXN | HW.PTE_GP)
  if ((aliasSet || aliasClear) && !inLinearMap(ctx, start)) {
    const first = area ? Math.round((start - area.addr) / page) : 0
    const pages = area?.pages
    if (!pages || first < 0 || pages.length < first + numpages) ctx.aliasUpdatesUnknown += numpages
    else {
      // One alias change per step of the primary walk: cpa->numpages pages, 1 for a 4K page, the
      // rest of the large page for a preserved large page (try_preserve_large_page()); the pfns of
      // a large page are consecutive, so its alias is one range.
      for (let i = first; i < first + numpages; ) {
        const va = start + (i - first) * page
        const leaf = ctx.pt.runAt(va)
        let n = 1
        if (leaf && leaf.lvl >= 1) {
          const leafEnd = alignDown(va, ctx.geo.entrySize[leaf.lvl]!) + ctx.geo.entrySize[leaf.lvl]!
          const max = Math.min(first + numpages - i, (Math.min(leafEnd, end) - va) / page)
          while (n < max && pages[i + n] === pages[i]! + n * page) n++
        }
        const r = cpaChangeRange(ctx, pages[i]!, pages[i]! + n * page, protBitsOfMaskCached(aliasSet), protBitsOfMaskCached(aliasClear))
        if (r) return r
        i += n
      }
    }
  }
  const isRo = setMask === HW.PTE_RDONLY
  const isX = clearMask === HW.PTE_PXN
  const ro = pendingRo.get(ctx)
  pendingRo.delete(ctx)
  if (isRo) pendingRo.set(ctx, {addr: start, numpages, seq, changed: out.changed})
  else if (isX && ro && ro.addr === start && ro.numpages === numpages && ro.seq === seq - 1 && (ro.changed || out.changed)) {
    cpaCollapseLargePages(ctx, start, end, {physContiguous: (area?.pageOrder ?? 0) >= ctx.geo.pageShift - 3})
  }
  return 0
}

/**
 * The x86-cpa comparison policy as the hooks pageattr.c's callers take (KernelContext.cpa): every
 * range change through __change_page_attr_set_clr(), and CPA_COLLAPSE after a change that x86's
 * set_memory_rox() would make (arm64 traces show rox as set_memory_ro() then set_memory_x(), so
 * after either); the backing pages count as physically contiguous when the vm area's pages are
 * PMD-order (PMD_SHIFT − PAGE_SHIFT) or larger.
 */
export const X86_CPA: ComparisonCpa = {
  changeRange: cpaChangeRange,
  changeMemoryCommon: x86ChangePageAttrSetClr,
}

/**
 * Collapse of split kernel mappings back into blocks — *proposed*, not in any mainline kernel.
 *
 * Follows Adrian Barnaś, "[RFC PATCH 6/6] arm64: mm: support PMD page coalescing in the linear
 * map" (11 Jun 2026, series "arm64: mm: Introducing ROX CACHE to ARM64 systems with bbml2 no
 * abort"; thread https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/). Variants model Ryan Roberts' review
 * (19 Jun 2026, https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com): collapse the vmalloc
 * range too ('both'), use area->page_order ('both', 'order-aware'), and a general mechanism
 * ('general'). The variants side by side: docs/collapse-proposals.md.
 */
import {type Kva, alignDown, isAligned} from '../model/address.js'
import {P_VALID, type Prot} from '../model/prot.js'
import {NO_RUN, metaLvl, metaProt} from '../model/run.js'
import {type KernelContext, inLinearMap, kernelWarn} from './context.js'
import type {VmStruct} from './vmalloc.js'

export interface CollapseOpts {
  /**
   * The caller knows the range is backed by physically contiguous, suitably aligned memory (a
   * vmalloc area whose page_order ≥ the block order). In the linear map PA follows VA and this is
   * implied; elsewhere the PA is unknown and nothing is collapsed without it.
   */
  physContiguous?: boolean
}

function physOk(ctx: KernelContext, addr: Kva, opts: CollapseOpts): boolean {
  return opts.physContiguous === true || inLinearMap(ctx, addr)
}

/**
 * The prot every entry of [s, e) shares (CONT ignored: Prot never holds it), if all are valid
 * leaves at `lvl`; undefined otherwise. __pte_can_be_collapsed(): pte_valid, same prot ignoring
 * PTE_CONT (the pfn check is physOk()).
 */
function uniformProt(ctx: KernelContext, s: Kva, e: Kva, lvl: number): Prot | undefined {
  // One stored run at a time (shapeAt: no generator, no Run objects); a gap means not all covered.
  const pt = ctx.pt
  let prot: Prot | undefined
  for (let a = s; a < e; a = pt.runEnd) {
    const m = pt.shapeAt(a)
    const p = metaProt(m)
    if (m === NO_RUN || metaLvl(m) !== lvl || p < 0 || (p & P_VALID) === 0) return undefined
    if (prot === undefined) prot = p
    else if (p !== prot) return undefined
  }
  return prot
}

/**
 * try_collapse_kernel_pmd(addr) (RFC 6/6, mmu.c): addr must be PMD-aligned (WARN_ON otherwise);
 * pgd/p4d/pud present and the PUD not a leaf; the PMD must be a table; __try_collapse_pmd(): the
 * first PTE valid, its pfn PMD-aligned, all PTRS_PER_PTE PTEs valid with pfn = first + i and the
 * same prot ignoring PTE_CONT → set_pmd(pmd_mkhuge(pfn_pmd(pfn, prot))) and pte_free_kernel():
 * one PTE-table page freed. Returns true if it collapsed.
 */
export function tryCollapseKernelPmd(ctx: KernelContext, addr: Kva, opts: CollapseOpts = {}): boolean {
  ctx.counters.try_collapse_kernel_pmd++
  const pmdSize = ctx.geo.entrySize[1]!
  if (!isAligned(addr, pmdSize)) {
    kernelWarn(ctx, 'collapse-unaligned', 'try_collapse_kernel_pmd', addr, 'address not PMD-aligned')
    return false
  }
  const r = ctx.pt.runAt(addr)
  // lvl 0 at addr ⇔ every upper entry is a table and the PMD is a table (pmd_table()).
  if (!r || r.lvl !== 0) return false
  if (!physOk(ctx, addr, opts)) return false
  const prot = uniformProt(ctx, addr, addr + pmdSize, 0)
  if (prot === undefined) return false
  ctx.pt.collapseToLeaf(addr, 1, prot)
  ctx.counters.collapse_pmd++
  ctx.tablePagesFreed++
  return true
}

/**
 * The PUD analogue for the 'general' variant (no arm64 patch exists; modelled on x86
 * collapse_pud_page(), arch/x86/mm/pat/set_memory.c, commit 41d88484c71c
 * ("x86/mm/pat: restore large ROX pages after fragmentation") (in v6.15)): all PTRS_PER_PMD entries are
 * valid PMD leaves with one prot (CONT ignored), contiguous and PUD-aligned → one PUD block,
 * freeing the PMD table. Only where PUD blocks exist (4K granule).
 */
export function tryCollapseKernelPud(ctx: KernelContext, addr: Kva, opts: CollapseOpts = {}): boolean {
  if (!ctx.geo.pudBlocks || ctx.geo.levels < 3) return false
  const pudSize = ctx.geo.entrySize[2]!
  if (!isAligned(addr, pudSize)) return false
  const r = ctx.pt.runAt(addr)
  if (!r || r.lvl !== 1) return false
  if (!physOk(ctx, addr, opts)) return false
  const prot = uniformProt(ctx, addr, addr + pudSize, 1)
  if (prot === undefined) return false
  ctx.pt.collapseToLeaf(addr, 2, prot)
  ctx.counters.collapse_pud++
  ctx.tablePagesFreed++
  return true
}

/**
 * The RFC call site in change_memory_common() (inside the rodata_full block, after the alias
 * loop, when set_mask == PTE_RDONLY and the area is VM_ALLOW_HUGE_VMAP):
 * - 'rfc': try_collapse_kernel_pmd(page_address(area->pages[0])) — one PMD, WARN if the first
 *   page is not PMD-aligned (the review's page_order point, docs/collapse-proposals.md point 2).
 * - 'both' / 'order-aware': only when area->page_order ≥ PMD order, every distinct PMD of the
 *   linear alias of the pages in range (docs/collapse-proposals.md points 2 and 3).
 */
export function tryCollapseAliasesOf(ctx: KernelContext, area: VmStruct, first: number, count: number): void {
  const mode = ctx.cfg.collapse
  if (mode === 'none' || mode === 'general') return
  const pages = area.pages
  if (!pages || pages.length === 0) {
    kernelWarn(ctx, 'collapse-pages-unknown', 'try_collapse_kernel_pmd', area.addr, 'backing pages unknown: linear alias not collapsed')
    return
  }
  if (mode === 'rfc') {
    tryCollapseKernelPmd(ctx, pages[0]!)
    return
  }
  if ((area.pageOrder ?? 0) < ctx.geo.pageShift - 3) return
  const pmdSize = ctx.geo.entrySize[1]!
  let last = -1
  for (let i = first; i < first + count && i < pages.length; i++) {
    const slot = alignDown(pages[i]!, pmdSize)
    if (slot === last) continue
    last = slot
    tryCollapseKernelPmd(ctx, slot)
  }
}

/** Collapse the PMD slots of the vmalloc range [start, end) too (docs/collapse-proposals.md point 3; backing checked by the caller). */
export function tryCollapseVmallocRange(ctx: KernelContext, start: Kva, end: Kva): void {
  const pmdSize = ctx.geo.entrySize[1]!
  for (let a = alignDown(start, pmdSize); a < end; a += pmdSize) tryCollapseKernelPmd(ctx, a, {physContiguous: true})
}

/**
 * 'general' (docs/collapse-proposals.md point 5): after any permission change on [start, end), try every PMD slot it
 * touches, then every PUD slot. Cheap on a run model: slots whose entry is not a PTE table are
 * skipped after one lookup.
 */
export function collapseAfterChange(ctx: KernelContext, start: Kva, end: Kva, opts: CollapseOpts): void {
  const geo = ctx.geo
  const pmdSize = geo.entrySize[1]!
  for (let a = alignDown(start, pmdSize); a < end; a += pmdSize) {
    if (ctx.pt.runAt(a)?.lvl === 0) tryCollapseKernelPmd(ctx, a, opts)
  }
  if (!geo.pudBlocks || geo.levels < 3) return
  const pudSize = geo.entrySize[2]!
  for (let a = alignDown(start, pudSize); a < end; a += pudSize) {
    if (ctx.pt.runAt(a)?.lvl === 1) tryCollapseKernelPud(ctx, a, opts)
  }
}

import {describe, expect, it} from 'vitest'

import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {HW, P_PXN, P_RDONLY} from '../../src/model/prot.js'
import {tryCollapseKernelPmd, tryCollapseKernelPud} from '../../src/kernel/collapse.js'
import {__changeMemoryCommon, setMemoryNx, setMemoryRo, setMemoryRox, setMemoryRw, setMemoryX} from '../../src/kernel/pageattr.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {cpaChangeRange, cpaCollapseLargePages} from '../../src/kernel/x86-cpa.js'
import {G, K4, LIN, LIN_END, M2, M32, RW, VM, ctxFor, geo, run, shape} from './helpers.js'
import type {VmStruct} from '../../src/kernel/vmalloc.js'

const RO = RW | P_RDONLY
/** A ROX huge-vmalloc mapping: ro x. */
const ROX = RO & ~P_PXN

/**
 * Linear map: [0, 64M) non-cont PMD blocks RO (a region that backs an execmem ROX cache), the
 * rest of the first 1G PMD blocks RW; vmalloc: one 2M PMD block ROX at VM (a VM_ALLOW_HUGE_VMAP
 * page_order 9 area) backed by the linear page [LIN+2M, LIN+4M).
 */
function roxCache(): PageTables {
  return PageTables.fromRuns(geo, [
    run(LIN, LIN + 2 * M32, 1, RO),
    run(LIN + 2 * M32, LIN + G, 1, RW),
    run(LIN + G, LIN + 512 * G, 2, HOLE),
    run(LIN + 512 * G, LIN_END, 3, HOLE),
    run(LIN_END, VM, 2, HOLE),
    run(VM, VM + M2, 1, ROX),
    run(VM + M2, VM + G, 1, HOLE),
    run(VM + G, LIN_END + 512 * G, 2, HOLE),
  ])
}

const AREA: VmStruct = {
  addr: VM,
  size: M2 + K4,
  alloc: true,
  allowHugeVmap: true,
  nrPages: 512,
  pages: Array.from({length: 512}, (_, i) => LIN + M2 + i * K4),
  pageOrder: 9,
}

/** The execmem flow of the RFC cover: two pages flipped RW to copy text in, then back to RO. */
function execmemCopy(policy: Parameters<typeof makePolicy>[0]) {
  const pt = roxCache()
  const ctx = ctxFor(pt, makePolicy(policy).cfg)
  expect(setMemoryRw(ctx, VM + 8 * K4, 2, AREA)).toBe(0)
  const afterRw = [...pt.tables]
  expect(setMemoryRo(ctx, VM + 8 * K4, 2, AREA)).toBe(0)
  return {pt, ctx, afterRw}
}

describe('tryCollapseKernelPmd (RFC 6/6, docs/collapse-proposals.md)', () => {
  it('after restoring RO the linear alias collapses back: exactly one PTE table freed', () => {
    // set_memory_rw on pages 8..9 of the area: alias pages LIN+2M+32K.. split [LIN+2M, LIN+4M)
    // (split_pmd, cont PTEs, then split_contpte of [2M+0, 2M+64K)) — +1 PTE table — and the
    // vmalloc PMD block the same way — +1 PTE table. set_memory_ro restores RO; the RFC call
    // collapses page_address(area->pages[0]) = LIN+2M (PMD-aligned): all 512 PTEs valid, RO,
    // contiguous → one PMD leaf, one PTE table freed. The vmalloc side stays split.
    const {pt, ctx, afterRw} = execmemCopy('collapse-rfc')
    expect(afterRw).toEqual([2, 2, 2])
    expect(ctx.counters.collapse_pmd).toBe(1)
    expect(ctx.tablePagesFreed).toBe(1)
    expect(pt.tables).toEqual([1, 2, 2])
    expect(shape(pt, LIN + M2, LIN + 2 * M2)).toEqual([[0, M2, 1, false, RO]])
    expect(pt.runAt(VM)!.lvl).toBe(0)
    expect(pt.recountTables()).toEqual(pt.tables)
    expect(pt.check()).toEqual([])
  })

  it('bbml2 mainline: nothing merges back (the 6.19 huge-vmap bail-out is lifted only for collapse policies)', () => {
    const pt = roxCache()
    const ctx = ctxFor(pt, 'bbml2')
    expect(setMemoryRw(ctx, VM + 8 * K4, 2, AREA)).toBe(-22)
    // The same split pattern through the per-page path (as VM_ALLOC without HUGE_VMAP): no collapse.
    const ctx2 = ctxFor(roxCache(), 'bbml2')
    setMemoryRw(ctx2, VM + 8 * K4, 2, {...AREA, allowHugeVmap: false})
    setMemoryRo(ctx2, VM + 8 * K4, 2, {...AREA, allowHugeVmap: false})
    expect(ctx2.counters.collapse_pmd).toBe(0)
    expect(ctx2.pt.tables).toEqual([2, 2, 2])
  })

  it('collapse-both: the vmalloc range collapses too (page_order 9 = one contiguous 2M page)', () => {
    const {pt, ctx} = execmemCopy('collapse-both')
    expect(ctx.counters.collapse_pmd).toBe(2)
    expect(pt.tables).toEqual([0, 2, 2])
    expect(shape(pt, VM, VM + M2)).toEqual([[0, M2, 1, false, ROX]])
  })

  it('order-aware: changing a whole 2M backing page splits nothing in the linear map', () => {
    // The alias loop sends one __change_memory_common(LIN+2M, 2M): both ends PMD-aligned and the
    // PMD block non-cont → no split, the block is rewritten in place (pageattr_pmd_entry).
    const pt = roxCache()
    const ctx = ctxFor(pt, makePolicy('order-aware').cfg)
    setMemoryRw(ctx, VM, 512, AREA)
    expect(ctx.counters.split_pmd).toBe(0)
    expect(ctx.counters.__change_memory_common).toBe(2)
    expect(shape(pt, LIN + M2, LIN + 2 * M2)).toEqual([[0, M2, 1, false, RW]])
    // Per page (collapse-both): 512 alias calls and the first one splits the PMD.
    const ctx2 = ctxFor(roxCache(), makePolicy('collapse-both').cfg)
    setMemoryRw(ctx2, VM, 512, AREA)
    expect(ctx2.counters.__change_memory_common).toBe(513)
    expect(ctx2.counters.split_pmd).toBe(1)
  })

  it('refuses: unaligned address (WARN), mixed prot, a hole, a block, unknown PA outside the linear map', () => {
    const pt = PageTables.fromRuns(geo, [
      run(LIN, LIN + K4, 0, RO),
      run(LIN + K4, LIN + M2, 0, RW),
      run(LIN + M2, LIN + 2 * M2 - K4, 0),
      run(LIN + 2 * M2 - K4, LIN + 2 * M2, 0, HOLE),
      run(LIN + 2 * M2, LIN + G, 1),
      run(LIN + G, LIN + 512 * G, 2, HOLE),
    ])
    const ctx = ctxFor(pt, 'collapse-rfc')
    expect(tryCollapseKernelPmd(ctx, LIN + K4)).toBe(false)
    expect(ctx.warnings.countOf('collapse-unaligned')).toBe(1)
    expect(tryCollapseKernelPmd(ctx, LIN)).toBe(false)
    expect(tryCollapseKernelPmd(ctx, LIN + M2)).toBe(false)
    expect(tryCollapseKernelPmd(ctx, LIN + 2 * M2)).toBe(false)
    const noLinear = ctxFor(PageTables.fromRuns(geo, [run(LIN, LIN + M2, 0), run(LIN + M2, LIN + G, 1, HOLE), run(LIN + G, LIN + 512 * G, 2, HOLE)]), 'collapse-rfc')
    noLinear.linear = undefined
    expect(tryCollapseKernelPmd(noLinear, LIN)).toBe(false)
    expect(tryCollapseKernelPmd(noLinear, LIN, {physContiguous: true})).toBe(true)
  })

  it('collapse-general restores a split PUD block after the permission is restored', () => {
    // One page RO then back to RW inside a 1G PUD block: split_pud + split_pmd (+2 tables), then
    // the restore lets the general collapse fold the PTE table (collapse_pmd) and then the PMD
    // table (collapse_pud): back to one PUD block, both tables freed.
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + G, 2), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'collapse-general')
    __changeMemoryCommon(ctx, LIN + 0x12345000, K4, HW.PTE_RDONLY, 0n)
    expect(pt.tables).toEqual([1, 1, 1])
    __changeMemoryCommon(ctx, LIN + 0x12345000, K4, 0n, HW.PTE_RDONLY)
    expect(ctx.counters.collapse_pmd).toBe(1)
    expect(ctx.counters.collapse_pud).toBe(1)
    expect(pt.tables).toEqual([0, 0, 1])
    expect(shape(pt, LIN, LIN + G)).toEqual([[0, G, 2, false, RW]])
    expect(tryCollapseKernelPud(ctx, LIN)).toBe(false)
  })
})

describe('x86 CPA comparison (arch/x86/mm/pat/set_memory.c)', () => {
  it('splits one level at a time, only where a change covers part of a large page', () => {
    // One page in a 1G block: 1G → 512×2M (direct_map_level3_splits), then the 2M → 512×4K
    // (direct_map_level2_splits); no contiguous hint anywhere. +2 tables like arm64, but the
    // PMD neighbours stay non-cont 2M pages.
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + G, 2), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'x86-cpa')
    expect(cpaChangeRange(ctx, LIN + 0x12345000, LIN + 0x12346000, P_RDONLY, 0)).toBe(0)
    expect(ctx.counters).toMatchObject({direct_map_level3_splits: 1, direct_map_level2_splits: 1})
    expect(pt.tables).toEqual([1, 1, 1])
    expect(shape(pt, LIN + 0x12200000, LIN + 0x12400000, LIN + 0x12200000)).toEqual([
      [0, 0x145000, 0, false, RW],
      [0x145000, 0x146000, 0, false, RO],
      [0x146000, M2, 0, false, RW],
    ])
    // A whole 2M page in range keeps its size (try_preserve_large_page()).
    cpaChangeRange(ctx, LIN + 4 * M2, LIN + 5 * M2, P_RDONLY, 0)
    expect(pt.entryAt(LIN + 4 * M2)).toMatchObject({lvl: 1, prot: RO})
    expect(ctx.counters.direct_map_level2_splits).toBe(1)
  })

  it('CPA_COLLAPSE: collapse_pmd_page then collapse_pud_page once the attributes agree again', () => {
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + G, 2), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'x86-cpa')
    cpaChangeRange(ctx, LIN + 0x12345000, LIN + 0x12346000, P_RDONLY, 0)
    expect(cpaCollapseLargePages(ctx, LIN + 0x12345000, LIN + 0x12346000)).toBe(0)
    cpaChangeRange(ctx, LIN + 0x12345000, LIN + 0x12346000, 0, P_RDONLY)
    expect(cpaCollapseLargePages(ctx, LIN + 0x12345000, LIN + 0x12346000)).toBe(2)
    expect(ctx.counters).toMatchObject({direct_map_level2_collapses: 1, direct_map_level3_collapses: 1, collapse_pmd: 1, collapse_pud: 1})
    expect(pt.tables).toEqual([0, 0, 1])
  })
})

describe('x86 CPA comparison: the set_memory_* path (change_page_attr_set_clr, arch/x86/mm/pat/set_memory.c v6.19)', () => {
  /**
   * vmalloc [VM, VM+2M) PTE-mapped with `vmProt`, backed page for page by the linear 2M page
   * [LIN+2M, LIN+4M) (page_order 9); the linear map 2M PMD blocks RW.
   */
  function pteVmalloc(vmProt = RW): PageTables {
    return PageTables.fromRuns(geo, [
      run(LIN, LIN + G, 1, RW),
      run(LIN + G, LIN + 512 * G, 2, HOLE),
      run(LIN + 512 * G, LIN_END, 3, HOLE),
      run(LIN_END, VM, 2, HOLE),
      run(VM, VM + M2, 0, vmProt),
      run(VM + M2, VM + G, 1, HOLE),
      run(VM + G, LIN_END + 512 * G, 2, HOLE),
    ])
  }
  const PTE_AREA: VmStruct = {...AREA, allowHugeVmap: false}

  it('no find_vm_area(): an area that is not VM_ALLOC, or a linear-map address, changes anyway (arm64: -EINVAL)', () => {
    // arm64 change_memory_common() (pageattr.c v7.3): find_vm_area() and VM_ALLOC or -EINVAL.
    const arm = ctxFor(pteVmalloc(), 'bbml2')
    expect(setMemoryRo(arm, VM, 4, {...PTE_AREA, alloc: false})).toBe(-22)
    expect(setMemoryRo(arm, LIN + 8 * M2, 1)).toBe(-22)
    // x86 change_page_attr_set_clr(): no area lookup. The 4 vmalloc PTEs turn RO, and
    // cpa_process_alias() makes their direct-map pages [LIN+2M, LIN+2M+16K) RO: the 2M block
    // splits once (split_large_page(), direct_map_level2_splits), no contiguous hint.
    const pt = pteVmalloc()
    const ctx = ctxFor(pt, 'x86-cpa')
    expect(setMemoryRo(ctx, VM, 4, {...PTE_AREA, alloc: false})).toBe(0)
    expect(shape(pt, VM, VM + M2)).toEqual([
      [0, 4 * K4, 0, false, RO],
      [4 * K4, M2, 0, false, RW],
    ])
    expect(shape(pt, LIN + M2, LIN + 2 * M2)).toEqual([
      [0, 4 * K4, 0, false, RO],
      [4 * K4, M2, 0, false, RW],
    ])
    expect(ctx.counters).toMatchObject({split_pmd: 1, direct_map_level2_splits: 1})
    expect(setMemoryRo(ctx, LIN + 8 * M2, 1)).toBe(0)
    expect(pt.entryAt(LIN + 8 * M2)).toMatchObject({lvl: 0, prot: RO})
  })

  it('cpa_process_alias(): ro/rw reach the direct map whatever rodata= says; x/nx never do ("Directmap always has NX set")', () => {
    // rodata=on (rodata_full false): arm64 would leave the alias alone; x86 updates it.
    const pt = pteVmalloc()
    const ctx = ctxFor(pt, {...makePolicy('x86-cpa').cfg, rodataFull: false})
    expect(setMemoryRo(ctx, VM, 2, PTE_AREA)).toBe(0)
    expect(pt.entryAt(LIN + M2)).toMatchObject({lvl: 0, prot: RO})
    // set_memory_x clears PXN on the vmalloc pages only: the alias keeps PXN.
    expect(setMemoryX(ctx, VM, 2, PTE_AREA)).toBe(0)
    expect(pt.entryAt(VM)!.prot & P_PXN).toBe(0)
    expect(pt.entryAt(LIN + M2)!.prot & P_PXN).toBe(P_PXN)
    expect(setMemoryNx(ctx, VM, 2, PTE_AREA)).toBe(0)
    expect(pt.entryAt(VM)!.prot & P_PXN).toBe(P_PXN)
  })

  it('cpa_process_alias() of a 2M vmalloc leaf is one 2M range: a whole direct-map block keeps its size', () => {
    // roxCache(): [VM, VM+2M) is one PMD leaf backed by [LIN+2M, LIN+4M), a RO 2M block of the
    // linear map. set_memory_rw over the whole leaf: the primary leaf is preserved (covered whole),
    // and its alias, one 2M range (cpa->numpages 512), covers the direct-map block whole: no split.
    // Page by page, the first page would split that block.
    const pt = roxCache()
    const ctx = ctxFor(pt, 'x86-cpa')
    expect(setMemoryRw(ctx, VM, 512, AREA)).toBe(0)
    expect(ctx.counters.split_pmd).toBe(0)
    expect(pt.entryAt(VM)).toMatchObject({lvl: 1})
    expect(pt.entryAt(LIN + M2)).toMatchObject({lvl: 1, prot: RW})
  })

  it('CPA_COLLAPSE only from set_memory_rox() (ro then x on one range), and only when it changed something', () => {
    // rox over the whole PTE-mapped 2M area: 512 PTEs become ROX, consecutive (page_order 9):
    // collapse_pmd_page() makes one PMD leaf and frees the PTE table. __change_page_attr_set_clr()
    // goes page by page over 4K PTEs (cpa->numpages 1), so cpa_process_alias() changes the
    // direct map one page at a time: its 2M block splits at the first page (+1 PTE table) and is
    // not collapsed (CPA_COLLAPSE works on the primary range only). Net: the same table count.
    const pt = pteVmalloc()
    const ctx = ctxFor(pt, 'x86-cpa')
    const t0 = [...pt.tables]
    expect(setMemoryRo(ctx, VM, 512, AREA)).toBe(0)
    // set_memory_ro() alone: uniform and collapsible, but x86's set_memory_ro() passes no CPA_COLLAPSE.
    expect(ctx.counters.collapse_pmd).toBe(0)
    expect(setMemoryX(ctx, VM, 512, AREA)).toBe(0)
    expect(ctx.counters.collapse_pmd).toBe(1)
    expect(ctx.counters).toMatchObject({split_pmd: 1, direct_map_level2_splits: 1, direct_map_level2_collapses: 0})
    expect(pt.tables).toEqual(t0)
    expect(shape(pt, VM, VM + M2)).toEqual([[0, M2, 1, false, ROX]])
    expect(shape(pt, LIN + M2, LIN + 2 * M2)).toEqual([[0, M2, 0, false, RO]])

    // The same through the generic set_memory_rox() over an area already ROX: nothing changes
    // (no CPA_FLUSHTLB), so no collapse although the 512 PTEs would collapse.
    const pt2 = pteVmalloc(ROX)
    const ctx2 = ctxFor(pt2, 'x86-cpa')
    expect(setMemoryRox(ctx2, VM, 512, AREA)).toBe(0)
    expect(ctx2.counters.collapse_pmd).toBe(0)
    expect(pt2.runAt(VM)!.lvl).toBe(0)

    // ro and x on different ranges are two calls, not an rox.
    const pt3 = pteVmalloc()
    const ctx3 = ctxFor(pt3, 'x86-cpa')
    setMemoryRo(ctx3, VM, 512, AREA)
    setMemoryX(ctx3, VM, 256, AREA)
    expect(ctx3.counters.collapse_pmd).toBe(0)
  })
})

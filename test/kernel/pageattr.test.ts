import {describe, expect, it} from 'vitest'

import {parseKva} from '../../src/model/address.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {HW, P_PXN, P_RDONLY, P_VALID} from '../../src/model/prot.js'
import {
  __changeMemoryCommon,
  applyToPageRange,
  pageAddress,
  setDirectMapDefaultNoflush,
  setDirectMapInvalidNoflush,
  setDirectMapValidNoflush,
  setMemoryNx,
  setMemoryRo,
  setMemoryRox,
  setMemoryRw,
  setMemoryValid,
  updateRangeProt,
  vmResetPerms,
} from '../../src/kernel/pageattr.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {G, K4, K64, LIN, LIN_END, M2, RW, VM, ctxFor, geo, run, shape} from './helpers.js'
import type {VmStruct} from '../../src/kernel/vmalloc.js'

const RO = RW | P_RDONLY

/** A PUD table slot at LIN: [0,1G) as given, the rest of the 512G slot PUD holes; `extra` appended. */
function linear(first: ReturnType<typeof run>[], extra: ReturnType<typeof run>[] = []): PageTables {
  return PageTables.fromRuns(geo, [...first, run(LIN + G, LIN + 512 * G, 2, HOLE), ...extra])
}

/** PGD holes to PAGE_END, then a vmalloc area of n pages at VM mapped by PTEs (guard page and holes after). */
function vmalloc(n: number): ReturnType<typeof run>[] {
  return [
    run(LIN + 512 * G, LIN_END, 3, HOLE),
    run(LIN_END, VM, 2, HOLE),
    run(VM, VM + n * K4, 0),
    run(VM + n * K4, VM + M2, 0, HOLE),
    run(VM + M2, VM + G, 1, HOLE),
    run(VM + G, LIN_END + 512 * G, 2, HOLE),
  ]
}

describe('updateRangeProt / __changeMemoryCommon (pageattr.c v6.19.9 and v6.12)', () => {
  it('bbml2: one page RO on the linear alias inside a 1G PUD block — +1 PMD table, +1 PTE table, only that page changes', () => {
    // split as in split.test.ts, then pageattr_pte_entry on the one PTE. set_memory_ro masks:
    // set PTE_RDONLY, clear PTE_WRITE (invisible). __change_memory_common flushes.
    const pt = linear([run(LIN, LIN + G, 2)])
    const ctx = ctxFor(pt, 'bbml2')
    const a = LIN + 0x12345000
    expect(__changeMemoryCommon(ctx, a, K4, HW.PTE_RDONLY, HW.PTE_WRITE)).toBe(0)
    expect(pt.tables).toEqual([1, 1, 1])
    expect(ctx.counters).toMatchObject({__change_memory_common: 1, update_range_prot: 1, split_pud: 1, split_pmd: 1, split_contpmd: 1, split_contpte: 1, flush_tlb_kernel_range: 1})
    expect(shape(pt, LIN + 0x12340000, LIN + 0x12350000)).toEqual([
      [0, 0x5000, 0, false, RW],
      [0x5000, 0x6000, 0, false, RO],
      [0x6000, K64, 0, false, RW],
    ])
    // Every other page keeps RW: exactly 4K of RO.
    let roBytes = 0
    for (const r of pt.runs(LIN, LIN + G)) if (r.prot === RO) roBytes += r.end - r.start
    expect(roBytes).toBe(K4)
    expect(pt.check()).toEqual([])
  })

  it('pte-only (6.12): the same change is one PTE write, no table change', () => {
    const pt = linear([run(LIN, LIN + G, 0)])
    const ctx = ctxFor(pt, 'pte-only')
    const before = [...pt.tables]
    expect(__changeMemoryCommon(ctx, LIN + 0x12345000, K4, HW.PTE_RDONLY, HW.PTE_WRITE)).toBe(0)
    expect(pt.tables).toEqual(before)
    expect(ctx.counters).toMatchObject({apply_to_page_range: 1, update_range_prot: 0, split_kernel_leaf_mapping: 0})
    expect(shape(pt, LIN + 0x12344000, LIN + 0x12347000, LIN + 0x12344000)).toEqual([
      [0, K4, 0, false, RW],
      [K4, 2 * K4, 0, false, RO],
      [2 * K4, 3 * K4, 0, false, RW],
    ])
  })

  it('6.19 without BBML2 on a block: no split, pageattr_pud_entry WARN + -EINVAL, nothing changes', () => {
    const pt = linear([run(LIN, LIN + G, 2)])
    const ctx = ctxFor(pt, makePolicy('bbml2', {bbml2: false, rodata: 'noalias'}).cfg)
    expect(updateRangeProt(ctx, LIN + 0x12345000, K4, HW.PTE_RDONLY, 0n)).toBe(-22)
    expect(ctx.errors[0]).toMatchObject({fn: 'pageattr_pud_entry', errno: -22})
    expect(ctx.warnings.countOf('pageattr-partial-block')).toBe(1)
    expect(shape(pt, LIN, LIN + G)).toEqual([[0, G, 2, false, RW]])
  })

  it('6.19 walk rewrites whole blocks inside the range in place', () => {
    // [2M, 6M) over non-cont PMD blocks: both ends PMD-aligned, no split; two blocks rewritten.
    const pt = linear([run(LIN, LIN + G, 1)])
    const ctx = ctxFor(pt, 'bbml2')
    expect(updateRangeProt(ctx, LIN + M2, 2 * M2, HW.PTE_RDONLY, 0n)).toBe(0)
    expect(ctx.counters.split_pmd).toBe(0)
    expect(shape(pt, LIN, LIN + 4 * M2)).toEqual([
      [0, M2, 1, false, RW],
      [M2, 3 * M2, 1, false, RO],
      [3 * M2, 4 * M2, 1, false, RW],
    ])
  })

  it('≤6.17 apply_to_page_range: any block in range is WARN + -EINVAL, even fully covered', () => {
    const pt = linear([run(LIN, LIN + G, 1)])
    const ctx = ctxFor(pt, 'noalias')
    expect(applyToPageRange(ctx, LIN, M2, HW.PTE_RDONLY, 0n)).toBe(-22)
    expect(ctx.errors[0]!.fn).toBe('apply_to_pmd_range')
    expect(shape(pt, LIN, LIN + M2)).toEqual([[0, M2, 1, false, RW]])
  })

  it('a partial contiguous group is counted and loses CONT to keep the model canonical', () => {
    const pt = linear([run(LIN, LIN + M2, 0, RW, true), run(LIN + M2, LIN + G, 1, HOLE)])
    const ctx = ctxFor(pt, 'pte-only')
    applyToPageRange(ctx, LIN + K4, K4, HW.PTE_RDONLY, 0n)
    expect(ctx.warnings.countOf('cont-partial-rewrite')).toBe(1)
    expect(shape(pt, LIN, LIN + 2 * K64)).toEqual([
      [0, K4, 0, false, RW],
      [K4, 2 * K4, 0, false, RO],
      [2 * K4, K64, 0, false, RW],
      [K64, 2 * K64, 0, true, RW],
    ])
    expect(pt.check()).toEqual([])
  })

  it('set_memory_valid: clear then set PTE_VALID; enabling skips the TLB flush in 6.19', () => {
    const pt = linear([run(LIN, LIN + G, 0)])
    const ctx = ctxFor(pt, makePolicy('bbml2', {kfence: 'early'}).cfg)
    setMemoryValid(ctx, LIN + K4, 1, false)
    expect(pt.runAt(LIN + K4)!.prot).toBe(RW & ~P_VALID)
    setMemoryValid(ctx, LIN + K4, 1, true)
    expect(pt.runAt(LIN + K4)!.prot).toBe(RW)
    expect(ctx.counters.flush_tlb_kernel_range).toBe(1)
    expect(ctx.counters.set_memory_valid).toBe(2)
  })
})

describe('changeMemoryCommon and the set_memory_* family', () => {
  /** Linear map PTE-only (or blocks), plus a 4-page vmalloc area backed by scattered linear pages. */
  function setup(policy: Parameters<typeof ctxFor>[1], blocks = false) {
    const pt = linear([run(LIN, LIN + G, blocks ? 1 : 0)], vmalloc(4))
    const ctx = ctxFor(pt, policy)
    const area: VmStruct = {addr: VM, size: 5 * K4, alloc: true, allowHugeVmap: false, nrPages: 4, pages: [LIN + 0x100000, LIN + 0x300000, LIN + 0x301000, LIN + 0x7000000]}
    return {pt, ctx, area}
  }

  it('6.19 rodata_full: set_memory_ro on 2 pages updates those 2 linear aliases, then the range', () => {
    // change_memory_common(): idx = (start − area->addr) >> PAGE_SHIFT = 1; pages 1 and 2.
    const {pt, ctx, area} = setup('bbml2')
    expect(setMemoryRo(ctx, VM + K4, 2, area)).toBe(0)
    expect(ctx.counters).toMatchObject({set_memory_ro: 1, change_memory_common: 1, __change_memory_common: 3, vm_unmap_aliases: 1})
    expect(pt.runAt(LIN + 0x300000)!.prot).toBe(RO)
    expect(pt.runAt(LIN + 0x301000)!.prot).toBe(RO)
    expect(pt.runAt(LIN + 0x100000)!.prot).toBe(RW)
    expect(shape(pt, VM, VM + 4 * K4)).toEqual([
      [0, K4, 0, false, RW],
      [K4, 3 * K4, 0, false, RO],
      [3 * K4, 4 * K4, 0, false, RW],
    ])
  })

  it('6.12 rodata=full: the alias loop walks all area->nr_pages', () => {
    const {pt, ctx, area} = setup('pte-only')
    setMemoryRo(ctx, VM + K4, 2, area)
    expect(ctx.counters.__change_memory_common).toBe(5)
    expect(pt.runAt(LIN + 0x100000)!.prot).toBe(RO)
    expect(pt.runAt(LIN + 0x7000000)!.prot).toBe(RO)
  })

  it('unknown backing pages: alias updates are counted, never invented', () => {
    const {pt, ctx} = setup('bbml2')
    setMemoryRo(ctx, VM + K4, 2)
    expect(ctx.aliasUpdatesUnknown).toBe(2)
    expect(ctx.counters.__change_memory_common).toBe(1)
    for (const r of pt.runs(LIN, LIN + G)) expect(r.prot).toBe(RW)
    const old = setup('pte-only')
    setMemoryRo(old.ctx, VM, 2, {...old.area, pages: undefined})
    expect(old.ctx.aliasUpdatesUnknown).toBe(4)
  })

  it('noalias: the linear alias is left alone; x/nx never touch it', () => {
    const {pt, ctx, area} = setup('noalias', true)
    setMemoryRo(ctx, VM, 4, area)
    setMemoryNx(ctx, VM, 4, area)
    expect(ctx.counters.__change_memory_common).toBe(2)
    for (const r of pt.runs(LIN, LIN + G)) expect(r.prot).toBe(RW)
    expect(pt.runAt(VM)!.prot).toBe(RO | P_PXN)
  })

  it('vm_area checks: range beyond the area, VM_ALLOW_HUGE_VMAP in 6.19 → -EINVAL', () => {
    const {ctx, area} = setup('bbml2')
    expect(setMemoryRw(ctx, VM + 4 * K4, 2, area)).toBe(-22)
    expect(setMemoryRo(ctx, VM, 1, {...area, allowHugeVmap: true})).toBe(-22)
    const old = setup('pte-only')
    expect(setMemoryRo(old.ctx, VM, 1, {...old.area, allowHugeVmap: true})).toBe(0)
  })

  it('set_memory_rox = ro then x', () => {
    const {pt, ctx, area} = setup('bbml2')
    setMemoryNx(ctx, VM, 4, area)
    setMemoryRox(ctx, VM, 4, area)
    expect(ctx.counters).toMatchObject({set_memory_ro: 1, set_memory_x: 1, set_memory_nx: 1})
    expect(pt.runAt(VM)!.prot).toBe(RO & ~P_PXN)
  })
})

describe('set_direct_map_* and vm_reset_perms', () => {
  it('no-ops when !can_set_direct_map(); live with rodata=on + late KFENCE (6.12)', () => {
    const pt = linear([run(LIN, LIN + G, 0)])
    const off = ctxFor(pt, 'noalias')
    expect(setDirectMapInvalidNoflush(off, LIN + K4)).toBe(0)
    expect(off.counters.set_direct_map_invalid_noflush).toBe(1)
    expect(off.counters.apply_to_page_range).toBe(0)
    expect(pt.runAt(LIN + K4)!.prot).toBe(RW)
    const kf = ctxFor(pt, makePolicy('noalias', {kfence: 'late'}).cfg)
    setDirectMapInvalidNoflush(kf, LIN + K4)
    expect(pt.runAt(LIN + K4)!.prot).toBe(RW & ~P_VALID)
    setDirectMapDefaultNoflush(kf, LIN + K4)
    expect(pt.runAt(LIN + K4)!.prot).toBe(RW)
    expect(kf.counters.apply_to_page_range).toBe(2)
    expect(setDirectMapValidNoflush(kf, LIN + K4, 2, false)).toBe(0)
    expect(kf.counters.set_memory_valid).toBe(1)
  })

  it('6.19 bbml2: set_direct_map_default on an RO alias page restores RW and VALID through update_range_prot', () => {
    const pt = linear([run(LIN, LIN + M2, 0, RO), run(LIN + M2, LIN + G, 1)])
    const ctx = ctxFor(pt, 'bbml2')
    vmResetPerms(ctx, {addr: VM, size: 3 * K4, alloc: true, allowHugeVmap: false, pages: [LIN, LIN + K4]})
    expect(ctx.counters).toMatchObject({set_direct_map_invalid_noflush: 2, set_direct_map_default_noflush: 2, update_range_prot: 4})
    expect(shape(pt, LIN, LIN + M2)).toEqual([
      [0, 2 * K4, 0, false, RW],
      [2 * K4, M2, 0, false, RO],
    ])
  })

  it('pageAddress: struct page in the vmemmap → linear address (checked on the 6.19 trace)', () => {
    // trace.txt.gz: set_direct_map_invalid_noflush page=0xfffffdffc0237e80 is followed by
    // update_range_prot start=0xffff000008dfa000; VMEMMAP_START (6.9+, 48-bit) = 0xfffffdffc0000000.
    const page = parseKva('0xfffffdffc0237e80')!
    expect(pageAddress(page, parseKva('0xfffffdffc0000000')!, LIN, 4096)).toBe(parseKva('0xffff000008dfa000'))
  })
})

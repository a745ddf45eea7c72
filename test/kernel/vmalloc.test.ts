/**
 * The vmalloc model against the kernel's rules (mm/vmalloc.c and arch/arm64/include/asm/vmalloc.h,
 * v7.3), each expectation derived by hand from the lines the test names, and a property test:
 * after any sequence of vmap/vunmap calls, the mapped bytes and table counts the model keeps
 * incrementally equal a recount from the runs.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {makeContext} from '../../src/kernel/dispatch.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {VmAreas, ioremapPageRange, protOfPgprot, vmapPagesRange, vunmapRange} from '../../src/kernel/vmalloc.js'
import {PageTables} from '../../src/model/pagetable.js'
import {emptyTotals, accumulate} from '../../src/model/leaf-totals.js'
import {HOLE} from '../../src/model/run.js'
import {P_AF, P_PXN, P_UXN, P_VALID, describeProt, withMemType} from '../../src/model/prot.js'
import {G, K4, K64, M2, VM, geo, run} from './helpers.js'

/** PAGE_KERNEL as the 7.3 capture's vmap_pages_range probe printed it (LPA2: no shareability bits). */
const PAGE_KERNEL = 0xe8000000000403n
const NORMAL = withMemType(P_VALID | P_AF | P_PXN | P_UXN, 'MEM/NORMAL')

/** vmalloc space: one PUD table for the first 512G slot (PUD holes), nothing below. */
function vmallocSpace() {
  const pt = PageTables.fromRuns(geo, [run(VM, VM + 512 * G, 2, HOLE)])
  return makeContext(pt, makePolicy('bbml2').cfg)
}

describe('vmalloc (mm/vmalloc.c, v7.3)', () => {
  it('protOfPgprot: 0xe8000000000403 = VALID | page | AF, ATTRINDX 0 (MT_NORMAL), PXN, UXN, WRITE → "RW NX AF UXN MEM/NORMAL"', () => {
    expect(protOfPgprot(PAGE_KERNEL)).toBe(NORMAL)
    expect(describeProt(protOfPgprot(PAGE_KERNEL))).toBe('RW NX AF UXN MEM/NORMAL')
  })

  it('page_shift == PAGE_SHIFT: one PTE per page; a PMD table and a PTE table allocated on demand (pmd_alloc_track, pte_alloc_kernel_track)', () => {
    const ctx = vmallocSpace()
    const before = [...ctx.pt.tables]
    vmapPagesRange(ctx, VM, VM + 4 * K4, PAGE_KERNEL, 12)
    expect([...ctx.pt.runs(VM, VM + M2)].map((r) => [r.start - VM, r.end - VM, r.lvl, r.cont, r.prot])).toEqual([
      [0, 4 * K4, 0, false, NORMAL],
      [4 * K4, M2, 0, false, HOLE],
    ])
    expect(ctx.pt.tables[0]! - before[0]!).toBe(1) // one PTE table
    expect(ctx.pt.tables[1]! - before[1]!).toBe(1) // one PMD table
    expect(ctx.tablePagesAllocated).toBe(2)
    expect(ctx.pt.recountTables()).toEqual(ctx.pt.tables)
  })

  it('page_shift == CONT_PTE_SHIFT (16): arch_vmap_pte_range_map_size() gives CONT_PTE_SIZE chunks with PTE_CONT', () => {
    const ctx = vmallocSpace()
    vmapPagesRange(ctx, VM, VM + 2 * K64, PAGE_KERNEL, 16)
    expect([...ctx.pt.runs(VM, VM + 2 * K64)].map((r) => [r.end - r.start, r.lvl, r.cont])).toEqual([[2 * K64, 0, true]])
  })

  it('page_shift == PMD_SHIFT on a 2M-aligned 2M range: vmap_try_huge_pmd() maps one PMD block, no PTE table', () => {
    const ctx = vmallocSpace()
    vmapPagesRange(ctx, VM + M2, VM + 2 * M2, PAGE_KERNEL, 21)
    expect([...ctx.pt.runs(VM + M2, VM + 2 * M2)].map((r) => [r.lvl, r.prot])).toEqual([[1, NORMAL]])
    expect(ctx.pt.tables[0]).toBe(0)
    expect(ctx.pt.recountTables()).toEqual(ctx.pt.tables)
  })

  it('vunmap clears entries and keeps the tables; a later huge vmap frees the empty PTE table (pmd_free_pte_page)', () => {
    const ctx = vmallocSpace()
    vmapPagesRange(ctx, VM, VM + 5 * K4, PAGE_KERNEL, 12)
    const withTables = [...ctx.pt.tables]
    vunmapRange(ctx, VM, VM + 5 * K4)
    expect([...ctx.pt.runs(VM, VM + M2)].map((r) => [r.end - r.start, r.lvl, r.prot])).toEqual([[M2, 0, HOLE]])
    expect(ctx.pt.tables).toEqual(withTables)
    vmapPagesRange(ctx, VM, VM + M2, PAGE_KERNEL, 21)
    expect([...ctx.pt.runs(VM, VM + M2)].map((r) => [r.lvl, r.prot])).toEqual([[1, NORMAL]])
    expect(ctx.pt.tables[0]).toBe(withTables[0]! - 1)
    expect(ctx.tablePagesFreed).toBe(1)
    expect(ctx.pt.recountTables()).toEqual(ctx.pt.tables)
  })

  it('ioremap_page_range of 256M PMD-aligned: PMD blocks (ioremap_max_page_shift = PUD_SHIFT, phys 256M-aligned), PXN forced', () => {
    const ctx = vmallocSpace()
    ioremapPageRange(ctx, VM + G, VM + G + 256 * 2 ** 20, 0x4010000000n, 0x68000000000707n & ~(1n << 53n))
    const runs = [...ctx.pt.runs(VM + G, VM + G + 256 * 2 ** 20)]
    expect(runs.map((r) => [r.end - r.start, r.lvl])).toEqual([[256 * 2 ** 20, 1]])
    expect(runs[0]!.prot & P_PXN).toBe(P_PXN)
  })

  it('VmAreas: find_vm_area() by containment (guard page included), free → lazy, purge', () => {
    const a = new VmAreas()
    a.insert({addr: VM, size: 5 * K4, alloc: true, allowHugeVmap: false})
    a.insert({addr: VM + 8 * K4, size: 3 * K4, alloc: false, allowHugeVmap: false})
    expect(a.find(VM + 4 * K4)?.addr).toBe(VM)
    expect(a.find(VM + 5 * K4)).toBeUndefined()
    expect(a.find(VM + 10 * K4)?.addr).toBe(VM + 8 * K4)
    a.free(VM)
    expect(a.find(VM)).toBeUndefined()
    expect(a.lazyCount).toBe(1)
    expect(a.purge(VM, VM + 5 * K4)).toBe(1)
    expect(a.lazyCount).toBe(0)
  })

  it('property: after any vmap/vunmap sequence, mapped bytes and table counts equal a recount', () => {
    const op = fc.record({
      map: fc.boolean(),
      slot: fc.nat(7),
      page: fc.nat(511),
      pages: fc.integer({min: 1, max: 600}),
      shift: fc.constantFrom(12, 16, 21),
    })
    fc.assert(
      fc.property(fc.array(op, {maxLength: 25}), (ops) => {
        const ctx = vmallocSpace()
        for (const o of ops) {
          const chunk = 2 ** o.shift
          // vmalloc areas are aligned to their page order and sized in whole chunks.
          const start = VM + o.slot * M2 * 2 + Math.floor((o.page * K4) / chunk) * chunk
          const end = start + Math.ceil((o.pages * K4) / chunk) * chunk
          if (o.map) {
            let free = true
            ctx.pt.forEachRun(start, end, (_s, _e, _l, _c, p) => {
              if (p !== HOLE) free = false
            })
            if (free) vmapPagesRange(ctx, start, end, PAGE_KERNEL, o.shift)
          } else vunmapRange(ctx, start, end)
        }
        expect(ctx.pt.recountTables()).toEqual(ctx.pt.tables)
        expect(ctx.pt.check()).toEqual([])
        const t = emptyTotals()
        for (const r of ctx.pt.runs()) accumulate(geo, t, r)
        expect(ctx.pt.totals).toEqual(t)
      }),
      {numRuns: 150},
    )
  })
})

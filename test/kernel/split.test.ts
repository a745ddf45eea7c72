import {describe, expect, it} from 'vitest'

import {ffs, pageOffsetKva} from '../../src/model/address.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {makeGeometry} from '../../src/model/geometry.js'
import {HW, P_NG, P_RDONLY, P_VALID} from '../../src/model/prot.js'
import {makeContext} from '../../src/kernel/dispatch.js'
import {mapMem} from '../../src/kernel/map-mem.js'
import {updateRangeProt} from '../../src/kernel/pageattr.js'
import {
  linearMapMaybeSplitToPtes,
  lmAliasStext,
  rangeSplitToPtes,
  splitKernelLeafMapping,
  splitKernelLeafMappingLocked,
} from '../../src/kernel/split.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {G, K4, K64, LIN, LIN_END, M2, RW, blockLinearMap, ctxFor, geo, run, shape} from './helpers.js'

/** One 1G PUD block at LIN inside a PUD table, the rest of the 512G slot PUD holes. */
function pudBlock(): PageTables {
  return PageTables.fromRuns(geo, [run(LIN, LIN + G, 2), run(LIN + G, LIN + 512 * G, 2, HOLE)])
}

describe('splitKernelLeafMapping (mmu.c v6.19.9)', () => {
  it('one page inside a 1G PUD block: split_pud → split_contpmd → split_pmd → split_contpte, +2 tables', () => {
    // start = LIN+0x12345000 (__ffs 12) < end = LIN+0x12346000 (__ffs 13): only start is split
    // (split_kernel_leaf_mapping single-page case). split_kernel_leaf_mapping_locked(start):
    // PGD/P4D 512G: not aligned, table; PUD 1G: not aligned, leaf → split_pud(to_cont) = +1 PMD
    // table of 512 cont PMDs; CONT_PMD 32M: not aligned, cont → split_contpmd clears
    // [0x12000000, 0x14000000); PMD 2M: not aligned → split_pmd(to_cont) = +1 PTE table of cont PTEs
    // for [0x12200000, 0x12400000); CONT_PTE 64K: not aligned, cont → split_contpte clears
    // [0x12340000, 0x12350000).
    const pt = pudBlock()
    const ctx = ctxFor(pt, 'bbml2')
    const s = LIN + 0x12345000
    expect(splitKernelLeafMapping(ctx, s, s + K4)).toBe(0)
    expect(ctx.counters).toMatchObject({
      split_kernel_leaf_mapping: 1,
      split_kernel_leaf_mapping_locked: 1,
      split_pud: 1,
      split_contpmd: 1,
      split_pmd: 1,
      split_contpte: 1,
    })
    expect(pt.tables).toEqual([1, 1, 1])
    expect(ctx.tablePagesAllocated).toBe(2)
    expect(shape(pt, LIN, LIN + G)).toEqual([
      [0, 0x12000000, 1, true, RW],
      [0x12000000, 0x12200000, 1, false, RW],
      [0x12200000, 0x12340000, 0, true, RW],
      [0x12340000, 0x12350000, 0, false, RW],
      [0x12350000, 0x12400000, 0, true, RW],
      [0x12400000, 0x14000000, 1, false, RW],
      [0x14000000, G, 1, true, RW],
    ])
    expect(pt.recountTables()).toEqual(pt.tables)
    expect(pt.check()).toEqual([])
  })

  it('single page: only the less aligned end is split (__ffs compare)', () => {
    // [0x12400000, 0x12401000): __ffs(start)=22 > __ffs(end)=12 → split at end only; start is
    // PMD-aligned and needs nothing anyway. PMD blocks (non-cont) → split_pmd of
    // [0x12400000, 0x12600000) to cont PTEs, then split_contpte of [0x12400000, 0x12410000).
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + G, 1), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'bbml2')
    const s = LIN + 0x12400000
    expect(splitKernelLeafMapping(ctx, s, s + K4)).toBe(0)
    expect(ctx.counters.split_kernel_leaf_mapping_locked).toBe(1)
    expect(ctx.counters.split_pmd).toBe(1)
    expect(ctx.counters.split_contpte).toBe(1)
    expect(shape(pt, LIN + 0x12400000, LIN + 0x12600000)).toEqual([
      [0, K64, 0, false, RW],
      [K64, M2, 0, true, RW],
    ])
  })

  it('a range inside blocks needs only its two boundary splits; blocks strictly inside keep their size', () => {
    // [2M+64K, 8M−64K) over non-cont PMD blocks: locked(start) splits [2M,4M) to cont PTEs and
    // stops (start is 64K-aligned); locked(end) splits [6M,8M) likewise; [4M,6M) stays a block.
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + G, 1), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'bbml2')
    expect(splitKernelLeafMapping(ctx, LIN + M2 + K64, LIN + 4 * M2 - K64)).toBe(0)
    expect(ctx.counters).toMatchObject({split_kernel_leaf_mapping_locked: 2, split_pmd: 2, split_contpte: 0, split_contpmd: 0})
    expect(pt.tables).toEqual([2, 1, 1])
    expect(shape(pt, LIN, LIN + 5 * M2)).toEqual([
      [0, M2, 1, false, RW],
      [M2, 2 * M2, 0, true, RW],
      [2 * M2, 3 * M2, 1, false, RW],
      [3 * M2, 4 * M2, 0, true, RW],
      [4 * M2, 5 * M2, 1, false, RW],
    ])
  })

  it('early returns: no BBML2, force_pte_mapping, KFENCE address; -EINVAL when unaligned', () => {
    const pt = pudBlock()
    const noBbml2 = ctxFor(pt, makePolicy('bbml2', {bbml2: false}).cfg)
    expect(splitKernelLeafMapping(noBbml2, LIN + K4, LIN + 2 * K4)).toBe(0)
    expect(noBbml2.counters.split_kernel_leaf_mapping).toBe(1)
    expect(noBbml2.counters.split_kernel_leaf_mapping_locked).toBe(0)
    const dbg = ctxFor(pt, makePolicy('bbml2', {debugPagealloc: true}).cfg)
    expect(splitKernelLeafMapping(dbg, LIN + K4, LIN + 2 * K4)).toBe(0)
    expect(dbg.counters.split_kernel_leaf_mapping_locked).toBe(0)
    const kf = ctxFor(pt, 'bbml2')
    kf.kfencePool = {start: LIN, end: LIN + M2}
    expect(splitKernelLeafMapping(kf, LIN + K4, LIN + 2 * K4)).toBe(0)
    expect(kf.counters.split_kernel_leaf_mapping_locked).toBe(0)
    const bad = ctxFor(pt, 'bbml2')
    expect(splitKernelLeafMapping(bad, LIN + 100, LIN + K4)).toBe(-22)
    expect(bad.errors[0]).toMatchObject({errno: -22, fn: 'split_kernel_leaf_mapping'})
    expect(pt.tables).toEqual([0, 0, 1])
    // ≤6.17 has no such function: not even counted.
    const old = ctxFor(pt, 'pte-only')
    expect(splitKernelLeafMapping(old, LIN + K4, LIN + 2 * K4)).toBe(0)
    expect(old.counters.split_kernel_leaf_mapping).toBe(0)
  })

  it('presence: a not-present invalid PMD block is not split in 6.19; holes are not split', () => {
    const invalid = RW & ~P_VALID
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + M2, 1, invalid), run(LIN + M2, LIN + G, 1, HOLE), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'bbml2')
    expect(splitKernelLeafMappingLocked(ctx, LIN + K4)).toBe(0)
    expect(splitKernelLeafMappingLocked(ctx, LIN + M2 + K4)).toBe(0)
    expect(ctx.counters.split_pmd).toBe(0)
    expect(pt.tables).toEqual([0, 1, 1])
  })

  it('-ENOMEM when the table budget is spent: split_pud done, split_pmd fails, no rollback', () => {
    const pt = pudBlock()
    const ctx = ctxFor(pt, makePolicy('bbml2', {tableBudget: 1}).cfg)
    expect(splitKernelLeafMapping(ctx, LIN + 0x12345000, LIN + 0x12346000)).toBe(-12)
    expect(ctx.counters.split_pud).toBe(1)
    expect(ctx.counters.split_pmd).toBe(1) // probe at entry counts the failed call too
    expect(pt.tables).toEqual([0, 1, 1])
    expect(ctx.errors[0]).toMatchObject({errno: -12, fn: 'split_pmd'})
  })
})

describe('rangeSplitToPtes / linearMapSplitToPtes (mmu.c v6.19.9)', () => {
  it('a 1G PUD block costs 1 + 512 table pages; a cont-PMD run only its PMDs', () => {
    const pt = pudBlock()
    const ctx = ctxFor(pt, 'bbml2')
    expect(rangeSplitToPtes(ctx, LIN, LIN + G)).toBe(0)
    expect(ctx.counters.split_pud).toBe(1)
    expect(ctx.counters.split_pmd).toBe(512)
    expect(ctx.counters.split_contpmd).toBe(0) // split_pud(to_cont=false)
    expect(pt.tables).toEqual([512, 1, 1])
    expect(shape(pt, LIN, LIN + G)).toEqual([[0, G, 0, false, RW]])
    expect(pt.recountTables()).toEqual(pt.tables)
  })

  it('repaint of the 6.19 qemu linear map keeps the kernel alias blocks', () => {
    // blockLinearMap(): [0,32M) PMD, [32M,1G) cont PMD, [1G,2G) PUD. Kernel alias [2M, 8M).
    // Split [LIN, LIN+2M) and [LIN+8M, PAGE_END): PMDs 0 and 4..511 → 1 + 508 PTE tables, the PUD
    // block → 1 PMD table + 512 PTE tables. split_contpmd: one per cont group met in the walk:
    // (1G−32M)/32M = 31 groups.
    const pt = blockLinearMap()
    const ctx = ctxFor(pt, makePolicy('bbml2-repaint').cfg)
    expect(linearMapMaybeSplitToPtes(ctx, LIN, LIN_END, LIN + M2, LIN + 4 * M2)).toBe(true)
    expect(ctx.counters.split_pmd).toBe(1 + 508 + 512)
    expect(ctx.counters.split_pud).toBe(1)
    expect(ctx.counters.split_contpmd).toBe(31)
    expect(pt.tables).toEqual([1021, 2, 1])
    expect(shape(pt, LIN, LIN + 2 * G)).toEqual([
      [0, M2, 0, false, RW],
      [M2, 4 * M2, 1, false, RW],
      [4 * M2, 2 * G, 0, false, RW],
    ])
    expect(pt.recountTables()).toEqual(pt.tables)
    expect(pt.check()).toEqual([])
    // With BBML2 on every CPU nothing is repainted.
    const ctx2 = ctxFor(blockLinearMap(), 'bbml2')
    expect(linearMapMaybeSplitToPtes(ctx2, LIN, LIN_END, LIN + M2, LIN + 4 * M2)).toBe(false)
  })

  it('cont-PTE runs count one split_contpte per group', () => {
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + M2, 0, RW, true), run(LIN + M2, LIN + G, 1, HOLE), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'bbml2')
    rangeSplitToPtes(ctx, LIN + K4, LIN + 3 * K64)
    // groups [0,64K), [64K,128K), [128K,192K)
    expect(ctx.counters.split_contpte).toBe(3)
    expect(shape(pt, LIN, LIN + M2)).toEqual([
      [0, 3 * K64, 0, false, RW],
      [3 * K64, M2, 0, true, RW],
    ])
  })

  it('a present-invalid block (NG set) is split, and 6.19 makes its entries valid (warned)', () => {
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + M2, 1, (RW & ~P_VALID) | P_NG), run(LIN + M2, LIN + G, 1, HOLE), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, 'bbml2')
    expect(splitKernelLeafMappingLocked(ctx, LIN + K4)).toBe(0)
    expect(ctx.counters.split_pmd).toBe(1)
    expect(pt.runAt(LIN)!.prot & P_VALID).toBe(P_VALID)
    expect(ctx.warnings.count).toBe(1)
    expect(ctx.warnings.countOf('split-present-invalid')).toBe(1)
  })

  it('7.3 keeps a present-invalid block invalid through the split (split_pmd(): `if (!pmd_valid(pmd))` pte_mkinvalid)', () => {
    const pt = PageTables.fromRuns(geo, [run(LIN, LIN + M2, 1, (RW & ~P_VALID) | P_NG), run(LIN + M2, LIN + G, 1, HOLE), run(LIN + G, LIN + 512 * G, 2, HOLE)])
    const ctx = ctxFor(pt, {...makePolicy('bbml3').cfg, version: [7, 3]})
    expect(splitKernelLeafMappingLocked(ctx, LIN + K4)).toBe(0)
    expect(ctx.counters.split_pmd).toBe(1)
    // 512 PTEs (the split goes to contiguous PTEs, then the 64K group holding the address loses
    // CONT), all still invalid with the block's other bits; no warning.
    expect(shape(pt, LIN, LIN + M2)).toEqual([
      [0, K64, 0, false, (RW & ~P_VALID) | P_NG],
      [K64, M2, 0, true, (RW & ~P_VALID) | P_NG],
    ])
    expect(ctx.warnings.count).toBe(0)
  })
})

describe('other geometries (16K/64K granules, 2, 3 and 5 levels)', () => {
  it.each([
    [16384, 47],
    [65536, 42],
    [65536, 48],
    [4096, 39],
    [4096, 52],
  ] as const)('%i-byte pages, %i-bit VA: boot map, one-page split and RO change stay consistent', (pageSize, vaBits) => {
    const g = makeGeometry(pageSize, vaBits)
    const r = mapMem({geo: g, cfg: makePolicy('bbml2').cfg, banks: [{start: 0x40000000, end: 0xc0000000}], memstartAddr: 0x40000000})
    expect(r.pt.recountTables()).toEqual(r.pt.tables)
    const ctx = makeContext(r.pt, makePolicy('bbml2').cfg, {linear: r.linear})
    const a = r.linear.start + 0x12340000 + 3 * pageSize
    expect(updateRangeProt(ctx, a, pageSize, HW.PTE_RDONLY, 0n)).toBe(0)
    const e = r.pt.entryAt(a)!
    expect(e).toMatchObject({lvl: 0, cont: false})
    expect(e.prot & P_RDONLY).toBe(P_RDONLY)
    // At most one new table per level below the block that held the page (split_kernel_leaf_mapping(): 16K/64K ≤ 1 per boundary).
    expect(ctx.tablePagesAllocated).toBeLessThanOrEqual(g.pudBlocks ? 2 : 1)
    expect(r.pt.recountTables()).toEqual(r.pt.tables)
    expect(r.pt.check()).toEqual([])
  })
})

describe('split_kernel_leaf_mapping single-page end choice', () => {
  it('the page-parity test picks the same end as the __ffs compare, for every page size', () => {
    // __ffs(start) < __ffs(end) with end = start + PAGE_SIZE ⟺ start / PAGE_SIZE is odd: the
    // implementation uses the parity; here the __ffs compare (ffs from model/address) decides.
    for (const page of [4096, 16384, 65536]) {
      const pages = [0, 1, 2, 3, 511, 512, 513, 2 ** 20 - 1, 2 ** 20, 2 ** 36 - 1, 2 ** 36 - 2, 2 ** 52 / page - 1]
      for (let i = 1; i <= 200; i++) pages.push((i * 2654435761 * 4099) % (2 ** 52 / page - 1))
      for (const p of pages) {
        const start = p * page
        const end = start + page
        expect((start / page) % 2 === 1 ? start : end, `page ${page} start ${start}`).toBe(ffs(start) < ffs(end) ? start : end)
      }
    }
  })
})

describe('split_kernel_leaf_mapping() early returns per version', () => {
  // v6.19.9 mmu.c: `if (!split_leaf_mapping_possible() || is_kfence_address(start)) return 0;` where
  // split_leaf_mapping_possible() = system_supports_bbml2_noabort() && !force_pte_mapping().
  // v7.3.4 mmu.c: `if (!linear_map_requires_bbml3 || is_kfence_address(start)) return 0;` with
  // linear_map_requires_bbml3 = !force_pte_mapping() && can_set_direct_map() (map_mem()), then
  // `if (!system_supports_bbml3()) return 0` (caps finalized). So with rodata=noalias (rodata_full
  // false), no KFENCE, no realm, can_set_direct_map() is false: 6.19 splits a block, 7.3 does not.
  it('rodata=noalias: 6.19 splits the PUD block, 7.3 returns 0 before splitting (derived by hand)', () => {
    const s = LIN + 0x12345000
    const noalias619 = {...makePolicy('bbml2').cfg, rodataFull: false}
    const c619 = ctxFor(pudBlock(), noalias619)
    expect(splitKernelLeafMapping(c619, s, s + K4)).toBe(0)
    expect(c619.counters.split_pud).toBe(1)
    const noalias73 = {...makePolicy('bbml3').cfg, rodataFull: false}
    const c73 = ctxFor(pudBlock(), noalias73)
    expect(splitKernelLeafMapping(c73, s, s + K4)).toBe(0)
    expect(c73.counters).toMatchObject({split_kernel_leaf_mapping: 1, split_kernel_leaf_mapping_locked: 0, split_pud: 0})
  })
  it('7.3 with rodata_full and BBML3 splits exactly as 6.19 does', () => {
    const s = LIN + 0x12345000
    const c73 = ctxFor(pudBlock(), 'bbml3')
    expect(splitKernelLeafMapping(c73, s, s + K4)).toBe(0)
    expect(c73.counters).toMatchObject({split_kernel_leaf_mapping_locked: 1, split_pud: 1, split_contpmd: 1, split_pmd: 1, split_contpte: 1})
  })
  it('7.3 boot CPU with BBML3, a secondary without: linear_map_requires_bbml3 but !system_supports_bbml3() → 0', () => {
    const s = LIN + 0x12345000
    const c = ctxFor(pudBlock(), {...makePolicy('bbml3').cfg, bbml2: false, bootCpuBbml2: true})
    expect(splitKernelLeafMapping(c, s, s + K4)).toBe(0)
    expect(c.counters.split_pud).toBe(0)
  })
})

describe('two-level geometries: PGDIR_SIZE = PMD_SIZE', () => {
  // split_kernel_leaf_mapping_locked() (mmu.c v6.19.9/v7.3.4) starts with
  // `if (ALIGN_DOWN(addr, PGDIR_SIZE) == addr) goto out;`. With 16K pages and 36-bit VA the tables
  // have two levels, the PGD being the PMD level (PGDIR_SHIFT = PMD_SHIFT = 25), so a 32M-aligned
  // address returns there and the CONT_PMD group (32 × 32M = 1G) around it keeps PTE_CONT.
  it('16K/36: a PMD-aligned, not CONT_PMD-aligned boundary in a cont-PMD group splits nothing', () => {
    const g16 = makeGeometry(16384, 36)
    expect(g16.levels).toBe(2)
    const M32_ = 2 ** 25
    const lin = pageOffsetKva(36)
    const pt = PageTables.fromRuns(g16, [{start: lin, end: lin + 2 ** 30, lvl: 1, cont: true, prot: RW, flags: 0}, {start: lin + 2 ** 30, end: lin + 2 ** 35, lvl: 1, cont: false, prot: HOLE, flags: 0}])
    const ctx = makeContext(pt, makePolicy('bbml2').cfg, {linear: {start: lin, end: lin + 2 ** 35}})
    expect(splitKernelLeafMappingLocked(ctx, lin + 3 * M32_)).toBe(0)
    expect(ctx.counters.split_contpmd).toBe(0)
    expect(pt.runAt(lin + 3 * M32_)!.cont).toBe(true)
    // Not PMD-aligned: the CONT_PMD group is split (cleared), then split_pmd at the PMD level.
    expect(splitKernelLeafMappingLocked(ctx, lin + 3 * M32_ + 16384)).toBe(0)
    expect(ctx.counters).toMatchObject({split_contpmd: 1, split_pmd: 1})
  })
})

describe('the boot-CPU-only repaint splits from lm_alias(_stext), the map was made from _text', () => {
  // linear_map_split_to_ptes() (mmu.c v6.19.9, v7.3.4): range_split_to_ptes(lstart, lm_alias(_stext))
  // and (lm_alias(__init_begin), lend); map_mem() mapped the alias from _text. _stext = _text + 64K
  // (SEGMENT_ALIGN; kallsyms of every capture), so the PMD block holding [_text, _stext) straddles
  // the split's end and the walker splits it whole: with the alias at [2M, 8M) of blockLinearMap(),
  // PMD [2M, 4M) is split too (split_pmd 2 + 508 + 512), [4M, 8M) keeps its blocks.
  it('the first alias PMD is split to PTEs, the rest of the alias keeps its blocks', () => {
    const pt = blockLinearMap()
    const ctx = ctxFor(pt, makePolicy('bbml2-repaint').cfg)
    expect(linearMapMaybeSplitToPtes(ctx, LIN, LIN_END, lmAliasStext(LIN + M2), LIN + 4 * M2)).toBe(true)
    expect(ctx.counters.split_pmd).toBe(2 + 508 + 512)
    expect(shape(pt, LIN, LIN + 2 * G)).toEqual([
      [0, 2 * M2, 0, false, RW],
      [2 * M2, 4 * M2, 1, false, RW],
      [4 * M2, 2 * G, 0, false, RW],
    ])
  })
})

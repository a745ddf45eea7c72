import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {parseKva} from '../../src/model/address.js'
import {HOLE} from '../../src/model/run.js'
import {P_RDONLY, memTypeOf} from '../../src/model/prot.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {mapMem} from '../../src/kernel/map-mem.js'
import {LIN, M2, geo} from './helpers.js'
import {makeGeometry} from '../../src/model/geometry.js'

/**
 * The Linear Mapping section of a real dump as [start, end, level, cont, ro, memtype|''] rows.
 * Deliberately tiny and independent of the project's ptdump reader (fixed columns, docs/ptdump-quirks.md#line-grammar).
 */
function linearSection(path: string): [number, number, string, boolean, boolean, string][] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const out: [number, number, string, boolean, boolean, string][] = []
  let inside = false
  for (const l of lines) {
    if (l.includes('Linear Mapping start')) inside = true
    else if (l.includes('Linear Mapping end')) break
    else if (inside) {
      const m = /^(0x[0-9a-f]{16})-(0x[0-9a-f]{16})\s+\d+[KMGTPE] (PGD|P4D|PUD|PMD|PTE)(.*)$/.exec(l)
      if (!m) continue
      const attrs = m[4]!
      out.push([parseKva(m[1]!)!, parseKva(m[2]!)!, m[3]!, / CON /.test(attrs), /\bro\b/.test(attrs), /MEM\/\S+/.exec(attrs)?.[0] ?? ''])
    }
  }
  return out
}

const LEVEL = ['PTE', 'PMD', 'PUD', 'PGD']

function modelRows(pt: ReturnType<typeof mapMem>['pt'], from: number, to: number) {
  return [...pt.runs(from, to)].map((r) => [r.start, r.end, LEVEL[r.lvl]!, r.cont, r.prot !== HOLE && (r.prot & P_RDONLY) !== 0, r.prot === HOLE ? '' : memTypeOf(r.prot)])
}

const RAM = {start: 0x40000000, end: 0xc0000000}

describe('mapMem (map_mem(), mmu.c)', () => {
  it('6.19 BBML2, 2 GiB at 0x40000000: the `before` linear map of the qemu capture, 1 PUD + 1 PMD table', () => {
    // Kernel [_text, __init_begin) = PA [0x40200000, 0x40800000) (iomem "Kernel code" starts at
    // 0x40200000; 6M ro alias in the dump) is NOMAP while the bank is mapped:
    //  [0, 2M): cont-PMD chunk [0,32M) not whole → init_pmd → one PMD block;
    //  [8M, 32M): same chunk → PMD blocks; [32M, 1G): 31 whole cont-PMD chunks; [1G, 2G): PUD.
    // Then the alias [2M, 8M) with NO_CONT_MAPPINGS: 3 PMD blocks, PAGE_KERNEL (MEM/NORMAL), ro.
    // Tables: 1 PUD table (one 512G slot), 1 PMD table (first 1G), 0 PTE tables.
    const r = mapMem({geo, cfg: makePolicy('bbml2').cfg, banks: [RAM], memstartAddr: RAM.start, kernel: {start: 0x40200000, end: 0x40800000}})
    expect(r.pteForced).toBe(false)
    expect(r.tablesAllocated).toEqual([0, 1, 1])
    expect(r.pt.tables).toEqual([0, 1, 1])
    const real = linearSection('samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before')
    expect(modelRows(r.pt, r.linear.start, r.linear.end)).toEqual(real)
    expect(real.length).toBe(7)
    expect(r.pt.check()).toEqual([])
  })

  it('7.3 BBM Level 3: kernel aliases first, then the memblocks over them: the first 64M of the `before` dump line for line', () => {
    // ampere1a-2G-default (kallsyms.excerpt): _text 0x...fd600000 at PA 0x40200000 (iomem Kernel
    // code), __init_begin +0x2700000, __init_end +0x2b00000, __bss_stop +0x321e000. v7.3.4 map_mem():
    //  text alias [2M, 41M): cont-PMD chunk [0, 32M) not whole → PMD blocks [2M, 40M) (no CON),
    //    [40M, 41M) a PTE table with 16 whole 64K chunks → CON PTEs;
    //  data alias [45M, 0x341e000): [45M, 46M) CON PTEs, [46M, 52M) PMD blocks, [52M, 52M+64K) CON,
    //    [52M+64K, 0x341e000) a partial 64K chunk → plain PTEs;
    //  the bank [0, 2G) over them: [0, 2M) a PMD block (its cont-PMD chunk holds the alias's
    //    non-cont blocks); [41M, 42M) and [44M, 45M) PTEs in the existing tables, CON;
    //    [0x341e000, 0x3420000) in a 64K chunk with valid non-cont entries → no CON; [0x3420000,
    //    54M) CON; [32M, 64M) chunk holds non-cont blocks and tables → PMD blocks without CON.
    //  mark_linear_text_alias_ro(): [2M, 41M) ro MEM/NORMAL; mark_rodata_ro(): the data alias
    //    invalid (ptdump "F"), which the rows below do not show apart from level and CON.
    // Beyond 64M the dump shows the splits of the boot's own later set_memory_* calls.
    const S = 'samples/linux-7.3-debian-qemu/ampere1a-2G-default'
    const sym = (name: string): number => {
      const l = readFileSync(`${S}/kallsyms.excerpt`, 'utf8').split('\n').find((x) => x.endsWith(` ${name}`))!
      return Number(BigInt(`0x${l.split(' ')[0]}`) - 0xffffa3ecfd600000n) + 0x40200000
    }
    expect(sym('_text')).toBe(0x40200000)
    const r = mapMem({
      geo: makeGeometry(4096, 52),
      cfg: {...makePolicy('bbml3').cfg, version: [7, 3]},
      banks: [RAM],
      memstartAddr: RAM.start,
      kernel: {start: sym('_text'), end: sym('__init_begin')},
      kernelData: {start: sym('__init_end'), end: sym('__bss_stop')},
      lpa2: true,
    })
    const end = r.linear.start + 64 * 2 ** 20
    const real = linearSection(`${S}/kernel_page_tables.before`)
      .filter((row) => row[0] < end)
      .map((row) => [row[0], Math.min(row[1], end), ...row.slice(2)])
    expect(modelRows(r.pt, r.linear.start, end)).toEqual(real)
    expect(real.length).toBe(13)
    expect(r.pt.check()).toEqual([])
  })

  it('6.1 rodata=on: blocks, cont PTEs and the NO_CONT kernel alias match the capture line for line', () => {
    // 6.1 maps [_stext, __init_begin) = [0x40210000, 0x41860000) (iomem Kernel code 40210000-4185ffff).
    // [0,2M) PMD; [2M, 2M+64K) one cont-PTE chunk (+1 PTE table); alias: PTEs to 4M, PMD blocks
    // 4M–24M, 384K of PTEs (+1 PTE table); bank again: [24M+384K, 26M) cont PTEs, [26M, 32M) PMD
    // blocks, [32M, 1G) cont PMD, [1G, 2G) PUD. Tables: 2 PTE (the slots of 2M and 24M), 1 PMD, 1 PUD.
    const cfg = makePolicy('noalias', {version: [6, 1]}).cfg
    const r = mapMem({geo, cfg, banks: [RAM], memstartAddr: RAM.start, kernel: {start: 0x40210000, end: 0x41860000}})
    expect(r.tablesAllocated).toEqual([2, 1, 1])
    expect(modelRows(r.pt, r.linear.start, r.linear.end)).toEqual(linearSection('samples/debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.before'))
  })

  it('6.1 rodata=full: PTE-only except the kernel alias; every level as in the capture', () => {
    // NO_BLOCK|NO_CONT for the bank: PTE tables for all 1024 2M slots of 2G except the 10 PMD
    // blocks of the alias [4M, 24M) → 1014 PTE tables (= 2G/2M − 10), 2 PMD tables, 1 PUD table.
    const r = mapMem({geo, cfg: makePolicy('pte-only', {version: [6, 1]}).cfg, banks: [RAM], memstartAddr: RAM.start, kernel: {start: 0x40210000, end: 0x41860000}})
    expect(r.pteForced).toBe(true)
    expect(r.tablesAllocated).toEqual([1014, 2, 1])
    expect(r.pt.recountTables()).toEqual(r.pt.tables)
    // Runtime changes made single pages ro since boot; compare levels and extents only.
    const real = linearSection('samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before')
    const levelAt = (a: number) => real.find(([s, e]) => a >= s && a < e)![2]
    for (const run of r.pt.runs(r.linear.start, r.linear.end)) {
      expect(levelAt(run.start)).toBe(LEVEL[run.lvl])
      expect(levelAt(run.end - 1)).toBe(LEVEL[run.lvl])
    }
  })

  it('early KFENCE pool is mapped page-level inside a block-mapped map; a late one forces PTEs in 6.1–6.17', () => {
    const pool = {start: 0x50000000, size: 2 * M2}
    const early = mapMem({geo, cfg: makePolicy('noalias', {kfence: 'early'}).cfg, banks: [RAM], memstartAddr: RAM.start, kfencePool: pool})
    expect(early.kfencePool).toEqual({start: LIN + 0x10000000, end: LIN + 0x10400000})
    expect(early.pt.entryAt(LIN + 0x10000000)).toMatchObject({lvl: 0, cont: false})
    // The pool's 1G slot is a PMD table: [0,256M) cont PMDs, 2 PTE tables for the pool, rest cont PMDs.
    expect(early.tablesAllocated).toEqual([2, 1, 1])
    const late = mapMem({geo, cfg: makePolicy('noalias', {kfence: 'late'}).cfg, banks: [RAM], memstartAddr: RAM.start})
    expect(late.pteForced).toBe(true)
    expect(late.tablesAllocated).toEqual([1024, 2, 1])
    // 6.19 with BBML2 does not need PTEs for a late pool (force_pte_mapping() is false).
    const modern = mapMem({geo, cfg: makePolicy('bbml2', {kfence: 'late'}).cfg, banks: [RAM], memstartAddr: RAM.start})
    expect(modern.pteForced).toBe(false)
  })

  it('unaligned banks: cont PTEs and PMD blocks only where (addr|next|phys) are aligned', () => {
    // Bank [0x40001000, 0x40600000): PTEs [4K, 64K), cont PTEs [64K, 2M), PMD blocks [2M, 6M).
    const r = mapMem({geo, cfg: makePolicy('bbml2').cfg, banks: [{start: 0x40001000, end: 0x40600000}], memstartAddr: RAM.start})
    expect(modelRows(r.pt, LIN, LIN + 4 * M2).slice(0, 5)).toEqual([
      [LIN, LIN + 0x1000, 'PTE', false, false, ''],
      [LIN + 0x1000, LIN + 0x10000, 'PTE', false, false, 'MEM/NORMAL-TAGGED'],
      [LIN + 0x10000, LIN + M2, 'PTE', true, false, 'MEM/NORMAL-TAGGED'],
      [LIN + M2, LIN + 3 * M2, 'PMD', false, false, 'MEM/NORMAL-TAGGED'],
      [LIN + 3 * M2, LIN + 4 * M2, 'PMD', false, false, ''], // holes, clipped to the query
    ])
    expect(r.tablesAllocated).toEqual([1, 1, 1])
  })
})

describe('6.1: crashkernel= with ZONE_DMA/DMA32 maps the whole linear map page-level (crash_mem_map)', () => {
  // v6.1.119 map_mem(): `if (crash_mem_map) { if (defer_reserve_crashkernel()) flags |=
  // NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS; … }`, defer_reserve_crashkernel() = IS_ENABLED(CONFIG_ZONE_DMA)
  // || IS_ENABLED(CONFIG_ZONE_DMA32). Gone by v6.12. So 6.1 with rodata=on (noalias-like, blocks)
  // and crashkernel= maps PTEs only; 6.12 the same cmdline keeps its blocks.
  it('linearMapPteForced: 6.1 true with crashkernel=, false without; 6.12 false', async () => {
    const {linearMapPteForced} = await import('../../src/kernel/context.js')
    const {inferPolicy} = await import('../../src/kernel/infer-policy.js')
    const facts = (version: string, cmdline: string) => ({version, cmdline, config: 'CONFIG_ZONE_DMA=y\nCONFIG_ZONE_DMA32=y\nCONFIG_RODATA_FULL_DEFAULT_ENABLED=y'})
    const with61 = inferPolicy(facts('6.1.0-56-arm64', 'rodata=on crashkernel=256M'))
    expect(linearMapPteForced(with61.policy.cfg)).toBe(true)
    expect(with61.reasons.join('\n')).toMatch(/crash_mem_map/)
    expect(linearMapPteForced(inferPolicy(facts('6.1.0-56-arm64', 'rodata=on')).policy.cfg)).toBe(false)
    expect(linearMapPteForced(inferPolicy(facts('6.12.117+deb12-arm64', 'rodata=on crashkernel=256M')).policy.cfg)).toBe(false)
    // Without ZONE_DMA/DMA32 the reservation is not deferred: only the crash region is page-mapped.
    const noDma = inferPolicy({version: '6.1.0', cmdline: 'rodata=on crashkernel=256M', config: '# CONFIG_ZONE_DMA is not set\n# CONFIG_ZONE_DMA32 is not set'})
    expect(linearMapPteForced(noDma.policy.cfg)).toBe(false)
  })
})

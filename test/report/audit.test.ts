import {describe, expect, it} from 'vitest'

import {pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID} from '../../src/model/prot.js'
import {audit} from '../../src/report/audit.js'
import {decomposeRange} from '../../src/kernel/leaf-choice.js'

const G = 2 ** 30
const M = 2 ** 20
const K = 1024
const RW = P_VALID | P_AF | P_PXN | P_UXN
const RO = RW | P_RDONLY

describe('audit', () => {
  const geo = makeGeometry(4096, 48)
  const base = pageOffsetKva(48)
  const r = (s: number, e: number, lvl: number, prot = RW, cont = false): Run => ({start: base + s, end: base + e, lvl, cont, prot, flags: 0})
  const regions = [{name: 'linear' as const, start: base, end: base + 2 ** 47}]

  it('PTE-only 2 GiB bank at 1 GiB: tables = 1024 PTE + 2 PMD + 1 PUD (4K/48, docs/page-table-model.md)', () => {
    // 2 GiB / 2 MiB = 1024 PTE tables; the bank spans the 1G slots 1 and 2 → 2 PMD tables;
    // one 512G PGD slot → 1 PUD table. TLB: 2 GiB / 4 KiB = 524288 entries.
    const pt = PageTables.fromRuns(geo, [r(0, G, 1, HOLE), r(G, 3 * G, 0), r(3 * G, 512 * G, 2, HOLE), r(512 * G, 2 ** 47, 3, HOLE)])
    const a = audit(pt, regions)
    const lin = a.regions[0]!
    expect(lin.mappedBytes.PTE).toBe(2 * G)
    expect(lin.tlbEntries).toBe(524288)
    // Actual: the PMD hole in slot 0 also sits in a PMD table: 3 PMD tables (slots 0,1,2).
    expect(lin.tablePages).toEqual({PUD: 1, PMD: 3, PTE: 1024})
    expect(lin.tableBytes).toBe((1 + 3 + 1024) * 4096)
    // PTE-only reference counts tables for the mapped bytes only: 1024 + 2 + 1.
    expect(lin.pteOnly).toEqual({tlbEntries: 524288, tablePages: {PUD: 1, PMD: 2, PTE: 1024}, tableBytes: 1027 * 4096})
    // Ideal: two 1 GiB PUD blocks, only the PUD table.
    expect(lin.ideal.tlbEntries).toBe(2)
    expect(lin.ideal.tablePages).toEqual({PUD: 1, PMD: 0, PTE: 0})
    expect(lin.ideal.mappedBytes.PUD).toBe(2 * G)
    expect(a.directMap.map((d) => d.label)).toEqual(['DirectMap4k', 'DirectMap64k', 'DirectMap2M', 'DirectMap32M', 'DirectMap1G'])
    expect(a.directMap[0]!.bytes).toBe(2 * G)
  })

  it('ideal splits at attribute boundaries: one ro page in a 1 GiB block', () => {
    // [0, 4K) RW, [4K, 8K) ro, [8K, 1G) RW: ideal = head: 1 PTE (RW), 1 PTE (ro), then RW from 8K:
    // 14 PTEs to 64K, 31 cont-PTE groups to 2M (= 496 PTEs as one TLB entry each group),
    // 15 PMDs to 32M, 31 cont-PMD groups to 1G. TLB: 1+1+14+31+15+31 = 93.
    const pt = PageTables.fromRuns(geo, [r(0, 4 * K, 0), r(4 * K, 8 * K, 0, RO), r(8 * K, 2 * M, 0), r(2 * M, G, 1)])
    const lin = audit(pt, regions).regions[0]!
    expect(lin.ideal.tlbEntries).toBe(93)
    expect(lin.ideal.tablePages).toEqual({PUD: 1, PMD: 1, PTE: 1})
    expect(lin.ideal.mappedBytes).toEqual({PUD: 0, CONT_PMD: G - 32 * M, PMD: 30 * M, CONT_PTE: 2 * M - 64 * K, PTE: 64 * K})
  })

  it('decomposeRange uses 16K geometry sizes (cont-PTE 2M, PMD 32M, cont-PMD 1G, no PUD blocks)', () => {
    const g16 = makeGeometry(16384, 47)
    const runs = decomposeRange(g16, 0, 2 * G + 16 * K, RW)
    expect(runs.map((x) => [x.lvl, x.cont, x.end - x.start])).toEqual([
      [1, true, 2 * G],
      [0, false, 16 * K],
    ])
  })
})

import {describe, expect, it} from 'vitest'

import {pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID} from '../../src/model/prot.js'

const geo = makeGeometry(4096, 48)
const G = 2 ** 30
const M2 = 2 ** 21
const K4 = 4096
const RW = P_VALID | P_AF | P_PXN | P_UXN
const base = pageOffsetKva(48)

function run(start: number, end: number, lvl: number, prot = RW, cont = false): Run {
  return {start: base + start, end: base + end, lvl, cont, prot, flags: 0}
}

describe('PageTables', () => {
  it('counts tables from the runs (docs/page-table-model.md)', () => {
    // 1G PUD block, then 1G of PMD blocks, then 2M of PTEs, then PMD holes to 3G,
    // then PUD holes up to 512G: one PUD table (all in one 512G PGD slot),
    // one PMD table (the second and third 1G slots have PMD-level entries: 2 tables),
    // one PTE table (one 2M slot of PTEs).
    const pt = PageTables.fromRuns(geo, [
      run(0, G, 2),
      run(G, 2 * G, 1),
      run(2 * G, 2 * G + M2, 0),
      run(2 * G + M2, 3 * G, 1, HOLE),
      run(3 * G, 512 * G, 2, HOLE),
    ])
    expect(pt.tables).toEqual([1, 2, 1])
    expect(pt.totals.mappedBytes).toEqual({PUD: G, CONT_PMD: 0, PMD: G, CONT_PTE: 0, PTE: M2})
    // TLB entries: 1 (PUD) + 512 (PMD) + 512 (PTE)
    expect(pt.totals.tlbEntries).toBe(1 + 512 + 512)
    expect(pt.check()).toEqual([])
  })

  it('splitEntry on a PUD block adds one PMD table of cont PMDs; a second split adds one PTE table', () => {
    const pt = PageTables.fromRuns(geo, [run(0, G, 2), run(G, 512 * G, 2, HOLE)])
    expect(pt.tables).toEqual([0, 0, 1])
    expect(pt.splitEntry(base + 5 * K4, true)).toBe(true)
    expect(pt.tables).toEqual([0, 1, 1])
    expect(pt.totals.mappedBytes.CONT_PMD).toBe(G)
    expect(pt.clearContGroup(base + 5 * K4)).toBe(true)
    // The first 32M group lost CONT: 16 PMD blocks.
    expect(pt.totals.mappedBytes.PMD).toBe(32 * 2 ** 20)
    expect(pt.splitEntry(base + 5 * K4, true)).toBe(true)
    expect(pt.tables).toEqual([1, 1, 1])
    expect(pt.clearContGroup(base + 5 * K4)).toBe(true)
    pt.setProt(base + 5 * K4, base + 6 * K4, P_RDONLY, 0)
    expect(pt.runAt(base + 5 * K4)).toMatchObject({start: base + 5 * K4, end: base + 6 * K4, lvl: 0, cont: false, prot: RW | P_RDONLY})
    expect(pt.totals.mappedBytes).toEqual({PUD: 0, CONT_PMD: G - 32 * 2 ** 20, PMD: 30 * 2 ** 20, CONT_PTE: M2 - 64 * 1024, PTE: 64 * 1024})
    expect(pt.recountTables()).toEqual(pt.tables)
    expect(pt.check()).toEqual([])
    // Restore and collapse the PTE table back into a PMD block.
    pt.setProt(base + 5 * K4, base + 6 * K4, 0, P_RDONLY)
    pt.collapseToLeaf(base, 1, RW)
    expect(pt.tables).toEqual([0, 1, 1])
    expect(pt.recountTables()).toEqual(pt.tables)
    expect(pt.check()).toEqual([])
  })

  it('ensureTables allocates through holes like vmap_range', () => {
    const pt = PageTables.fromRuns(geo, [run(0, 512 * G, 3, HOLE)])
    expect(pt.tables).toEqual([0, 0, 0])
    expect(pt.ensureTables(base + G, base + G + 8 * K4, 0)).toBe(3)
    expect(pt.tables).toEqual([1, 1, 1])
    expect(pt.recountTables()).toEqual(pt.tables)
  })
})

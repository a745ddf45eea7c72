import {describe, expect, it} from 'vitest'

import {pageOffsetKva} from '../../../src/model/address.js'
import {makeGeometry} from '../../../src/model/geometry.js'
import {PageTables} from '../../../src/model/pagetable.js'
import {HOLE, type Run} from '../../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID} from '../../../src/model/prot.js'
import {renderRegionStrip, renderRegionStrips, stripCells, useColor} from '../../../src/report/terminal/strip.js'

const M = 2 ** 20
const RW = P_VALID | P_AF | P_PXN | P_UXN
const RO = RW | P_RDONLY

describe('terminal strip map', () => {
  const geo = makeGeometry(4096, 48)
  const base = pageOffsetKva(48)
  const r = (s: number, e: number, lvl: number, prot = RW, cont = false): Run => ({start: base + s, end: base + e, lvl, cont, prot, flags: 0})
  // 8 MiB: a 2M PMD block, 2M of PTEs, a 2M PMD hole, then 1M cont-PTE ro + 1M cont-PTE RW.
  const pt = PageTables.fromRuns(geo, [
    r(0, 2 * M, 1),
    r(2 * M, 4 * M, 0),
    r(4 * M, 6 * M, 1, HOLE),
    r(6 * M, 7 * M, 0, RO, true),
    r(7 * M, 8 * M, 0, RW, true),
    r(8 * M, 1024 * M, 1, HOLE),
  ])
  const region = {name: 'linear' as const, start: base, end: base + 2 ** 47}

  it('one character per 2 MiB cell: PMD, PTE, hole, cont-PTE; the ro→RW change is in the last cell', () => {
    // Occupied extent = [0, 8M) (the trailing PMD holes are not entries that map anything),
    // 4 cells of 2 MiB each.
    const cells = stripCells(pt, base, base + 8 * M, 4)
    expect(cells.map((c) => c.code)).toEqual([2, 0, 6, 1])
    expect(cells.map((c) => c.change)).toEqual([false, false, false, true])
    const line = renderRegionStrip(pt, region, {width: 8, color: false})!
    // 8 chars of 1 MiB: ++ .. (2 spaces) :: — ASCII only, no escape sequences.
    expect(line).toContain('|++..  ::|')
    expect(line).toContain('| 8 MiB @ 0xffff000000000000')
    expect(line).not.toMatch(/\x1b/)
  })

  it('colour: backgrounds per leaf size and an underline where attributes change', () => {
    const line = renderRegionStrip(pt, region, {width: 4, color: true})!
    expect(line).toMatch(/\x1b\[48;5;\d+m/)
    expect(line).toContain('\x1b[4m')
  })

  it('a mostly-hole cell that maps something shows as partly mapped', () => {
    // 1 cell over [0, 8M): PMD 2M + PTE 2M + cont 2M = 6M mapped of 8M → dominant PMD? No:
    // PMD 2M, PTE 2M, cont-PTE 2M, hole 2M → largest mapped kind (2M) is not below the hole (2M).
    const c1 = stripCells(pt, base, base + 8 * M, 1)[0]!
    expect(c1.partly).toBe(false)
    // Over [0, 16M): hole 10M > PMD 2M → partly mapped.
    const c2 = stripCells(pt, base, base + 16 * M, 1)[0]!
    expect(c2.partly).toBe(true)
  })

  it('legend names the leaf sizes of the granule; strips only for regions that map something', () => {
    const lines = renderRegionStrips(pt, [region, {name: 'vmalloc', start: base + 2 ** 47, end: base + 2 ** 48}], {width: 16})
    expect(lines).toHaveLength(3)
    expect(lines[2]).toContain('PMD 2MiB')
    expect(lines[2]).toContain('cont-PTE 64KiB')
    expect(lines[2]).toContain('PUD 1GiB')
  })

  it('NO_COLOR or a pipe means ASCII', () => {
    expect(useColor({isTTY: true}, {})).toBe(true)
    expect(useColor({isTTY: true}, {NO_COLOR: '1'})).toBe(false)
    expect(useColor({isTTY: false}, {})).toBe(false)
    expect(useColor({isTTY: true}, {NO_COLOR: ''})).toBe(true)
  })
})

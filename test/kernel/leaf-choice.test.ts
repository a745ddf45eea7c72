/**
 * The flat leaf choice (src/kernel/leaf-choice.ts, used by the audit's "ideal") against the table
 * walk that mirrors __create_pgd_mapping() (createPgdMappingInto, src/kernel/map-mem.ts) on empty
 * tables: for any page-aligned range of any geometry, the same leaves.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {decomposeRange} from '../../src/kernel/leaf-choice.js'
import {createPgdMappingInto} from '../../src/kernel/map-mem.js'
import {pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {P_VALID} from '../../src/model/prot.js'

const GEOS = [makeGeometry(4096, 48), makeGeometry(4096, 39), makeGeometry(16384, 47), makeGeometry(65536, 42), makeGeometry(65536, 48)]

describe('leaf choice: flat decomposition = the __create_pgd_mapping() walk on empty tables', () => {
  it('4K/48, 2M + 4K .. 1G + 34M + 64K: PMD, cont-PMD and cont-PTE heads and tails (worked by hand)', () => {
    const g = GEOS[0]!
    const base = pageOffsetKva(48)
    const M = 2 ** 20
    // [2M+4K, 1G+34M+64K): PTEs to 2M+64K, cont PTEs to 4M, PMD blocks to 32M, cont-PMD to 1G
    // (no whole PUD), cont-PMD [1G, 1G+32M), a PMD block to 1G+34M, one cont-PTE group.
    const runs = decomposeRange(g, base + 2 * M + 4096, base + 2 ** 30 + 34 * M + 65536, P_VALID)
    expect(runs.map((r) => [(r.start - base) / 4096, (r.end - base) / 4096, r.lvl, r.cont])).toEqual([
      [513, 528, 0, false],
      [528, 1024, 0, true],
      [1024, 8192, 1, false],
      [8192, 270336, 1, true],
      [270336, 270848, 1, false],
      [270848, 270864, 0, true],
    ])
  })

  it('property: every geometry, any page-aligned range', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: GEOS.length - 1}), fc.nat(), fc.nat(), (gi, x, y) => {
        const g = GEOS[gi]!
        const base = pageOffsetKva(g.vaBits)
        const span = Math.min(2 ** (g.vaBits - 2), 2 ** 46) / g.pageSize
        const a = x % span
        const b = a + 1 + (y % Math.min(span - a, 3 * 2 ** 21))
        const start = base + a * g.pageSize
        const end = base + b * g.pageSize
        const top = g.levels - 1
        const pt = PageTables.fromRuns(g, [{start: base, end: base + span * g.pageSize * 2, lvl: top, cont: false, prot: HOLE, flags: 0}])
        createPgdMappingInto(pt, start, end, P_VALID, {blocks: true, cont: true})
        const walked = [...pt.runs(start, end)].map((r) => [r.start, r.end, r.lvl, r.cont])
        const flat = decomposeRange(g, start, end, P_VALID).map((r) => [r.start, r.end, r.lvl, r.cont])
        expect(flat).toEqual(walked)
      }),
      {numRuns: 300},
    )
  })
})

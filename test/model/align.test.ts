/**
 * The merge walk over two run lists, entry equality and region pairing that `diff` and `verify`
 * share: hand-built run lists whose segments follow from their boundaries.
 */
import {describe, expect, it} from 'vitest'

import {pageOffsetKva} from '../../src/model/address.js'
import {alignRuns, pairRegions, pushMerged, sameEntry} from '../../src/model/align.js'
import type {Region} from '../../src/model/layout.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'

const K4 = 4096
const G = 2 ** 30
const RW = withMemType(P_VALID | P_AF | P_PXN | P_UXN, 'MEM/NORMAL-TAGGED')
const RO = RW | P_RDONLY
const base = pageOffsetKva(48)

function run(start: number, end: number, lvl: number, prot = RW, cont = false): Run {
  return {start: base + start, end: base + end, lvl, cont, prot, flags: 0}
}

describe('alignRuns', () => {
  it('cuts both sides at every boundary and reports gaps as undefined', () => {
    const a = [run(0, 8 * K4, 0), run(12 * K4, 16 * K4, 0)]
    const b = [run(0, 4 * K4, 0), run(4 * K4, 16 * K4, 0, RO)]
    const segs = [...alignRuns(a, b, base, base + 16 * K4)].map((s) => [(s.start - base) / K4, (s.end - base) / K4, s.a?.prot ?? null, s.b?.prot ?? null])
    expect(segs).toEqual([
      [0, 4, RW, RW],
      [4, 8, RW, RO],
      [8, 12, null, RO],
      [12, 16, RW, RO],
    ])
  })
})

describe('sameEntry and pushMerged', () => {
  it('same level, hint, attributes and flags only; contiguous same entries merge, others append', () => {
    expect(sameEntry(run(0, K4, 0), run(K4, 2 * K4, 0))).toBe(true)
    expect(sameEntry(run(0, K4, 0), run(0, K4, 0, RO))).toBe(false)
    expect(sameEntry(run(0, K4, 0), run(0, K4, 0, RW, true))).toBe(false)
    expect(sameEntry(run(0, K4, 0), undefined)).toBe(false)
    expect(sameEntry(undefined, undefined)).toBe(true)
    const runs: Run[] = []
    pushMerged(runs, run(0, K4, 0))
    pushMerged(runs, run(K4, 2 * K4, 0))
    pushMerged(runs, run(2 * K4, 3 * K4, 0, RO))
    pushMerged(runs, run(4 * K4, 5 * K4, 0, RO))
    pushMerged(runs, run(5 * K4, 6 * K4, 0, HOLE))
    expect(runs.map((r) => [(r.start - base) / K4, (r.end - base) / K4])).toEqual([
      [0, 2],
      [2, 3],
      [4, 5],
      [5, 6],
    ])
  })
})

describe('pairRegions', () => {
  it("compares over the second snapshot's regions and notes moved and one-sided ones", () => {
    const a: Region[] = [
      {name: 'linear', start: base, end: base + G},
      {name: 'modules', start: base + 2 * G, end: base + 3 * G},
    ]
    const b: Region[] = [
      {name: 'linear', start: base, end: base + 2 * G},
      {name: 'vmalloc', start: base + 4 * G, end: base + 5 * G},
    ]
    const {regions, notes} = pairRegions(a, b)
    expect(regions).toEqual(b)
    expect(notes).toEqual([
      'linear: bounds differ (0xffff000000000000-0xffff000040000000 → 0xffff000000000000-0xffff000080000000); compared over the second\'s',
      'vmalloc: only in the second snapshot',
      'modules: only in the first snapshot (not compared)',
    ])
  })
})

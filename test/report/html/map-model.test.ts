import {describe, expect, it} from 'vitest'

import {pageOffsetKva} from '../../../src/model/address.js'
import {makeGeometry} from '../../../src/model/geometry.js'
import {PageTables} from '../../../src/model/pagetable.js'
import {HOLE, type Run} from '../../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, describeProt} from '../../../src/model/prot.js'
import {CATEGORIES, CODE, decodeRecords} from '../../../src/report/html/map-encoding.js'
import {mapColumnFromPageTables} from '../../../src/report/html/map-model.js'

const M = 2 ** 20
const G = 2 ** 30
const RW = P_VALID | P_AF | P_PXN | P_UXN
const RO = RW | P_RDONLY

describe('map model: compact run encoding', () => {
  const geo = makeGeometry(4096, 48)
  const base = pageOffsetKva(48)
  const r = (s: number, e: number, lvl: number, prot = RW, cont = false): Run => ({start: base + s, end: base + e, lvl, cont, prot, flags: 0})
  const linear = {name: 'linear' as const, start: base, end: base + 2 ** 47}

  it('round-trips every run: bounds, leaf code, level, attributes; gaps stay gaps', () => {
    const runs = [
      r(0, G, 2),
      r(G, G + 32 * M, 1, RW, true),
      r(G + 32 * M, G + 34 * M, 1, RO),
      r(G + 34 * M, G + 34 * M + 64 * 1024, 0, RW, true),
      r(G + 34 * M + 64 * 1024, G + 36 * M, 0, RO),
      r(G + 36 * M, G + 38 * M, 0, RW & ~P_VALID),
      r(G + 38 * M, 2 * G, 1, HOLE),
      // a gap (a 5.4 dump omits holes), then one more PMD
      r(3 * G, 3 * G + 2 * M, 1),
    ]
    const pt = PageTables.fromRuns(geo, runs)
    const col = mapColumnFromPageTables(pt, [linear])
    const reg = col.regions[0]!
    expect(reg.detailBytes).toBe(4096)
    expect(reg.extentStart).toBe(base)
    expect(reg.extentEnd).toBe(base + 3 * G + 2 * M)
    const dec = decodeRecords(reg, 4096)
    expect(dec.map((d) => [d.start - base, d.end - base, d.code, d.lvl])).toEqual([
      [0, G, CODE.PUD, 2],
      [G, G + 32 * M, CODE.CONT_PMD, 1],
      [G + 32 * M, G + 34 * M, CODE.PMD, 1],
      [G + 34 * M, G + 34 * M + 65536, CODE.CONT_PTE, 0],
      [G + 34 * M + 65536, G + 36 * M, CODE.PTE, 0],
      [G + 36 * M, G + 38 * M, CODE.INVALID, 0],
      [G + 38 * M, 2 * G, CODE.HOLE, 1],
      [3 * G, 3 * G + 2 * M, CODE.PMD, 1],
    ])
    expect(dec.map((d) => (d.prot >= 0 ? col.prots[d.prot] : null))).toEqual([
      describeProt(RW), describeProt(RW), describeProt(RO), describeProt(RW), describeProt(RO), describeProt(RW & ~P_VALID), null, describeProt(RW),
    ])
    // Bytes per category, by hand: PUD 1G + 2M; cont-PMD 32M; PMD 2M + 2M; cont-PTE 64K; PTE 2M-64K; invalid 2M.
    const bytes = Object.fromEntries(CATEGORIES.map((c, i) => [c, reg.bytes[i]]))
    expect(bytes).toEqual({PTE: 2 * M - 65536, CONT_PTE: 65536, PMD: 4 * M, CONT_PMD: 32 * M, PUD: G, INVALID: 2 * M, HOLE: G - 38 * M})
    // Attribute changes between adjacent leaves: RW→RO (cont-PMD→PMD), RO→RW, RW→RO, RO→invalid;
    // none across the hole and the gap.
    expect(reg.protChanges).toBe(4)
  })

  it('over budget: slots holding several runs become summaries whose mix adds up; large runs stay exact', () => {
    // 20,000 PTE runs of pseudo-random lengths (1..64 pages), alternating RW/ro, then a 1 GiB
    // PUD block at 3 GiB: irregular enough that gzip cannot hide the record count.
    const runs: Run[] = []
    let a = 0
    let seed = 12345
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648
      const len = 4096 * (1 + (Math.floor(seed / 65536) % 64)) // high bits: the low ones of an LCG cycle fast
      runs.push(r(a, a + len, 0, i % 2 ? RO : RW))
      a += len
    }
    const pteBytes = a
    expect(pteBytes).toBeLessThan(3 * G)
    runs.push(r(3 * G, 4 * G, 2))
    const pt = PageTables.fromRuns(geo, runs)
    const exact = mapColumnFromPageTables(pt, [linear])
    expect(exact.regions[0]!.detailBytes).toBe(4096)
    const budget = 4000
    expect(exact.regions[0]!.records.length).toBeGreaterThan(budget)
    const small = mapColumnFromPageTables(pt, [linear], {budgetBytes: budget})
    const reg = small.regions[0]!
    expect(reg.records.length).toBeLessThanOrEqual(budget)
    const Q = reg.detailBytes
    // Coarsening starts at one PMD slot (2 MiB) and doubles.
    expect(Q).toBeGreaterThanOrEqual(2 * M)
    const dec = decodeRecords(reg, 4096)
    // Records are bounded by the slots, not by the runs: ≤ one per slot of the PTE part, + the PUD.
    expect(dec.length).toBeLessThanOrEqual(Math.ceil(pteBytes / Q) + 1)
    let pte = 0
    let pieces = 0
    for (const d of dec) {
      if (d.code === CODE.SUMMARY) {
        pte += d.summary!.fractions[CODE.PTE]! * (d.end - d.start)
        pieces += d.summary!.runs
        // A slot of alternating runs changes attributes at every boundary but the first.
        expect(d.summary!.protChanges).toBeGreaterThanOrEqual(d.summary!.runs - 1)
      } else if (d.code === CODE.PTE) {
        pte += d.end - d.start
        pieces++
      }
    }
    // Each summary rounds its fractions to 1/255: the bytes add up within that.
    expect(Math.abs(pte - pteBytes)).toBeLessThanOrEqual((dec.length * Q) / 255)
    expect(pieces).toBeGreaterThanOrEqual(20000)
    const last = dec[dec.length - 1]!
    expect([last.start - base, last.end - base, last.code]).toEqual([3 * G, 4 * G, CODE.PUD])
    // The records tile [0, end of PTEs) without overlaps.
    for (let i = 1; i < dec.length - 1; i++) expect(dec[i]!.start).toBe(dec[i - 1]!.end)
  })

  it('events are kept sorted with deduplicated labels, up to the limit', () => {
    const pt = PageTables.fromRuns(geo, [r(0, 2 * M, 0)])
    const col = mapColumnFromPageTables(pt, [linear], {
      maxEvents: 2,
      events: [
        {start: base + 8192, end: base + 12288, label: 'set_memory_ro insmod'},
        {start: base, end: base + 4096, label: 'set_memory_ro insmod'},
        {start: base + 4096, end: base + 8192, label: 'dropped'},
      ],
    })
    expect(col.events).toEqual([base, base + 4096, 0, base + 8192, base + 12288, 0])
    expect(col.eventLabels).toEqual(['set_memory_ro insmod'])
    expect(col.droppedEvents).toBe(1)
  })

  it('regions that map nothing are left out', () => {
    const pt = PageTables.fromRuns(geo, [r(0, 2 * M, 0), r(2 ** 47, 2 ** 47 + G, 2, HOLE)])
    const col = mapColumnFromPageTables(pt, [linear, {name: 'vmalloc', start: base + 2 ** 47, end: base + 2 ** 48}])
    expect(col.regions.map((x) => x.name)).toEqual(['linear'])
  })
})

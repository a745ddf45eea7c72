/**
 * The ptdump writer: kernel-exact lines (byte-for-byte on the real captures is in
 * test/ingest/ptdump/golden.test.ts) and the round-trip property
 * parsePtdump(renderPtdump(pt)) ≡ pt, with the same table counts, for every era and geometry.
 */
import type {KernelVersion} from '../../src/kernel/version.js'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {formatKva, pageOffsetKva} from '../../src/model/address.js'
import {type PageSize, SUPPORTED, makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {P_AF, P_NG, P_PXN, P_SHARED, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'
import {bytesIn, parsePtdump} from '../../src/ingest/ptdump/index.js'
import {ERAS, PTDUMP_ERAS} from '../../src/ingest/ptdump/tables.js'
import {renderPtdump} from '../../src/report/ptdump-text.js'
import {generateTables, withoutHoles} from '../ingest/ptdump/gen-tables.js'

const CONFIGS: {p: PageSize; va: number}[] = Object.entries(SUPPORTED).flatMap(([p, m]) => Object.keys(m).map((va) => ({p: Number(p) as PageSize, va: Number(va)})))

describe('renderPtdump', () => {
  it('prints note_page() lines: markers, holes, attribute columns, the 2^64 end', () => {
    const geo = makeGeometry(4096, 48)
    const base = pageOffsetKva(48)
    const M2 = 2 ** 21
    const G = 2 ** 30
    const rw = withMemType(P_VALID | P_PXN | P_SHARED | P_AF | P_UXN, 'MEM/NORMAL-TAGGED')
    const pt = PageTables.fromRuns(geo, [
      {start: base, end: base + M2, lvl: 1, cont: false, prot: rw, flags: 0},
      {start: base + M2, end: base + 2 * M2, lvl: 0, cont: true, prot: rw | P_NG, flags: 0},
      {start: base + 2 * M2, end: base + G, lvl: 1, cont: false, prot: HOLE, flags: 0},
      {start: base + G, end: base + 512 * G, lvl: 2, cont: false, prot: HOLE, flags: 0},
      {start: base + 512 * G, end: 2 ** 52, lvl: 3, cont: false, prot: HOLE, flags: 0},
    ])
    const regions = [
      {name: 'linear' as const, start: base, end: base + 2 ** 47},
      {name: 'modules' as const, start: base + 2 ** 47, end: base + 2 ** 47 + 2 * G},
    ]
    expect([...renderPtdump(pt, regions, {era: '6.9+'})]).toEqual([
      '---[ Linear Mapping start ]---',
      '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
      '0xffff000000200000-0xffff000000400000           2M PTE       RW NX SHD AF NG CON     UXN    MEM/NORMAL-TAGGED',
      '0xffff000000400000-0xffff000040000000        1020M PMD',
      '0xffff000040000000-0xffff008000000000         511G PUD',
      '0xffff008000000000-0xffff800000000000      130560G PGD',
      '---[ Linear Mapping end ]---',
      '---[ Modules start ]---',
      // "Modules end" (+2G) lies inside a 512G PGD entry: the walk reaches it at the next entry.
      '0xffff800000000000-0xffff808000000000         512G PGD',
      '---[ Modules end ]---',
      '0xffff808000000000-0x0000000000000000      130560G PGD',
    ])
    // 5.4: no holes, no GP column, UXN printed only when set.
    expect([...renderPtdump(pt, regions, {era: '5.4'})]).toEqual([
      '---[ Linear Mapping start ]---',
      '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN',
      '0xffff000000200000-0xffff000000400000           2M PTE       RW NX SHD AF NG CON     UXN',
      '---[ Linear Mapping end ]---',
      '---[ Modules start ]---',
      '---[ Modules end ]---',
    ])
    // 5.6–5.11: no "Linear Mapping start"; the first line runs from 0.
    expect([...renderPtdump(pt, regions, {era: '5.6-5.11'})].slice(0, 2)).toEqual([
      '0x0000000000000000-0xffff000000000000    16776960T PGD',
      '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
    ])
  })

  it('BLK on an invalid block: printed by ≤6.12 (bit 1 clear), not by 6.13+', () => {
    const geo = makeGeometry(4096, 48)
    const base = pageOffsetKva(48)
    const inval = P_NG | P_PXN | P_AF | P_UXN
    const pt = PageTables.fromRuns(geo, [{start: base, end: base + 2 ** 21, lvl: 1, cont: false, prot: inval, flags: 0}])
    const line = (version: KernelVersion) => [...renderPtdump(pt, [], {era: '6.9+', version})][0]
    // No memory type (index 0): the line ends with GP's clear string.
    expect(line([6, 12])).toBe('0xffff000000000000-0xffff000000200000           2M PMD F     RW NX     AF NG     BLK UXN   ')
    expect(line([6, 19])).toBe('0xffff000000000000-0xffff000000200000           2M PMD F     RW NX     AF NG         UXN   ')
  })
})

describe('round trip: parsePtdump(renderPtdump(pt)) rebuilds pt', () => {
  const arb = fc.record({
    seed: fc.integer({min: 0, max: 2 ** 31 - 1}),
    cfg: fc.constantFrom(...CONFIGS),
    era: fc.constantFrom(...PTDUMP_ERAS),
    oldBlk: fc.boolean(),
  })

  it('for every era and geometry, with geometry and era detected from the text', () => {
    fc.assert(
      fc.property(arb, ({seed, cfg, era, oldBlk}) => {
        if (!ERAS[era].vaBits[cfg.p]!.includes(cfg.va)) return // Kconfig of that era has no such VA size
        const geo = makeGeometry(cfg.p, cfg.va)
        const version = era === '6.9+' && oldBlk ? ([6, 12] as const) : undefined
        const g = generateTables(seed, geo, era, version)
        const want = era === '5.4' ? withoutHoles(g) : g.pt
        const text = [...renderPtdump(want, g.regions, {era, version})].join('\n') + '\n'
        const snap = parsePtdump(text, 'rt.txt')
        expect(snap.diagnostics).toEqual([])
        expect(snap.geometry.label).toBe(geo.label)
        expect(snap.pt.equals(want)).toBe(true)
        expect(snap.pt.tables).toEqual(want.tables)
        expect(snap.pt.totals).toEqual(want.totals)
        if (g.regions.length > 1) expect(snap.era).toBe(era)
        if (era !== '5.4') {
          // 5.4 omits holes, so its marker addresses are only exact for mapped lines.
          const fmt = (rs: {name: string; start: number; end: number}[]) => rs.map((r) => `${r.name} ${formatKva(r.start)}-${formatKva(r.end)}`)
          expect(fmt(snap.regions)).toEqual(fmt(g.regions))
          // Tiling: every byte of a region is in exactly one run; bytes per region add up.
          let mapped = 0
          for (const r of snap.regions) {
            const b = bytesIn(snap.pt, r.start, r.end)
            expect(b.mappedTotal + b.invalid + b.holes).toBe(r.end - r.start)
            expect(Object.values(b.mapped).reduce((x, y) => x + y, 0)).toBe(b.mappedTotal)
            mapped += b.mappedTotal
          }
          let outside = 0
          let pos = pageOffsetKva(geo.vaBits)
          for (const r of [...snap.regions, {start: 2 ** 52, end: 2 ** 52}]) {
            outside += bytesIn(snap.pt, pos, r.start).mappedTotal
            pos = r.end
          }
          const total = Object.values(snap.pt.totals.mappedBytes).reduce((x, y) => x + y, 0)
          expect(mapped + outside).toBe(total)
        }
      }),
      {numRuns: 150},
    )
  })
})

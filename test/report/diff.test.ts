/**
 * Snapshot diff: hand-built models whose splits, permission changes and table pages follow from
 * the kernel's rules (split_kernel_leaf_mapping() in arch/arm64/mm/mmu.c v6.19, docs/page-table-model.md), then the real 6.19 BBML2 capture, whose own
 * split probes (kprobe_profile / trace) give the ground truth for what the diff must count.
 */
import {describe, expect, it} from 'vitest'

import {parsePtdump, readPtdump} from '../../src/ingest/ptdump/index.js'
import {formatKva, pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import type {Region} from '../../src/model/layout.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'
import {renderDiffText} from '../../src/report/diff-text.js'
import {diffRegion, diffSnapshots, protChange} from '../../src/report/diff.js'
import {renderPtdump} from '../../src/report/ptdump-text.js'

const geo = makeGeometry(4096, 48)
const G = 2 ** 30
const M2 = 2 ** 21
const K4 = 4096
const K64 = 65536
const RW = withMemType(P_VALID | P_AF | P_PXN | P_UXN, 'MEM/NORMAL-TAGGED')
const RO = RW | P_RDONLY
const base = pageOffsetKva(48)
const linear: Region = {name: 'linear', start: base, end: base + 512 * G}

function run(start: number, end: number, lvl: number, prot = RW, cont = false): Run {
  return {start: base + start, end: base + end, lvl, cont, prot, flags: 0}
}

function pt(runs: Run[]): PageTables {
  return PageTables.fromRuns(geo, runs)
}

describe('diffRegion', () => {
  it('a PMD block split to PTEs with one page made read-only: split_pmd 1, one PTE table, 4K RW→ro', () => {
    // update_range_prot(base+5 pages, 4K, RDONLY): split_pmd(to_cont) then split_contpte on the
    // boundary group; the kernel ends with 512 PTEs in one new PTE table (+1 page, split_pmd()).
    const a = pt([run(0, M2, 1), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const b = pt([run(0, 5 * K4, 0), run(5 * K4, 6 * K4, 0, RO), run(6 * K4, M2, 0), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const d = diffRegion(geo, a, b, linear)
    expect(d.splits).toEqual({'PUD→PMD': 0, 'PMD→PTE': 1, 'CONT_PMD cleared': 0, 'CONT_PTE cleared': 0})
    expect(d.collapses).toEqual({'PMD→PUD': 0, 'PTE→PMD': 0, 'CONT_PMD set': 0, 'CONT_PTE set': 0})
    expect(d.permissionChanges).toEqual([{from: 'RW NX AF UXN MEM/NORMAL-TAGGED', to: 'ro NX AF UXN MEM/NORMAL-TAGGED', change: 'RW→ro', bytes: K4, ranges: 1}])
    expect(d.tablePages).toEqual({PUD: {a: 1, b: 1, added: 0, freed: 0}, PMD: {a: 1, b: 1, added: 0, freed: 0}, PTE: {a: 0, b: 1, added: 1, freed: 0}})
    expect(d.changedRanges).toBe(1)
    expect(d.changedBytes).toBe(M2)
    expect(d.ranges[0]!.kinds).toEqual(['split', 'permission'])
    expect(d.ranges[0]!.a.map((r) => r.line)).toEqual([`${formatKva(base)}-${formatKva(base + M2)}           2M PMD       RW NX     AF        BLK UXN    MEM/NORMAL-TAGGED`])
    expect(d.ranges[0]!.b).toHaveLength(3)
    expect(d.ranges[0]!.b[1]!.line).toContain('4K PTE       ro NX')
    // The reverse is a collapse (try_collapse_kernel_pmd: −1 PTE table).
    const back = diffRegion(geo, b, a, linear)
    expect(back.collapses['PTE→PMD']).toBe(1)
    expect(back.splits['PMD→PTE']).toBe(0)
    expect(back.tablePages.PTE).toEqual({a: 1, b: 0, added: 0, freed: 1})
    expect(back.permissionChanges[0]!.change).toBe('ro→RW')
  })

  it('a PUD block split down to PTEs in one PMD slot: split_pud 1 + split_pmd 1, one PMD and one PTE table', () => {
    const a = pt([run(0, G, 2), run(G, 512 * G, 2, HOLE)])
    const b = pt([run(0, M2, 0), run(M2, G, 1), run(G, 512 * G, 2, HOLE)])
    const d = diffRegion(geo, a, b, linear)
    expect(d.splits['PUD→PMD']).toBe(1)
    expect(d.splits['PMD→PTE']).toBe(1)
    expect(d.permissionChanges).toEqual([])
    expect(d.tablePages.PMD).toEqual({a: 0, b: 1, added: 1, freed: 0})
    expect(d.tablePages.PTE).toEqual({a: 0, b: 1, added: 1, freed: 0})
  })

  it('cont hint cleared on one 64K group (split_contpte): no table change', () => {
    const a = pt([run(0, K64, 0, RW, true), run(K64, M2, 0), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const b = pt([run(0, M2, 0), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const d = diffRegion(geo, a, b, linear)
    expect(d.splits).toEqual({'PUD→PMD': 0, 'PMD→PTE': 0, 'CONT_PMD cleared': 0, 'CONT_PTE cleared': 1})
    expect(d.ranges.map((r) => r.kinds)).toEqual([['cont cleared']])
    expect(Object.values(d.tablePages).every((t) => t.added === 0 && t.freed === 0)).toBe(true)
    // A PMD split to cont PTEs is a split, not a "cont set" collapse.
    const c = pt([run(0, M2, 1), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const e = pt([run(0, M2, 0, RW, true), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const s = diffRegion(geo, c, e, linear)
    expect(s.splits['PMD→PTE']).toBe(1)
    expect(s.collapses['CONT_PTE set']).toBe(0)
  })

  it('mapped and unmapped pages (vmalloc areas coming and going), KFENCE-style valid→F', () => {
    const F = RW & ~P_VALID
    const a = pt([run(0, K4, 0, HOLE), run(K4, 2 * K4, 0), run(2 * K4, 3 * K4, 0), run(3 * K4, M2, 0, HOLE), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const b = pt([run(0, K4, 0), run(K4, 2 * K4, 0, HOLE), run(2 * K4, 3 * K4, 0, F), run(3 * K4, M2, 0, HOLE), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE)])
    const d = diffRegion(geo, a, b, linear)
    expect([d.mappedBytes, d.mappedRanges, d.unmappedBytes, d.unmappedRanges]).toEqual([K4, 1, K4, 1])
    expect(d.permissionChanges.map((p) => [p.change, p.bytes])).toEqual([['valid→F', K4]])
    expect(d.changedRanges).toBe(1)
    expect(d.ranges[0]!.kinds).toEqual(['mapped', 'unmapped', 'permission'])
  })

  it('caps the listed ranges and counts them all', () => {
    const runs: Run[] = []
    const runsB: Run[] = []
    for (let i = 0; i < 20; i++) {
      runs.push(run(2 * i * K4, (2 * i + 1) * K4, 0), run((2 * i + 1) * K4, (2 * i + 2) * K4, 0, RO))
      runsB.push(run(2 * i * K4, (2 * i + 1) * K4, 0, RO), run((2 * i + 1) * K4, (2 * i + 2) * K4, 0, RO))
    }
    runs.push(run(40 * K4, M2, 0))
    runsB.push(run(40 * K4, M2, 0))
    const d = diffRegion(geo, pt(runs), pt(runsB), {name: 'linear', start: base, end: base + M2}, {maxRanges: 3})
    expect(d.changedRanges).toBe(20)
    expect(d.ranges).toHaveLength(3)
    expect(d.permissionChanges).toEqual([expect.objectContaining({change: 'RW→ro', bytes: 20 * K4, ranges: 20})])
  })
})

describe('protChange', () => {
  it('names only what differs', () => {
    expect(protChange(RW, RO)).toBe('RW→ro')
    expect(protChange(RW, RW & ~P_PXN)).toBe('NX→x')
    expect(protChange(RW, RW & ~P_VALID)).toBe('valid→F')
    expect(protChange(RW, RW & ~P_UXN)).toBe('-UXN')
    expect(protChange(RW, HOLE)).toBe('RW NX AF UXN MEM/NORMAL-TAGGED→none')
  })
})

describe('diff of the real 6.19 BBML2 capture', () => {
  const D = 'samples/linux-6.19-bbml2-qemu/max-2G-default'

  it('loaded → bpf: PMD→PTE 44 = the kernel split_pmd hits between the bpf-phase markers, one PTE table each', async () => {
    // kprobe hits of split_pmd between "capture: bpf phase begin" and "capture: bpf phase end"
    // in trace.txt.gz: 44 (README: 45 from the begin marker to the end; bpf → after has 1).
    // Nothing merges back in mainline, so every split PMD is a PMD in `loaded` and PTEs in `bpf`.
    const a = await readPtdump(`${D}/kernel_page_tables.loaded`)
    const b = await readPtdump(`${D}/kernel_page_tables.bpf`)
    const d = diffSnapshots(a, b)
    const lin = d.regions.find((r) => r.name === 'linear')!
    expect(lin.splits['PMD→PTE']).toBe(44)
    expect(lin.splits['PUD→PMD']).toBe(0)
    expect(lin.splits['CONT_PMD cleared']).toBe(3) // split_contpmd 3 in the same window
    expect(lin.tablePages.PTE).toEqual({a: 12, b: 56, added: 44, freed: 0})
    expect(lin.unmappedBytes + lin.mappedBytes).toBe(0)
    expect(d.regions.find((r) => r.name === 'vmemmap')!.same).toBe(true)
    const text = renderDiffText(d).join('\n')
    expect(text).toContain('splits: PMD→PTE 44, CONT_PMD cleared 3')
  })

  it('bpf → after: the one split_pmd of the rmmod phase; the 19 modules unmapped', async () => {
    const a = await readPtdump(`${D}/kernel_page_tables.bpf`)
    const b = await readPtdump(`${D}/kernel_page_tables.after`)
    const d = diffSnapshots(a, b)
    const lin = d.regions.find((r) => r.name === 'linear')!
    expect(lin.splits['PMD→PTE']).toBe(1)
    expect(lin.tablePages.PTE!.added).toBe(1)
    // Every read-only alias page went back to RW when its module was freed (set_direct_map_default_noflush).
    expect(lin.permissionChanges.map((p) => p.change)).toEqual(['ro→RW'])
    const mods = d.regions.find((r) => r.name === 'modules')!
    expect(mods.mappedBytes).toBe(0)
    expect(mods.unmappedRanges).toBeGreaterThan(0)
  })

  it('a snapshot against its own rendering is unchanged', async () => {
    const a = await readPtdump(`${D}/kernel_page_tables.loaded`)
    const text = [...renderPtdump(a.pt, a.regions, {era: a.era === 'unknown' ? '6.9+' : a.era})].join('\n') + '\n'
    const b = parsePtdump(text, 'rendered')
    const d = diffSnapshots(a, b)
    expect(d.same).toBe(true)
    expect(d.regions.every((r) => r.changedRanges === 0)).toBe(true)
  })
})

import {describe, expect, it} from 'vitest'

import {parseKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {fixmapLayout, kernelLayout} from '../../src/synth/layout.js'
import {summarizeMachine} from '../../src/synth/machine-summary.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {defaultBanks} from '../../src/synth/memory-map.js'
import {parseBanks, parseSize} from '../../src/synth/units.js'

const G = 2 ** 30
const M = 2 ** 20

function roundTrip(m: ReturnType<typeof synthMachine>) {
  const text = [...renderMachine(m)].join('\n') + '\n'
  return parsePtdump(text, 'synth')
}

describe('layout (6.9+ formulas of arch/arm64/include/asm/memory.h)', () => {
  it('4K/48 marker addresses equal the real 6.19 capture', () => {
    // samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before: vmalloc end
    // 0xfffffdffbf800000, vmemmap 0xfffffdffc0000000-0xffffffffc0000000, PCI I/O
    // 0xffffffffc0800000-0xffffffffc1800000, Fixmap start 0xffffffffff436000 (tinyconfig), end -8M.
    const l = kernelLayout(makeGeometry(4096, 48))
    expect(l.pageOffset).toBe(parseKva('0xffff000000000000'))
    expect(l.modules.end).toBe(parseKva('0xffff800080000000'))
    expect(l.vmalloc.end).toBe(parseKva('0xfffffdffbf800000'))
    expect(l.vmemmap).toEqual({start: parseKva('0xfffffdffc0000000'), end: parseKva('0xffffffffc0000000')})
    expect(l.pci).toEqual({start: parseKva('0xffffffffc0800000'), end: parseKva('0xffffffffc1800000')})
    expect(l.fixmap.totStart).toBe(parseKva('0xffffffffff436000'))
    // FIX_FDT = 1 + 512 + 1 = 514 → FIXADDR_TOP − 514 pages = 0xffffffffff5fe000, where the capture maps the FDT.
    expect(l.fixmap.fdt).toBe(parseKva('0xffffffffff5fe000'))
  })

  it('4K/52 (LPA2) vmemmap and vmalloc end equal the real 6.12 capture', () => {
    // samples/debian-6.12-qemu/max-2G-default: vmalloc() end 0xffffc1ffbf800000, vmemmap start 0xffffc1ffc0000000.
    const l = kernelLayout(makeGeometry(4096, 52))
    expect(l.pageOffset).toBe(0)
    expect(l.pageEnd).toBe(parseKva('0xffff800000000000'))
    expect(l.vmemmap.start).toBe(parseKva('0xffffc1ffc0000000'))
    expect(l.vmalloc.end).toBe(parseKva('0xffffc1ffbf800000'))
  })

  it('fixmap slots for 16K and 64K follow the enum', () => {
    // 16K: FIX_FDT = 1 + 128 + 1 = 130, permanent 133, + 16 × 7 btmaps + 5 = 250 slots.
    expect(fixmapLayout(makeGeometry(16384, 47)).slots).toBe(250)
    // 64K: FIX_FDT = 1 + 32 + 1 = 34, permanent 37, + 4 × 7 + 5 = 70.
    expect(fixmapLayout(makeGeometry(65536, 48)).slots).toBe(70)
  })
})

describe('units', () => {
  it('sizes and banks', () => {
    expect(parseSize('256G')).toBe(256 * G)
    expect(parseSize('4T')).toBe(4 * 1024 * G)
    expect(parseSize('512MiB')).toBe(512 * M)
    expect(parseSize('0x80000000')).toBe(2 * G)
    expect(() => parseSize('lots')).toThrow(/expected a size like 256G/)
    expect(parseBanks('0x8080000000:254G,0x80000000:2G')).toEqual([
      {start: 0x80000000, end: 0x100000000},
      {start: 0x8080000000, end: 0x8080000000 + 254 * G},
    ])
    expect(() => parseBanks('0x80000000:2G,0x80000000:1G')).toThrow(/overlaps/)
    expect(() => parseBanks('0x80000000')).toThrow(/START:SIZE/)
  })
})

describe('synth machine, 256 GiB, 4K/48 (the seeds case)', () => {
  // One bank [0x80000000, 0x4080000000); memstart_addr 0x80000000 (1G-aligned) so linear VA
  // offset = PA − 0x80000000, the bank covers [0, 256G) of the linear map: 256 whole 1G slots,
  // 131072 whole 2M slots. A 1M NOMAP hole at offset 0x8300000 and the kernel alias
  // [_text, __init_begin) = offset [2M, 40M) (19 PMD blocks, mapped with NO_CONT only).
  it('pte-only: 131072 − 19 PTE tables (511.9 MiB), 256 PMD tables, 1 PUD table in the linear map', () => {
    const m = synthMachine({memoryBytes: 256 * G, policy: 'pte-only'})
    const s = summarizeMachine(m)
    // Every 2M slot has PTEs except the 19 alias blocks; the hole's slot keeps its PTE table.
    expect(s.linear.tablePages).toEqual({PTE: 131072 - 19, PMD: 256, PUD: 1})
    expect(s.linear.tableBytes).toBe((131072 - 19 + 256 + 1) * 4096)
    expect(s.ramBytes).toBe(256 * G - M)
    expect(m.pt.check()).toEqual([])
    expect(m.pt.recountTables()).toEqual(m.pt.tables)
  })

  it('bbml2: PUD blocks; 1 PTE table (the NOMAP hole), 1 PMD table (first 1G), 1 PUD table', () => {
    // First 1G slot: alias PMD blocks, cont PMDs, the hole's 2M slot as PTEs → 1 PMD + 1 PTE table;
    // the other 255 slots are 1G PUD blocks.
    const m = synthMachine({memoryBytes: 256 * G, policy: 'bbml2'})
    const s = summarizeMachine(m)
    expect(s.linear.tablePages).toEqual({PTE: 1, PMD: 1, PUD: 1})
    expect(m.pt.totals.mappedBytes.PUD).toBe(255 * G)
    expect(m.pt.check()).toEqual([])
  })

  it('reads back through the ptdump reader to the same tables, regions and era', () => {
    for (const policy of ['pte-only', 'bbml2'] as const) {
      const m = synthMachine({memoryBytes: 256 * G, policy})
      const snap = roundTrip(m)
      expect(snap.diagnostics).toEqual([])
      expect(snap.era).toBe('6.9+')
      expect(snap.geometry.label).toBe('4K/48 (4 levels)')
      // vmalloc() end (VMEMMAP_START − 8M) falls inside a 1G PUD hole: note_page() prints its
      // header together with "vmemmap start" (as in the real 6.19 capture), so the reader can
      // only place it there. Every other marker reads back exactly.
      const vmallocEnd = m.layout.vmemmap.start
      expect(snap.regions).toEqual(m.regions.map((r) => (r.name === 'vmalloc' ? {...r, end: vmallocEnd} : r)))
      expect(snap.pt.equals(m.pt)).toBe(true)
      expect(snap.pt.tables).toEqual(m.pt.recountTables())
    }
  })

  it('contains the realistic parts: kernel image, modules, vmemmap PMD blocks, fixmap FDT', () => {
    const m = synthMachine({memoryBytes: 256 * G, policy: 'bbml2'})
    const l = m.layout
    // vmemmap: 256G / 4K × 64 bytes = 4G of struct pages = 2048 PMD blocks.
    let vmemmapBlocks = 0
    for (const r of m.pt.runs(l.vmemmap.start, l.vmemmap.end)) if (r.lvl === 1 && r.prot !== -1) vmemmapBlocks += (r.end - r.start) / (2 * M)
    expect(vmemmapBlocks).toBe(2048)
    // kernel text is executable (PXN clear) and mapped with PMD blocks where 2M-aligned.
    expect(m.pt.entryAt(m.image.start + 4 * M)).toMatchObject({lvl: 1})
    expect(m.modules.length).toBe(16)
    expect(m.pt.entryAt(l.fixmap.fdt)).toMatchObject({lvl: 0})
    expect(m.pt.entryAt(l.fixmap.fdt)!.prot).not.toBe(-1)
  })
})

describe('synth machine, other shapes', () => {
  it('two banks of a 256G server: 2G at 2G and 254G at 514G', () => {
    // Linear offsets [0, 2G) and [512G, 766G): two 512G top-level slots → 2 PUD tables;
    // 2 + 254 PMD tables; PTE tables 1024 + 130048 − 19 alias blocks (no default NOMAP hole).
    const m = synthMachine({banks: parseBanks('0x80000000:2G,0x8080000000:254G'), policy: 'pte-only'})
    expect(summarizeMachine(m).linear.tablePages).toEqual({PTE: 1024 + 130048 - 19, PMD: 256, PUD: 2})
  })

  it('16K/47 and 64K/48 granules read back exactly', () => {
    for (const [ps, va] of [
      [16384, 47],
      [65536, 48],
    ] as const) {
      const m = synthMachine({memoryBytes: 8 * G, pageSize: ps, vaBits: va, policy: 'bbml2'})
      const snap = roundTrip(m)
      expect(snap.diagnostics).toEqual([])
      expect(snap.pt.equals(m.pt)).toBe(true)
    }
  })

  it('16K pte-only: 64 GiB → PTE tables = 64G / 32M − alias blocks', () => {
    // 16K: PMD = 32M. Bank at 0x80000000 (1G-aligned memstart) → offset 0. Alias [2M, 40M) has
    // no whole 32M-aligned block ([32M, 64M) is not covered), so it keeps PTEs: 2048 PTE tables.
    const m = synthMachine({memoryBytes: 64 * G, pageSize: 16384, vaBits: 47, policy: 'pte-only'})
    expect(summarizeMachine(m).linear.tablePages.PTE).toBe((64 * G) / (32 * M))
  })

  it('kfence early: the pool is the last 2M of RAM and page-mapped', () => {
    const m = synthMachine({memoryBytes: 8 * G, policy: 'bbml2', knobs: {kfence: 'early'}})
    const last = m.ram[m.ram.length - 1]!
    expect(m.kfencePool).toEqual({start: last.end - 2 * M, end: last.end})
    expect(m.pt.entryAt(last.end - 4096)).toMatchObject({lvl: 0, cont: false})
    // kfence_init_pool(): pages 0, 1 and each object's right redzone (3, 5, …, 511) are invalid:
    // 2 + 255 guard pages, as the 6.12 kfence capture shows them (alternating 4K F lines).
    expect(m.pt.totals.invalidBytes).toBe(257 * 4096)
    const snap = roundTrip(m)
    expect(snap.pt.equals(m.pt)).toBe(true)
  })

  it('default banks: QEMU-like below 4G, server base above', () => {
    expect(defaultBanks(2 * G).banks).toEqual([{start: 0x40000000, end: 0xc0000000}])
    expect(defaultBanks(256 * G)).toEqual({banks: [{start: 0x80000000, end: 0x80000000 + 256 * G}], nomap: [{start: 0x88300000, end: 0x88400000}]})
  })

  it('rejects what it cannot model, as input errors', () => {
    expect(() => synthMachine({memoryBytes: 2 * G, kernel: [6, 1]})).toThrow(/6.9 or later/)
    expect(() => synthMachine({memoryBytes: 2 * G, pageSize: 4096, vaBits: 42})).toThrow(/42 is not a valid VA_BITS with 4K pages; arm64 allows, by granule, 4K: 39, 48, 52/)
    expect(() => synthMachine({memoryBytes: 256 * 1024 * G, vaBits: 39})).toThrow(/does not fit/)
  })
})

/**
 * Golden tests: every real kernel_page_tables capture in samples/ (never edited).
 *
 * Expected figures were derived independently of the reader by derive-golden.py (beside this
 * file: `python3 test/ingest/ptdump/derive-golden.py samples/…/kernel_page_tables.*`) over
 * the raw text (fixed columns: start = line[2:18], end = line[21:37] with 0 meaning 2^64,
 * level = line[51:54], attributes = line[54:]):
 * - range lines = lines not starting with "---["; hole lines = range lines with no attributes;
 * - marker address = start of the first range line after the header (docs/ptdump-quirks.md#markers);
 * - tables at level L (4K: 512 entries per table) = number of distinct slots of size
 *   entrySize[L+1] (2M for PTE tables, 1G for PMD, 512G for PUD, 256T-level for P4D) touched by
 *   any line of level ≤ L, holes included (docs/page-table-model.md; a PTE line also implies its PMD
 *   and PUD tables);
 * - mapped bytes of the linear map = Σ (end − start) of lines with attributes not starting
 *   with "F", between the two Linear Mapping markers; by leaf kind using "CON" and the level.
 */
import {execSync} from 'node:child_process'
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {KVA_END, formatKva, parseKva} from '../../../src/model/address.js'
import {regionOf} from '../../../src/model/layout.js'
import {bytesIn, readPtdump} from '../../../src/ingest/ptdump/index.js'
import type {PtdumpEra} from '../../../src/ingest/ptdump/tables.js'
import {renderPtdump} from '../../../src/report/ptdump-text.js'

const M = 2 ** 20
const G = 2 ** 30

interface Expect {
  label: string
  era: PtdumpEra
  lines: number
  rangeLines: number
  holeLines: number
  /** tables[L] = table pages holding level-L entries */
  tables: number[]
  linearMapped: number
  linearInvalid: number
}

// 4K/48 4 levels (6.1, 6.19), 4K/52 5 levels (6.12, LPA2).
const GOLDEN: Record<string, Expect> = {
  'debian-6.1-qemu/max-2G-default/kernel_page_tables.before': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 239, rangeLines: 227, holeLines: 115, tables: [1028, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.1-qemu/max-2G-default/kernel_page_tables.loaded': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 417, rangeLines: 405, holeLines: 138, tables: [1029, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.1-qemu/max-2G-default/kernel_page_tables.after': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 251, rangeLines: 239, holeLines: 119, tables: [1032, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.before': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 235, rangeLines: 223, holeLines: 117, tables: [15, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.loaded': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 321, rangeLines: 309, holeLines: 141, tables: [16, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.after': {label: '4K/48 (4 levels)', era: '5.15-6.8', lines: 247, rangeLines: 235, holeLines: 122, tables: [21, 6, 5], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.12-qemu/max-2G-default/kernel_page_tables.before': {label: '4K/52 (5 levels)', era: '6.9+', lines: 249, rangeLines: 237, holeLines: 119, tables: [1024, 8, 5, 2], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.12-qemu/max-2G-default/kernel_page_tables.loaded': {label: '4K/52 (5 levels)', era: '6.9+', lines: 495, rangeLines: 483, holeLines: 188, tables: [1027, 8, 5, 2], linearMapped: 2 * G, linearInvalid: 0},
  'debian-6.12-qemu/max-2G-default/kernel_page_tables.after': {label: '4K/52 (5 levels)', era: '6.9+', lines: 269, rangeLines: 257, holeLines: 126, tables: [1030, 8, 5, 2], linearMapped: 2 * G, linearInvalid: 0},
  // KFENCE: alternating 4K "F" (invalid) guard pages in the linear map; mapped + invalid = 2G.
  'debian-6.12-qemu/max-2G-kfence/kernel_page_tables.before': {label: '4K/52 (5 levels)', era: '6.9+', lines: 660, rangeLines: 648, holeLines: 118, tables: [1024, 8, 5, 2], linearMapped: 2146230272, linearInvalid: 1253376},
  'debian-6.12-qemu/max-2G-kfence/kernel_page_tables.loaded': {label: '4K/52 (5 levels)', era: '6.9+', lines: 826, rangeLines: 814, holeLines: 188, tables: [1027, 8, 5, 2], linearMapped: 2146058240, linearInvalid: 1425408},
  'debian-6.12-qemu/max-2G-kfence/kernel_page_tables.after': {label: '4K/52 (5 levels)', era: '6.9+', lines: 500, rangeLines: 488, holeLines: 126, tables: [1030, 8, 5, 2], linearMapped: 2145837056, linearInvalid: 1646592},
  'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before': {label: '4K/48 (4 levels)', era: '6.9+', lines: 148, rangeLines: 136, holeLines: 71, tables: [7, 4, 4], linearMapped: 2 * G, linearInvalid: 0},
  'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded': {label: '4K/48 (4 levels)', era: '6.9+', lines: 643, rangeLines: 631, holeLines: 208, tables: [21, 5, 4], linearMapped: 2 * G, linearInvalid: 0},
  'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.bpf': {label: '4K/48 (4 levels)', era: '6.9+', lines: 669, rangeLines: 657, holeLines: 214, tables: [72, 5, 4], linearMapped: 2 * G, linearInvalid: 0},
  'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.after': {label: '4K/48 (4 levels)', era: '6.9+', lines: 243, rangeLines: 231, holeLines: 85, tables: [73, 5, 4], linearMapped: 2 * G, linearInvalid: 0},
  // 7.3 (Debian 7.3.4, LPA2): KFENCE=y reserves its pool at boot; its 'F' lines are the invalid bytes.
  'linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.after': {label: '4K/52 (5 levels)', era: '6.9+', lines: 350, rangeLines: 338, holeLines: 127, tables: [41, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.before': {label: '4K/52 (5 levels)', era: '6.9+', lines: 258, rangeLines: 246, holeLines: 118, tables: [21, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.bpf': {label: '4K/52 (5 levels)', era: '6.9+', lines: 547, rangeLines: 535, holeLines: 185, tables: [40, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.loaded': {label: '4K/52 (5 levels)', era: '6.9+', lines: 527, rangeLines: 515, holeLines: 180, tables: [38, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.probed': {label: '4K/52 (5 levels)', era: '6.9+', lines: 268, rangeLines: 256, holeLines: 121, tables: [21, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-tools/kernel_page_tables.after-perf': {label: '4K/52 (5 levels)', era: '6.9+', lines: 380, rangeLines: 368, holeLines: 122, tables: [53, 6, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-tools/kernel_page_tables.after-trace-cmd': {label: '4K/52 (5 levels)', era: '6.9+', lines: 334, rangeLines: 322, holeLines: 125, tables: [43, 6, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-tools/kernel_page_tables.before': {label: '4K/52 (5 levels)', era: '6.9+', lines: 255, rangeLines: 243, holeLines: 116, tables: [22, 6, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/ampere1a-2G-tools/kernel_page_tables.probed': {label: '4K/52 (5 levels)', era: '6.9+', lines: 259, rangeLines: 247, holeLines: 117, tables: [22, 6, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.after': {label: '4K/52 (5 levels)', era: '6.9+', lines: 272, rangeLines: 260, holeLines: 128, tables: [1048, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.before': {label: '4K/52 (5 levels)', era: '6.9+', lines: 234, rangeLines: 222, holeLines: 116, tables: [1039, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.bpf': {label: '4K/52 (5 levels)', era: '6.9+', lines: 482, rangeLines: 470, holeLines: 186, tables: [1048, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.loaded': {label: '4K/52 (5 levels)', era: '6.9+', lines: 466, rangeLines: 454, holeLines: 181, tables: [1046, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
  'linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.probed': {label: '4K/52 (5 levels)', era: '6.9+', lines: 248, rangeLines: 236, holeLines: 122, tables: [1039, 7, 5, 2], linearMapped: 2140020736, linearInvalid: 7462912},
}

/** Region bounds per kernel (the same in every dump of one boot config). */
const REGIONS: Record<string, Record<string, [string, string]>> = {
  // 6.1 (pre-6.9 order: Fixmap, PCI I/O, vmemmap). The layout formulas of arch/arm64/include/asm/memory.h (v6.1) match exactly.
  'debian-6.1-qemu': {
    linear: ['0xffff000000000000', '0xffff800000000000'],
    modules: ['0xffff800000000000', '0xffff800008000000'],
    vmalloc: ['0xffff800008000000', '0xfffffbfff0000000'],
    fixmap: ['0xfffffbfffdbf5000', '0xfffffbfffe000000'],
    pci: ['0xfffffbfffe800000', '0xfffffbffff800000'],
    vmemmap: ['0xfffffc0000000000', '0xfffffe0000000000'],
  },
  // 6.12 LPA2: linear from _PAGE_OFFSET(52); "vmalloc() end" and "vmemmap start" differ by the
  // 8M PMD hole line printed between them.
  'debian-6.12-qemu': {
    linear: ['0xfff0000000000000', '0xffff800000000000'],
    modules: ['0xffff800000000000', '0xffff800080000000'],
    vmalloc: ['0xffff800080000000', '0xffffc1ffbf800000'],
    vmemmap: ['0xffffc1ffc0000000', '0xffffffffc0000000'],
    pci: ['0xffffffffc0800000', '0xffffffffc1800000'],
    fixmap: ['0xffffffffff427000', '0xffffffffff800000'],
  },
  // 6.19: the v6.9+ formulas of arch/arm64/include/asm/memory.h for 4K/48 match exactly (Fixmap start = FIXADDR_TOT_START).
  'linux-6.19-bbml2-qemu': {
    linear: ['0xffff000000000000', '0xffff800000000000'],
    modules: ['0xffff800000000000', '0xffff800080000000'],
    vmalloc: ['0xffff800080000000', '0xfffffdffc0000000'],
    vmemmap: ['0xfffffdffc0000000', '0xffffffffc0000000'],
    pci: ['0xffffffffc0800000', '0xffffffffc1800000'],
    fixmap: ['0xffffffffff436000', '0xffffffffff800000'],
  },
  // 7.3: the same LPA2 layout as 6.12 but a larger fixmap (FIXADDR_TOT_START lower).
  'linux-7.3-debian-qemu': {
    linear: ['0xfff0000000000000', '0xffff800000000000'],
    modules: ['0xffff800000000000', '0xffff800080000000'],
    vmalloc: ['0xffff800080000000', '0xffffc1ffbf800000'],
    vmemmap: ['0xffffc1ffc0000000', '0xffffffffc0000000'],
    pci: ['0xffffffffc0800000', '0xffffffffc1800000'],
    fixmap: ['0xffffffffff226000', '0xffffffffff800000'],
  },
}

const ROOT = new URL('../../../samples/', import.meta.url).pathname

describe('ptdump reader on real captures', () => {
  it('covers every kernel_page_tables.* in samples/', () => {
    const found = execSync(`find ${ROOT} -name 'kernel_page_tables.*'`).toString().trim().split('\n')
    expect(found.map((f) => f.slice(ROOT.length)).sort()).toEqual(Object.keys(GOLDEN).sort())
  })

  for (const [rel, exp] of Object.entries(GOLDEN)) {
    it(rel, async () => {
      const snap = await readPtdump(ROOT + rel)
      expect(snap.geometry.label).toBe(exp.label)
      expect(snap.era).toBe(exp.era)
      expect(snap.lineCount).toBe(exp.lines)
      expect(snap.rangeLines).toBe(exp.rangeLines)
      expect(snap.holeLines).toBe(exp.holeLines)
      expect(snap.diagnostics).toEqual([])
      expect(snap.diagnosticCounts).toEqual({})
      expect(snap.pt.tables).toEqual(exp.tables)
      expect(snap.pt.recountTables()).toEqual(exp.tables)
      expect(snap.pt.check()).toEqual([])

      const family = Object.keys(REGIONS).find((k) => rel.startsWith(k))!
      const bounds = Object.fromEntries(snap.regions.map((r) => [r.name, [formatKva(r.start), formatKva(r.end)]]))
      expect(bounds).toEqual(REGIONS[family])

      const linear = snap.regions.find((r) => r.name === 'linear')!
      const b = bytesIn(snap.pt, linear.start, linear.end)
      expect(b.mappedTotal).toBe(exp.linearMapped)
      expect(b.invalid).toBe(exp.linearInvalid)
      // v5.6+ lines tile the address space: every byte of every region is in exactly one run.
      for (const r of snap.regions) {
        const x = bytesIn(snap.pt, r.start, r.end)
        expect(x.mappedTotal + x.invalid + x.holes).toBe(r.end - r.start)
      }
      const first = snap.pt.runs().next().value!
      expect(first.start).toBe(linear.start)
      expect(snap.pt.runAt(KVA_END - 1)!.end).toBe(KVA_END)
    })
  }

  it('linear map by leaf kind (6.19 BBML2 before/loaded, 6.1 rodata=full/on, 6.12 KFENCE)', async () => {
    const kinds = async (rel: string) => {
      const s = await readPtdump(ROOT + rel)
      const lin = s.regions.find((r) => r.name === 'linear')!
      return bytesIn(s.pt, lin.start, lin.end).mapped
    }
    // 6.19 before: 2M+6M+24M PMD blocks, 992M CON PMD, one 1G PUD block.
    expect(await kinds('linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before')).toEqual({PUD: G, CONT_PMD: 992 * M, PMD: 32 * M, CONT_PTE: 0, PTE: 0})
    // 6.19 loaded: splits by split_kernel_leaf_mapping() turned 96M of cont PMD into PMD/PTE.
    expect(await kinds('linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded')).toEqual({PUD: G, CONT_PMD: 896 * M, PMD: 104 * M, CONT_PTE: 19.5 * M, PTE: 4.5 * M})
    // 6.1 rodata=full: PTE-only except the 20M kernel alias.
    expect(await kinds('debian-6.1-qemu/max-2G-default/kernel_page_tables.before')).toEqual({PUD: 0, CONT_PMD: 0, PMD: 20 * M, CONT_PTE: 0, PTE: 2028 * M})
    // 6.1 rodata=on: block-mapped.
    expect(await kinds('debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.before')).toEqual({PUD: G, CONT_PMD: 992 * M, PMD: 28 * M, CONT_PTE: 1769472, PTE: 2424832})
    expect(await kinds('debian-6.12-qemu/max-2G-kfence/kernel_page_tables.before')).toEqual({PUD: 0, CONT_PMD: 0, PMD: 28 * M, CONT_PTE: 0, PTE: 2116870144})
  })

  it('classifies by address, not by the header a line sits under (6.12)', async () => {
    const s = await readPtdump(ROOT + 'debian-6.12-qemu/max-2G-default/kernel_page_tables.before')
    // "0xffffc1ffbf800000-0xffffc1ffc0000000 8M PMD" is printed after "vmalloc() end" and before
    // "vmemmap start": it is in neither region.
    expect(regionOf(s.regions, parseKva('0xffffc1ffbf800000')!)).toBeUndefined()
    // "0xffffffffff400000-0xffffffffff427000 156K PTE" sits under "PCI I/O end" but the hole
    // line after the "Fixmap start" header begins at FIXADDR_TOT_START.
    expect(regionOf(s.regions, parseKva('0xffffffffff426000')!)).toBeUndefined()
    expect(regionOf(s.regions, parseKva('0xffffffffff427000')!)?.name).toBe('fixmap')
  })

  it('geometry reasons name the evidence', async () => {
    const s612 = await readPtdump(ROOT + 'debian-6.12-qemu/max-2G-default/kernel_page_tables.before')
    expect(s612.geometryReason).toBe(
      'PTE lines on 4K boundaries, PMD lines on 2M boundaries, PUD lines on 1G boundaries ⇒ 4K pages; PGD/P4D/PUD/PMD/PTE lines ⇒ 5 levels; linear map at 0xfff0000000000000 ⇒ 52-bit VA',
    )
    const s61 = await readPtdump(ROOT + 'debian-6.1-qemu/max-2G-default/kernel_page_tables.before')
    expect(s61.geometryReason).toContain('⇒ 4 levels; linear map at 0xffff000000000000 ⇒ 48-bit VA')
    expect(s61.eraReason).toContain('Fixmap, PCI I/O, vmemmap')
  })

  it('render(parse(capture)) reproduces every capture byte for byte', async () => {
    for (const rel of Object.keys(GOLDEN)) {
      const snap = await readPtdump(ROOT + rel)
      const text = readFileSync(ROOT + rel, 'utf8')
      const out = [...renderPtdump(snap.pt, snap.regions, {era: snap.era as PtdumpEra})].join('\n') + '\n'
      expect(out, rel).toBe(text)
    }
  })

  it('reads - from a stream', async () => {
    const {Readable} = await import('node:stream')
    const rel = 'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before'
    const s = await readPtdump('-', {stdin: Readable.from([readFileSync(ROOT + rel)])})
    expect(s.source).toBe('<stdin>')
    expect(s.pt.tables).toEqual([7, 4, 4])
  })

  it('renders a window [from, to) exactly as those lines of the whole dump', async () => {
    const rel = 'debian-6.1-qemu/max-2G-default/kernel_page_tables.loaded'
    const snap = await readPtdump(ROOT + rel)
    const text = readFileSync(ROOT + rel, 'utf8').trimEnd().split('\n')
    const from = parseKva('0xffff800000000000')!
    const to = parseKva('0xffff800008100000')!
    // Expected: the file's lines whose range meets [from, to), and headers at addresses inside.
    const want = text.filter((l) => {
      if (l.startsWith('---[')) return ['Linear Mapping end', 'Modules start', 'Modules end', 'vmalloc() area'].some((n) => l.includes(n))
      const a = parseKva(l.slice(0, 18))!
      const b = l.slice(19, 37) === '0x0000000000000000' ? KVA_END : parseKva(l.slice(19, 37))!
      return b > from && a < to
    })
    const got = [...renderPtdump(snap.pt, snap.regions, {era: '5.15-6.8', from, to})]
    expect(got).toEqual(want)
    expect(got.length).toBeGreaterThan(20)
  })

  it('reads gzip through openSource', async () => {
    const {mkdtempSync, writeFileSync, rmSync} = await import('node:fs')
    const {gzipSync} = await import('node:zlib')
    const dir = mkdtempSync('/tmp/ptdump-gz-')
    try {
      const rel = 'linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded'
      writeFileSync(`${dir}/d.gz`, gzipSync(readFileSync(ROOT + rel)))
      const a = await readPtdump(`${dir}/d.gz`)
      const b = await readPtdump(ROOT + rel)
      expect(a.pt.equals(b.pt)).toBe(true)
      expect(a.rangeLines).toBe(631)
      expect(parseKva(formatKva(a.regions[0]!.start))).toBe(b.regions[0]!.start)
    } finally {
      rmSync(dir, {recursive: true})
    }
  })
})

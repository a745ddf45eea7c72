/**
 * One test per ptdump quirk (docs/ptdump-quirks.md), input inline, expectation beside it.
 * Spacing follows note_page() exactly (`0x%016lx-0x%016lx   %9lu%c %s` + " tok" per pte_bits[]
 * row); where a shape comes from code rather than a capture the comment says so.
 */
import type {KernelVersion} from '../../../src/kernel/version.js'
import {describe, expect, it} from 'vitest'

import {KVA_END, formatKva, parseKva} from '../../../src/model/address.js'
import {F_KASAN_EARLY, HOLE} from '../../../src/model/run.js'
import {P_AF, P_NG, P_PXN, P_RDONLY, P_SHARED, P_UXN, P_VALID, memTypeOf} from '../../../src/model/prot.js'
import {PtdumpError, bytesIn, parsePtdump} from '../../../src/ingest/ptdump/index.js'
import {parseAttrs} from '../../../src/ingest/ptdump/line.js'
import type {PtdumpEra} from '../../../src/ingest/ptdump/tables.js'
import {ptdumpSizeField, renderPtdump} from '../../../src/report/ptdump-text.js'

const K = 1024
const M = 2 ** 20
const G = 2 ** 30
const kva = (s: string) => parseKva(s)!
const dump = (...lines: string[]) => lines.join('\n') + '\n'
const codes = (s: {diagnosticCounts: Record<string, number>}) => s.diagnosticCounts
/** The writer prints the hand-written dump back exactly: the input is what note_page() prints. */
const expectRoundTrip = (text: string, era: PtdumpEra, version?: KernelVersion) => {
  const s = parsePtdump(text, 'rt.txt')
  expect([...renderPtdump(s.pt, s.regions, {era, version})].join('\n') + '\n').toBe(text)
}

// Verbatim: Ryan Roberts, "[PATCH v7 0/6] arm64: support FEAT_BBM level 2 and large block
// mapping when rodata=full", https://lore.kernel.org/r/20250829115250.2395585-1-ryan.roberts@arm.com.
const BBML2_EXCERPT = `---[ Linear Mapping start ]---
0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED
0xffff000000200000-0xffff000000210000          64K PTE       RW NX SHD AF    CON     UXN    MEM/NORMAL-TAGGED
0xffff000000210000-0xffff000000400000        1984K PTE       ro NX SHD AF            UXN    MEM/NORMAL
0xffff000000400000-0xffff000002400000          32M PMD       ro NX SHD AF        BLK UXN    MEM/NORMAL
…
0xffff000004000000-0xffff000040000000         960M PMD       RW NX SHD AF    CON BLK UXN    MEM/NORMAL-TAGGED
0xffff000040000000-0xffff000140000000           4G PUD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED
…
0xffff000300000000-0xffff008000000000         500G PUD
0xffff008000000000-0xffff800000000000      130560G PGD
---[ Linear Mapping end ]---
`
const MODE3_EXCERPT = `0xffff000002550000-0xffff000143a61000     5264452K PTE       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED
0xffff000143a61000-0xffff000143c61000           2M PTE       ro NX SHD AF            UXN    MEM/NORMAL-TAGGED
`

/** Quote like a mail reply, then wrap at `width` the way mail clients do (at the last blank). */
function mailQuote(text: string, prefix: string, width: number): string {
  const out: string[] = []
  for (const raw of text.trimEnd().split('\n')) {
    let line = prefix + raw
    while (line.length > width) {
      const cut = line.lastIndexOf(' ', width)
      if (cut <= prefix.length) break
      out.push(line.slice(0, cut).trimEnd())
      line = prefix + line.slice(cut).trimStart()
    }
    out.push(line)
  }
  return out.join('\n') + '\n'
}

describe('size field', () => {
  it('prints the largest exact unit K…E, like note_page()', () => {
    expect(ptdumpSizeField(4 * K)).toBe('        4K')
    expect(ptdumpSizeField(1984 * K)).toBe('     1984K')
    expect(ptdumpSizeField(2 * M)).toBe('        2M')
    expect(ptdumpSizeField(130560 * G)).toBe('   130560G')
    expect(ptdumpSizeField(2 ** 40 * 3)).toBe('        3T')
    expect(ptdumpSizeField(2 ** 50)).toBe('        1P')
    expect(ptdumpSizeField(2n ** 60n)).toBe('        1E')
    expect(ptdumpSizeField(2n ** 64n)).toBe('       16E')
    // Wider than 9 digits: the field grows, never truncates.
    expect(ptdumpSizeField(2n ** 64n - 2n ** 48n + 2n ** 39n)).toBe('17179607552G')
  })

  it('reads every unit and reports a size that is not end − start', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000001000           4K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
        '0xffff000000001000-0xffff000000200000           8K PTE', // wrong: 2044K
        '0xffff000000200000-0xffff000040000000        1022M PMD',
        '0xffff000040000000-0xffff008000000000         511G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Linear Mapping end ]---',
      ),
      'units.txt',
    )
    expect(codes(s)).toEqual({'size-mismatch': 1})
    expect(s.diagnostics[0]).toEqual({src: {file: 'units.txt', line: 3}, code: 'size-mismatch', message: 'size 8K ≠ end − start = 2044K'})
    // The line is still used: its addresses are authoritative.
    expect(s.pt.runAt(kva('0xffff000000100000'))).toMatchObject({lvl: 0, prot: HOLE})
    // A 1P / 1E unit is parsed as such (and mismatches here).
    const e = parsePtdump(dump('---[ Linear Mapping start ]---', '0xffff000000000000-0xffff800000000000           1E PGD'), 'e.txt', {pageSize: 4096, vaBits: 48})
    expect(e.diagnostics[0]!.message).toBe('size 1E ≠ end − start = 128T')
  })
})

describe('line kinds', () => {
  it('the last line ends at 0x0000000000000000 = 2^64', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xffff000000200000-0xffff000040000000        1022M PMD',
        '0xffff000040000000-0xffff008000000000         511G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Linear Mapping end ]---',
        '0xffff800000000000-0x0000000000000000         128T PGD',
      ),
      'end.txt',
    )
    expect(s.diagnostics).toEqual([])
    // The last line merges with the PGD hole before it (same level and prot, cut only by the marker).
    const last = [...s.pt.runs()].at(-1)!
    expect(last).toMatchObject({start: kva('0xffff008000000000'), end: KVA_END, lvl: 3, prot: HOLE})
    expect(formatKva(last.end)).toBe('0x0000000000000000')
    // Holes (5.6+): lines without attributes are empty entries of an existing table.
    expect(s.holeLines).toBe(4)
    expect(s.pt.tables).toEqual([0, 1, 1]) // PMD holes ⇒ a PMD table; PUD holes ⇒ a PUD table
  })

  it('a line that is neither a range nor a marker is a diagnostic with file:line', () => {
    const s = parsePtdump(dump('---[ Linear Mapping start ]---', 'hello world', '0xffff000000000000-0xffff800000000000      131072G PGD'), 'x.txt')
    expect(s.diagnostics).toEqual([
      {
        src: {file: 'x.txt', line: 2},
        code: 'unrecognized',
        message: 'expected a range line "0x…-0x… <size> <level> <attrs>" or a marker "---[ … ]---", got "hello world"',
      },
    ])
  })

  it('unknown tokens inside the attribute columns are diagnostics; trailing vendor text is not', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000001000           4K PTE       RW NX SHD AF XY         UXN    MEM/NORMAL',
        '0xffff000000001000-0xffff000000200000        2044K PTE       RW NX SHD AF            UXN    MEM/NORMAL\tcaller: load_module+0x1a4/0x1c58',
        '0xffff000000200000-0xffff000040000000        1022M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL extra words here',
        '---[ Linear Mapping end ]---',
      ),
      'v.txt',
      {pageSize: 4096, vaBits: 48},
    )
    expect(codes(s)).toEqual({'unknown-token': 1})
    expect(s.diagnostics[0]!.src.line).toBe(2)
    expect(s.diagnostics[0]!.message).toContain('"XY"')
    const rw = P_VALID | P_PXN | P_SHARED | P_AF | P_UXN
    expect(memTypeOf(s.pt.runAt(kva('0xffff000000001000'))!.prot)).toBe('MEM/NORMAL')
    expect(s.pt.runAt(kva('0xffff000000001000'))!.prot & ~(7 << 9)).toBe(rw)
  })

  it('every attribute token maps to its Prot bit (table-driven)', () => {
    const a = parseAttrs('  F USR ro x  SHD AF NG CON BLK UXN GP DEVICE/nGnRnE', 0)!
    expect(a.prot & P_VALID).toBe(0)
    expect(a.cont && a.blk).toBe(true)
    expect(memTypeOf(a.prot)).toBe('DEVICE/nGnRnE')
    expect(a.problems).toBeNull()
    for (const mt of ['DEVICE/nGnRE', 'DEVICE/GRE', 'MEM/NORMAL-NC', 'MEM/NORMAL', 'MEM/NORMAL-TAGGED']) {
      expect(memTypeOf(parseAttrs(`  RW NX ${mt}`, 0)!.prot)).toBe(mt)
    }
    expect(parseAttrs('  RW ro NX', 0)!.problems![0]!.code).toBe('conflicting-token')
    expect(parseAttrs('  NX AF', 0)!.problems![0]!.code).toBe('missing-token')
  })
})

describe('order and strictness', () => {
  const bad = dump(
    '---[ Linear Mapping start ]---',
    '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
    '0xffff000000100000-0xffff000000400000           3M PMD', // overlaps
    '0xffff000000200000-0xffff000040000000        1022M PMD',
    '0xffff000000000000-0xffff000000200000           2M PMD', // out of order
    '0xffff000040000000-0xffff008000000000         511G PUD',
    '0xffff008000000000-0xffff800000000000      130560G PGD',
    '---[ Linear Mapping end ]---',
  )

  it('overlapping and out-of-order lines are counted and dropped', () => {
    const s = parsePtdump(bad, 'o.txt')
    expect(codes(s)).toEqual({overlap: 1, 'out-of-order': 1})
    expect(s.diagnostics.map((d) => d.src.line)).toEqual([3, 5])
    expect(s.pt.check()).toEqual([])
    expect(s.rangeLines).toBe(6)
  })

  it('a gap between lines of a dump with holes means lines are missing', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
        '0xffff000040000000-0xffff008000000000         511G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Linear Mapping end ]---',
      ),
      'g.txt',
    )
    expect(s.diagnostics).toEqual([
      {src: {file: 'g.txt', line: 3}, code: 'gap', message: 'no line covers 0xffff000000200000-0xffff000040000000 (v5.6+ dumps tile the address space: lines missing?)'},
    ])
  })

  it('--strict stops at the first diagnostic with a one-line PtdumpError', () => {
    expect(() => parsePtdump(bad, 'o.txt', {strict: true})).toThrowError(PtdumpError)
    try {
      parsePtdump(bad, 'o.txt', {strict: true})
    } catch (e) {
      expect((e as PtdumpError).message).toBe('o.txt:3: range 0xffff000000100000-0xffff000000400000 overlaps the previous line ending 0xffff000000200000; dropped')
      expect((e as PtdumpError).code).toBe('overlap')
      expect((e as PtdumpError).line).toBe(3)
      expect((e as PtdumpError).name).toBe('PtdumpError')
    }
  })

  it('maxDiagnostics keeps a few but counts all', () => {
    const s = parsePtdump(dump(...Array.from({length: 50}, () => 'junk')), 'j.txt', {maxDiagnostics: 3})
    expect(s.diagnostics).toHaveLength(3)
    expect(codes(s)).toEqual({unrecognized: 50})
  })
})

describe('versions', () => {
  it('5.4: no hole lines, gaps between lines, no GP column, UXN without clear string', () => {
    // Columns from v5.4 dump.c: after BLK, " UXN" only when set, then the memory type.
    const text54 = dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000080000         512K PTE       RW NX SHD AF            UXN MEM/NORMAL',
        '0xffff000000080000-0xffff000000200000        1536K PTE       ro x  SHD AF            UXN MEM/NORMAL',
        '0xffff000000200000-0xffff000040000000        1022M PMD       RW NX SHD AF        BLK UXN MEM/NORMAL',
        '0xffff000040000000-0xffff000080000000           1G PUD       RW NX SHD AF        BLK UXN MEM/NORMAL',
        '---[ Linear Mapping end ]---',
        '---[ Modules start ]---',
        '0xffff800008000000-0xffff800008002000           8K PTE       ro x  SHD AF            UXN MEM/NORMAL',
        '---[ Modules end ]---',
        '---[ vmalloc() area ]---',
        '0xffff800010000000-0xffff800010004000          16K PTE       RW NX SHD AF            UXN MEM/NORMAL',
        '0xffff800010005000-0xffff800010006000           4K PTE       RW NX SHD AF            DEVICE/nGnRE',
        '---[ vmalloc() end ]---',
      )
    const s = parsePtdump(text54, '54.txt')
    expect(s.diagnostics).toEqual([])
    expect(s.era).toBe('5.4')
    expect(s.eraReason).toContain('no GP column')
    expect(s.geometry.label).toBe('4K/48 (4 levels)')
    const lin = s.regions.find((r) => r.name === 'linear')!
    // 5.4 prints no holes: a marker's address is the first *printed* line after it, so the
    // linear region reaches the first module line (exact for everything mapped).
    expect([formatKva(lin.start), formatKva(lin.end)]).toEqual(['0xffff000000000000', '0xffff800008000000'])
    expect(bytesIn(s.pt, lin.start, lin.end).mapped).toEqual({PUD: G, CONT_PMD: 0, PMD: 1022 * M, CONT_PTE: 0, PTE: 2 * M})
    expect(s.pt.runAt(kva('0xffff800010004000'))).toBeUndefined() // a gap, not a hole
    const dev = s.pt.runAt(kva('0xffff800010005000'))!
    expect(memTypeOf(dev.prot)).toBe('DEVICE/nGnRE')
    expect(dev.prot & P_UXN).toBe(0)
    // Tables: PTE tables = 2M slots with PTE lines: linear 0, modules, vmalloc = 3;
    // PMD tables = 1G slots with PTE/PMD lines: linear 0, 0xffff800000000000 = 2; PUD = 2.
    expect(s.pt.tables).toEqual([3, 2, 2])
    expectRoundTrip(text54, '5.4')
  })

  it('5.6–5.11: the first line starts at 0 with PGD and no "Linear Mapping start"', () => {
    // Shape derived from code (ptdump_walk() without `.level = -1`), docs/ptdump-quirks.md#first-line-from-zero.
    const s510 = dump(
        '0x0000000000000000-0xffff000000000000    16776960T PGD',
        '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xffff000000200000-0xffff000040000000        1022M PMD',
        '0xffff000040000000-0xffff008000000000         511G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Linear Mapping end ]---',
        '---[ BPF start ]---',
        '0xffff800000000000-0xffff800008000000         128M PMD',
        '---[ BPF end ]---',
        '---[ Modules start ]---',
        '0xffff800008000000-0xffff800010000000         128M PMD',
        '---[ Modules end ]---',
      )
    const s = parsePtdump(s510, '510.txt')
    expect(s.diagnostics).toEqual([])
    expect(s.era).toBe('5.6-5.11')
    expect(s.eraReason).toContain('BPF markers')
    expect(s.geometry.label).toBe('4K/48 (4 levels)')
    expect(s.regions.map((r) => [r.name, formatKva(r.start), formatKva(r.end)])).toEqual([
      ['linear', '0xffff000000000000', '0xffff800000000000'],
      ['bpf', '0xffff800000000000', '0xffff800008000000'],
      ['modules', '0xffff800008000000', '0xffff800010000000'],
    ])
    expect(s.pt.runs().next().value!.start).toBe(kva('0xffff000000000000'))
    expect(s.pt.tables).toEqual([0, 2, 2])
    expectRoundTrip(s510, '5.6-5.11')
  })

  it('5.6–5.11: a first line that also covers an empty PGD entry is clamped to PAGE_OFFSET', () => {
    const s = parsePtdump(
      dump(
        '0x0000000000000000-0xffff008000000000   17179607552G PGD',
        '0xffff008000000000-0xffff008040000000           1G PUD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
        '0xffff008040000000-0xffff010000000000         511G PUD',
        '0xffff010000000000-0xffff800000000000         127T PGD',
        '---[ Linear Mapping end ]---',
      ),
      'clamp.txt',
    )
    expect(s.diagnostics).toEqual([])
    expect(s.geometry.vaBits).toBe(48)
    expect(s.pt.runs().next().value).toMatchObject({start: kva('0xffff000000000000'), end: kva('0xffff008000000000'), lvl: 3, prot: HOLE})
  })

  it('BLK: ≤6.12 marks invalid blocks too (bit 1 clear), 6.19 only valid ones; F with NG = present-invalid', () => {
    const head = ['---[ Linear Mapping start ]---', '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL']
    const tail = ['0xffff000000400000-0xffff000040000000        1020M PMD', '0xffff000040000000-0xffff008000000000         511G PUD', '0xffff008000000000-0xffff800000000000      130560G PGD', '---[ Linear Mapping end ]---']
    const old = parsePtdump(dump(...head, '0xffff000000200000-0xffff000000400000           2M PMD F     RW NX SHD AF NG     BLK UXN    MEM/NORMAL', ...tail), 'old.txt')
    const neu = parsePtdump(dump(...head, '0xffff000000200000-0xffff000000400000           2M PMD F     RW NX SHD AF NG         UXN    MEM/NORMAL', ...tail), 'new.txt')
    expect(old.diagnostics).toEqual([])
    expect(neu.diagnostics).toEqual([])
    expect(old.blkScheme).toBe('bit1')
    expect(neu.blkScheme).toBe('sect')
    expectRoundTrip(dump(...head, '0xffff000000200000-0xffff000000400000           2M PMD F     RW NX SHD AF NG     BLK UXN    MEM/NORMAL', ...tail), '6.9+', [6, 12])
    expectRoundTrip(dump(...head, '0xffff000000200000-0xffff000000400000           2M PMD F     RW NX SHD AF NG         UXN    MEM/NORMAL', ...tail), '6.9+', [6, 19])
    for (const s of [old, neu]) {
      const r = s.pt.runAt(kva('0xffff000000200000'))!
      expect(r.lvl).toBe(1)
      expect(r.prot & (P_VALID | P_NG | P_RDONLY)).toBe(P_NG)
      expect(bytesIn(s.pt, r.start, r.end).invalid).toBe(2 * M)
    }
    // A valid block without BLK, or a page with it, is not what any version prints.
    const odd = parsePtdump(dump(...head, '0xffff000000200000-0xffff000000400000           2M PMD       RW NX SHD AF            UXN    MEM/NORMAL', ...tail), 'odd.txt')
    expect(codes(odd)).toEqual({'blk-mismatch': 1})
  })

  it('KASAN early shadow: read-only PTE lines over whole PMD slots own no PTE tables', () => {
    // 6.1-style 4K/48 generic KASAN: shadow [0xffff600000000000, 0xffff800000000000) = PAGE_END…
    // note_kasan_page_table() prints entries pointing at kasan_early_shadow_{pte,pmd,pud} as one
    // ro PTE-level entry each, so they merge into one huge "PTE" line (docs/ptdump-quirks.md#kasan).
    const kasanText = dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000080000000           2G PUD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xffff000080000000-0xffff008000000000         510G PUD',
        '0xffff008000000000-0xffff600000000000       97792G PGD',
        '---[ Linear Mapping end ]---',
        '---[ Kasan shadow start ]---',
        '0xffff600000000000-0xffff600000400000           4M PTE       RW NX SHD AF            UXN    MEM/NORMAL',
        '0xffff600000400000-0xffff800000000000    33554428M PTE       ro NX SHD AF            UXN    MEM/NORMAL',
        '---[ Kasan shadow end ]---',
        '---[ Modules start ]---',
        '0xffff800000000000-0xffff800008000000         128M PMD',
        '---[ Modules end ]---',
      )
    const s = parsePtdump(kasanText, 'kasan.txt')
    expect(s.diagnostics).toEqual([])
    expect(s.regions.map((r) => r.name)).toEqual(['linear', 'kasan', 'modules'])
    const early = s.pt.runAt(kva('0xffff600000400000'))!
    expect(early.flags & F_KASAN_EARLY).toBe(F_KASAN_EARLY)
    expect(formatKva(early.end)).toBe('0xffff800000000000')
    // PTE tables: the real shadow's 4M = 2 tables; the early-shadow line none.
    // PMD tables: kasan 1G slot 0 (real PTEs) + modules' PMD holes = 2. PUD tables: linear
    // PGD slot 0, kasan PGD slot 0 (0xffff600000000000), modules slot = 3.
    expect(s.pt.tables).toEqual([2, 2, 3])
    expect(s.pt.check()).toEqual([])
    expectRoundTrip(kasanText, '5.15-6.8')
  })
})

describe('markers', () => {
  it('post-6.19 percpu markers (linux-mm tree, 2026) are known: 6.9+ order, no region, no diagnostic', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
        '0xffff000000200000-0xffff000040000000        1022M PMD',
        '0xffff000040000000-0xffff008000000000         511G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Linear Mapping end ]---',
        '---[ Modules start ]---',
        '0xffff800000000000-0xffff800080000000           2G PUD',
        '---[ Modules end ]---',
        '---[ vmalloc() area ]---',
        '0xffff800080000000-0xffff808000000000         510G PUD',
        '---[ vmalloc() end ]---',
        '---[ Global percpu start ]---',
        '0xffff808000000000-0xffff810000000000         512G PGD',
        '---[ Global percpu end ]---',
        '---[ vmemmap start ]---',
        '0xffff810000000000-0xffff818000000000         512G PGD',
        '---[ vmemmap end ]---',
      ),
      'mm.txt',
    )
    expect(s.diagnostics).toEqual([])
    expect(s.era).toBe('6.9+')
    expect(s.regions.map((r) => r.name)).toEqual(['linear', 'modules', 'vmalloc', 'vmemmap'])
  })

  it('unknown, duplicated and misordered markers are diagnostics', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff008000000000         512G PUD',
        '0xffff008000000000-0xffff800000000000      130560G PGD',
        '---[ Fixmap start ]---',
        '---[ vmemmap start ]---',
        '---[ Fixmap end ]---',
        '---[ PCI I/O start ]---',
        '---[ My vendor area ]---',
        '---[ PCI I/O start ]---',
      ),
      'mk.txt',
      {pageSize: 4096, vaBits: 48},
    )
    expect(codes(s)).toEqual({'unknown-marker': 1, 'duplicate-marker': 1, 'marker-order': 1})
    expect(s.era).toBe('unknown')
  })
})

describe('granules and levels', () => {
  it('64K/48: 3 levels, 512M PMD blocks, 4T PGD entries', () => {
    const text64 = dump(
        '---[ Linear Mapping start ]---',
        '0xffff000000000000-0xffff000000010000          64K PTE       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED',
        '0xffff000000010000-0xffff000020000000      524224K PTE       ro NX SHD AF            UXN    MEM/NORMAL',
        '0xffff000020000000-0xffff000080000000        1536M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xffff000080000000-0xffff040000000000        4094G PMD',
        '0xffff040000000000-0xffff800000000000         124T PGD',
        '---[ Linear Mapping end ]---',
      )
    const s = parsePtdump(text64, '64k.txt')
    expect(s.diagnostics).toEqual([])
    expect(s.geometry.label).toBe('64K/48 (3 levels)')
    expect(s.geometryReason).toBe('PTE lines on 64K boundaries, PMD lines on 512M boundaries ⇒ 64K pages; PGD/PMD/PTE lines ⇒ 3 levels; linear map at 0xffff000000000000 ⇒ 48-bit VA')
    expect(s.pt.tables).toEqual([1, 1]) // one 512M slot of PTEs; one 4T slot of PMDs
    expectRoundTrip(text64, '6.9+')
    expect(bytesIn(s.pt, kva('0xffff000000000000'), kva('0xffff800000000000')).mapped).toMatchObject({PTE: 512 * M, PMD: 1536 * M})
  })

  it('16K/47: 3 levels, 32M PMD blocks, 64G PGD entries', () => {
    const s = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xffff800000000000-0xffff800000004000          16K PTE       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED',
        '0xffff800000004000-0xffff800002000000       32752K PTE       ro NX SHD AF            UXN    MEM/NORMAL',
        '0xffff800002000000-0xffff800040000000         992M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xffff800040000000-0xffff801000000000          63G PMD',
        '0xffff801000000000-0xffffc00000000000       65472G PGD',
        '---[ Linear Mapping end ]---',
      ),
      '16k.txt',
    )
    expect(s.diagnostics).toEqual([])
    expect(s.geometry.label).toBe('16K/47 (3 levels)')
    expect(s.pt.tables).toEqual([1, 1])
  })

  it('2 levels: blocks print PMD in 6.9+ and PGD before; holes PGD in both (64K/42, 16K/36)', () => {
    const lines = (blk: 'PMD' | 'PGD') => [
      '---[ Linear Mapping start ]---',
      '0xfffffc0000000000-0xfffffc0000010000          64K PTE       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED',
      '0xfffffc0000010000-0xfffffc0020000000      524224K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
      `0xfffffc0020000000-0xfffffc0080000000        1536M ${blk}       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED`,
      '0xfffffc0080000000-0xfffffe0000000000        2046G PGD',
      '---[ Linear Mapping end ]---',
    ]
    const a = parsePtdump(dump(...lines('PMD')), '42-69.txt')
    const b = parsePtdump(dump(...lines('PGD')), '42-68.txt')
    for (const s of [a, b]) {
      expect(s.diagnostics).toEqual([])
      expect(s.geometry.label).toBe('64K/42 (2 levels)')
      expect(s.pt.runAt(kva('0xfffffc0020000000'))).toMatchObject({lvl: 1, cont: false})
      expect(s.pt.tables).toEqual([1])
    }
    expect(a.pt.equals(b.pt)).toBe(true)
    expectRoundTrip(dump(...lines('PMD')), '6.9+')
    expectRoundTrip(dump(...lines('PGD')), '5.15-6.8')
    const c = parsePtdump(
      dump(
        '---[ Linear Mapping start ]---',
        '0xfffffff000000000-0xfffffff000004000          16K PTE       RW NX SHD AF            UXN    MEM/NORMAL-TAGGED',
        '0xfffffff000004000-0xfffffff002000000       32752K PTE       ro NX SHD AF            UXN    MEM/NORMAL',
        '0xfffffff002000000-0xfffffff008000000          96M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED',
        '0xfffffff008000000-0xfffffff800000000       32640M PGD',
        '---[ Linear Mapping end ]---',
      ),
      '36.txt',
    )
    expect(c.diagnostics).toEqual([])
    expect(c.geometry.label).toBe('16K/36 (2 levels)')
  })

  it('undecidable geometry is a PtdumpError naming the flag; options decide', () => {
    const text = dump('0xffff800000000000-0xffff800000004000          16K PTE       RW NX SHD AF            UXN    MEM/NORMAL')
    expect(() => parsePtdump(text, 'u.txt')).toThrowError(/^u\.txt: cannot tell the page size: .*; pass --granule$/)
    expect(() => parsePtdump(text, 'u.txt', {pageSize: 16384})).toThrowError(/pass --va-bits$/)
    expect(parsePtdump(text, 'u.txt', {pageSize: 16384, vaBits: 47}).geometry.label).toBe('16K/47 (3 levels)')
    expect(() => parsePtdump(text, 'u.txt', {pageSize: 4096, vaBits: 47})).toThrowError(PtdumpError)
  })

  it('forced options that contradict the dump are used, with a diagnostic', () => {
    const s = parsePtdump(BBML2_EXCERPT, 'f.txt', {pageSize: 4096, vaBits: 39})
    expect(s.geometry.label).toBe('4K/39 (3 levels)')
    expect(codes(s)['geometry-override']).toBe(1)
  })

  it('no range lines: the options, else 4K/48', () => {
    expect(parsePtdump('', 'e.txt').geometry.label).toBe('4K/48 (4 levels)')
    expect(parsePtdump('---[ Linear Mapping start ]---\n', 'e.txt', {pageSize: 65536, vaBits: 42}).geometry.label).toBe('64K/42 (2 levels)')
  })
})

describe('mail pastes (excerpts from lore)', () => {
  const expectBbml2 = (s: ReturnType<typeof parsePtdump>) => {
    expect(codes(s)).toEqual({elided: 2}) // the two "…" lines; the gaps after them are not reported
    expect(s.geometry.label).toBe('4K/48 (4 levels)')
    expect(s.rangeLines).toBe(8)
    expect(s.era).toBe('unknown') // only the linear markers: every layout has them
    const lin = s.regions.find((r) => r.name === 'linear')!
    expect([formatKva(lin.start), formatKva(lin.end)]).toEqual(['0xffff000000000000', '0xffff800000000000'])
    expect(bytesIn(s.pt, lin.start, lin.end).mapped).toEqual({PUD: 4 * G, CONT_PMD: 960 * M, PMD: 34 * M, CONT_PTE: 64 * K, PTE: 1984 * K})
  }

  it('reads the excerpt as printed', () => {
    expectBbml2(parsePtdump(BBML2_EXCERPT, 'mail.txt'))
  })

  it('reads it quoted ("> ", "> > ") and wrapped at 78 columns', () => {
    for (const prefix of ['> ', '> > ', '>> ']) {
      const q = mailQuote(BBML2_EXCERPT, prefix, 78)
      expect(q.split('\n').some((l) => /^>[> ]*BLK UXN/.test(l))).toBe(true) // really wrapped
      const s = parsePtdump(q, 'mail.txt')
      expectBbml2(s)
      expect(s.lineCount).toBeGreaterThan(14)
    }
  })

  it('"mode 3" excerpt: no markers, so VA_BITS must be given', () => {
    expect(() => parsePtdump(MODE3_EXCERPT, 'm3.txt')).toThrowError(/--va-bits/)
    const s = parsePtdump(mailQuote(MODE3_EXCERPT, '> ', 72), 'm3.txt', {vaBits: 48})
    expect(s.diagnostics).toEqual([])
    expect(s.geometry.label).toBe('4K/48 (4 levels)')
    expect(bytesIn(s.pt, 0, KVA_END).mapped.PTE).toBe(5264452 * K + 2 * M)
  })
})

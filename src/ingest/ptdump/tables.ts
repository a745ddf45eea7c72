/**
 * The arm64 ptdump as data: attribute descriptors (pte_bits[]), level names (pg_level[]), region
 * markers (address_markers[]) and the version families ("eras") that combine them. The reader
 * (./index.ts) and the writer (src/report/ptdump-text.ts) both work from these tables, so the two
 * directions cannot drift, and a new kernel version is a new row, not a new branch.
 *
 * Sources: arch/arm64/mm/dump.c (v5.4), arch/arm64/mm/ptdump.c (v5.10 … v6.19.9 and the 2026
 * linux-mm tree): pte_bits[] (tokens), address_markers[] (markers), pg_level[] (level names).
 */
import type {Geometry, LevelName} from '../../model/geometry.js'
import type {RegionName} from '../../model/layout.js'
import {type KernelVersion, versionAtLeast} from '../../kernel/version.js'
import {type MemType, type Prot, P_AF, P_NG, P_PXN, P_RDONLY, P_SHARED, P_UXN, P_USER, P_VALID, P_GP} from '../../model/prot.js'

export {type KernelVersion, formatVersion as formatKernelVersion} from '../../kernel/version.js'

/**
 * One `struct prot_bits` of pte_bits[]: the printed token is `set` when the entry matches, else
 * `clear`; null prints nothing (dump_prot()). `since`/`until` bound the kernel versions whose
 * table has this row (inclusive).
 *
 * `kind` says how a row is matched against our model, which keeps CONT and the descriptor type
 * as shape (Run.cont, Run.lvl) rather than Prot bits:
 * - 'bit': (prot & mask) === val on our Prot bits;
 * - 'cont': PTE_CONT, i.e. Run.cont;
 * - 'table-bit': PTE_TABLE_BIT (bit 1) set — true for PTE-level pages (bits[1:0] = 11), false
 *   for blocks (01) and, we assume, for invalid blocks (00);
 * - 'sect': (val & PMD_TYPE_MASK) == PMD_TYPE_SECT — a valid block only;
 * - 'memtype': ATTRINDX equal to one MT_* index.
 */
export interface ProtBitsDesc {
  /** Kernel mask name, for messages. */
  kernel: string
  kind: 'bit' | 'cont' | 'table-bit' | 'sect' | 'memtype'
  mask: Prot
  val: Prot
  memType?: MemType
  set: string | null
  clear: string | null
  since?: KernelVersion
  until?: KernelVersion
}

/**
 * pte_bits[] across versions, in print order. Rows that changed meaning appear twice with
 * disjoint version ranges.
 */
export const PTE_BITS: readonly ProtBitsDesc[] = [
  {kernel: 'PTE_VALID', kind: 'bit', mask: P_VALID, val: P_VALID, set: ' ', clear: 'F'},
  {kernel: 'PTE_USER', kind: 'bit', mask: P_USER, val: P_USER, set: 'USR', clear: '   '},
  {kernel: 'PTE_RDONLY', kind: 'bit', mask: P_RDONLY, val: P_RDONLY, set: 'ro', clear: 'RW'},
  {kernel: 'PTE_PXN', kind: 'bit', mask: P_PXN, val: P_PXN, set: 'NX', clear: 'x '},
  {kernel: 'PTE_SHARED', kind: 'bit', mask: P_SHARED, val: P_SHARED, set: 'SHD', clear: '   '},
  {kernel: 'PTE_AF', kind: 'bit', mask: P_AF, val: P_AF, set: 'AF', clear: '  '},
  {kernel: 'PTE_NG', kind: 'bit', mask: P_NG, val: P_NG, set: 'NG', clear: '  '},
  {kernel: 'PTE_CONT', kind: 'cont', mask: 0, val: 0, set: 'CON', clear: '   '},
  // ≤ v6.12: `.mask = PTE_TABLE_BIT, .val = PTE_TABLE_BIT, .set = "   ", .clear = "BLK"`.
  {kernel: 'PTE_TABLE_BIT', kind: 'table-bit', mask: 0, val: 0, set: '   ', clear: 'BLK', until: [6, 12]},
  // Since "arm64/ptdump: Test PMD_TYPE_MASK for block mapping" (Anshuman Khandual, after v6.12;
  // present in v6.19.9): `.mask = PMD_TYPE_MASK, .val = PMD_TYPE_SECT, .set = "BLK"`.
  {kernel: 'PMD_TYPE_MASK', kind: 'sect', mask: 0, val: 0, set: 'BLK', clear: '   ', since: [6, 13]},
  // v5.4 dump.c: UXN has no clear string. The "   " clear string and the GP row arrived with BTI
  // (v5.8; present in torvalds dump.c @0178dc76 and every ptdump.c read). 5.6/5.7: UNVERIFIED.
  {kernel: 'PTE_UXN', kind: 'bit', mask: P_UXN, val: P_UXN, set: 'UXN', clear: null, until: [5, 7]},
  {kernel: 'PTE_UXN', kind: 'bit', mask: P_UXN, val: P_UXN, set: 'UXN', clear: '   ', since: [5, 8]},
  {kernel: 'PTE_GP', kind: 'bit', mask: P_GP, val: P_GP, set: 'GP', clear: '  ', since: [5, 8]},
  {kernel: 'MT_DEVICE_nGnRnE', kind: 'memtype', mask: 0, val: 0, memType: 'DEVICE/nGnRnE', set: 'DEVICE/nGnRnE', clear: null},
  {kernel: 'MT_DEVICE_nGnRE', kind: 'memtype', mask: 0, val: 0, memType: 'DEVICE/nGnRE', set: 'DEVICE/nGnRE', clear: null},
  // MT_DEVICE_GRE was removed after v5.10 (pte_bits[] of arch/arm64/mm/ptdump.c, v5.10 vs v5.15).
  {kernel: 'MT_DEVICE_GRE', kind: 'memtype', mask: 0, val: 0, memType: 'DEVICE/GRE', set: 'DEVICE/GRE', clear: null, until: [5, 10]},
  {kernel: 'MT_NORMAL_NC', kind: 'memtype', mask: 0, val: 0, memType: 'MEM/NORMAL-NC', set: 'MEM/NORMAL-NC', clear: null},
  {kernel: 'MT_NORMAL', kind: 'memtype', mask: 0, val: 0, memType: 'MEM/NORMAL', set: 'MEM/NORMAL', clear: null},
  // MTE (v5.10).
  {kernel: 'MT_NORMAL_TAGGED', kind: 'memtype', mask: 0, val: 0, memType: 'MEM/NORMAL-TAGGED', set: 'MEM/NORMAL-TAGGED', clear: null, since: [5, 10]},
]

/** The pte_bits[] rows of one kernel version, in print order. */
export function pteBitsOf(version: KernelVersion): ProtBitsDesc[] {
  return PTE_BITS.filter((d) => (d.since === undefined || versionAtLeast(version, d.since)) && (d.until === undefined || versionAtLeast(d.until, version)))
}

/** What a printed attribute token means, for the reader (every version's tokens at once). */
export interface TokenMeaning {
  /** Index in PTE_BITS of the first row printing this token (rows sharing a token share the meaning). */
  desc: number
  /** The token is that row's `set` string (else its `clear` string). */
  isSet: boolean
}

/** Token → meaning, built from PTE_BITS: every non-blank set/clear string of every version. */
export const TOKENS: ReadonlyMap<string, TokenMeaning> = (() => {
  const m = new Map<string, TokenMeaning>()
  PTE_BITS.forEach((d, i) => {
    for (const [s, isSet] of [
      [d.set, true],
      [d.clear, false],
    ] as const) {
      const t = s?.trim()
      if (t && !m.has(t)) m.set(t, {desc: i, isSet})
    }
  })
  return m
})()

/** Level names by our Lvl numbering (0 = PTE … 4 = PGD of a 5-level table). */
export const LEVEL_NAMES: readonly LevelName[] = ['PTE', 'PMD', 'PUD', 'P4D', 'PGD']
export const LEVEL_CODE: Readonly<Record<string, number>> = {PTE: 0, PMD: 1, PUD: 2, P4D: 3, PGD: 4}

/**
 * Lvl of a printed level name in a table of `levels` levels (pg_level[] and note_page(),
 * arch/arm64/mm/ptdump.c): PGD is always
 * the top; PMD/PUD/P4D are fixed. On 2-level configurations PMD (6.9+ blocks) is the top, Lvl 1.
 */
export function lvlOfName(code: number, levels: number): number {
  return code === 4 ? levels - 1 : code
}

// ---------------------------------------------------------------------------------------------
// Markers (address_markers[]).

export interface MarkerDef {
  name: string
  /** The model region this marker opens or closes; undefined for markers we do not model. */
  region?: RegionName
  role?: 'start' | 'end'
}

/** Every marker name any version prints. */
export const MARKERS: readonly MarkerDef[] = [
  {name: 'Linear Mapping start', region: 'linear', role: 'start'},
  {name: 'Linear Mapping end', region: 'linear', role: 'end'},
  {name: 'Kasan shadow start', region: 'kasan', role: 'start'},
  {name: 'Kasan shadow end', region: 'kasan', role: 'end'},
  {name: 'BPF start', region: 'bpf', role: 'start'},
  {name: 'BPF end', region: 'bpf', role: 'end'},
  {name: 'Modules start', region: 'modules', role: 'start'},
  {name: 'Modules end', region: 'modules', role: 'end'},
  {name: 'vmalloc() area', region: 'vmalloc', role: 'start'},
  {name: 'vmalloc() end', region: 'vmalloc', role: 'end'},
  // linux-mm tree 2026 (after v6.19): per-CPU areas between vmalloc and vmemmap. Not modelled.
  {name: 'Global percpu start'},
  {name: 'Global percpu end'},
  {name: 'Local percpu start'},
  {name: 'Local percpu end'},
  {name: 'vmemmap start', region: 'vmemmap', role: 'start'},
  {name: 'vmemmap end', region: 'vmemmap', role: 'end'},
  {name: 'PCI I/O start', region: 'pci', role: 'start'},
  {name: 'PCI I/O end', region: 'pci', role: 'end'},
  {name: 'Fixmap start', region: 'fixmap', role: 'start'},
  {name: 'Fixmap end', region: 'fixmap', role: 'end'},
]

export const MARKER_BY_NAME: ReadonlyMap<string, MarkerDef> = new Map(MARKERS.map((m) => [m.name, m]))

/**
 * address_markers[] order. Optional entries (Kasan, BPF, percpu, 5.4 vmemmap) are simply absent
 * from a dump; an observed sequence must be a subsequence of its layout's order.
 * - pre-6.9 (v5.4 dump.c, v5.10–v6.8 ptdump.c; BPF markers only ≈v5.11–5.12 and early 5.10.y);
 * - 6.9+ (markers built at boot in ptdump_init(), Ard Biesheuvel's LPA2 preparation; percpu
 *   markers only in the 2026 linux-mm tree).
 */
export const MARKER_ORDERS: Readonly<Record<'pre-6.9' | '6.9+', readonly string[]>> = {
  'pre-6.9': [
    'Linear Mapping start', 'Linear Mapping end', 'Kasan shadow start', 'Kasan shadow end', 'BPF start', 'BPF end',
    'Modules start', 'Modules end', 'vmalloc() area', 'vmalloc() end', 'Fixmap start', 'Fixmap end',
    'PCI I/O start', 'PCI I/O end', 'vmemmap start', 'vmemmap end',
  ],
  '6.9+': [
    'Linear Mapping start', 'Linear Mapping end', 'Kasan shadow start', 'Kasan shadow end', 'Modules start',
    'Modules end', 'vmalloc() area', 'vmalloc() end', 'Global percpu start', 'Global percpu end',
    'Local percpu start', 'Local percpu end', 'vmemmap start', 'vmemmap end', 'PCI I/O start', 'PCI I/O end',
    'Fixmap start', 'Fixmap end',
  ],
}

// ---------------------------------------------------------------------------------------------
// Eras: version families that print differently.

export type PtdumpEra = '5.4' | '5.6-5.11' | '5.15-6.8' | '6.9+'
export const PTDUMP_ERAS: readonly PtdumpEra[] = ['5.4', '5.6-5.11', '5.15-6.8', '6.9+']

export interface EraDef {
  era: PtdumpEra
  /** Walker: v5.4's arch walker prints nothing for empty entries; the generic walker (v5.6+) prints holes. */
  holes: boolean
  /**
   * v5.6–v5.11 and 5.10.y: ptdump_walk() leaves st.level at 0 instead of -1, so the "Linear
   * Mapping start" header is never printed and the first line runs from 0x0 with level PGD
   * (fixed by "arm64/ptdump:display the Linear Mapping start marker", Hailong Liu, v5.12).
   */
  firstMarkerBug: boolean
  order: 'pre-6.9' | '6.9+'
  /**
   * v6.9+ prints fixed names PGD P4D PUD PMD PTE and rewrites only folded P4D/PUD levels to PGD,
   * so top-level blocks of 2-level configurations print PMD (≤ v6.8: PGD).
   */
  fixedLevelNames: boolean
  /** Versions the family covers, inclusive (5.12–5.14 print like 5.15; "5.15-6.8" covers them). */
  versions: readonly [KernelVersion, KernelVersion]
  /** Version whose pte_bits[] the writer uses by default. */
  defaultVersion: KernelVersion
  /** The VA sizes arch/arm64/Kconfig offers in these versions, by granule. */
  vaBits: Readonly<Record<number, readonly number[]>>
}

const VA_PRE_69 = {4096: [39, 48], 16384: [36, 47, 48], 65536: [42, 48, 52]} as const
const VA_69 = {4096: [39, 48, 52], 16384: [36, 47, 48, 52], 65536: [42, 48, 52]} as const

export const ERAS: Readonly<Record<PtdumpEra, EraDef>> = {
  '5.4': {era: '5.4', holes: false, firstMarkerBug: false, order: 'pre-6.9', fixedLevelNames: false, versions: [[5, 4], [5, 5]], defaultVersion: [5, 4], vaBits: VA_PRE_69},
  '5.6-5.11': {era: '5.6-5.11', holes: true, firstMarkerBug: true, order: 'pre-6.9', fixedLevelNames: false, versions: [[5, 6], [5, 11]], defaultVersion: [5, 10], vaBits: VA_PRE_69},
  '5.15-6.8': {era: '5.15-6.8', holes: true, firstMarkerBug: false, order: 'pre-6.9', fixedLevelNames: false, versions: [[5, 12], [6, 8]], defaultVersion: [6, 1], vaBits: VA_PRE_69},
  '6.9+': {era: '6.9+', holes: true, firstMarkerBug: false, order: '6.9+', fixedLevelNames: true, versions: [[6, 9], [99, 99]], defaultVersion: [6, 19], vaBits: VA_69},
}

/**
 * The name note_page() (arch/arm64/mm/ptdump.c) prints for an entry at `lvl`: the top level is
 * "PGD" (folded levels are reported at the real depth), except that 6.9+ prints top-level
 * *blocks* of 2-level configurations as "PMD" (level 3 is never rewritten).
 */
export function levelNameOf(geo: Geometry, lvl: number, isHole: boolean, era: PtdumpEra): LevelName {
  if (lvl === geo.levels - 1) {
    if (lvl === 1 && !isHole && ERAS[era].fixedLevelNames) return 'PMD'
    return 'PGD'
  }
  return LEVEL_NAMES[lvl]!
}

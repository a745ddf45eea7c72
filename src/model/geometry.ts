/**
 * arm64 translation geometry: granule, VA bits, levels, entry sizes, contiguous-hint sizes.
 *
 * Source: arch/arm64/include/asm/pgtable-hwdef.h
 *   ARM64_HW_PGTABLE_LEVEL_SHIFT(n) = (PAGE_SHIFT - 3) * (4 - n) + 3
 *   PGDIR_SHIFT = ARM64_HW_PGTABLE_LEVEL_SHIFT(4 - CONFIG_PGTABLE_LEVELS)
 *   CONT_PTE_SHIFT = CONFIG_ARM64_CONT_PTE_SHIFT + PAGE_SHIFT  (4 / 7 / 5 for 4K / 16K / 64K)
 *   CONT_PMD_SHIFT = CONFIG_ARM64_CONT_PMD_SHIFT + PMD_SHIFT   (4 / 5 / 5)
 * and arch/arm64/Kconfig (PGTABLE_LEVELS).
 *
 * Levels in this model are numbered from the leaf side, so that a number always means the same
 * entry size whatever the number of levels: 0 = PTE entries, 1 = PMD, 2 = PUD, 3 = P4D, 4 = PGD
 * (a 5-level PGD). The top level of a configuration is `levels - 1`; ptdump names it "PGD"
 * whatever its number (folded levels are reported at the real depth: pg_level[] and note_page()
 * in arch/arm64/mm/ptdump.c).
 */

export type PageSize = 4096 | 16384 | 65536

/** Kernel level names, in the generic walker's order (0 = PGD ... 4 = PTE in mm/ptdump.c). */
export type LevelName = 'PGD' | 'P4D' | 'PUD' | 'PMD' | 'PTE'

/** Leaf level number from the bottom: 0 = PTE-sized entries, 1 = PMD, 2 = PUD, 3 = P4D, 4 = PGD. */
export type Lvl = 0 | 1 | 2 | 3 | 4

/** Leaf kinds by the size they map (what x86 calls DirectMap4k/2M/1G). */
export type LeafKind = 'PUD' | 'CONT_PMD' | 'PMD' | 'CONT_PTE' | 'PTE'
export const LEAF_KINDS: readonly LeafKind[] = ['PUD', 'CONT_PMD', 'PMD', 'CONT_PTE', 'PTE']

export interface Geometry {
  readonly pageSize: PageSize
  readonly pageShift: number
  readonly vaBits: number
  /** CONFIG_PGTABLE_LEVELS: 2..5 */
  readonly levels: number
  /** Entries per table page (PTRS_PER_PTE = PTRS_PER_PMD = ...): 512 / 2048 / 8192. */
  readonly ptrsPerTable: number
  /** Entry size in bytes by Lvl (index 0..levels-1). The top level's entries are PGDIR_SIZE. */
  readonly entrySize: readonly number[]
  /** PTRS_PER_PGD */
  readonly ptrsPerPgd: number
  readonly contPtes: number
  readonly contPteSize: number
  readonly contPmds: number
  readonly contPmdSize: number
  /** pud_sect_supported(): 1G PUD blocks exist only with the 4K granule (and ≥ 3 levels). */
  readonly pudBlocks: boolean
  /** Human label, e.g. "4K/48 (4 levels)". */
  readonly label: string
}

/** The configurations arch/arm64/Kconfig allows: granule → VA bits → levels. */
export const SUPPORTED: Readonly<Record<PageSize, Readonly<Record<number, number>>>> = {
  4096: {39: 3, 48: 4, 52: 5},
  16384: {36: 2, 47: 3, 48: 4, 52: 4},
  65536: {42: 2, 48: 3, 52: 3},
}

/** Every VA_BITS some granule allows, ascending (36, 39, 42, 47, 48, 52). */
export function allVaBits(): number[] {
  return [...new Set(Object.values(SUPPORTED).flatMap((v) => Object.keys(v).map(Number)))].sort((a, b) => a - b)
}

/** The VA_BITS each granule allows, for messages: "4K: 39, 48, 52; 16K: 36, 47, 48, 52; 64K: 42, 48, 52". */
export function vaBitsPerGranule(): string {
  return (Object.keys(SUPPORTED) as unknown as string[])
    .map((p) => `${formatPageSize(Number(p) as PageSize)}: ${Object.keys(SUPPORTED[Number(p) as PageSize]).join(', ')}`)
    .join('; ')
}

export function parsePageSize(text: string): PageSize | undefined {
  const t = text.trim().toLowerCase()
  if (t === '4k' || t === '4096') return 4096
  if (t === '16k' || t === '16384') return 16384
  if (t === '64k' || t === '65536') return 65536
  return undefined
}

export function formatPageSize(p: PageSize): string {
  return `${p / 1024}K`
}

/**
 * Build the geometry of a supported configuration. `levels` may be given to model runtime
 * folding (an LPA2 52-bit kernel on 48-bit hardware runs with one level fewer).
 */
export function makeGeometry(pageSize: PageSize, vaBits: number, levels?: number): Geometry {
  const expected = SUPPORTED[pageSize][vaBits]
  if (expected === undefined) {
    throw new RangeError(`${vaBits} is not a valid VA_BITS with ${formatPageSize(pageSize)} pages; arm64 allows, by granule, ${vaBitsPerGranule()}`)
  }
  const lv = levels ?? expected
  const pageShift = Math.log2(pageSize)
  const bitsPerLevel = pageShift - 3
  const entrySize: number[] = []
  for (let l = 0; l < lv; l++) entrySize.push(2 ** (pageShift + bitsPerLevel * l))
  const topShift = pageShift + bitsPerLevel * (lv - 1)
  const contPteShift = {4096: 4, 16384: 7, 65536: 5}[pageSize]
  const contPmdShift = {4096: 4, 16384: 5, 65536: 5}[pageSize]
  const contPtes = 2 ** contPteShift
  const contPmds = 2 ** contPmdShift
  return {
    pageSize,
    pageShift,
    vaBits,
    levels: lv,
    ptrsPerTable: pageSize / 8,
    entrySize,
    ptrsPerPgd: 2 ** (vaBits - topShift),
    contPtes,
    contPteSize: contPtes * pageSize,
    contPmds,
    contPmdSize: contPmds * entrySize[1]!,
    pudBlocks: pageSize === 4096 && lv >= 3,
    label: `${formatPageSize(pageSize)}/${vaBits} (${lv} levels)`,
  }
}

/** Name of the table level whose entries are at `lvl` (for table counts: "PTE" tables hold PTEs). */
export function lvlName(geo: Geometry, lvl: number): LevelName {
  if (lvl === geo.levels - 1) return 'PGD'
  return (['PTE', 'PMD', 'PUD', 'P4D', 'PGD'] as const)[lvl]!
}

/** Leaf kind of a valid leaf at `lvl`, with or without the contiguous hint. */
export function leafKind(lvl: number, cont: boolean): LeafKind {
  if (lvl === 0) return cont ? 'CONT_PTE' : 'PTE'
  if (lvl === 1) return cont ? 'CONT_PMD' : 'PMD'
  return 'PUD'
}

/** Bytes one TLB entry covers for a leaf at `lvl` (a contiguous group is one entry). */
export function tlbReach(geo: Geometry, lvl: number, cont: boolean): number {
  if (cont) return lvl === 0 ? geo.contPteSize : geo.contPmdSize
  return geo.entrySize[lvl]!
}

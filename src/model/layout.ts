/**
 * Kernel VA regions (arch/arm64/include/asm/memory.h, pgtable.h, fixmap.h; ptdump's
 * address_markers[] in arch/arm64/mm/ptdump.c). A snapshot's regions come from its markers (the
 * ptdump reader) or, for synthesized machines, from the version's layout formulas; either way
 * every consumer classifies by address with `regionOf`, never by the header a line sat under.
 */
import type {Kva} from './address.js'

export type RegionName = 'linear' | 'kasan' | 'bpf' | 'modules' | 'vmalloc' | 'vmemmap' | 'pci' | 'fixmap'

export const REGION_LABELS: Readonly<Record<RegionName, string>> = {
  linear: 'Linear map',
  kasan: 'KASAN shadow',
  bpf: 'BPF JIT',
  modules: 'Modules',
  vmalloc: 'vmalloc',
  vmemmap: 'vmemmap',
  pci: 'PCI I/O',
  fixmap: 'Fixmap',
}

export interface Region {
  name: RegionName
  /** First byte (Kva). */
  start: Kva
  /** One past the last byte (Kva). */
  end: Kva
}

/** The region containing addr, or undefined (between regions). Regions are few: a linear scan is fine. */
export function regionOf(regions: readonly Region[], addr: Kva): Region | undefined {
  for (const r of regions) if (addr >= r.start && addr < r.end) return r
  return undefined
}

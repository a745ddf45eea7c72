/**
 * The kernel VA layout of a 6.9+ arm64 kernel without KASAN, computed from
 * the formulas of arch/arm64/include/asm/memory.h, pgtable.h and fixmap.h (v6.9 → v6.19):
 *
 *   PAGE_OFFSET   = _PAGE_OFFSET(VA_BITS) = −2^VA_BITS
 *   PAGE_END      = _PAGE_END(VA_BITS_MIN) = −2^(VA_BITS_MIN−1); VA_BITS_MIN = 48 (47 for 16K) if VA_BITS > 48
 *   MODULES_VADDR = PAGE_END, MODULES_VSIZE = 2G, KIMAGE_VADDR = VMALLOC_START = MODULES_END
 *   VMEMMAP_END   = −1G, VMEMMAP_SIZE = ((PAGE_END − PAGE_OFFSET) >> PAGE_SHIFT) × sizeof(struct page)
 *   VMALLOC_END   = VMEMMAP_START − 8M
 *   PCI_IO_START  = VMEMMAP_END + 8M, PCI_IO_SIZE = 16M
 *   FIXADDR_TOP   = −8M, "Fixmap start" = FIXADDR_TOT_START = FIXADDR_TOP − (__end_of_fixed_addresses << PAGE_SHIFT)
 *
 * Checked against the real 6.19 (4K/48) and 6.12 (4K/52) captures in samples/: every marker
 * address matches.
 */
import {type Kva, KVA_END, pageOffsetKva} from '../model/address.js'
import type {Geometry} from '../model/geometry.js'
import type {Region} from '../model/layout.js'

const M = 2 ** 20
const G = 2 ** 30

import {STRUCT_PAGE_SIZE} from '../model/memory.js'

export interface FixmapLayout {
  /** FIXADDR_TOT_START (the ptdump "Fixmap start" marker, v6.4+). */
  totStart: Kva
  /** FIXADDR_TOP */
  top: Kva
  /** __fix_to_virt(FIX_FDT): the FDT is mapped upwards from here. */
  fdt: Kva
  /** __end_of_fixed_addresses */
  slots: number
}

export interface KernelLayout {
  pageOffset: Kva
  pageEnd: Kva
  modules: {start: Kva; end: Kva}
  vmalloc: {start: Kva; end: Kva}
  vmemmap: {start: Kva; end: Kva}
  pci: {start: Kva; end: Kva}
  fixmap: FixmapLayout
  /** KIMAGE_VADDR (the image is placed here without KASLR). */
  kimageVaddr: Kva
  /** In address order, the regions ptdump marks (model/layout.ts names). */
  regions: Region[]
}

/** VA_BITS_MIN (arch/arm64/include/asm/memory.h, 6.9+). */
export function vaBitsMin(geo: Geometry): number {
  if (geo.vaBits <= 48) return geo.vaBits
  return geo.pageSize === 16384 ? 47 : 48
}

/**
 * enum fixed_addresses (arch/arm64/include/asm/fixmap.h, 6.4+), for a config without
 * ACPI_APEI_GHES and UNMAP_KERNEL_AT_EL0 (the tinyconfig of the 6.19 capture, whose
 * FIXADDR_TOT_START 0xffffffffff436000 this reproduces):
 * FIX_HOLE, FIX_FDT_END, FIX_FDT = FIX_FDT_END + DIV_ROUND_UP(MAX_FDT_SIZE, PAGE_SIZE) + 1,
 * FIX_EARLYCON_MEM_BASE, FIX_TEXT_POKE0, __end_of_permanent_fixed_addresses,
 * FIX_BTMAP_END.. + NR_FIX_BTMAPS (SZ_256K / PAGE_SIZE) × 7 slots, FIX_PTE, FIX_PMD, FIX_PUD,
 * FIX_P4D, FIX_PGD, __end_of_fixed_addresses. KPTI adds 4 trampoline slots
 * (FIX_ENTRY_TRAMP_TEXT1..3, FIX_ENTRY_TRAMP_DATA).
 */
export function fixmapLayout(geo: Geometry, opts: {kpti?: boolean} = {}): FixmapLayout {
  const P = geo.pageSize
  const MAX_FDT_SIZE = 2 * M
  const fixFdt = 1 + Math.ceil(MAX_FDT_SIZE / P) + 1
  const permanent = fixFdt + 3 + (opts.kpti ? 4 : 0)
  const slots = permanent + ((256 * 1024) / P) * 7 + 5
  const top = KVA_END - 8 * M
  return {totStart: top - slots * P, top, fdt: top - fixFdt * P, slots}
}

export function kernelLayout(geo: Geometry, opts: {kpti?: boolean} = {}): KernelLayout {
  const pageOffset = pageOffsetKva(geo.vaBits)
  const pageEnd = KVA_END - 2 ** (vaBitsMin(geo) - 1)
  const modules = {start: pageEnd, end: pageEnd + 2 * G}
  const vmemmapEnd = KVA_END - G
  const vmemmapSize = ((pageEnd - pageOffset) / geo.pageSize) * STRUCT_PAGE_SIZE
  const vmemmap = {start: vmemmapEnd - vmemmapSize, end: vmemmapEnd}
  const vmalloc = {start: modules.end, end: vmemmap.start - 8 * M}
  const pci = {start: vmemmapEnd + 8 * M, end: vmemmapEnd + 24 * M}
  const fixmap = fixmapLayout(geo, opts)
  const regions: Region[] = [
    {name: 'linear', start: pageOffset, end: pageEnd},
    {name: 'modules', ...modules},
    {name: 'vmalloc', ...vmalloc},
    {name: 'vmemmap', ...vmemmap},
    {name: 'pci', ...pci},
    {name: 'fixmap', start: fixmap.totStart, end: fixmap.top},
  ]
  return {pageOffset, pageEnd, modules, vmalloc, vmemmap, pci, fixmap, kimageVaddr: modules.end, regions}
}

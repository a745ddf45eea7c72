/** The physical memory map `synth machine` starts from: banks, NOMAP holes, memstart_addr's alignment. */
import type {MemBank} from '../kernel/map-mem.js'

const M = 2 ** 20
const G = 2 ** 30

/**
 * ARM64_MEMSTART_ALIGN (arch/arm64/mm/init.c, v6.19): 1 << ARM64_MEMSTART_SHIFT (PUD_SHIFT with
 * 4K, CONT_PMD_SHIFT with 16K, PMD_SHIFT with 64K) or the sparsemem section if larger: 1G with 4K
 * and 16K pages, 512M with 64K.
 */
export function memstartAlign(pageSize: number): number {
  return pageSize === 65536 ? 512 * M : G
}

/**
 * Default memory map for `memoryBytes` of DRAM: one bank at 0x40000000 (up to 4G, QEMU virt
 * style) or 0x80000000 (servers), with a 1M firmware NOMAP hole 0x8300000 into the bank (the
 * UEFI/ACPI reserved region AmpereOne shows at 0x88300000) when the bank is large enough.
 */
export function defaultBanks(memoryBytes: number): {banks: MemBank[]; nomap: MemBank[]} {
  const base = memoryBytes <= 4 * G ? 0x40000000 : 0x80000000
  const banks = [{start: base, end: base + memoryBytes}]
  const nomap = memoryBytes >= 512 * M ? [{start: base + 0x8300000, end: base + 0x8400000}] : []
  return {banks, nomap}
}

/** `ranges` minus `holes`, empty pieces dropped (memblock.memory minus NOMAP: what map_mem() maps; RAM minus a pool). */
export function subtractRanges<R extends {start: number; end: number}>(ranges: readonly R[], holes: readonly {start: number; end: number}[]): {start: number; end: number}[] {
  let out = ranges.map((r) => ({start: r.start, end: r.end}))
  for (const h of holes) {
    const next: {start: number; end: number}[] = []
    for (const r of out) {
      if (h.end <= r.start || h.start >= r.end) next.push(r)
      else {
        if (r.start < h.start) next.push({start: r.start, end: h.start})
        if (h.end < r.end) next.push({start: h.end, end: r.end})
      }
    }
    out = next
  }
  return out.filter((r) => r.end > r.start)
}

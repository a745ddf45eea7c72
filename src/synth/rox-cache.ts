/**
 * `synth machine --rox-cache`: the execmem ROX cache's PMD-order pages pre-mapped in the module
 * region, with their read-only linear aliases (the proposed series; see RoxCache).
 */
import type {KernelContext} from '../kernel/context.js'
import type {MemBank} from '../kernel/map-mem.js'
import {__changeMemoryCommon} from '../kernel/pageattr.js'
import {InputError} from '../ingest/source.js'
import {type Kva, alignUp, formatKva, formatSize} from '../model/address.js'
import {ModelError} from '../model/model-error.js'
import type {PageTables} from '../model/pagetable.js'
import {HW, type Prot} from '../model/prot.js'
import {Rng} from './rng.js'
import {type VmapCursor, mapRange} from './vm-space.js'

/** One huge page of the execmem ROX cache: its vmalloc address and its linear alias (both PMD-aligned, PMD_SIZE). */
export interface RoxCachePage {
  va: Kva
  alias: Kva
  /** Physical address of the backing PMD-order page. */
  phys: number
}

/**
 * The execmem ROX cache of the June 2026 RFC series (https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/, docs/collapse-proposals.md) after
 * execmem_cache_populate_alloc() (mm/execmem.c, linux-mm tree): execmem_vmalloc(range, PMD_SIZE,
 * PAGE_KERNEL, VM_ALLOW_HUGE_VMAP) maps one PMD-order page with a PMD leaf (vmap_try_huge_pmd()),
 * execmem_fill_trapping_insns(), then set_memory_rox(p, vm->nr_pages) = set_memory_ro() (with
 * rodata_full also the linear alias: RDONLY, never x) + set_memory_x() (the vmalloc range only).
 */
export interface RoxCache {
  pmdBytes: number
  /** Ascending by VA; the backing pages ascend in PA in the same order (the workload relies on it). */
  pages: RoxCachePage[]
}

export interface RoxCacheInputs {
  /** Huge pages in the cache. */
  n: number
  seed: number
  /** The tables above PAGE_END (the module region) and the kernel context of the linear map. */
  pt: PageTables
  ctx: KernelContext
  rodataFull: boolean
  /** EXECMEM_MODULE_TEXT's range (module_direct_base, 128M), then the fallback (module_plt_base, 2G). */
  moduleText: VmapCursor
  moduleFallback: VmapCursor
  /** RAM in the linear map (physical), and what the backing pages must stay clear of (given PMD_SIZE). */
  ram: readonly MemBank[]
  avoidFor: (pmdBytes: number) => MemBank[]
  /** The linear-map address of a physical address. */
  linearOf: (pa: number) => Kva
  /** PAGE_KERNEL_ROX as the machine writes it. */
  prot: Prot
}

/** Map the cache's huge pages and make their linear aliases read-only (with rodata_full). */
export function populateRoxCache(p: RoxCacheInputs): RoxCache {
  const geo = p.pt.geo
  const pmdBytes = geo.entrySize[1]!
  const vas: Kva[] = []
  for (let i = 0; i < p.n; i++) {
    // __execmem_alloc(): EXECMEM_MODULE_TEXT's range (module_direct_base, 128M) first, then the fallback (module_plt_base, 2G).
    const va = p.moduleText.tryAlloc(pmdBytes, pmdBytes) ?? p.moduleFallback.tryAlloc(pmdBytes, pmdBytes)
    if (va === undefined) throw new InputError(`--rox-cache ${p.n}: ${p.n} × ${formatSize(pmdBytes)} huge pages do not fit the 2G module region of ${geo.label}`)
    vas.push(va)
  }
  vas.sort((a, b) => a - b)
  const phys = pickRoxBacking(p.ram, p.n, pmdBytes, p.avoidFor(pmdBytes), new Rng(p.seed ^ 0x5ca1ab1e))
  if (!phys) throw new InputError(`--rox-cache ${p.n}: not enough ${formatSize(pmdBytes)}-aligned free RAM for the cache's huge pages`)
  const pages: RoxCachePage[] = vas.map((va, i) => ({va, phys: phys[i]!, alias: p.linearOf(phys[i]!)}))
  const ctx = p.ctx
  for (const pg of pages) {
    // vmap_try_huge_pmd(): one PMD leaf, PAGE_KERNEL → set_memory_ro → set_memory_x = ROX.
    mapRange(p.pt, pg.va, pg.va + pmdBytes, p.prot, {blocks: true, cont: false, maxLeafLvl: 1})
    // rodata_full: the linear alias goes RDONLY with set_memory_ro (set_memory_x leaves it alone).
    // Changed as one PMD_SIZE range — the order-aware loop (docs/collapse-proposals.md point 4), or equally the
    // state the RFC's collapse restores after mainline's per-page loop: a PMD leaf (cont cleared
    // on its CONT_PMD group, a PUD block split first) or, PTE-forced, PTEs.
    if (p.rodataFull) {
      const before = ctx.errors.length
      __changeMemoryCommon(ctx, pg.alias, pmdBytes, HW.PTE_RDONLY, HW.PTE_WRITE)
      if (ctx.errors.length > before) throw new ModelError(`ROX cache alias ${formatKva(pg.alias)}: ${ctx.errors[before]!.message}`)
    }
  }
  return {pmdBytes, pages}
}

/**
 * `n` PMD-aligned physical chunks of RAM for the ROX cache's PMD-order pages (alloc_pages of
 * order PMD_SHIFT − PAGE_SHIFT from the buddy allocator: naturally aligned), chosen from the seed,
 * outside `avoid`, no two adjacent (so each linear alias is a read-only island of exactly PMD_SIZE
 * that a ptdump reader can find again), ascending. undefined if RAM is too small.
 */
function pickRoxBacking(ram: readonly MemBank[], n: number, pmdBytes: number, avoid: readonly MemBank[], rng: Rng): number[] | undefined {
  const slots: number[] = []
  for (const r of ram) {
    for (let pa = alignUp(r.start, pmdBytes); pa + pmdBytes <= r.end; pa += pmdBytes) {
      if (!avoid.some((x) => pa < x.end && pa + pmdBytes > x.start)) slots.push(pa)
    }
  }
  const chosen = new Set<number>()
  for (let tries = 0; chosen.size < n && tries < 64 * n + 256; tries++) {
    const pa = slots[rng.int(slots.length)]
    if (pa === undefined || chosen.has(pa) || chosen.has(pa - pmdBytes) || chosen.has(pa + pmdBytes)) continue
    chosen.add(pa)
  }
  if (chosen.size < n) return undefined
  return [...chosen].sort((a, b) => a - b)
}

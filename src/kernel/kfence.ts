/**
 * The KFENCE pool as the kernel lays it out: its size (include/linux/kfence.h), the pages
 * kfence_init_pool() protects (mm/kfence/core.c), and where it is in a captured linear map.
 * arm64 places the early pool with memblock_phys_alloc(KFENCE_POOL_SIZE, PAGE_SIZE) and maps it
 * page-level (arm64_kfence_map_pool(), arch/arm64/mm/mmu.c); a late pool (sample_interval=0 at
 * boot, enabled later) is split to PTEs by arch_kfence_init_pool().
 */
import {type Kva} from '../model/address.js'
import {type PageTables} from '../model/pagetable.js'
import {HOLE, NO_RUN, metaLvl, metaProt} from '../model/run.js'
import {P_VALID} from '../model/prot.js'
import type {KernelConfig} from './context.js'

/** CONFIG_KFENCE_NUM_OBJECTS default (mm/kfence/Kconfig). */
export const KFENCE_NUM_OBJECTS_DEFAULT = 255

/** KFENCE_POOL_SIZE = ((CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 * PAGE_SIZE) (include/linux/kfence.h). */
export function kfencePoolSize(pageSize: number, objects = KFENCE_NUM_OBJECTS_DEFAULT): number {
  return (objects + 1) * 2 * pageSize
}

/**
 * Page indexes kfence_init_pool() protects (kfence_protect() → set_memory_valid(addr, 1, 0) on
 * arm64): the first 2 pages, then each object's right redzone, page 3 + 2i for i < NUM_OBJECTS.
 */
export function kfenceProtectedPages(objects = KFENCE_NUM_OBJECTS_DEFAULT): number[] {
  const out = [0, 1]
  for (let i = 0; i < objects; i++) out.push(3 + 2 * i)
  return out
}

function invalidPage(pt: PageTables, addr: Kva): boolean {
  const m = pt.shapeAt(addr)
  if (m === NO_RUN || metaLvl(m) !== 0) return false
  const p = metaProt(m)
  return p !== HOLE && (p & P_VALID) === 0
}

/**
 * __kfence_pool in a snapshot's linear map [start, end): the first page-aligned address whose
 * pages follow kfence_init_pool()'s protection pattern (pages 0, 1 and every odd page up to the
 * pool's end invalid PTEs). undefined if no such span exists (no pool: KFENCE off, or
 * sample_interval=0 and never enabled). Data pages may be valid or not (freed objects are
 * protected again), so only the guard pages are required.
 */
export function locateKfencePool(pt: PageTables, start: Kva, end: Kva, cfg: KernelConfig): {start: Kva; end: Kva} | undefined {
  if (cfg.kfence === 'off') return undefined
  const page = pt.geo.pageSize
  const objects = cfg.kfenceNumObjects ?? KFENCE_NUM_OBJECTS_DEFAULT
  const size = kfencePoolSize(page, objects)
  const guards = kfenceProtectedPages(objects)
  for (const r of pt.runs(start, end)) {
    if (r.lvl !== 0 || r.prot === HOLE || (r.prot & P_VALID) !== 0) continue
    // A candidate pool start is any invalid page; guard index 1 rejects most at once.
    for (let p = r.start; p < r.end; p += page) {
      if (p + size > end) return undefined
      if (guards.every((g) => invalidPage(pt, p + g * page))) return {start: p, end: p + size}
    }
  }
  return undefined
}

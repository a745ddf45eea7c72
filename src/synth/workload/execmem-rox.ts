/**
 * execmem-rox: the 2M ROX cache of the June 2026 RFC (docs/collapse-proposals.md). On a machine with a cache
 * (`synth machine --rox-cache`), text allocations are carved from its huge pages and flipped
 * nx+rw then ro+x (execmemRoxCache()); without one, cache areas are carved from holes of the
 * module region (which the machine does not map), made ROX once, then each text allocation
 * flips its sub-range rw and back ro.
 */
import type {Kva} from '../../model/address.js'
import {Rng} from '../rng.js'
import {PageAllocator, type SynthArea, VaWindow} from './alloc.js'
import {Emitter} from './emitter.js'
import {pmdSizeOf} from './target.js'
import type {Hit, WorkloadOptions, WorkloadTarget} from './types.js'

export function* execmemRox(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const HUGE = 2 * 2 ** 20
  const hugePages = HUGE / P
  const alloc = new PageAllocator(t, rng)
  const va = new VaWindow(t.modules.start, t.modules.end, P)
  interface CacheArea extends SynthArea {
    free: boolean[]
  }
  const cache: CacheArea[] = []
  const live: {area: CacheArea; first: number; pages: number}[] = []
  let pid = 3000
  while (!e.done) {
    const cpu = rng.int(cpus)
    if (live.length === 0 || rng.next() < 0.6) {
      const pages = Math.min(hugePages, rng.skewed(48))
      let found: {area: CacheArea; first: number} | undefined
      for (const a of cache) {
        let run = 0
        for (let i = 0; i < hugePages && !found; i++) {
          run = a.free[i] ? run + 1 : 0
          if (run === pages) found = {area: a, first: i - pages + 1}
        }
        if (found) break
      }
      if (!found) {
        // execmem_cache_populate(): a 2M huge vmalloc area, made ROX once.
        const backing = alloc.block(HUGE) ?? alloc.pages(hugePages)
        const a: CacheArea = {addr: va.alloc(HUGE, HUGE), pages: hugePages, backing, free: new Array<boolean>(hugePages).fill(true)}
        cache.push(a)
        e.marker('capture: execmem cache grow')
        e.setMemory(cpu, pid, 'insmod', 'set_memory_ro', a.addr, hugePages, backing)
        e.setMemory(cpu, pid, 'insmod', 'set_memory_x', a.addr, hugePages, backing)
        found = {area: a, first: 0}
      }
      pid++
      const {area, first} = found
      for (let i = first; i < first + pages; i++) area.free[i] = false
      const addr = area.addr + first * P
      const backing = area.backing.slice(first, first + pages)
      // Copy the text in: flip the sub-range writable, write, back to read-only (as the RFC's cover letter describes).
      e.setMemory(cpu, pid, 'insmod', 'set_memory_rw', addr, pages, backing)
      e.setMemory(cpu, pid, 'insmod', 'set_memory_ro', addr, pages, backing)
      live.push({area, first, pages})
    } else {
      // execmem_cache_free(): the range is poisoned in place and returned to the cache (stays ROX).
      const x = live.splice(rng.int(live.length), 1)[0]!
      for (let i = x.first; i < x.first + x.pages; i++) x.area.free[i] = true
    }
    yield
  }
}

/** execmem_force_rw() (set_memory_nx + set_memory_rw, or rw alone) then execmem_restore_rox() (set_memory_ro + set_memory_x). */
function execmemRwThenRox(e: Emitter, cpu: number, pid: number, comm: string, addr: Kva, pages: number, backing: readonly Kva[]): void {
  if (e.execmemForceNx) e.setMemory(cpu, pid, comm, 'set_memory_nx', addr, pages, backing)
  e.setMemory(cpu, pid, comm, 'set_memory_rw', addr, pages, backing)
  e.setMemory(cpu, pid, comm, 'set_memory_ro', addr, pages, backing)
  e.setMemory(cpu, pid, comm, 'set_memory_x', addr, pages, backing)
}

/**
 * The hits of one text write into a ROX cache huge page: `pages` pages from page `first` of the
 * huge page at `va` whose linear alias starts at `alias` (PMD-order, contiguous), made writable
 * and restored to ROX as a module load or execmem_cache_free() does (execmemRoxCache()). For
 * hand-built scenarios and tests.
 */
export function execmemRoxCallHits(t: WorkloadTarget, cachePage: {va: Kva; alias: Kva}, first: number, pages: number, opts: Omit<WorkloadOptions, 'kind' | 'events'> = {}, pid = 3000): Hit[] {
  const e = new Emitter(t, new Rng(opts.seed ?? 1), {...opts, kind: 'execmem-rox', events: Number.POSITIVE_INFINITY})
  const P = t.pageSize
  const backing: Kva[] = []
  for (let i = first; i < first + pages; i++) backing.push(cachePage.alias + i * P)
  execmemRwThenRox(e, 0, pid, 'insmod', cachePage.va + first * P, pages, backing)
  return e.out
}

/**
 * execmem-rox on the pre-mapped ROX cache of `synth machine --rox-cache` (proposed; docs/collapse-proposals.md
 * with mm/execmem.c of the linux-mm tree, which the series builds on):
 * - load: execmem_alloc_rw() → execmem_cache_alloc() takes the first free area big enough in
 *   address order (execmem_cache_alloc_locked(), maple tree walk), then execmem_force_rw() =
 *   set_memory_nx() + set_memory_rw() on it; the text is copied; module_enable_text_rox() →
 *   execmem_restore_rox() = set_memory_rox() = set_memory_ro() + set_memory_x().
 * - unload: execmem_free() → execmem_cache_free() → __execmem_cache_free(): execmem_force_rw(),
 *   refill with trapping instructions, execmem_restore_rox(), back on the free list.
 * Every huge page holds one resident text allocation loaded before the trace (boot modules), so
 * none ever becomes wholly free and execmem_cache_clean() never vfree()s one: the cache the
 * machine shows stays mapped for the whole trace. A load that fits nowhere unloads first.
 * With rodata_full each set_memory_ro/rw carries one __change_memory_common (+ update_range_prot)
 * per linear-alias page in range (6.19 walks only pages in range) at the chunk's real alias.
 */
export function* execmemRoxCache(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const per = pmdSizeOf(P) / P
  const alloc = new PageAllocator(t, rng)
  const cache = t.roxCache!.map((c) => {
    const backing: Kva[] = []
    if (c.alias !== undefined) for (let i = 0; i < per; i++) backing.push(c.alias + i * P)
    return {va: c.va, backing: backing.length ? backing : (alloc.block(per * P) ?? alloc.pages(per)), free: new Array<boolean>(per).fill(true)}
  })
  type Area = (typeof cache)[number]
  for (const a of cache) a.free.fill(false, 0, Math.min(per - 1, rng.skewed(48)))
  const live: {name: string; area: Area; first: number; pages: number}[] = []
  let n = 0
  let pid = 3000
  const rwThenRox = (cpu: number, comm: string, a: Area, first: number, pages: number) =>
    execmemRwThenRox(e, cpu, pid, comm, a.va + first * P, pages, a.backing.slice(first, first + pages))
  const unload = (cpu: number) => {
    const x = live.splice(rng.int(live.length), 1)[0]!
    pid++
    e.marker(`capture: rmmod ${x.name}`)
    rwThenRox(cpu, 'rmmod', x.area, x.first, x.pages)
    x.area.free.fill(true, x.first, x.first + x.pages)
  }
  while (!e.done) {
    const cpu = rng.int(cpus)
    if (live.length === 0 || rng.next() < 0.6) {
      const pages = Math.min(per - 1, rng.skewed(48))
      let found: {area: Area; first: number} | undefined
      for (const a of cache) {
        let run = 0
        for (let i = 0; i < per && !found; i++) {
          run = a.free[i] ? run + 1 : 0
          if (run === pages) found = {area: a, first: i - pages + 1}
        }
        if (found) break
      }
      if (!found) {
        if (live.length) unload(cpu)
        else return
        yield
        continue
      }
      pid++
      const name = `synth_rox${n++}`
      e.marker(`capture: insmod ${name}`)
      found.area.free.fill(false, found.first, found.first + pages)
      rwThenRox(cpu, 'insmod', found.area, found.first, pages)
      live.push({name, area: found.area, first: found.first, pages})
    } else unload(cpu)
    yield
  }
}

/**
 * Synthesized permission-change workloads, as the kprobe hits a capture of the real kernel would
 * record (the probes of `ptreplay capture-script`, shapes of samples/*‍/trace.txt):
 *
 *   set_memory_{ro,rw,x,nx} → change_memory_common → [rodata_full, ro/rw only: one
 *   __change_memory_common(linear alias, PAGE_SIZE) per backing page] → __change_memory_common
 *   (the vmalloc range); set_memory_valid → __change_memory_common; set_direct_map_*_noflush
 *   (struct page * in vmemmap). The 6.18+ shape adds update_range_prot after every
 *   __change_memory_common and under set_direct_map_* (pageattr.c v6.19.9); the split probes are
 *   never emitted: they are what a replay predicts.
 *
 * Kinds (what the kernel does, cited where it is done):
 * - module-churn: load_module() → module_enable_rodata_ro/data_nx/text_rox() on separate execmem
 *   areas (kernel/module/strict_rwx.c), ro_after_init after init, do_free_init() and
 *   free_module() → vfree of VM_FLUSH_RESET_PERMS areas → vm_reset_perms(): every page
 *   set_direct_map_invalid_noflush(), then every page set_direct_map_default_noflush()
 *   (mm/vmalloc.c set_area_direct_map(), from a kworker as in the captures).
 * - bpf-jit: bpf_prog_pack_alloc() (kernel/bpf/core.c): a 2M pack backed by one huge page,
 *   set_memory_rox() = ro (512 alias pages) + x; programs are packed into it; an empty pack is
 *   freed through execmem_free() → vm_reset_perms() (512 + 512 direct-map calls).
 * - execmem-rox: the 2M ROX cache of the June 2026 RFC (docs/collapse-proposals.md). On a machine with a cache
 *   (`synth machine --rox-cache`), text allocations are carved from its huge pages and flipped
 *   nx+rw then ro+x (execmemRoxCache()); without one, cache areas are carved from holes of the
 *   module region (which the machine does not map), made ROX once, then each text allocation
 *   flips its sub-range rw and back ro.
 * - kfence: kfence_guarded_alloc()/kfence_guarded_free() (mm/kfence/core.c): a freed object's
 *   page is protected (set_memory_valid(…, 1, 0)); reusing a protected object unprotects it.
 *
 * Addresses land in memory the machine maps: backing pages are chosen in its linear-map RAM
 * (outside the kernel alias and the KFENCE pool), struct pages follow its vmemmap base, areas are
 * carved from its module region, the KFENCE pool is the last KFENCE_POOL_SIZE bytes of RAM (the
 * memblock top-down allocation seen in the 6.12 kfence capture).
 *
 * Streaming: a generator of hits; the whole workload is never held in memory.
 */
import {DIRECT_MAP_DEFAULT_MASKS, DIRECT_MAP_INVALID_MASKS, setMemoryMasks} from '../kernel/pageattr.js'
import {virtToPage} from '../model/memory.js'
import {type KernelVersion, versionHas} from '../kernel/version.js'
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import type {RawRecord} from '../ingest/events.js'
import {type Kva, alignDown, formatKva} from '../model/address.js'
import {HOLE} from '../model/pagetable.js'
import {HW, P_PXN, P_RDONLY, P_VALID} from '../model/prot.js'
import {kfencePoolSize} from '../kernel/kfence.js'
import type {SynthMachine} from './machine.js'
import {Rng} from './rng.js'

export const WORKLOAD_KINDS = ['module-churn', 'bpf-jit', 'execmem-rox', 'kfence'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

/** Where a workload may put its addresses. */
export interface WorkloadTarget {
  pageSize: number
  /** PAGE_OFFSET and VMEMMAP_START: page_to_virt() of the traced kernel. */
  pageOffset: Kva
  vmemmapStart: Kva
  /** Linear-map ranges of ordinary RAM (buddy pages), ascending. */
  ram: {start: Kva; end: Kva}[]
  /** The module region (execmem on arm64: modules, BPF, the ROX cache). */
  modules: {start: Kva; end: Kva}
  kfencePool: {start: Kva; end: Kva}
  /**
   * The execmem ROX cache's PMD-size huge pages (`synth machine --rox-cache`): vmalloc address and
   * linear alias of each. Absent: execmem-rox carves its own areas from holes of the module region.
   */
  roxCache?: {va: Kva; alias?: Kva}[]
}

export interface WorkloadOptions {
  kind: WorkloadKind
  /** Trace events (probe hits and markers) to emit. */
  events: number
  seed?: number
  /** [major, minor]: ≥ 6.18 emits update_range_prot under __change_memory_common and set_direct_map_*. */
  kernel?: KernelVersion
  /** rodata_full: set_memory_ro/rw also walk the linear alias (default true, the kernels' default). */
  rodataFull?: boolean
  cpus?: number
  /**
   * execmem-rox on a ROX cache: make a range writable as execmem_force_rw() does, set_memory_nx()
   * then set_memory_rw() (default true); false emits set_memory_rw() alone, the "flip it RW" of the
   * RFC's description.
   */
  execmemForceNx?: boolean
}

/** One trace event: a kprobe hit (fn + args) or a trace_marker write (text). */
export interface Hit {
  /** Microseconds since boot. */
  tsUs: number
  cpu: number
  pid: number
  comm: string
  fn: string
  /** name=value arguments as printed (hex). */
  args?: [string, string][]
  /** tracing_mark_write payload. */
  text?: string
}

// The masks the probes print: the kernel model's own (kernel/pageattr.ts, pgtable-hwdef.h bits); no BTI (PTE_MAYBE_GP = 0).
const MASKS = {
  set_memory_ro: setMemoryMasks('ro', false),
  set_memory_rw: setMemoryMasks('rw', false),
  set_memory_nx: setMemoryMasks('nx', false),
  set_memory_x: setMemoryMasks('x', false),
} as const

/** Probe symbol sizes (`fn+0x0/0xSIZE`) as the real 6.12 and 6.19 captures print them. */
const SYM_SIZE_619: Record<string, number> = {
  set_memory_ro: 0x1c,
  set_memory_rw: 0x1c,
  set_memory_x: 0x1c,
  set_memory_nx: 0x1c,
  set_memory_valid: 0x58,
  change_memory_common: 0x134,
  __change_memory_common: 0x9c,
  update_range_prot: 0xd8,
  set_direct_map_invalid_noflush: 0x50,
  set_direct_map_default_noflush: 0x54,
}
const SYM_SIZE_612: Record<string, number> = {
  set_memory_ro: 0x38,
  set_memory_rw: 0x38,
  set_memory_x: 0x38,
  set_memory_nx: 0x38,
  set_memory_valid: 0x58,
  change_memory_common: 0x130,
  __change_memory_common: 0xf8,
  update_range_prot: 0xd8,
  set_direct_map_invalid_noflush: 0xc8,
  set_direct_map_default_noflush: 0xc8,
}

const hex = (v: number | bigint) => '0x' + v.toString(16)

/** The target of a synthesized machine. */
export function targetFromMachine(m: SynthMachine): WorkloadTarget {
  const pmd = m.geo.entrySize[1]!
  const cache = m.roxCache?.pages.map((p) => ({va: p.va, alias: p.alias}))
  const exclude = [m.kernelAlias, m.kfencePool, ...(cache ?? []).map((p) => ({start: p.alias, end: p.alias + pmd}))].filter(
    (x): x is {start: Kva; end: Kva} => x !== undefined,
  )
  return {
    pageSize: m.geo.pageSize,
    pageOffset: m.layout.pageOffset,
    vmemmapStart: m.layout.vmemmap.start,
    ram: subtractRanges(m.ram, exclude),
    modules: m.layout.modules,
    kfencePool: m.kfencePool ?? topOfRamPool(m.ram, m.geo.pageSize),
    ...(cache?.length ? {roxCache: cache} : {}),
  }
}

/** PMD_SIZE of a granule: PAGE_SIZE × PTRS_PER_PTE (8-byte descriptors). */
function pmdSizeOf(pageSize: number): number {
  return (pageSize * pageSize) / 8
}

/**
 * The ROX cache in a ptdump: every PMD leaf in the module region that is valid, read-only and
 * executable (only a VM_ALLOW_HUGE_VMAP area gets a PMD leaf there, vmap_try_huge_pmd()), paired
 * in address order with the read-only islands of exactly PMD_SIZE, PMD-aligned, in the linear map
 * (rodata_full aliases; the kernel's own alias is one longer island). A ptdump carries no PA, so
 * the pairing is `synth machine`'s convention (backing pages ascend with the VA); it is used only
 * when the counts agree, else the aliases are left unknown (rodata=noalias leaves them writable)
 * and the workload picks huge pages of RAM for them.
 */
function roxCacheOfSnapshot(snap: PtdumpSnapshot, linear: {start: Kva; end: Kva}, modules: {start: Kva; end: Kva}): {va: Kva; alias?: Kva}[] | undefined {
  const pmd = pmdSizeOf(snap.geometry.pageSize)
  const vas: Kva[] = []
  for (const r of snap.pt.runs(modules.start, modules.end)) {
    if (r.lvl !== 1 || r.prot === HOLE || (r.prot & P_VALID) === 0 || (r.prot & P_RDONLY) === 0 || (r.prot & P_PXN) !== 0) continue
    for (let a = r.start; a < r.end; a += pmd) vas.push(a)
  }
  if (!vas.length) return undefined
  const islands: {start: Kva; end: Kva}[] = []
  for (const r of snap.pt.runs(linear.start, linear.end)) {
    const ro = r.prot !== HOLE && (r.prot & P_VALID) !== 0 && (r.prot & P_RDONLY) !== 0
    if (!ro) continue
    const last = islands[islands.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else islands.push({start: r.start, end: r.end})
  }
  const aliases = islands.filter((i) => i.end - i.start === pmd && (i.start - linear.start) % pmd === 0).map((i) => i.start)
  if (aliases.length !== vas.length) return vas.map((va) => ({va}))
  return vas.map((va, i) => ({va, alias: aliases[i]!}))
}

/**
 * The target of a ptdump (synthesized or captured): RAM = valid, writable linear-map runs (the
 * kernel alias is read-only), PAGE_OFFSET and VMEMMAP_START from the regions. Returns an error
 * string when the dump lacks a region the workload needs.
 */
export function targetFromSnapshot(snap: PtdumpSnapshot): WorkloadTarget | string {
  const reg = (n: string) => snap.regions.find((r) => r.name === n)
  const linear = reg('linear')
  const vmemmap = reg('vmemmap')
  const modules = reg('modules')
  if (!linear || !vmemmap || !modules) return `${snap.source}: the dump needs Linear Mapping, Modules and vmemmap markers to place a workload`
  const ram: {start: Kva; end: Kva}[] = []
  const all: {start: Kva; end: Kva}[] = []
  for (const r of snap.pt.runs(linear.start, linear.end)) {
    if (r.prot === HOLE) continue
    all.push({start: r.start, end: r.end})
    if ((r.prot & P_VALID) === 0 || (r.prot & P_RDONLY) !== 0) continue
    const last = ram[ram.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else ram.push({start: r.start, end: r.end})
  }
  if (ram.length === 0) return `${snap.source}: no writable RAM in the linear map`
  const page = snap.geometry.pageSize
  const pool = topOfRamPool(mergeRanges(all), page)
  const cache = roxCacheOfSnapshot(snap, linear, modules)
  return {
    pageSize: page,
    pageOffset: linear.start,
    vmemmapStart: vmemmap.start,
    ram: subtractRanges(ram, [pool]),
    modules: {start: modules.start, end: modules.end},
    kfencePool: pool,
    ...(cache ? {roxCache: cache} : {}),
  }
}

function mergeRanges(rs: {start: Kva; end: Kva}[]): {start: Kva; end: Kva}[] {
  const out: {start: Kva; end: Kva}[] = []
  for (const r of rs) {
    const last = out[out.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else out.push({...r})
  }
  return out
}

function topOfRamPool(ram: readonly {start: Kva; end: Kva}[], pageSize: number): {start: Kva; end: Kva} {
  const last = ram[ram.length - 1]!
  const size = kfencePoolSize(pageSize)
  return {start: Math.max(last.start, last.end - size), end: last.end}
}

function subtractRanges(rs: readonly {start: Kva; end: Kva}[], holes: readonly {start: Kva; end: Kva}[]): {start: Kva; end: Kva}[] {
  let out = rs.map((r) => ({...r}))
  for (const h of holes) {
    const next: {start: Kva; end: Kva}[] = []
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

/** Picks buddy pages in the machine's RAM: page-granular and 2M-block (huge page) allocations. */
class PageAllocator {
  private readonly starts: number[] = []
  private readonly total: number

  constructor(
    private readonly t: WorkloadTarget,
    private readonly rng: Rng,
  ) {
    let acc = 0
    for (const r of t.ram) {
      this.starts.push(acc)
      acc += (r.end - r.start) / t.pageSize
    }
    this.total = acc
  }

  private pageAt(i: number): Kva {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.starts[mid]! <= i) lo = mid
      else hi = mid - 1
    }
    return this.t.ram[lo]!.start + (i - this.starts[lo]!) * this.t.pageSize
  }

  /**
   * `n` order-0 pages as the page allocator hands them to vmalloc: consecutive from a random
   * place (per-CPU lists drain from a few recently split blocks), wrapping inside RAM.
   */
  pages(n: number): Kva[] {
    const out: Kva[] = []
    let i = this.rng.int(this.total)
    for (let k = 0; k < n; k++) {
      out.push(this.pageAt(i))
      i = (i + 1) % this.total
    }
    return out
  }

  /** One naturally aligned block of `bytes` (a huge page), as its pages; undefined if none fits. */
  block(bytes: number): Kva[] | undefined {
    for (let tries = 0; tries < 64; tries++) {
      const p = this.pageAt(this.rng.int(this.total))
      const s = alignDown(p - this.t.pageOffset, bytes) + this.t.pageOffset
      if (this.t.ram.some((r) => r.start <= s && s + bytes <= r.end)) {
        const out: Kva[] = []
        for (let a = s; a < s + bytes; a += this.t.pageSize) out.push(a)
        return out
      }
    }
    return undefined
  }
}

/** VA carved from a window, wrapping to its start (vmalloc reuses freed space). */
class VaWindow {
  private next: Kva

  constructor(
    private readonly start: Kva,
    private readonly end: Kva,
    private readonly page: number,
  ) {
    this.next = start
  }

  alloc(bytes: number, align: number): Kva {
    let a = Math.ceil(this.next / align) * align
    if (a + bytes + this.page > this.end) a = Math.ceil(this.start / align) * align
    this.next = a + bytes + this.page
    return a
  }
}

/** The emitter: turns calls into hits, counting down the event budget. */
class Emitter {
  tsUs = 10_000_000
  budget: number
  readonly urp: boolean
  readonly rodataFull: boolean
  readonly execmemForceNx: boolean
  readonly out: Hit[] = []

  constructor(
    readonly t: WorkloadTarget,
    readonly rng: Rng,
    opts: WorkloadOptions,
  ) {
    this.budget = opts.events
    const k = opts.kernel ?? [6, 19]
    this.urp = versionHas(k, 'leafSplit')
    this.rodataFull = opts.rodataFull ?? true
    this.execmemForceNx = opts.execmemForceNx ?? true
  }

  get done(): boolean {
    return this.budget <= 0
  }

  hit(cpu: number, pid: number, comm: string, fn: string, args?: [string, string][], text?: string): void {
    if (this.budget <= 0) return
    this.tsUs += 1 + this.rng.int(20)
    this.out.push({tsUs: this.tsUs, cpu, pid, comm, fn, args, text})
    this.budget--
  }

  marker(text: string): void {
    this.hit(0, 1, 'init', 'tracing_mark_write', undefined, text)
  }

  private changeCommon(cpu: number, pid: number, comm: string, start: Kva, size: number, set: bigint, clear: bigint): void {
    const args: [string, string][] = [
      ['start', formatKva(start)],
      ['size', hex(size)],
      ['set_mask', hex(set)],
      ['clear_mask', hex(clear)],
    ]
    this.hit(cpu, pid, comm, '__change_memory_common', args)
    if (this.urp) this.hit(cpu, pid, comm, 'update_range_prot', args)
  }

  /** set_memory_{ro,rw,x,nx}(addr, pages) of a vmalloc area backed by `backing` (pageattr.c change_memory_common()). */
  setMemory(cpu: number, pid: number, comm: string, fn: keyof typeof MASKS, addr: Kva, pages: number, backing: readonly Kva[]): void {
    const [set, clear] = MASKS[fn]!
    this.hit(cpu, pid, comm, fn, [
      ['addr', formatKva(addr)],
      ['numpages', hex(pages)],
    ])
    this.hit(cpu, pid, comm, 'change_memory_common', [
      ['addr', formatKva(addr)],
      ['numpages', hex(pages)],
      ['set_mask', hex(set)],
      ['clear_mask', hex(clear)],
    ])
    // rodata_full and a PTE_RDONLY change: the linear alias of every backing page, one by one.
    if (this.rodataFull && (set === HW.PTE_RDONLY || clear === HW.PTE_RDONLY)) {
      for (const p of backing) this.changeCommon(cpu, pid, comm, p, this.t.pageSize, set, clear)
    }
    this.changeCommon(cpu, pid, comm, addr, pages * this.t.pageSize, set, clear)
  }

  setMemoryValid(cpu: number, pid: number, comm: string, addr: Kva, enable: boolean): void {
    this.hit(cpu, pid, comm, 'set_memory_valid', [
      ['addr', formatKva(addr)],
      ['numpages', '0x1'],
      ['enable', enable ? '0x1' : '0x0'],
    ])
    this.changeCommon(cpu, pid, comm, addr, this.t.pageSize, enable ? HW.PTE_VALID : 0n, enable ? 0n : HW.PTE_VALID)
  }

  /** vm_reset_perms(): every page invalid, then every page default (mm/vmalloc.c set_area_direct_map()). */
  resetPerms(cpu: number, pid: number, comm: string, backing: readonly Kva[]): void {
    for (const op of ['invalid', 'default'] as const) {
      for (const va of backing) {
        const page = virtToPage(va, this.t.vmemmapStart, this.t.pageOffset, this.t.pageSize)
        this.hit(cpu, pid, comm, `set_direct_map_${op}_noflush`, [['page', formatKva(page)]])
        if (this.urp) {
          const [set, clear] = op === 'invalid' ? DIRECT_MAP_INVALID_MASKS : DIRECT_MAP_DEFAULT_MASKS
          this.hit(cpu, pid, comm, 'update_range_prot', [
            ['start', formatKva(va)],
            ['size', hex(this.t.pageSize)],
            ['set_mask', hex(set)],
            ['clear_mask', hex(clear)],
          ])
        }
        if (this.done) return
      }
    }
  }
}

/** A synthesized area: its start, page count and backing linear-map pages (not the kernel's vm_struct: src/kernel/vmalloc.ts VmStruct). */
interface SynthArea {
  addr: Kva
  pages: number
  backing: Kva[]
}

const KWORKER = {cpu: 1, pid: 21, comm: 'kworker/1:0'}

function* moduleChurn(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const alloc = new PageAllocator(t, rng)
  // module_direct_base: the 128M window below the kernel image.
  const va = new VaWindow(t.modules.end - 128 * 2 ** 20, t.modules.end, P)
  const area = (pages: number): SynthArea => ({addr: va.alloc(pages * P, P), pages, backing: alloc.pages(pages)})
  const loaded: {name: string; areas: SynthArea[]}[] = []
  let n = 0
  let pid = 1000
  while (!e.done) {
    const name = `synth_mod${n++}`
    const cpu = rng.int(cpus)
    pid++
    const comm = 'insmod'
    e.marker(`capture: insmod ${name}`)
    const text = area(rng.skewed(48))
    const rodata = area(rng.skewed(16))
    const roai = area(1)
    const data = area(rng.skewed(12))
    const initText = area(rng.skewed(4))
    const initData = area(1)
    // module_enable_rodata_ro(mod, false), module_enable_data_nx(), module_enable_text_rox().
    e.setMemory(cpu, pid, comm, 'set_memory_ro', rodata.addr, rodata.pages, rodata.backing)
    for (const a of [data, rodata, roai, initData]) e.setMemory(cpu, pid, comm, 'set_memory_nx', a.addr, a.pages, a.backing)
    for (const a of [text, initText]) {
      e.setMemory(cpu, pid, comm, 'set_memory_ro', a.addr, a.pages, a.backing)
      e.setMemory(cpu, pid, comm, 'set_memory_x', a.addr, a.pages, a.backing)
    }
    // do_init_module(): module_enable_rodata_ro(mod, true), then do_free_init() frees init text/data.
    e.setMemory(cpu, pid, comm, 'set_memory_ro', roai.addr, roai.pages, roai.backing)
    e.resetPerms(KWORKER.cpu, KWORKER.pid, KWORKER.comm, [...initText.backing, ...initData.backing])
    loaded.push({name, areas: [text, rodata, roai, data]})
    if (loaded.length > 8) {
      const victim = loaded.splice(rng.int(loaded.length), 1)[0]!
      e.marker(`capture: rmmod ${victim.name}`)
      for (const a of victim.areas) e.resetPerms(KWORKER.cpu, KWORKER.pid, KWORKER.comm, a.backing)
    }
    yield
  }
}

function* bpfJit(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const PACK = 2 * 2 ** 20
  const packPages = PACK / P
  const alloc = new PageAllocator(t, rng)
  const va = new VaWindow(t.modules.start, t.modules.end, P)
  interface Pack extends SynthArea {
    used: number
    live: number
  }
  let current: Pack | undefined
  const packs = new Set<Pack>()
  const progs: {pack: Pack}[] = []
  const pid = 2000
  let loads = 0
  while (!e.done) {
    const cpu = rng.int(cpus)
    if (progs.length === 0 || rng.next() < 0.55) {
      // bpf_jit_binary_pack_alloc(): 64-byte chunks of the current pack; a new pack when full.
      const bytes = Math.ceil((rng.skewed(64) * 1024) / 64) * 64
      if (!current || current.used + bytes > PACK) {
        const backing = alloc.block(PACK) ?? alloc.pages(packPages)
        current = {addr: va.alloc(PACK, P), pages: packPages, backing, used: 0, live: 0}
        packs.add(current)
        // bpf_prog_pack_alloc(): set_memory_rox() = set_memory_ro() + set_memory_x() of the whole pack.
        e.setMemory(cpu, pid, 'test_bpf', 'set_memory_ro', current.addr, packPages, backing)
        e.setMemory(cpu, pid, 'test_bpf', 'set_memory_x', current.addr, packPages, backing)
      }
      current.used += bytes
      current.live++
      progs.push({pack: current})
      if (++loads % 100 === 0) e.marker(`capture: bpf ${loads} programs loaded`)
    } else {
      const prog = progs.splice(rng.int(progs.length), 1)[0]!
      prog.pack.live--
      if (prog.pack.live === 0 && prog.pack !== current) {
        // bpf_prog_pack_free(): the pack is empty → execmem_free() → vm_reset_perms().
        packs.delete(prog.pack)
        e.resetPerms(KWORKER.cpu, KWORKER.pid, KWORKER.comm, prog.pack.backing)
      }
    }
    yield
  }
}

function* execmemRox(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
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
function* execmemRoxCache(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
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

function* kfence(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
  const P = t.pageSize
  const objects = Math.floor((t.kfencePool.end - t.kfencePool.start) / (2 * P)) - 1
  const freelist: number[] = []
  for (let i = 0; i < objects; i++) freelist.push(i)
  const protectedObj = new Array<boolean>(objects).fill(false)
  const allocated: number[] = []
  const comms = ['cat', 'sh', 'systemd-journal', 'kworker/0:1', 'sshd']
  const pageOf = (i: number) => t.kfencePool.start + (2 + 2 * i) * P
  while (!e.done) {
    const cpu = rng.int(cpus)
    const comm = rng.pick(comms)
    const pid = 100 + comms.indexOf(comm)
    if (freelist.length && (allocated.length === 0 || rng.next() < 0.5)) {
      // kfence_guarded_alloc(): FIFO freelist; a previously freed (protected) object is unprotected.
      const i = freelist.shift()!
      if (protectedObj[i]) {
        e.setMemoryValid(cpu, pid, comm, pageOf(i), true)
        protectedObj[i] = false
      }
      allocated.push(i)
    } else if (allocated.length) {
      // kfence_guarded_free(): protect the object page to catch use-after-free.
      const i = allocated.splice(rng.int(allocated.length), 1)[0]!
      e.setMemoryValid(cpu, pid, comm, pageOf(i), false)
      protectedObj[i] = true
      freelist.push(i)
    }
    yield
  }
}

const KINDS: Record<WorkloadKind, (e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number) => Generator<void>> = {
  'module-churn': moduleChurn,
  'bpf-jit': bpfJit,
  'execmem-rox': (e, t, rng, cpus) => (t.roxCache?.length ? execmemRoxCache(e, t, rng, cpus) : execmemRox(e, t, rng, cpus)),
  kfence,
}

/** Exactly `opts.events` hits (a trace may end in the middle of a call, as a stopped buffer does). */
export function* workloadHits(t: WorkloadTarget, opts: WorkloadOptions): Generator<Hit> {
  const rng = new Rng(opts.seed ?? 1)
  const e = new Emitter(t, rng, opts)
  const steps = KINDS[opts.kind](e, t, rng, opts.cpus ?? 4)
  while (!e.done) {
    if (steps.next().done) break
    for (let i = 0; i < e.out.length; i++) yield e.out[i]!
    e.out.length = 0
  }
  for (let i = 0; i < e.out.length; i++) yield e.out[i]!
}

function tsText(us: number): string {
  const s = Math.floor(us / 1e6)
  return `${String(s).padStart(5)}.${String(us % 1e6).padStart(6, '0')}`
}

/** One tracefs `trace` line, as the real captures print kprobe and marker events. */
export function hitToLine(h: Hit, kernel: KernelVersion = [6, 19]): string {
  const task = `${h.comm}-${h.pid}`.padStart(16)
  const cpu = `[${String(h.cpu).padStart(3, '0')}]`
  if (h.text !== undefined) return `${task} ${cpu} ..... ${tsText(h.tsUs)}: tracing_mark_write: ${h.text}`
  const sizes = versionHas(kernel, 'leafSplit') ? SYM_SIZE_619 : SYM_SIZE_612
  let line = `${task} ${cpu} d.... ${tsText(h.tsUs)}: ${h.fn}: (${h.fn}+0x0/0x${(sizes[h.fn] ?? 0x40).toString(16)})`
  for (const [k, v] of h.args ?? []) line += ` ${k}=${v}`
  return line
}

/** The tracefs header the kernel prints before the events. */
export function traceHeader(events: number, cpus: number): string[] {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:${cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ]
}

/** The whole trace file as lines: header, then every hit. */
export function* workloadLines(t: WorkloadTarget, opts: WorkloadOptions): Generator<string> {
  yield* traceHeader(opts.events, opts.cpus ?? 4)
  for (const h of workloadHits(t, opts)) yield hitToLine(h, opts.kernel)
}

/**
 * A hit as the tracefs tokenizer would have produced it (for in-memory replays that skip text:
 * feed it to the Normalizer of src/ingest/normalize.ts).
 */
export function hitToRecord(h: Hit, line: number, file = '<synth>'): RawRecord {
  const args: Record<string, string> = {}
  for (const [k, v] of h.args ?? []) args[k] = v
  const rec: RawRecord = {
    tsNs: BigInt(h.tsUs) * 1000n,
    cpu: h.cpu,
    pid: h.pid,
    comm: h.comm,
    event: h.fn,
    args,
    src: {file, line},
  }
  if (h.text !== undefined) rec.text = h.text
  else rec.probeSymbol = h.fn
  return rec
}

/**
 * Calls as the kprobe hits a capture of the real kernel would record (the probes of
 * `ptreplay capture-script`, shapes of samples/*‍/trace.txt):
 *
 *   set_memory_{ro,rw,x,nx} → change_memory_common → [rodata_full, ro/rw only: one
 *   __change_memory_common(linear alias, PAGE_SIZE) per backing page] → __change_memory_common
 *   (the vmalloc range); set_memory_valid → __change_memory_common; set_direct_map_*_noflush
 *   (struct page * in vmemmap). The 6.18+ shape adds update_range_prot after every
 *   __change_memory_common and under set_direct_map_* (pageattr.c v6.19.9); the split probes are
 *   never emitted: they are what a replay predicts.
 */
import {DIRECT_MAP_DEFAULT_MASKS, DIRECT_MAP_INVALID_MASKS, setMemoryMasks} from '../../kernel/pageattr.js'
import {virtToPage} from '../../model/memory.js'
import {versionHas} from '../../kernel/version.js'
import {type Kva, formatKva} from '../../model/address.js'
import {HW} from '../../model/prot.js'
import type {Rng} from '../rng.js'
import type {Hit, WorkloadOptions, WorkloadTarget} from './types.js'

// The masks the probes print: the kernel model's own (kernel/pageattr.ts, pgtable-hwdef.h bits); no BTI (PTE_MAYBE_GP = 0).
const MASKS = {
  set_memory_ro: setMemoryMasks('ro', false),
  set_memory_rw: setMemoryMasks('rw', false),
  set_memory_nx: setMemoryMasks('nx', false),
  set_memory_x: setMemoryMasks('x', false),
} as const

const hex = (v: number | bigint) => '0x' + v.toString(16)

/** The emitter: turns calls into hits, counting down the event budget. */
export class Emitter {
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

/** The task the direct-map resets of freed areas run in: a kworker, as in the captures. */
export const KWORKER = {cpu: 1, pid: 21, comm: 'kworker/1:0'}

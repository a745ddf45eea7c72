/**
 * bpf-jit: bpf_prog_pack_alloc() (kernel/bpf/core.c): a 2M pack backed by one huge page,
 * set_memory_rox() = ro (512 alias pages) + x; programs are packed into it; an empty pack is
 * freed through execmem_free() → vm_reset_perms() (512 + 512 direct-map calls).
 */
import type {Rng} from '../rng.js'
import {PageAllocator, type SynthArea, VaWindow} from './alloc.js'
import {type Emitter, KWORKER} from './emitter.js'
import type {WorkloadTarget} from './types.js'

export function* bpfJit(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
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

/**
 * module-churn: load_module() → module_enable_rodata_ro/data_nx/text_rox() on separate execmem
 * areas (kernel/module/strict_rwx.c), ro_after_init after init, do_free_init() and
 * free_module() → vfree of VM_FLUSH_RESET_PERMS areas → vm_reset_perms(): every page
 * set_direct_map_invalid_noflush(), then every page set_direct_map_default_noflush()
 * (mm/vmalloc.c set_area_direct_map(), from a kworker as in the captures).
 */
import type {Rng} from '../rng.js'
import {PageAllocator, type SynthArea, VaWindow} from './alloc.js'
import {type Emitter, KWORKER} from './emitter.js'
import type {WorkloadTarget} from './types.js'

export function* moduleChurn(e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number): Generator<void> {
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

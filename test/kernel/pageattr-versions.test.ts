/**
 * Per-version scenarios of change_memory_common() (arch/arm64/mm/pageattr.c), each derived by hand
 * from the kernel lines cited in the test name and comments, not from the program's output.
 */
import {describe, expect, it} from 'vitest'

import {rodataFullFor} from '../../src/kernel/policy.js'
import {setMemoryRo} from '../../src/kernel/pageattr.js'
import {makePolicy} from '../../src/kernel/policy.js'
import type {KernelConfig} from '../../src/kernel/context.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {P_RDONLY} from '../../src/model/prot.js'
import {G, K4, LIN, LIN_END, RW, VM, ctxFor, geo, run} from './helpers.js'
import type {VmStruct} from '../../src/kernel/vmalloc.js'

const RO = RW | P_RDONLY

/** PTE-mapped linear map [LIN, LIN+1G), a 4-page PTE-mapped vmalloc area at VM (+ guard). */
function tables(): PageTables {
  return PageTables.fromRuns(geo, [
    run(LIN, LIN + G, 0),
    run(LIN + G, LIN + 512 * G, 2, HOLE),
    run(LIN + 512 * G, LIN_END, 3, HOLE),
    run(LIN_END, VM, 3, HOLE),
    run(VM, VM + 4 * K4, 0),
    run(VM + 4 * K4, VM + 2 ** 21, 0, HOLE),
  ])
}
const pages = [LIN + 0x100000, LIN + 0x300000, LIN + 0x301000, LIN + 0x7000000]
const area: VmStruct = {addr: VM, size: 5 * K4, alloc: true, allowHugeVmap: false, nrPages: 4, pages}
const cfgAt = (version: readonly [number, number], bbml2 = true): KernelConfig => ({...makePolicy('bbml2').cfg, version, bbml2, bootCpuBbml2: bbml2})

describe('change_memory_common() per version', () => {
  it('rodata=on means rodata_full from 6.18 (arch_parse_debug_rodata(): on/noalias/off), not from 6.13', () => {
    // v6.14 setup.h: "full" → rodata_full = true; "on" → rodata_full = false. v6.18/v6.19: "on" → true, "noalias" → false.
    expect(rodataFullFor([6, 13], 'on')).toBe(false)
    expect(rodataFullFor([6, 17], 'on')).toBe(false)
    expect(rodataFullFor([6, 17], 'full')).toBe(true)
    expect(rodataFullFor([6, 17], 'noalias')).toBeUndefined()
    expect(rodataFullFor([6, 18], 'on')).toBe(true)
    expect(rodataFullFor([6, 18], 'noalias')).toBe(false)
    expect(rodataFullFor([6, 18], 'full')).toBeUndefined()
  })

  it('6.19 (37cb0aab9068): the alias loop covers area->pages[idx .. idx+numpages) only; 6.18 all area->nr_pages', () => {
    // set_memory_ro(VM + 4K, 2): idx = 1. v6.19: pages[1], pages[2] → 2 alias calls + the range = 3.
    // v6.18: for (i = 0; i < area->nr_pages; i++) → 4 alias calls + the range = 5, pages[0] and pages[3] RO too.
    const c619 = ctxFor(tables(), cfgAt([6, 19]))
    expect(setMemoryRo(c619, VM + K4, 2, area)).toBe(0)
    expect(c619.counters.__change_memory_common).toBe(3)
    expect(c619.pt.runAt(pages[0]!)!.prot).toBe(RW)
    const c618 = ctxFor(tables(), cfgAt([6, 18]))
    expect(setMemoryRo(c618, VM + K4, 2, area)).toBe(0)
    expect(c618.counters.__change_memory_common).toBe(5)
    expect(c618.pt.runAt(pages[0]!)!.prot).toBe(RO)
    expect(c618.pt.runAt(pages[3]!)!.prot).toBe(RO)
  })

  it('6.18 returns on the first alias error; ≤6.17 ignores it and goes on', () => {
    // An alias page in a hole: 6.18 pageattr walk leaves holes alone (returns 0), so make the
    // first alias page a block the range covers only in part without BBML2: pageattr_pmd_entry
    // WARN + -EINVAL (v6.18 returns it: `ret = __change_memory_common(...); if (ret) return ret;`).
    const blocky = (): PageTables =>
      PageTables.fromRuns(geo, [
        run(LIN, LIN + 2 ** 21, 1),
        run(LIN + 2 ** 21, LIN + G, 0),
        run(LIN + G, LIN + 512 * G, 2, HOLE),
        run(LIN + 512 * G, LIN_END, 3, HOLE),
        run(LIN_END, VM, 3, HOLE),
        run(VM, VM + 4 * K4, 0),
        run(VM + 4 * K4, VM + 2 ** 21, 0, HOLE),
      ])
    const a: VmStruct = {...area, pages: [LIN + 0x1000, LIN + 0x300000, LIN + 0x301000, LIN + 0x700000]}
    const c618 = ctxFor(blocky(), cfgAt([6, 18], false))
    expect(setMemoryRo(c618, VM, 4, a)).toBe(-22)
    expect(c618.counters.__change_memory_common).toBe(1) // stopped at pages[0]; the range never changed
    expect(c618.pt.runAt(VM)!.prot).toBe(RW)
    // v6.12: apply_to_page_range() on the PMD leaf is -EINVAL too, but the loop ignores it (no `ret =`).
    const c612 = ctxFor(blocky(), {...cfgAt([6, 12], false)})
    expect(setMemoryRo(c612, VM, 4, a)).toBe(0)
    expect(c612.counters.__change_memory_common).toBe(5)
    expect(c612.pt.runAt(VM)!.prot).toBe(RO)
  })

  it('VM_ALLOW_HUGE_VMAP bail-out (fcf8dda8cc48) from 6.16: -EINVAL on 6.16 and 6.17, allowed on 6.15', () => {
    const huge = {...area, allowHugeVmap: true}
    for (const v of [[6, 16], [6, 17], [6, 19]] as const) expect(setMemoryRo(ctxFor(tables(), cfgAt(v, false)), VM, 1, huge)).toBe(-22)
    expect(setMemoryRo(ctxFor(tables(), cfgAt([6, 15], false)), VM, 1, huge)).toBe(0)
  })

  it('find_vm_area() fails on a linear-map address: -EINVAL, nothing split or changed (every version)', () => {
    // `area = find_vm_area((void *)addr); if (!area || …) return -EINVAL;` before anything else.
    for (const v of [[6, 1], [6, 12], [6, 19], [7, 3]] as const) {
      const ctx = ctxFor(tables(), cfgAt(v))
      expect(setMemoryRo(ctx, LIN + 0x5000, 1)).toBe(-22)
      expect(ctx.counters.__change_memory_common).toBe(0)
      expect(ctx.pt.runAt(LIN + 0x5000)!.prot).toBe(RW)
      expect(ctx.errors[0]!.message).toMatch(/find_vm_area/)
    }
  })
})

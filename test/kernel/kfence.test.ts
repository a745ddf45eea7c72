import {describe, expect, it} from 'vitest'

import {kfencePoolSize, kfenceProtectedPages, locateKfencePool} from '../../src/kernel/kfence.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {formatKva} from '../../src/model/address.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {P_VALID} from '../../src/model/prot.js'
import {G, K4, LIN, LIN_END, RW, geo, run} from './helpers.js'

describe('KFENCE pool (include/linux/kfence.h, mm/kfence/core.c kfence_init_pool())', () => {
  it('KFENCE_POOL_SIZE = (CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 * PAGE_SIZE: 2M for 255 objects of 4K, 8M for 16K', () => {
    expect(kfencePoolSize(4096)).toBe(2 * 2 ** 20)
    expect(kfencePoolSize(16384)).toBe(8 * 2 ** 20)
    expect(kfencePoolSize(4096, 63)).toBe(512 * 1024)
    // pages 0, 1, then 3, 5, …, 2·255+1 = 511: 257 protected pages.
    const g = kfenceProtectedPages()
    expect(g.length).toBe(257)
    expect(g.slice(0, 4)).toEqual([0, 1, 3, 5])
    expect(g[g.length - 1]).toBe(511)
  })

  it('the pool is found by its guard pattern, not stretched to a far invalid page (a secretmem page 512M away)', () => {
    const poolAt = LIN + 0x40000000 - 2 ** 21 // last 2M of the first 1G, as memblock_phys_alloc() places it top-down
    const runs = [run(LIN, poolAt, 0)]
    for (let i = 0; i < 512; i++) {
      const p = poolAt + i * K4
      const guard = i < 2 || i % 2 === 1
      runs.push(run(p, p + K4, 0, guard ? RW & ~P_VALID : RW))
    }
    runs.push(run(LIN + G, LIN + 512 * G, 2, HOLE), run(LIN + 512 * G, LIN_END, 3, HOLE))
    const pt = PageTables.fromRuns(geo, runs)
    // One more invalid page (secretmem / set_direct_map_invalid) 512M below the pool.
    pt.setProt(LIN + 0x10000000, LIN + 0x10001000, 0, P_VALID)
    const cfg = {...makePolicy('pte-only').cfg, kfence: 'early' as const}
    expect(locateKfencePool(pt, LIN, LIN_END, cfg)).toEqual({start: poolAt, end: poolAt + 2 ** 21})
    // sample_interval=0 and never enabled: no pattern, no pool; KFENCE off: none.
    const noPool = PageTables.fromRuns(geo, [run(LIN, LIN + G, 0), run(LIN + G, LIN + 512 * G, 2, HOLE), run(LIN + 512 * G, LIN_END, 3, HOLE)])
    noPool.setProt(LIN + 0x10000000, LIN + 0x10002000, 0, P_VALID)
    expect(locateKfencePool(noPool, LIN, LIN_END, {...cfg, kfence: 'late'})).toBeUndefined()
    expect(locateKfencePool(pt, LIN, LIN_END, {...cfg, kfence: 'off'})).toBeUndefined()
  })

  it('on the 6.12 KFENCE capture (kfence.sample_interval=100) the pool is the last 2M of the 2G of RAM (memblock top-down)', async () => {
    const snap = await readPtdump('samples/debian-6.12-qemu/max-2G-kfence/kernel_page_tables.before')
    const lin = snap.regions.find((r) => r.name === 'linear')!
    const pool = locateKfencePool(snap.pt, lin.start, lin.end, {...makePolicy('pte-only', {version: [6, 12]}).cfg, kfence: 'early'})
    expect(pool).toBeDefined()
    expect(pool!.end - pool!.start).toBe(2 ** 21)
    expect(formatKva(pool!.start)).toBe('0xfff000007fe00000') // 52-bit PAGE_OFFSET + 2G − 2M
  })
})

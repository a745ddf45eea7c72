/**
 * What the replay keeps is bounded by the model, not by the trace (issue 15, R16): the offender
 * table past MAX_OFFENDER_NAMES names per dimension, and the page-table model under repeated
 * map/unmap cycles of the same pages.
 */
import {describe, expect, it} from 'vitest'

import type {EventKind, TraceEvent} from '../../src/ingest/events.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {type ReplayPolicy, replay} from '../../src/replay/engine.js'
import {MAX_OFFENDER_NAMES, OffenderTable} from '../../src/replay/offenders.js'
import {prepare} from '../../src/replay/run.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'

const GIB = 2 ** 30

let line = 0
function ev(kind: EventKind, fn: string, extra: Partial<TraceEvent> = {}): TraceEvent {
  line++
  return {kind, fn, probe: fn, tsNs: BigInt(line), cpu: 0, pid: 100, comm: 'insmod', src: {file: 't', line}, ...extra}
}

function machine(memoryBytes: number) {
  const m = synthMachine({memoryBytes, policy: 'bbml2'})
  return parsePtdump([...renderMachine(m)].join('\n'), 'synth')
}

describe('OffenderTable', () => {
  it('holds at most MAX_OFFENDER_NAMES names per dimension however many the trace names, and keeps the heavy ones', () => {
    const t = new OffenderTable()
    t.add('module', 'heavy', 1000, 0, 50)
    const n = 10 * MAX_OFFENDER_NAMES
    for (let i = 0; i < n; i++) t.add('module', `mod${i}`, 1, 0, 0)
    expect(t.size).toBeLessThanOrEqual(MAX_OFFENDER_NAMES)
    const top = t.top(10)
    expect(top[0]).toMatchObject({by: 'module', name: 'heavy', calls: 1, tablePagesAllocated: 1000, splits: 50})
    // Nothing is lost: kept rows plus folded totals are every call.
    const f = t.folded.get('module')!
    const kept = t.size
    expect(f.names + kept).toBe(n + 1)
    expect(f.calls + kept).toBe(n + 1)
    expect(f.tablePagesAllocated + (kept - 1) + 1000).toBe(n + 1000)
  })

  it('below the bound nothing is folded', () => {
    const t = new OffenderTable()
    for (let i = 0; i < 100; i++) t.add('comm', `c${i}`, 1, 0, 0)
    expect(t.size).toBe(100)
    expect(t.folded.size).toBe(0)
  })
})

describe('replay memory', () => {
  it('a module name per load (3 × MAX_OFFENDER_NAMES loads) keeps the offender table bounded and says what it folded', async () => {
    const snap = machine(2 * GIB)
    const pt = snap.pt.clone()
    // A stub policy: every call costs one table page (the engine's bookkeeping is under test).
    const policy: ReplayPolicy = {name: 'stub', apply: () => ({tablePagesAllocated: 1, tablePagesFreed: 0, splits: 0, collapses: 0}), counters: () => ({})}
    const loads = 3 * MAX_OFFENDER_NAMES
    const events: TraceEvent[] = []
    for (let i = 0; i < loads; i++) {
      events.push(ev('marker', 'tracing_mark_write', {text: `capture: insmod mod_${i}`}))
      events.push(ev('set_memory', 'set_memory_ro', {addr: 0xffff800080000000, pages: 1, op: 'ro'}))
    }
    const stats = await replay(pt, events, policy)
    expect(stats.callsApplied).toBe(loads)
    const f = stats.offendersFolded?.module
    expect(f).toBeDefined()
    expect(f!.names).toBeGreaterThan(0)
    expect(f!.names).toBeLessThan(loads)
    expect(stats.offenders.filter((o) => o.by === 'module')).toHaveLength(10)
    // the probe and comm dimensions named one thing each: unfolded, exact
    expect(stats.offendersFolded?.probe).toBeUndefined()
    expect(stats.offenders.find((o) => o.by === 'probe')).toMatchObject({name: 'set_memory_ro', calls: loads, tablePagesAllocated: loads})
  })

  it('bbml2: repeated set_direct_map invalid/default cycles over the same pages leave the model the size one cycle left it', async () => {
    // vm_reset_perms() → set_area_direct_map(): every page invalid, then every page default
    // (mm/vmalloc.c, v6.19); under BBML2 the first cycle splits the block (split_kernel_leaf_mapping(),
    // arch/arm64/mm/mmu.c, v6.19), later cycles find it split and change only the PTEs.
    const snap = machine(2 * GIB)
    const lin = snap.regions.find((r) => r.name === 'linear')!
    const pages = [0, 1, 2, 17, 40, 41, 300, 511].map((i) => lin.start + 64 * 2 ** 20 + i * 4096)
    const cycle = (): TraceEvent[] => [
      ...pages.map((addr) => ev('set_direct_map', 'set_direct_map_invalid_noflush', {addr, op: 'invalid', comm: 'kworker/0:1'})),
      ...pages.map((addr) => ev('set_direct_map', 'set_direct_map_default_noflush', {addr, op: 'default', comm: 'kworker/0:1'})),
    ]
    const runsAfter = async (cycles: number): Promise<number> => {
      const p = prepare(snap, makePolicy('bbml2'))
      const events: TraceEvent[] = []
      for (let c = 0; c < cycles; c++) events.push(...cycle())
      await replay(p.ctx.pt, events, p.engine)
      return p.ctx.pt.runCount
    }
    const one = await runsAfter(1)
    expect(one).toBeGreaterThan(await runsAfter(0))
    expect(await runsAfter(50)).toBe(one)
  })
})

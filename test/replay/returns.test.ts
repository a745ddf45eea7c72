/**
 * The kernel's own return values against the replay's, where a trace has return probes of the
 * set_memory_* calls. set_memory_ro() on a linear-map address: find_vm_area() finds no vm_struct,
 * so change_memory_common() returns -EINVAL (arch/arm64/mm/pageattr.c, v7.3) and the replay does too.
 */
import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy, runReplayEvents} from '../../src/replay/run.js'

const SNAP = 'samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded'

function call(line: number, addr: number, ret: bigint): TraceEvent[] {
  const base = {probe: 'p', cpu: 0, pid: 7, comm: 'insmod', tsNs: BigInt(line) * 1000n, src: {file: 't', line}}
  return [
    {...base, kind: 'set_memory', fn: 'set_memory_ro', op: 'ro', addr, pages: 1, size: 4096},
    {...base, kind: 'return', fn: 'set_memory_ro', ret, tsNs: base.tsNs + 1n, src: {file: 't', line: line + 1}},
  ]
}

describe('return probes of set_memory_*: the kernel result beside the replay', () => {
  it('-EINVAL on a linear-map address agrees; a 0 the replay cannot reproduce is listed', async () => {
    const snap = await readPtdump(SNAP)
    const linear = snap.regions.find((r) => r.name === 'linear')!
    const addr = linear.start + 0x10000000
    const choice = choosePolicy('bbml2', {}, snap, loadFacts(SNAP).facts)
    const run = await runReplayEvents(snap, [...call(1, addr, -22n), ...call(3, addr, 0n)], choice)
    expect(run.stats.returns).toEqual({
      calls: 2,
      kernelErrors: {EINVAL: 1},
      replayErrors: {EINVAL: 2},
      disagree: 1,
      firstDisagreements: [{at: 't:3', fn: 'set_memory_ro', kernel: '0', replay: 'EINVAL'}],
    })
  })
})

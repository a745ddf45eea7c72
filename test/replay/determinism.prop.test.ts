/**
 * fast-check: a replay is deterministic. For random seeds, workload kinds and policies, replaying
 * the same synthesized events twice over the same snapshot gives identical page tables, kernel
 * counters, table-page accounting, series and offenders — and never changes the snapshot itself.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {Normalizer} from '../../src/ingest/normalize.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import type {PolicyName} from '../../src/kernel/policy.js'
import {choosePolicy, runReplayEvents} from '../../src/replay/run.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {type WorkloadKind, hitToRecord, targetFromMachine, workloadHits} from '../../src/synth/workload.js'

const machine = synthMachine({memoryBytes: 4 * 2 ** 30, policy: 'bbml2', roxCache: 1, seed: 3})
const snap = parsePtdump([...renderMachine(machine)].join('\n') + '\n', 'synth-4G')
const target = targetFromMachine(machine)

function events(kind: WorkloadKind, seed: number, n: number): TraceEvent[] {
  const norm = new Normalizer({pageSize: target.pageSize, vmemmapStart: target.vmemmapStart, pageOffset: target.pageOffset})
  let line = 0
  return [...workloadHits(target, {kind, events: n, seed})].map((h) => norm.normalize(hitToRecord(h, ++line)))
}

describe('replay determinism', () => {
  it('same snapshot + same events + same policy → the same result, snapshot untouched', async () => {
    const before = snap.pt.clone()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<WorkloadKind>('module-churn', 'bpf-jit', 'execmem-rox', 'kfence'),
        fc.integer({min: 1, max: 10_000}),
        fc.constantFrom<PolicyName>('bbml2', 'pte-only', 'rox-cache', 'collapse-both', 'collapse-general', 'x86-cpa'),
        async (kind, seed, policy) => {
          const evs = events(kind, seed, 400)
          const choice = choosePolicy(policy, {}, snap, {})
          const a = await runReplayEvents(snap, evs, choice)
          const b = await runReplayEvents(snap, evs, choice)
          expect(a.pt.equals(b.pt)).toBe(true)
          expect(a.pt.tables).toEqual(b.pt.tables)
          expect(a.stats.counters).toEqual(b.stats.counters)
          expect([a.stats.tablePagesAllocated, a.stats.tablePagesFreed]).toEqual([b.stats.tablePagesAllocated, b.stats.tablePagesFreed])
          expect(a.stats.series).toEqual(b.stats.series)
          expect(a.stats.offenders).toEqual(b.stats.offenders)
          // Incremental table counts equal a recount after a whole replay.
          expect(a.pt.recountTables()).toEqual(a.pt.tables)
          expect(snap.pt.equals(before)).toBe(true)
        },
      ),
      {numRuns: 25},
    )
  })
})

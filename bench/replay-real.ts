/**
 * Replay-only benchmark on the real 6.19 capture (samples/linux-6.19-bbml2-qemu/max-2G-default):
 * the trace is read into an array once (parsing is bench/trace.ts's business), then replayed
 * from the "loaded" snapshot after "capture: bpf phase begin" under each policy, several times;
 * the best CPU time is reported (the machine is shared).
 * Run: node dist/bench/replay-real.js [repeats] [policy…]   (default 5, bbml2 pte-only)
 */
import {pathToFileURL} from 'node:url'

import type {TraceEvent} from '../src/ingest/events.js'
import {readPtdump} from '../src/ingest/ptdump/index.js'
import {readTrace} from '../src/ingest/trace/index.js'
import {choosePolicy, loadFacts, runReplayEvents, traceOptionsFor} from '../src/replay/run.js'
import {type BenchResult, peakRssMiB, printResult} from './util.js'

const DIR = 'samples/linux-6.19-bbml2-qemu/max-2G-default'

export async function benchReplayReal(repeats = 5, policies = ['bbml2', 'pte-only']): Promise<BenchResult[]> {
  const path = `${DIR}/kernel_page_tables.loaded`
  const snap = await readPtdump(path)
  const facts = loadFacts(path).facts
  const read = readTrace([`${DIR}/trace.txt.gz`], traceOptionsFor(snap))
  const events: TraceEvent[] = []
  for await (const b of read.batches) for (const ev of b) events.push(ev)
  const out: BenchResult[] = []
  for (const name of policies) {
    const choice = choosePolicy(name, {}, snap, facts)
    let bestCpu = Infinity
    let bestWall = Infinity
    let calls = 0
    let splits = ''
    for (let i = 0; i < repeats; i++) {
      const c0 = process.cpuUsage()
      const t0 = process.hrtime.bigint()
      const run = await runReplayEvents(snap, events, choice, {fromMarker: 'capture: bpf phase begin'})
      const wall = Number(process.hrtime.bigint() - t0) / 1e9
      const c = process.cpuUsage(c0)
      const cpu = (c.user + c.system) / 1e6
      if (cpu < bestCpu) bestCpu = cpu
      if (wall < bestWall) bestWall = wall
      calls = run.stats.callsApplied
      const k = run.stats.counters
      splits = `pmd ${k['split_pmd'] ?? 0}, contpmd ${k['split_contpmd'] ?? 0}, contpte ${k['split_contpte'] ?? 0}`
    }
    out.push({
      name: `replay-only: real 6.19 trace (${events.length.toLocaleString('en-US')} events) under ${name}, best of ${repeats}`,
      figures: {
        'events/s (wall)': events.length / bestWall,
        'events/CPU-s': events.length / bestCpu,
        'calls/CPU-s': calls / bestCpu,
        calls,
        splits,
        'peak RSS MiB': peakRssMiB(),
      },
    })
  }
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const repeats = Number(process.argv[2] ?? 5)
  const policies = process.argv.slice(3)
  for (const r of await benchReplayReal(repeats, policies.length ? policies : undefined)) printResult(r)
}

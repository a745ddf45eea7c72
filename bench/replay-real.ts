/**
 * Replay-only benchmark on the real 6.19 capture (samples/linux-6.19-bbml2-qemu/max-2G-default):
 * the trace is read into an array once (parsing is bench/trace.ts's business), then replayed
 * from the "loaded" snapshot after "capture: bpf phase begin" under each policy, several times;
 * the best CPU time is reported (the machine is shared).
 *
 * References measured in the same run on the same array (absolute rates do not travel between
 * machines): a plain loop that reads each event's kind, pid and cpu (the floor of visiting the
 * events), and the engine with a policy that applies nothing (windowing, call assembly and
 * bookkeeping without the kernel model). The ratios say how far the replay is from each.
 * Run: node dist/bench/replay-real.js [repeats] [policy…]   (default 5, bbml2 pte-only collapse-both)
 */
import {pathToFileURL} from 'node:url'

import type {TraceEvent} from '../src/ingest/events.js'
import {readPtdump} from '../src/ingest/ptdump/index.js'
import {readTrace} from '../src/ingest/trace/index.js'
import {type ReplayPolicy, replay} from '../src/replay/engine.js'
import {loadFacts} from '../src/capture/facts.js'
import {choosePolicy, runReplayEvents, traceOptionsFor} from '../src/replay/run.js'
import {type BenchResult, fmt, peakRssMiB, printResult} from './util.js'

const DIR = 'samples/linux-6.19-bbml2-qemu/max-2G-default'

/** Best CPU seconds of `fn` over `repeats` runs. */
async function bestCpu(repeats: number, fn: () => unknown): Promise<number> {
  let best = Infinity
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage()
    await fn()
    const c = process.cpuUsage(c0)
    best = Math.min(best, (c.user + c.system) / 1e6)
  }
  return Math.max(best, 1e-6)
}

/** The plain loop: what any consumer pays to visit the events. */
function plainLoop(events: readonly TraceEvent[]): number {
  let h = 0
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!
    h = (h + ev.pid + ev.cpu + ev.kind.length) | 0
  }
  return h
}

export async function benchReplayReal(repeats = 5, policies = ['bbml2', 'pte-only', 'collapse-both']): Promise<BenchResult[]> {
  const path = `${DIR}/kernel_page_tables.loaded`
  const snap = await readPtdump(path)
  const facts = loadFacts(path).facts
  const read = readTrace([`${DIR}/trace.txt.gz`], traceOptionsFor(snap))
  const events: TraceEvent[] = []
  for await (const b of read.batches) for (const ev of b) events.push(ev)
  const out: BenchResult[] = []
  const plainCpu = await bestCpu(repeats * 4, () => plainLoop(events))
  // The engine over a policy that applies nothing: the replay's own per-event cost.
  const nothing: ReplayPolicy = {name: 'nothing', apply: () => undefined, counters: () => ({})}
  const engineCpu = await bestCpu(repeats, () => replay(snap.pt.clone(), events, nothing, {fromMarker: 'capture: bpf phase begin'}))
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
        'plain loop events/CPU-s': events.length / plainCpu,
        'engine-only events/CPU-s': events.length / engineCpu,
        'replay / plain loop': `${fmt((events.length / bestCpu) / (events.length / plainCpu), 4)} (${fmt(bestCpu / plainCpu, 0)}× the loop's time)`,
        'replay / engine-only': fmt(engineCpu / bestCpu, 3),
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

/**
 * Replay benchmark (issue 5): 10 M synthesized module-churn events on a synthesized 1 TiB
 * machine (4K/48, block-mapped boot map as BBML2 policies require), replayed under `bbml2` and
 * `collapse-both`. The workload is generated in memory (hits → the tracefs normalizer's
 * TraceEvents, no text), so parsing is not measured here (bench/trace.ts measures it); the
 * generation itself is timed in a separate pass and reported, and the replay-only rate is the
 * replay pass less the generator's own time in that pass (clocked per 4096-event batch; garbage
 * the generator leaves is still collected on the replay's time).
 *
 * Each policy runs in its own process so each peak RSS is its own.
 * Targets: ≥ 5 M events/s; memory proportional to runs, not to RAM or events.
 * Run alone: node dist/bench/replay.js [events] [TiB] [policy…]   (BENCH_KIND=bpf-jit|execmem-rox|kfence for another workload)
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath, pathToFileURL} from 'node:url'

import type {TraceEvent} from '../src/ingest/events.js'
import {Normalizer} from '../src/ingest/normalize.js'
import {parsePtdump} from '../src/ingest/ptdump/index.js'
import {type PolicyName, makePolicy} from '../src/kernel/policy.js'
import {runReplayEvents} from '../src/replay/run.js'
import {renderMachine, synthMachine} from '../src/synth/machine.js'
import {type WorkloadKind, hitToRecord, targetFromMachine, workloadHits} from '../src/synth/workload.js'
import {type BenchResult, peakRssMiB, printResult} from './util.js'

const TIB = 2 ** 40

export interface ReplayBenchOptions {
  events?: number
  tib?: number
  policy?: PolicyName
  kind?: WorkloadKind
  seed?: number
}

/** Normalized events, generated on the fly in batches of 4096 (as readTrace().batches delivers them: one await per batch). */
/** Time spent inside the generator (between the consumer's requests), wall ns and CPU µs. */
interface GenClock {
  wallNs: bigint
  cpuUs: number
}

async function* generate(target: ReturnType<typeof targetFromMachine>, kind: WorkloadKind, events: number, seed: number, clock?: GenClock): AsyncGenerator<TraceEvent[]> {
  let w0 = process.hrtime.bigint()
  let c0 = process.cpuUsage()
  const norm = new Normalizer({pageSize: target.pageSize, vmemmapStart: target.vmemmapStart, pageOffset: target.pageOffset})
  let line = 0
  let batch: TraceEvent[] = []
  const lap = (): void => {
    if (!clock) return
    const c = process.cpuUsage(c0)
    clock.cpuUs += c.user + c.system
    clock.wallNs += process.hrtime.bigint() - w0
  }
  for (const h of workloadHits(target, {kind, events, seed})) {
    batch.push(norm.normalize(hitToRecord(h, ++line)))
    if (batch.length === 4096) {
      lap()
      yield batch
      w0 = process.hrtime.bigint()
      c0 = process.cpuUsage()
      batch = []
    }
  }
  lap()
  if (batch.length) yield batch
}

export async function benchReplay(opts: ReplayBenchOptions = {}): Promise<BenchResult> {
  const events = opts.events ?? 10_000_000
  const tib = opts.tib ?? 1
  const policyName = opts.policy ?? 'bbml2'
  const kind = opts.kind ?? 'module-churn'
  const seed = opts.seed ?? 1

  const t0 = process.hrtime.bigint()
  const machine = synthMachine({memoryBytes: tib * TIB, policy: 'bbml2'})
  const snapshot = parsePtdump([...renderMachine(machine)].join('\n'), `synth-${tib}T`)
  const target = targetFromMachine(machine)
  const t1 = process.hrtime.bigint()

  // Pass 1: generation + normalization alone (what the replay pass also pays).
  let genCount = 0
  const c1 = process.cpuUsage()
  for await (const batch of generate(target, kind, events, seed)) for (const ev of batch) if (ev) genCount++
  const t2 = process.hrtime.bigint()
  const c2 = process.cpuUsage()

  // Pass 2: the replay, fed by the same generator.
  const policy = makePolicy(policyName)
  // The generator's own time in this pass is clocked per batch, so the replay-only figures do not
  // depend on pass 1 running at the same speed (on a shared machine it often does not).
  const clock: GenClock = {wallNs: 0n, cpuUs: 0}
  const run = await runReplayEvents(snapshot, generate(target, kind, events, seed, clock), {policy, reasons: []})
  const t3 = process.hrtime.bigint()
  const c3 = process.cpuUsage()
  // CPU seconds: the bench machine is shared, so wall time alone overstates the cost.
  const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1e6
  const genCpuS = cpu(c1, c2)
  const replayCpuS = cpu(c2, c3)
  const replayOnlyCpuS = Math.max(replayCpuS - clock.cpuUs / 1e6, 1e-9)

  const setupS = Number(t1 - t0) / 1e9
  const genS = Number(t2 - t1) / 1e9
  const replayS = Number(t3 - t2) / 1e9
  const replayOnlyS = Math.max(replayS - Number(clock.wallNs) / 1e9, 1e-9)
  const tables = run.pt.recountTables()
  const tablePages = tables.reduce((a, b) => a + b, 0)
  const split = ['split_pud', 'split_pmd', 'split_contpmd', 'split_contpte'].map((k) => `${k.slice(6)} ${(run.stats.counters[k] ?? 0).toLocaleString('en-US')}`).join(', ')
  const collapses = (run.stats.counters['collapse_pmd'] ?? 0) + (run.stats.counters['collapse_pud'] ?? 0)
  return {
    name: `replay: ${(events / 1e6).toLocaleString('en-US')} M ${kind} events on a synthesized ${tib} TiB machine under ${policyName}`,
    figures: {
      'events generated': genCount,
      'events replayed': run.stats.eventsSeen,
      'calls applied': run.stats.callsApplied,
      'machine setup s': setupS,
      'generate s': genS,
      'generate events/s': genCount / genS,
      'replay+generate s': replayS,
      'events/s (incl gen)': run.stats.eventsSeen / replayS,
      'events/s (replay)': run.stats.eventsSeen / replayOnlyS,
      'calls/s (replay)': run.stats.callsApplied / replayOnlyS,
      'generate CPU s': genCpuS,
      'gen CPU s in replay pass': clock.cpuUs / 1e6,
      'replay+generate CPU s': replayCpuS,
      'events/CPU-s (replay)': run.stats.eventsSeen / replayOnlyCpuS,
      'calls/CPU-s (replay)': run.stats.callsApplied / replayOnlyCpuS,
      splits: split,
      collapses,
      'final runs': run.pt.runCount,
      'table pages': tablePages,
      'table MiB': (tablePages * machine.geo.pageSize) / 2 ** 20,
      'unknown-memory calls': run.stats.callsOnUnknownMemory,
      'peak RSS MiB': peakRssMiB(),
      'bytes/run (RSS)': (peakRssMiB() * 2 ** 20) / run.pt.runCount,
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const events = Number(process.argv[2] ?? 10_000_000)
  const tib = Number(process.argv[3] ?? 1)
  const policies = process.argv.slice(4) as PolicyName[]
  const kind = (process.env['BENCH_KIND'] as WorkloadKind | undefined) ?? 'module-churn'
  if (policies.length === 1) {
    printResult(await benchReplay({events, tib, policy: policies[0], kind}))
  } else {
    // One process per policy: each peak RSS is its own.
    let failed = 0
    for (const p of policies.length ? policies : (['bbml2', 'collapse-both'] as PolicyName[])) {
      const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), String(events), String(tib), p], {stdio: 'inherit'})
      if (r.status !== 0) failed++
    }
    process.exitCode = failed ? 1 : 0
  }
}

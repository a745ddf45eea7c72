/**
 * Synthesized permission-change workloads, as the kprobe hits a capture of the real kernel would
 * record (the probes of `ptreplay capture-script`, shapes of samples/*‍/trace.txt). One file per
 * thing under workload/: the options and hit type (types.ts), where addresses go (target.ts), page
 * and VA allocation (alloc.ts), calls → probe hits (emitter.ts), one file per kind
 * (module-churn.ts, bpf-jit.ts, execmem-rox.ts, kfence.ts, each citing the kernel code it
 * mirrors), and the hits as tracefs text (trace-text.ts).
 *
 * Streaming: a generator of hits; the whole workload is never held in memory.
 */
import {Rng} from './rng.js'
import {bpfJit} from './workload/bpf-jit.js'
import {Emitter} from './workload/emitter.js'
import {execmemRox, execmemRoxCache} from './workload/execmem-rox.js'
import {kfence} from './workload/kfence.js'
import {moduleChurn} from './workload/module-churn.js'
import {hitToLine, traceHeader} from './workload/trace-text.js'
import type {Hit, WorkloadKind, WorkloadOptions, WorkloadTarget} from './workload/types.js'

export {execmemRoxCallHits} from './workload/execmem-rox.js'
export {targetFromMachine, targetFromSnapshot} from './workload/target.js'
export {hitToLine, hitToRecord, traceHeader} from './workload/trace-text.js'
export {type Hit, WORKLOAD_KINDS, type WorkloadKind, type WorkloadOptions, type WorkloadTarget} from './workload/types.js'

const KINDS: Record<WorkloadKind, (e: Emitter, t: WorkloadTarget, rng: Rng, cpus: number) => Generator<void>> = {
  'module-churn': moduleChurn,
  'bpf-jit': bpfJit,
  'execmem-rox': (e, t, rng, cpus) => (t.roxCache?.length ? execmemRoxCache(e, t, rng, cpus) : execmemRox(e, t, rng, cpus)),
  kfence,
}

/** Exactly `opts.events` hits (a trace may end in the middle of a call, as a stopped buffer does). */
export function* workloadHits(t: WorkloadTarget, opts: WorkloadOptions): Generator<Hit> {
  const rng = new Rng(opts.seed ?? 1)
  const e = new Emitter(t, rng, opts)
  const steps = KINDS[opts.kind](e, t, rng, opts.cpus ?? 4)
  while (!e.done) {
    if (steps.next().done) break
    for (let i = 0; i < e.out.length; i++) yield e.out[i]!
    e.out.length = 0
  }
  for (let i = 0; i < e.out.length; i++) yield e.out[i]!
}

/** The whole trace file as lines: header, then every hit. */
export function* workloadLines(t: WorkloadTarget, opts: WorkloadOptions): Generator<string> {
  yield* traceHeader(opts.events, opts.cpus ?? 4)
  for (const h of workloadHits(t, opts)) yield hitToLine(h, opts.kernel)
}

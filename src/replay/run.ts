/**
 * The replay pipeline every command shares: snapshot → policy (named or inferred from the
 * capture's facts) → kernel context (linear map rebased if the policy boots it differently) →
 * trace → engine → final model.
 */
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import {type TraceReadOptions, type TraceStats, readTrace} from '../ingest/trace/index.js'
import type {Diagnostic} from '../ingest/events.js'
import {InputError} from '../ingest/source.js'
import type {KernelContext} from '../kernel/context.js'
import {makeContext} from '../kernel/dispatch.js'
import {locateKfencePool} from '../kernel/kfence.js'
import {type PolicyFacts, inferPolicy} from '../kernel/infer-policy.js'
import {POLICIES, type Policy, type PolicyKnobs, isPolicyName, makePolicy} from '../kernel/policy.js'
import {type Kva} from '../model/address.js'
import type {PageTables} from '../model/pagetable.js'
import {KernelReplayPolicy} from './dispatch.js'
import {type EventSource, type ReplayOptions, type ReplayStats, replay} from './engine.js'
import {type RebaseSummary, linearShape, rebaseLinearMap} from './rebase.js'

export interface PolicyChoice {
  policy: Policy
  /** How it was chosen: the preset, or the inference's reasoning lines. */
  reasons: string[]
}

/** `--policy NAME|auto` plus knobs. */
export function choosePolicy(name: string, knobs: PolicyKnobs, snapshot: PtdumpSnapshot, facts: PolicyFacts): PolicyChoice {
  if (name === 'auto') {
    const lin = snapshot.regions.find((r) => r.name === 'linear')
    const shape = lin ? linearShape(snapshot.pt, lin.start, lin.end) : undefined
    const inferred = inferPolicy({...facts, linearMapPteOnly: shape?.pteOnly})
    const hasKnobs = Object.values(knobs).some((v) => v !== undefined)
    const policy = hasKnobs ? makePolicy(inferred.policy.name, {version: inferred.policy.cfg.version, ...knobs}) : inferred.policy
    return {policy, reasons: [...inferred.reasons, ...(hasKnobs ? ['knobs given on the command line override the inferred configuration'] : [])]}
  }
  if (!isPolicyName(name)) throw new InputError(`unknown policy "${name}" (known: ${Object.keys(POLICIES).join(', ')}, auto)`)
  const policy = makePolicy(name, knobs)
  return {policy, reasons: [`policy ${name}: ${policy.description}`]}
}

export interface PreparedReplay {
  ctx: KernelContext
  engine: KernelReplayPolicy
  rebase?: RebaseSummary
}

/** A fresh kernel context over a copy of the snapshot, rebased for the policy if needed. */
export function prepare(snapshot: PtdumpSnapshot, policy: Policy): PreparedReplay {
  const pt = snapshot.pt.clone()
  const lin = snapshot.regions.find((r) => r.name === 'linear')
  const linear = lin ? {start: lin.start, end: lin.end} : undefined
  // is_kfence_address(): __kfence_pool found by kfence_init_pool()'s guard-page pattern, KFENCE_POOL_SIZE long.
  const kfencePool = linear ? locateKfencePool(pt, linear.start, linear.end, policy.cfg) : undefined
  const ctx = makeContext(pt, policy.cfg, {linear, kfencePool})
  const rebase = linear ? rebaseLinearMap(ctx, linear) : undefined
  return {ctx, engine: new KernelReplayPolicy(policy, ctx, snapshot.regions), rebase}
}

/** Trace options that depend on the snapshot: page size, vmemmap base for struct page → VA. */
export function traceOptionsFor(snapshot: PtdumpSnapshot, base: TraceReadOptions = {}): TraceReadOptions {
  const vmemmap = snapshot.regions.find((r) => r.name === 'vmemmap')
  const linear = snapshot.regions.find((r) => r.name === 'linear')
  return {
    pageSize: snapshot.geometry.pageSize,
    vmemmapStart: base.vmemmapStart ?? (vmemmap?.start as Kva | undefined),
    pageOffset: base.pageOffset ?? (linear?.start as Kva | undefined),
    ...base,
  }
}

export interface ReplayRun {
  policy: Policy
  reasons: string[]
  rebase?: RebaseSummary
  stats: ReplayStats
  traceStats: TraceStats
  /** The trace's kept diagnostics (traceStats.diagnosticsByCode counts all). */
  traceDiagnostics: Diagnostic[]
  /** Bundle arguments and the trace file taken from each. */
  traceTaken: {bundle: string; path: string}[]
  /** The model after the replay. */
  pt: PageTables
  ctx: KernelContext
  /** When the policy re-derived the boot map (rebase): that map, before any traced call. */
  rebasedStart?: PageTables
}

export interface RunReplayOptions extends ReplayOptions {
  trace?: TraceReadOptions
  /** A pass over the events before the engine (verify inserts the snapshots' dump times). */
  wrapEvents?: (events: EventSource) => EventSource
}

/** Replay `traces` over a copy of `snapshot` under one policy. The snapshot is not modified. */
export async function runReplay(snapshot: PtdumpSnapshot, traces: string[], choice: PolicyChoice, opts: RunReplayOptions = {}): Promise<ReplayRun> {
  const prepared = prepare(snapshot, choice.policy)
  const read = readTrace(traces, traceOptionsFor(snapshot, opts.trace))
  const rebasedStart = prepared.rebase ? prepared.ctx.pt.clone() : undefined
  const events = opts.wrapEvents ? opts.wrapEvents(read.batches) : read.batches
  const stats = await replay(prepared.ctx.pt, events, prepared.engine, {traceNames: traces, ...opts})
  return {
    policy: choice.policy,
    reasons: choice.reasons,
    rebase: prepared.rebase,
    stats,
    traceStats: read.stats,
    traceDiagnostics: read.diagnostics,
    traceTaken: read.taken,
    pt: prepared.ctx.pt,
    ctx: prepared.ctx,
    rebasedStart,
  }
}

/** Replay an in-memory event list (tests, benchmarks, synthesized workloads). */
export async function runReplayEvents(snapshot: PtdumpSnapshot, events: EventSource, choice: PolicyChoice, opts: ReplayOptions = {}): Promise<Omit<ReplayRun, 'traceStats' | 'traceDiagnostics' | 'traceTaken'>> {
  const prepared = prepare(snapshot, choice.policy)
  const stats = await replay(prepared.ctx.pt, events, prepared.engine, opts)
  return {policy: choice.policy, reasons: choice.reasons, rebase: prepared.rebase, stats, pt: prepared.ctx.pt, ctx: prepared.ctx}
}

/**
 * The replay engine: drives a trace, call by call, through a policy's kernel mechanisms over a
 * page-table model, and records what it cost and who caused it.
 *
 * It knows nothing of the kernel's rules (src/kernel does) nor of text (src/ingest does): it
 * windows the trace by markers, assembles probe hits into calls (intents.ts), hands each call to
 * the policy's `apply`, and measures the model before and after: table pages allocated/freed,
 * splits, collapses, attributed to the call's caller, probe, module and comm. A bounded time
 * series samples table bytes, TLB entries and splits over the trace.
 */
import type {TraceEvent} from '../ingest/events.js'
import {flat} from '../ingest/trace/intern.js'
import type {PageTables} from '../model/pagetable.js'
import {EINVAL, ENOMEM} from '../kernel/context.js'
import {type Intent, IntentAssembler} from './intents.js'
import {MarkerLog, markerNotFound} from './markers.js'
import {callerOf, type FoldedOffenders, type Offender, OffenderTable} from './offenders.js'

/** What a policy reports back about one call. */
export interface ApplyOutcome {
  /** Kernel counters incremented by this call, under the kernel's names (split_pmd, …). */
  counters?: Record<string, number>
  /** Kernel errors the call would have hit (-EINVAL, -ENOMEM), with a reason. */
  errors?: {code: string; message: string}[]
  /** The call touched memory the snapshot does not describe (unmapped / unknown). */
  unknownMemory?: boolean
  /** Linear-alias updates that could not be applied because the trace does not say which pages. */
  unknownAliasPages?: number
  /** Split and collapse primitives and table pages of this call (else derived from counters and the model). */
  splits?: number
  collapses?: number
  tablePagesAllocated?: number
  tablePagesFreed?: number
}

export interface ReplayPolicy {
  name: string
  /** Apply one assembled call to the model. */
  apply(intent: Intent): ApplyOutcome | void
  /** Totals of the kernel's counters, when the policy keeps them itself (then outcomes need not carry them). */
  counters?(): Record<string, number>
}

export interface ReplayOptions {
  /** The trace files, for messages. */
  traceNames?: string[]
  /** Start applying after the first marker whose text contains this. */
  fromMarker?: string
  /** Stop after the first marker whose text contains this (that marker is the last event seen). */
  untilMarker?: string
  /** Upper bound on time-series samples kept (older samples are thinned, never unbounded). */
  maxSamples?: number
  /** Called every 64K events (progress). */
  onProgress?: (events: number) => void
  /**
   * Called for every call assembled inside the window, right after it was applied (with what
   * the policy reported), and for every marker inside the window (no outcome). `verify` uses it
   * to keep, per address range, the call that last touched it.
   */
  onIntent?: (intent: Intent, outcome: ApplyOutcome | undefined) => void
  /**
   * Called for every event outside the window, unapplied: before the window (the from-marker
   * included) and after it (once the until-marker was seen).
   */
  onOutsideWindow?: (ev: TraceEvent, where: 'before' | 'after') => void
}

export interface Sample {
  /** Event timestamp, ns, as a decimal string (exact). */
  tsNs: string
  /** Calls applied so far. */
  calls: number
  tableBytes: number
  tlbEntries: number
  splits: number
  collapses: number
}

export interface ReplayStats {
  policy: string
  eventsSeen: number
  eventsInWindow: number
  callsApplied: number
  /** Hits of the kernel's own split helpers seen in the window (ground truth), by function. */
  truth: Record<string, number>
  /**
   * The kernel's own return values, where the trace has a return probe of a set_memory_* /
   * set_direct_map_* call (`r:set_memory_ro_ret set_memory_ro ret=$retval`): errors by errno name
   * on each side, and the calls where the replay's result differs from the kernel's.
   */
  returns: ReturnCheck
  counters: Record<string, number>
  tablePagesAllocated: number
  tablePagesFreed: number
  peakTableBytes: number
  errors: {code: string; message: string; at: string; fn: string}[]
  errorCounts: Record<string, number>
  callsOnUnknownMemory: number
  unknownAliasPages: number
  /** markers: the distinct trace_marker texts of the trace (the first 200), with their counts. */
  window: {from?: string; until?: string; fromFound: boolean; untilFound: boolean; markers?: {text: string; count: number}[]}
  series: Sample[]
  offenders: Offender[]
  /** Set only when a dimension named more than MAX_OFFENDER_NAMES: what its pruning folded away. */
  offendersFolded?: Partial<Record<Offender['by'], FoldedOffenders>>
  /** The last call that touched each range is kept by callers that need it (verify, via onIntent); not here. */
}

/** pid → module being loaded, at most this many pids remembered. */
const MAX_MODULE_PIDS = 4096

export interface ReturnCheck {
  calls: number
  kernelErrors: Record<string, number>
  replayErrors: Record<string, number>
  disagree: number
  /** The first calls where they differ (at most 10). */
  firstDisagreements: {at: string; fn: string; kernel: string; replay: string}[]
}

/** What a policy that reports nothing about a call is taken to have reported (read-only). */
const NO_OUTCOME: ApplyOutcome = Object.freeze({})

/** -EINVAL → 'EINVAL', -ENOMEM → 'ENOMEM' (the names the policies' errors carry), 0 → ''. */
function errnoName(ret: bigint): string {
  if (ret === 0n) return ''
  if (ret === BigInt(-EINVAL)) return 'EINVAL'
  if (ret === BigInt(-ENOMEM)) return 'ENOMEM'
  return ret.toString()
}

const SPLIT_COUNTERS = ['split_pud', 'split_pmd', 'split_contpmd', 'split_contpte']

/** A policy that reports table pages itself needs no before/after copy of the table counts. */
function out0(policy: ReplayPolicy): boolean {
  return typeof policy.counters === 'function'
}
const COLLAPSE_COUNTERS = ['collapse_pmd', 'collapse_pud']

function sumKeys(rec: Record<string, number>, keys: readonly string[]): number {
  let n = 0
  for (const k of keys) n += rec[k] ?? 0
  return n
}

/**
 * Replay `events` over `pt` (mutated in place) through `policy`.
 */
export type EventSource = AsyncIterable<TraceEvent> | AsyncIterable<TraceEvent[]> | Iterable<TraceEvent>

export async function replay(pt: PageTables, events: EventSource, policy: ReplayPolicy, opts: ReplayOptions = {}): Promise<ReplayStats> {
  const maxSamples = opts.maxSamples ?? 512
  const stats: ReplayStats = {
    policy: policy.name,
    eventsSeen: 0,
    eventsInWindow: 0,
    callsApplied: 0,
    truth: {},
    returns: {calls: 0, kernelErrors: {}, replayErrors: {}, disagree: 0, firstDisagreements: []},
    counters: {},
    tablePagesAllocated: 0,
    tablePagesFreed: 0,
    peakTableBytes: pt.tablePages * pt.geo.pageSize,
    errors: [],
    errorCounts: {},
    callsOnUnknownMemory: 0,
    unknownAliasPages: 0,
    window: {from: opts.fromMarker, until: opts.untilMarker, fromFound: !opts.fromMarker, untilFound: false},
    series: [],
    offenders: [],
  }
  const offenders = new OffenderTable()
  const asm = new IntentAssembler()
  let inWindow = !opts.fromMarker
  const markerLog = new MarkerLog()
  let done = false
  let sampleEvery = 1
  let sinceSample = 0
  let splitsTotal = 0
  let collapsesTotal = 0
  // The module being loaded per pid (module_load tracepoint) and the last capture marker, to name
  // modules. Names are flat copies (a slice of the trace text keeps its whole chunk alive); the
  // map forgets its oldest pids past MAX_MODULE_PIDS (pids are reused, traces may be endless).
  const moduleOfPid = new Map<number, string>()
  let lastInsmodMarker: string | undefined

  const sample = (ev: TraceEvent): void => {
    stats.series.push({
      tsNs: ev.tsNs.toString(),
      calls: stats.callsApplied,
      tableBytes: pt.tablePages * pt.geo.pageSize,
      tlbEntries: pt.totals.tlbEntries,
      splits: splitsTotal,
      collapses: collapsesTotal,
    })
    if (stats.series.length >= maxSamples) {
      // Thin to every other sample and sample half as often: bounded memory, whole trace covered.
      stats.series = stats.series.filter((_, i) => i % 2 === 1)
      sampleEvery *= 2
    }
  }

  // stats.truth counted in cells (one Map lookup and an increment per hit, where a record with
  // keys added on the way costs a dictionary lookup and a store), written out at the end.
  const truth = new Map<string, {n: number}>()
  // The last two functions counted (a 6.19 capture alternates split_kernel_leaf_mapping and its
  // _locked helper): most hits need no Map lookup.
  let truthFn0: string | undefined
  let truthCell0 = {n: 0}
  let truthFn1: string | undefined
  let truthCell1 = truthCell0
  const countTruth = (fn: string): void => {
    if (fn === truthFn0) {
      truthCell0.n++
      return
    }
    if (fn === truthFn1) {
      truthCell1.n++
      return
    }
    let c = truth.get(fn)
    if (c !== undefined) c.n++
    else truth.set(fn, (c = {n: 1}))
    truthFn1 = truthFn0
    truthCell1 = truthCell0
    truthFn0 = fn
    truthCell0 = c
  }
  const tablesBefore = out0(policy) ? undefined : [...pt.tables]

  const applyIntent = (intent: Intent): void => {
    const ev = intent.ev
    if (intent.type === 'marker') {
      const text = ev.text ?? ''
      // Capture bundles mark each module with "capture: insmod NAME" / "capture: rmmod NAME".
      const m = /\b(?:insmod|rmmod|modprobe)\s+([\w-]+)\s*$/.exec(text)
      if (m && m[1] !== 'phase') lastInsmodMarker = flat(m[1]!)
      else if (/phase (?:begin|end)/.test(text)) lastInsmodMarker = undefined
      opts.onIntent?.(intent, undefined)
      return
    }
    if (intent.type === 'module_load' && ev.text) {
      moduleOfPid.delete(ev.pid)
      if (moduleOfPid.size >= MAX_MODULE_PIDS) moduleOfPid.delete(moduleOfPid.keys().next().value!)
      moduleOfPid.set(ev.pid, flat(ev.text))
    }
    const nested = intent.nested
    for (let i = 0; i < nested.length; i++) {
      const n = nested[i]!
      if (n.kind === 'split_primitive' || n.kind === 'split_call') countTruth(n.fn)
    }
    if (intent.type === 'other' && (ev.kind === 'split_primitive' || ev.kind === 'split_call')) countTruth(ev.fn)
    if (tablesBefore) for (let l = 0; l < pt.tables.length; l++) tablesBefore[l] = pt.tables[l]!
    const out = policy.apply(intent) ?? NO_OUTCOME
    stats.callsApplied++
    let splits = out.splits ?? 0
    if (out.counters) {
      for (const k in out.counters) {
        const v = out.counters[k]!
        stats.counters[k] = (stats.counters[k] ?? 0) + v
        if (out.splits === undefined && SPLIT_COUNTERS.includes(k)) splits += v
      }
    }
    let alloc = out.tablePagesAllocated ?? 0
    let freed = out.tablePagesFreed ?? 0
    if (tablesBefore && out.tablePagesAllocated === undefined) {
      for (let l = 0; l < pt.tables.length; l++) {
        const d = pt.tables[l]! - tablesBefore[l]!
        if (d > 0) alloc += d
        else freed -= d
      }
    }
    stats.tablePagesAllocated += alloc
    stats.tablePagesFreed += freed
    splitsTotal += splits
    collapsesTotal += out.collapses ?? (out.counters ? sumKeys(out.counters, COLLAPSE_COUNTERS) : 0)
    const tableBytes = pt.tablePages * pt.geo.pageSize
    if (tableBytes > stats.peakTableBytes) stats.peakTableBytes = tableBytes
    if (intent.nested.length && (intent.type === 'set_memory' || intent.type === 'set_memory_valid' || intent.type === 'set_direct_map')) {
      const nested = intent.nested
      for (let i = nested.length - 1; i >= 0; i--) {
        const n = nested[i]!
        if (n.kind !== 'return' || n.fn !== ev.fn || n.ret === undefined) continue
        const r = stats.returns
        const kernel = errnoName(n.ret)
        const mine = out.errors?.[0]?.code ?? ''
        r.calls++
        if (kernel) r.kernelErrors[kernel] = (r.kernelErrors[kernel] ?? 0) + 1
        if (mine) r.replayErrors[mine] = (r.replayErrors[mine] ?? 0) + 1
        if (kernel !== mine) {
          r.disagree++
          if (r.firstDisagreements.length < 10) r.firstDisagreements.push({at: `${ev.src.file}:${ev.src.line}`, fn: ev.fn, kernel: kernel || '0', replay: mine || '0'})
        }
        break
      }
    }
    if (out.errors) {
      for (const e of out.errors) {
        stats.errorCounts[e.code] = (stats.errorCounts[e.code] ?? 0) + 1
        if (stats.errors.length < 100) stats.errors.push({...e, at: `${ev.src.file}:${ev.src.line}`, fn: ev.fn})
      }
    }
    if (out.unknownMemory) stats.callsOnUnknownMemory++
    stats.unknownAliasPages += out.unknownAliasPages ?? 0
    if (alloc || freed || splits) {
      offenders.add('caller', callerOf(ev.stack), alloc, freed, splits)
      offenders.add('probe', ev.probe, alloc, freed, splits)
      offenders.add('module', moduleOfPid.get(ev.pid) ?? lastInsmodMarker, alloc, freed, splits)
      offenders.add('comm', ev.comm, alloc, freed, splits)
    }
    if (++sinceSample >= sampleEvery) {
      sinceSample = 0
      sample(ev)
    }
    opts.onIntent?.(intent, out)
  }

  /** Apply an intent the assembler returned, then give it back for reuse (no one keeps it: onIntent reads it during the call). */
  const applyAndRelease = (intent: Intent): void => {
    applyIntent(intent)
    asm.release(intent)
  }
  /** Apply and release every intent of a push()/flush() answer (read before the assembler is fed again). */
  const applyAll = (ready: Intent[]): void => {
    for (let i = 0; i < ready.length; i++) applyAndRelease(ready[i]!)
  }

  let lastEv: TraceEvent | undefined
  // Counted here and written to stats at the end (a local is a register, a field a store).
  let eventsSeen = 0
  let eventsInWindow = 0
  const onProgress = opts.onProgress
  const untilMarker = opts.untilMarker
  const handle = (ev: TraceEvent): void => {
    eventsSeen++
    const kind = ev.kind
    if (kind === 'marker' && !ev.synthetic) markerLog.add(ev.text)
    if (onProgress && (eventsSeen & 0xffff) === 0) {
      stats.eventsSeen = eventsSeen
      onProgress(eventsSeen)
    }
    if (done) {
      opts.onOutsideWindow?.(ev, 'after')
      return
    }
    if (!inWindow) {
      opts.onOutsideWindow?.(ev, 'before')
      if (ev.kind === 'marker' && ev.text?.includes(opts.fromMarker!)) {
        inWindow = true
        stats.window.fromFound = true
      }
      return
    }
    eventsInWindow++
    lastEv = ev
    const ready = asm.push(ev)
    for (let i = 0; i < ready.length; i++) applyAndRelease(ready[i]!)
    if (untilMarker && kind === 'marker' && ev.text?.includes(untilMarker)) {
      stats.window.untilFound = true
      done = true
      applyAll(asm.flush())
    }
  }
  // Batches (arrays) cost one await each instead of one per event; arrays are walked by index
  // (an iterator's result objects are not always optimized away).
  if (Array.isArray(events)) {
    for (let i = 0; i < events.length; i++) handle(events[i]!)
  } else if (Symbol.asyncIterator in events) {
    for await (const item of events as AsyncIterable<TraceEvent | TraceEvent[]>) {
      if (Array.isArray(item)) for (let i = 0; i < item.length; i++) handle(item[i]!)
      else handle(item)
    }
  } else {
    for (const ev of events as Iterable<TraceEvent>) handle(ev)
  }
  stats.eventsSeen = eventsSeen
  stats.eventsInWindow = eventsInWindow
  applyAll(asm.flush())
  if (lastEv) sample(lastEv)
  for (const [fn, c] of truth) stats.truth[fn] = c.n
  if (policy.counters) stats.counters = policy.counters()
  stats.offenders = offenders.top(10)
  if (offenders.folded.size) stats.offendersFolded = Object.fromEntries(offenders.folded)
  stats.window.markers = markerLog.list()
  if (opts.fromMarker && !stats.window.fromFound) throw markerNotFound('--from-marker', opts.fromMarker, markerLog, opts.traceNames ?? [])
  if (opts.untilMarker && !stats.window.untilFound) throw markerNotFound('--until-marker', opts.untilMarker, markerLog, opts.traceNames ?? [], Boolean(opts.fromMarker))
  return stats
}

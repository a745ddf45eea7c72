/**
 * Where in the trace were the snapshots dumped? A capture writes each phase mark to trace_marker
 * and, right after, to steps.log with /proc/uptime; it logs each snapshot after its dump. So every
 * mark that appears in both gives the offset between the two clocks, and the snapshot's step, shifted
 * by the offset of the nearest mark before it, is the dump's end in trace time.
 *
 * Cutting at the dump rather than at a phase mark matters: between the last mark and the dump the
 * kernel keeps working (module init sections freed by a kworker, the kernel stacks of the processes
 * the capture forks to take the dump), and the snapshot holds all of it.
 *
 * `SnapshotClock.wrap` passes the trace through and inserts one synthetic marker event at each dump
 * (`ptreplay: kernel_page_tables.NAME dumped`), so the engine's marker window cuts there. Until the
 * first mark is aligned it holds events back (bounded by MAX_HELD); with no mark to align by, it
 * gives up and says so (the window is then the whole trace).
 */
import {dirname, resolve} from 'node:path'

import type {TraceEvent} from '../ingest/events.js'
import {type StepEntry, type StepsLog, snapshotName, snapshotStep, stepsLogBeside} from '../ingest/steps-log.js'
import type {EventSource} from './engine.js'

/** Events held back while no mark has tied the clocks yet. */
const MAX_HELD = 1 << 20

export interface DumpCut {
  /** `probed`, `loaded`, … */
  name: string
  step: StepEntry
  /** The synthetic marker's text (what the engine's window matches). */
  marker: string
}

export interface SnapshotWindowPlan {
  steps: StepsLog
  from: DumpCut
  until: DumpCut
}

/** The dump steps of two snapshots of one bundle, when its steps.log names both in order. */
export function planSnapshotWindow(beforePath: string, afterPath: string): SnapshotWindowPlan | undefined {
  const a = snapshotName(beforePath)
  const b = snapshotName(afterPath)
  if (!a || !b) return undefined
  const steps = stepsLogBeside(afterPath)
  if (!steps || resolve(dirname(beforePath)) !== resolve(dirname(afterPath))) return undefined
  const sa = snapshotStep(steps, a)
  const sb = snapshotStep(steps, b)
  if (!sa || !sb || sb.line <= sa.line) return undefined
  return {
    steps,
    from: {name: a, step: sa, marker: `ptreplay: kernel_page_tables.${a} dumped`},
    until: {name: b, step: sb, marker: `ptreplay: kernel_page_tables.${b} dumped`},
  }
}

export interface PlacedCut {
  name: string
  marker: string
  /** steps.log:line of the dump. */
  at: string
  /** The dump's end in trace time (ns), when placed. */
  traceNs?: bigint
  /** Offset trace − uptime (ns) used to place it. */
  offsetNs?: bigint
  /** The mark the offset came from. */
  alignedBy?: string
  /** Placed before the first event or after the last one; `marker`: the capture marked the dump in the trace itself. */
  edge?: 'before-trace' | 'after-trace' | 'marker'
}

export interface SnapshotClockReport {
  placed: boolean
  /** Marks found both in the trace and in steps.log. */
  marksAligned: number
  /** Smallest and largest offset seen (clock drift under emulation shows here). */
  offsetRangeNs?: [bigint, bigint]
  cuts: PlacedCut[]
  /** Why the dumps could not be placed (then the window was the whole trace). */
  why?: string
}

export class SnapshotClock {
  private readonly marks = new Map<string, bigint[]>()
  private readonly seen = new Map<string, number>()
  private offset: bigint | undefined
  private alignedBy: string | undefined
  private aligned = 0
  private minOff: bigint | undefined
  private maxOff: bigint | undefined
  private readonly cuts: PlacedCut[]
  private next = 0
  /** The next cut's trace time, once the clocks are tied (recomputed per mark and per cut, not per event). */
  private nextCutNs: bigint | undefined
  private exact = 0
  private why: string | undefined
  /** Timestamp of the trace's last event (once the trace has been read). */
  lastEventNs: bigint | undefined

  constructor(readonly plan: SnapshotWindowPlan) {
    for (const e of plan.steps.entries) {
      const list = this.marks.get(e.text)
      if (list) list.push(e.uptimeNs)
      else this.marks.set(e.text, [e.uptimeNs])
    }
    this.cuts = [plan.from, plan.until].map((c) => ({name: c.name, marker: c.marker, at: `${plan.steps.path}:${c.step.line}`}))
  }

  report(): SnapshotClockReport {
    return {
      placed: this.exact === 2 || (this.why === undefined && this.aligned > 0),
      marksAligned: this.aligned,
      ...(this.minOff !== undefined ? {offsetRangeNs: [this.minOff, this.maxOff!] as [bigint, bigint]} : {}),
      cuts: this.cuts,
      ...(this.why ? {why: this.why} : this.aligned === 0 ? {why: 'no trace_marker text of the trace is in steps.log'} : {}),
    }
  }

  /** A trace mark: if steps.log has it, it sets the clock offset. */
  private align(ev: TraceEvent): void {
    const text = (ev.text ?? '').trim()
    const list = this.marks.get(text)
    if (!list) return
    const k = this.seen.get(text) ?? 0
    this.seen.set(text, k + 1)
    const u = list[k]
    if (u === undefined) return
    const off = ev.tsNs - u
    this.offset = off
    this.advance(this.next)
    this.alignedBy = `"${text}" (${ev.src.file}:${ev.src.line})`
    this.aligned++
    if (this.minOff === undefined || off < this.minOff) this.minOff = off
    if (this.maxOff === undefined || off > this.maxOff) this.maxOff = off
  }

  /** Move to cut `n`, and keep its trace time ready. */
  private advance(n: number): void {
    this.next = n
    this.nextCutNs = this.next < 2 && this.offset !== undefined && !this.why ? this.cutNs(this.next) : undefined
  }

  private cutNs(i: number): bigint {
    const step = i === 0 ? this.plan.from.step : this.plan.until.step
    return step.uptimeNs + this.offset!
  }

  private synthetic(i: number, tsNs: bigint, edge?: PlacedCut['edge']): TraceEvent {
    const c = this.cuts[i]!
    if (this.offset !== undefined && !this.why) {
      c.traceNs = tsNs
      c.offsetNs = this.offset
      c.alignedBy = this.alignedBy
    }
    if (edge) c.edge = edge
    const step = i === 0 ? this.plan.from.step : this.plan.until.step
    return {kind: 'marker', fn: 'tracing_mark_write', probe: 'tracing_mark_write', tsNs, cpu: -1, pid: 0, comm: 'ptreplay', text: c.marker, synthetic: true, src: {file: this.plan.steps.path, line: step.line}}
  }

  /** The events, with a synthetic marker at each dump. */
  async *wrap(events: EventSource): AsyncIterable<TraceEvent[]> {
    let held: TraceEvent[] | undefined = []
    let first = true
    let last: TraceEvent | undefined
    const out: TraceEvent[] = []
    const emit = (ev: TraceEvent): void => {
      while (this.nextCutNs !== undefined && this.nextCutNs < ev.tsNs) {
        out.push(this.synthetic(this.next, this.nextCutNs, first ? 'before-trace' : undefined))
        this.advance(this.next + 1)
      }
      first = false
      last = ev
      out.push(ev)
    }
    const giveUp = (why: string): void => {
      this.why = why
      // Whole trace: the from-cut before the first event, the until-cut after the last.
      const h = held!
      held = undefined
      if (this.next === 0) {
        out.push(this.synthetic(0, h[0]?.tsNs ?? 0n, 'before-trace'))
        this.advance(1)
      }
      for (const e of h) emit(e)
    }
    const take = (ev: TraceEvent): void => {
      if (ev.kind === 'marker' && !ev.synthetic) {
        // `ptreplay capture-script` writes the same text to trace_marker right after each dump:
        // that is the dump's end exactly, and the engine cuts at it.
        const i = this.next < 2 && this.cuts[this.next]!.marker === (ev.text ?? '').trim() ? this.next : -1
        if (i >= 0) {
          if (held) {
            // Release what was held: nothing to place before this mark but the cuts it settles.
            const h = held
            held = undefined
            for (const e of h) emit(e)
          }
          const c = this.cuts[i]!
          c.traceNs = ev.tsNs
          c.edge = 'marker'
          this.exact++
          this.advance(i + 1)
        }
        this.align(ev)
      }
      if (held) {
        held.push(ev)
        if (this.offset !== undefined) {
          const h = held
          held = undefined
          for (const e of h) emit(e)
        } else if (held.length > MAX_HELD) {
          giveUp(`no trace_marker text of steps.log among the first ${MAX_HELD} events`)
        }
        return
      }
      emit(ev)
    }
    const source = events as AsyncIterable<TraceEvent | TraceEvent[]> | Iterable<TraceEvent>
    for await (const item of source) {
      if (Array.isArray(item)) for (let i = 0; i < item.length; i++) take(item[i]!)
      else take(item)
      if (out.length) yield out.splice(0, out.length)
    }
    if (held) giveUp('no trace_marker text of the trace is in steps.log')
    this.lastEventNs = last?.tsNs
    while (this.next < 2) {
      const t = this.offset !== undefined && !this.why ? this.cutNs(this.next) : (last?.tsNs ?? 0n)
      out.push(this.synthetic(this.next, t, 'after-trace'))
      this.next++
    }
    if (out.length) yield out.splice(0, out.length)
  }
}

/** ns → seconds text (`495.735000000` → `495.735`), exact. */
function seconds(ns: bigint): string {
  const neg = ns < 0n
  const a = neg ? -ns : ns
  const frac = (a % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${a / 1_000_000_000n}${frac ? `.${frac}` : ''}`
}

/** The placement as `--json` carries it (seconds as exact decimal strings) and as text lines. */
export interface DumpPlacement {
  steps: string
  placed: boolean
  marksAligned: number
  /** trace clock − uptime, seconds: [smallest, largest] over the aligned marks. */
  offsetSeconds?: [string, string]
  cuts: {name: string; at: string; traceSeconds?: string; alignedBy?: string; edge?: string}[]
  why?: string
}

export function describePlacement(clock: SnapshotClock): DumpPlacement {
  const r = clock.report()
  return {
    steps: clock.plan.steps.path,
    placed: r.placed,
    marksAligned: r.marksAligned,
    ...(r.offsetRangeNs ? {offsetSeconds: [seconds(r.offsetRangeNs[0]), seconds(r.offsetRangeNs[1])] as [string, string]} : {}),
    cuts: r.cuts.map((c) => ({name: c.name, at: c.at, ...(c.traceNs !== undefined ? {traceSeconds: seconds(c.traceNs)} : {}), ...(c.alignedBy ? {alignedBy: c.alignedBy} : {}), ...(c.edge ? {edge: c.edge} : {})})),
    ...(r.why ? {why: r.why} : {}),
  }
}

/** Text lines for a placement. */
export function placementText(p: DumpPlacement): string[] {
  if (!p.placed) return [`window: the dumps in ${p.steps} could not be placed in the trace (${p.why ?? 'no mark aligned'}): the whole trace was replayed`]
  const off = p.offsetSeconds ? (p.offsetSeconds[0] === p.offsetSeconds[1] ? `${p.offsetSeconds[0]} s` : `${p.offsetSeconds[0]}…${p.offsetSeconds[1]} s`) : '?'
  const where = (c: DumpPlacement['cuts'][number]): string =>
    c.edge === 'before-trace'
      ? `before the first event (t=${c.traceSeconds ?? '?'}s)`
      : c.edge === 'after-trace'
        ? `after the last event (t=${c.traceSeconds ?? '?'}s)`
        : c.edge === 'marker'
          ? `at t=${c.traceSeconds}s (marked in the trace by the capture)`
          : `at t=${c.traceSeconds}s`
  const lines = [
    `window: from the dump of kernel_page_tables.${p.cuts[0]!.name} ${where(p.cuts[0]!)} to the dump of kernel_page_tables.${p.cuts[1]!.name} ${where(p.cuts[1]!)}`,
    `  placed by ${p.steps} (${p.cuts.map((c) => c.at.slice(c.at.lastIndexOf(':') + 1)).join(', ')}: logged after each dump), the clocks tied by ${p.marksAligned} mark(s) in both (trace − uptime = ${off})`,
  ]
  return lines
}

/**
 * What verify needs to judge differences near the dumps: the placed times, how far off they may
 * be, and whether the last dump came after the trace had ended.
 *
 * The tolerance: each mark's offset is trace time minus an uptime read after one fork (the
 * `$(cut …)` of the log line), a snapshot's step after two (`$(wc -l …)` too), and a fork's time
 * varies by the spread of the offsets (tens of ms under emulation). So a dump may end up to about
 * two spreads before its placed time; 10 ms (steps.log prints centiseconds) at least.
 */
export interface DumpTiming {
  fromNs?: bigint
  untilNs?: bigint
  fromSeconds?: string
  untilSeconds?: string
  toleranceNs: bigint
  /** Set when the last dump came after the trace's last event by more than the tolerance. */
  afterTrace?: {lastEventSeconds: string}
  /** THREAD_SIZE of the kernel (kernel/vmalloc.ts threadSize). */
  threadSize: number
}

export function dumpTiming(clock: SnapshotClock, threadSize: number): DumpTiming | undefined {
  const r = clock.report()
  if (!r.placed || !r.offsetRangeNs) return undefined
  const spread = r.offsetRangeNs[1] - r.offsetRangeNs[0]
  const toleranceNs = 2n * spread > 10_000_000n ? 2n * spread : 10_000_000n
  const [from, until] = r.cuts
  const t: DumpTiming = {toleranceNs, threadSize}
  if (from?.traceNs !== undefined && from.edge !== 'before-trace') {
    t.fromNs = from.traceNs
    t.fromSeconds = seconds(from.traceNs)
  }
  if (until?.traceNs !== undefined) {
    t.untilNs = until.traceNs
    t.untilSeconds = seconds(until.traceNs)
    const lastNs = clock.lastEventNs
    if (until.edge === 'after-trace' && lastNs !== undefined && until.traceNs - lastNs > toleranceNs) t.afterTrace = {lastEventSeconds: seconds(lastNs)}
  }
  return t
}

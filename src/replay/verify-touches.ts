/**
 * Recording, during a `verify` replay, which traced call last touched each range, and describing
 * those calls (the text a difference names them by). The comparison is in src/replay/verify.ts,
 * the report in src/report/verify.ts.
 */

import type {TraceEvent} from '../ingest/events.js'
import {flat} from '../ingest/trace/intern.js'
import {formatKva} from '../model/address.js'
import {type Region, type RegionName, regionOf} from '../model/layout.js'
import type {ApplyOutcome} from './engine.js'
import type {Intent} from './intents.js'
import type {RunReplayOptions} from './run.js'
import {TouchMap, spansOfEvent, spansOfIntent} from './touches.js'

/** A traced call, as a difference names it. */
export interface CallRef {
  /** e.g. `set_memory_valid(0xfff000007fec4000, 1, enable=0)` */
  call: string
  fn: string
  probe: string
  /** `file:line` of the call's first hit. */
  at: string
  /** Trace timestamp, seconds. */
  time: string
  comm: string
  pid: number
  /** Where the call sits relative to the replay window. */
  zone: 'window' | 'before-window' | 'after-window'
  /** The last trace_marker text before the call, if any. */
  afterMarker?: string
}

// ---------------------------------------------------------------------------------------------
// Recording who touched what during the replay.

export interface Touch {
  ev: TraceEvent
  /** Order of application (window) or of reading (outside). */
  ordinal: number
  zone: CallRef['zone']
  /** Markers seen (in this zone) before the call. */
  epoch: number
  marker?: string
}

/**
 * What a Touch keeps of an event: the fields a call is described by, with every string a copy of
 * its own. A field of the event may be a slice of the reader's 128 KiB chunk (V8 keeps the parent
 * string alive), and the recorder keeps one Touch per touched stretch for the whole run.
 */
function keep(ev: TraceEvent): TraceEvent {
  return {
    kind: ev.kind,
    fn: flat(ev.fn),
    probe: flat(ev.probe),
    tsNs: ev.tsNs,
    cpu: ev.cpu,
    pid: ev.pid,
    comm: flat(ev.comm),
    addr: ev.addr,
    addrText: ev.addrText === undefined ? undefined : flat(ev.addrText),
    end: ev.end,
    size: ev.size,
    pages: ev.pages,
    op: ev.op,
    enable: ev.enable,
    setMask: ev.setMask,
    clearMask: ev.clearMask,
    setNames: ev.setNames,
    clearNames: ev.clearNames,
    page: ev.page,
    pageShift: ev.pageShift,
    text: ev.text === undefined ? undefined : flat(ev.text),
    src: {file: flat(ev.src.file), line: ev.src.line},
  }
}

/** Hits that start a call whose inner range hits (__change_memory_common, update_range_prot) follow. */
const OUTER_KINDS: ReadonlySet<TraceEvent['kind']> = new Set(['set_memory', 'set_memory_valid', 'set_direct_map', 'change_range'])

/**
 * Replay hooks that keep, per address range, the last call inside the window that touched it,
 * the last one before the window and the first one after it (TouchMap: bounded by runs), the
 * markers, and per-region counts of calls on unknown memory and vm area events.
 */
export class TouchRecorder {
  readonly window = new TouchMap<Touch>()
  readonly before = new TouchMap<Touch>()
  readonly after = new TouchMap<Touch>()
  windowMarkers = 0
  beforeMarkers = 0
  unknownByRegion = new Map<RegionName | 'none', {count: number; first?: Touch}>()
  vmEvents = 0
  /** vmap/vunmap calls in the window: the replay maps and unmaps vm areas as the kernel did. */
  vmMaps = 0
  private ordinal = 0
  private lastMarker?: string
  private readonly outerByPid = new Map<number, Touch>()

  constructor(
    private readonly regions: readonly Region[],
    private readonly pageSize: number,
    private readonly fromMarker?: string,
  ) {}

  onIntent = (intent: Intent, out: ApplyOutcome | undefined): void => {
    const ev = intent.ev
    if (intent.type === 'marker') {
      this.windowMarkers++
      this.lastMarker = ev.text === undefined ? undefined : flat(ev.text)
      return
    }
    if (intent.type === 'vm_alloc' || intent.type === 'vm_free') this.vmEvents++
    if (intent.type === 'vmap' || intent.type === 'vunmap') this.vmMaps++
    const spans = spansOfIntent(intent, this.pageSize)
    if (!spans.length && !out?.unknownMemory) return
    const t: Touch = {ev: keep(ev), ordinal: ++this.ordinal, zone: 'window', epoch: this.windowMarkers, marker: this.lastMarker}
    for (const s of spans) this.window.set(s.start, s.end, t)
    if (out?.unknownMemory) {
      const addr = ev.addr ?? spans[0]?.start
      const reg = addr === undefined ? undefined : regionOf(this.regions, addr)
      const key = reg?.name ?? 'none'
      const u = this.unknownByRegion.get(key) ?? {count: 0}
      u.count++
      u.first ??= t
      this.unknownByRegion.set(key, u)
    }
  }

  onOutsideWindow = (ev: TraceEvent, where: 'before' | 'after'): void => {
    if (ev.kind === 'marker') {
      if (where === 'before' && !(this.fromMarker && ev.text?.includes(this.fromMarker))) this.beforeMarkers++
      this.lastMarker = ev.text === undefined ? undefined : flat(ev.text)
      return
    }
    if (ev.kind === 'vm_alloc' || ev.kind === 'vm_free') this.vmEvents++
    const spans = spansOfEvent(ev, this.pageSize)
    // Outside the window events are not assembled into calls: an inner range hit right after
    // its caller's hit in the same task is named by that caller (as the assembler would).
    const outer = this.outerByPid.get(ev.pid)
    const inner = ev.kind === 'change_range' && ev.fn !== 'change_memory_common' && outer !== undefined
    if (!inner) this.outerByPid.delete(ev.pid)
    if (!spans.length) return
    const t: Touch = inner
      ? outer!
      : {ev: keep(ev), ordinal: ++this.ordinal, zone: where === 'before' ? 'before-window' : 'after-window', epoch: where === 'before' ? this.beforeMarkers : 0, marker: this.lastMarker}
    if (!inner && OUTER_KINDS.has(ev.kind)) this.outerByPid.set(ev.pid, t)
    for (const s of spans) {
      if (where === 'before') this.before.set(s.start, s.end, t)
      else this.after.fill(s.start, s.end, t)
    }
  }

  options(): Pick<RunReplayOptions, 'onIntent' | 'onOutsideWindow'> {
    return {onIntent: this.onIntent, onOutsideWindow: this.onOutsideWindow}
  }
}

// ---------------------------------------------------------------------------------------------
// Describing calls.

function seconds(ns: bigint): string {
  const s = ns / 1_000_000_000n
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6)
  return `${s}.${frac}`
}

function hex(n: number | undefined): string {
  return n === undefined ? '?' : `0x${n.toString(16)}`
}

/** A call the way a kernel developer would write it. */
export function describeCall(ev: TraceEvent): string {
  const addr = ev.addrText ?? (ev.addr !== undefined ? formatKva(ev.addr) : '?')
  switch (ev.kind) {
    case 'set_memory':
      return `${ev.fn}(${addr}, ${ev.pages ?? '?'})`
    case 'set_memory_valid':
      return `${ev.fn}(${addr}, ${ev.pages ?? '?'}, enable=${ev.enable === undefined ? '?' : ev.enable ? 1 : 0})`
    case 'set_direct_map':
      return `${ev.fn}(page ${ev.page !== undefined ? formatKva(ev.page) : '?'} → ${ev.addr !== undefined ? formatKva(ev.addr) : '?'})`
    case 'change_range': {
      const masks = `set=${ev.setNames?.join('|') || hex(Number(ev.setMask ?? 0n))} clear=${ev.clearNames?.join('|') || hex(Number(ev.clearMask ?? 0n))}`
      return ev.fn === 'change_memory_common' ? `${ev.fn}(${addr}, ${ev.pages ?? '?'}, ${masks})` : `${ev.fn}(${addr}, ${hex(ev.size)}, ${masks})`
    }
    default:
      return `${ev.fn}(${addr})`
  }
}

export function callRef(t: Touch): CallRef {
  const ev = t.ev
  return {
    call: describeCall(ev),
    fn: ev.fn,
    probe: ev.probe,
    at: `${ev.src.file}:${ev.src.line}`,
    time: seconds(ev.tsNs),
    comm: ev.comm,
    pid: ev.pid,
    zone: t.zone,
    ...(t.marker !== undefined ? {afterMarker: t.marker} : {}),
  }
}

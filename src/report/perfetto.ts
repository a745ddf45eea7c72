/**
 * The replay's time series as a Perfetto trace (TrackEvent protobuf, opens in ui.perfetto.dev):
 * per policy a parent track with four counter tracks — page-table bytes (UNIT_SIZE_BYTES), TLB
 * entries, splits and collapses (UNIT_COUNT; splits/collapses cumulative) — and the trace's
 * trace_marker writes as instant events on a "trace markers" track, all on the trace's own
 * timestamps (ns). One packet sequence: its first packet says SEQ_INCREMENTAL_STATE_CLEARED, every
 * event packet SEQ_NEEDS_INCREMENTAL_STATE, as Perfetto's trace processor expects of a writer's
 * sequence. Encoded with protobufjs from the vendored protos (protos/perfetto, a subset of
 * Perfetto's, same field numbers).
 *
 * The series is what the engine keeps (src/replay/engine.ts: a bounded, evenly thinned sample
 * of the calls, plus the last call); markers are kept up to MAX_MARKERS.
 */
import {existsSync} from 'node:fs'
import {dirname, isAbsolute, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import protobuf from 'protobufjs'

import type {TraceEvent} from '../ingest/events.js'
import {flat} from '../ingest/trace/intern.js'
import type {ReplayOptions, Sample} from '../replay/engine.js'
import {writeFileAtomic} from './atomic-file.js'

/** Markers kept for the instant events (the rest are counted). */
export const MAX_MARKERS = 100_000

const SEQ_INCREMENTAL_STATE_CLEARED = 1
const SEQ_NEEDS_INCREMENTAL_STATE = 2
/** Any non-zero id: all packets of this file are one sequence. */
export const PERFETTO_SEQUENCE_ID = 1
export const MARKER_TRACK_UUID = 1

/** The directory that holds protos/perfetto (the package root, from src/ or dist/src/). */
function protoBase(): string {
  let d = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'protos', 'perfetto', 'trace', 'trace.proto'))) return d
    d = dirname(d)
  }
  throw new Error('protos/perfetto/trace/trace.proto not found beside the package')
}

let root: protobuf.Root | undefined

/** The vendored Perfetto protos, loaded once. */
export function perfettoRoot(): protobuf.Root {
  if (root) return root
  const base = protoBase()
  const r = new protobuf.Root()
  r.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(base, target))
  r.loadSync('protos/perfetto/trace/trace.proto', {keepCase: true})
  r.resolveAll()
  root = r
  return r
}

export interface PerfettoMarker {
  tsNs: string
  text: string
}

/** Collects the trace's markers from the replay's callbacks (inside and outside the window). */
export class MarkerLog {
  readonly markers: PerfettoMarker[] = []
  dropped = 0

  add(ev: TraceEvent): void {
    if (ev.kind !== 'marker') return
    if (this.markers.length >= MAX_MARKERS) {
      this.dropped++
      return
    }
    // flat: a marker cut from the trace text would keep its whole chunk alive
    this.markers.push({tsNs: ev.tsNs.toString(), text: flat(ev.text ?? '')})
  }

  /** Chain onto a replay's options (keeps the callbacks already there). */
  hook<T extends Pick<ReplayOptions, 'onIntent' | 'onOutsideWindow'>>(opts: T): T {
    const onIntent = opts.onIntent
    const outside = opts.onOutsideWindow
    opts.onIntent = (i, o) => {
      if (i.type === 'marker') this.add(i.ev)
      onIntent?.(i, o)
    }
    opts.onOutsideWindow = (ev, where) => {
      this.add(ev)
      outside?.(ev, where)
    }
    return opts
  }
}

export interface PerfettoSeries {
  /** Policy label, e.g. "bbml2" or "auto (pte-only)". */
  label: string
  series: readonly Sample[]
}

/** The counters of a series, their track names and units. */
export const PERFETTO_COUNTERS = [
  {key: 'tableBytes', name: 'page-table bytes', unit: 'UNIT_SIZE_BYTES'},
  {key: 'tlbEntries', name: 'TLB entries', unit: 'UNIT_COUNT'},
  {key: 'splits', name: 'splits', unit: 'UNIT_COUNT'},
  {key: 'collapses', name: 'collapses', unit: 'UNIT_COUNT'},
] as const

/** uuid of policy i's parent track; its counters are +1…+4. */
export function policyTrackUuid(i: number): number {
  return 1000 * (i + 1)
}

/** Encode the series (one policy per entry) and the markers as a Perfetto `Trace`. */
export function encodePerfettoTrace(runs: readonly PerfettoSeries[], markers: readonly PerfettoMarker[]): Uint8Array {
  const Trace = perfettoRoot().lookupType('perfetto.protos.Trace')
  const packets: object[] = []
  const seq = {trusted_packet_sequence_id: PERFETTO_SEQUENCE_ID}
  const descriptor = (d: object) => packets.push({...seq, ...(packets.length === 0 ? {sequence_flags: SEQ_INCREMENTAL_STATE_CLEARED, incremental_state_cleared: true} : {}), track_descriptor: d})
  const event = (ts: string, e: object) => packets.push({...seq, timestamp: ts, sequence_flags: SEQ_NEEDS_INCREMENTAL_STATE, track_event: e})
  runs.forEach((run, i) => {
    const parent = policyTrackUuid(i)
    descriptor({uuid: parent, name: `ptreplay: ${run.label}`})
    PERFETTO_COUNTERS.forEach((c, j) => descriptor({uuid: parent + j + 1, parent_uuid: parent, name: `${c.name} (${run.label})`, counter: {unit: c.unit}}))
  })
  if (markers.length) descriptor({uuid: MARKER_TRACK_UUID, name: 'trace markers'})
  runs.forEach((run, i) => {
    const parent = policyTrackUuid(i)
    for (const s of run.series) {
      PERFETTO_COUNTERS.forEach((c, j) => event(s.tsNs, {type: 'TYPE_COUNTER', track_uuid: parent + j + 1, counter_value: s[c.key]}))
    }
  })
  for (const m of markers) event(m.tsNs, {type: 'TYPE_INSTANT', track_uuid: MARKER_TRACK_UUID, name: m.text, categories: ['trace_marker']})
  const msg = Trace.fromObject({packet: packets})
  return Trace.encode(msg).finish()
}

/** Write the trace atomically (temp file + rename). */
export async function writePerfettoTrace(path: string, runs: readonly PerfettoSeries[], markers: readonly PerfettoMarker[]): Promise<void> {
  writeFileAtomic(path, encodePerfettoTrace(runs, markers))
}

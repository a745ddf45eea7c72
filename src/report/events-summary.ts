/**
 * The summary `ptreplay events` reports for a trace: events per kind, probe, comm and CPU, the
 * time span, lost events, the lines not understood, kernel stacks and trace_marker texts.
 * Rendered as text by events-text.ts; the --json document as it is.
 */
import {type DiagnosticsSummary, summarizeDiagnostics} from '../ingest/diagnostics.js'
import type {Diagnostic, TraceEvent} from '../ingest/events.js'
import type {TraceStats} from '../ingest/trace/index.js'
import {MarkerLog} from '../replay/markers.js'
import type {ExportFormat} from './events-export.js'

export interface EventsSummary {
  inputs: {path: string; format: string; lines: number; bytes: number}[]
  format: string
  events: number
  span: {firstNs?: string; lastNs?: string; seconds?: number}
  /** trace_marker texts in trace order (the first 200 distinct), for --from-marker/--until-marker. */
  markers?: {text: string; count: number}[]
  byKind: Record<string, number>
  byProbe: Record<string, number>
  byComm: Record<string, number>
  byCpu: Record<string, number>
  lost: {events: number; markers: number; byCpu: Record<string, number>; overwritten: number}
  unrecognized: {lines: number; examples: string[]}
  /** Events that carry a kernel stack. */
  stacks: number
  /** Every input's diagnostics through the one table (the same object on every command). */
  diagnostics: DiagnosticsSummary
  /** Where --output wrote the normalized events. */
  output?: {path: string; to: ExportFormat; events: number}
}

/** Counts taken on the events as they are delivered, whatever reader attached the stack. */
export class EventsTally {
  stacks = 0
  readonly markers = new MarkerLog()

  add(batch: readonly TraceEvent[]): void {
    for (let i = 0; i < batch.length; i++) {
      if (batch[i]!.stack) this.stacks++
      if (batch[i]!.kind === 'marker') this.markers.add(batch[i]!.text)
    }
  }
}

/**
 * What `events` prints: the trace's counts (per kind, probe, comm, CPU), its span, losses and
 * unrecognized lines from the reader's stats; with a tally, the stacks and markers counted on
 * the events delivered.
 */
export function summarizeEvents(stats: TraceStats, diagnostics: Diagnostic[], tally?: EventsTally): EventsSummary {
  const first = stats.firstTsNs
  const last = stats.lastTsNs
  return {
    inputs: stats.files.map((f) => ({path: f.name, format: f.format, lines: f.lines, bytes: f.bytes})),
    format: stats.format,
    events: stats.events,
    span: {
      firstNs: first?.toString(),
      lastNs: last?.toString(),
      seconds: first !== undefined && last !== undefined ? Number(last - first) / 1e9 : undefined,
    },
    byKind: sortDesc(stats.byKind),
    byProbe: sortDesc(stats.byProbe),
    byComm: sortDesc(stats.byComm),
    byCpu: stats.byCpu,
    lost: {events: stats.lostEvents, markers: stats.lostMarkers, byCpu: stats.lostByCpu, overwritten: stats.overwritten},
    unrecognized: {lines: stats.unrecognized, examples: stats.unrecognizedExamples.map((d) => d.message)},
    stacks: tally ? tally.stacks : stats.stacks,
    diagnostics: summarizeDiagnostics([{diagnostics, counts: stats.diagnosticsByCode}]),
    ...(tally ? {markers: tally.markers.list()} : {}),
  }
}

function sortDesc(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))
}

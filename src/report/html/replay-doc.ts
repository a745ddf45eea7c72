/**
 * Section builders for the replay and compare reports. They only arrange figures the replay
 * engine already produced (per-event series, per-policy totals, final page tables); nothing is
 * recomputed here.
 */
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import {type MapEvent, type MapSection, mapColumnFromPageTables} from './map-model.js'
import type {BarGroupSection, SeriesChartSection, TableSection} from './render.js'

/** Values after each replayed event (index = event number). */
export interface ReplayTimeline {
  tableBytes: ArrayLike<number>
  tlbEntries: ArrayLike<number>
  /** Cumulative counts. */
  splits: ArrayLike<number>
  collapses: ArrayLike<number>
  /** trace_marker phases etc., at event indices (labels untrusted). */
  markers?: {x: number; label: string}[]
  /** Optional timestamp per event, for tick labels. */
  xValues?: ArrayLike<number>
}

/** Three panels sharing the event axis: table bytes; TLB entries; splits and collapses. */
export function replayTimelineSection(t: ReplayTimeline, title = 'Over the trace'): SeriesChartSection {
  return {
    kind: 'series',
    title,
    xLabel: 'events',
    xValues: t.xValues,
    markers: t.markers,
    series: [
      {name: 'table bytes', values: t.tableBytes, format: 'bytes', panel: 'bytes'},
      {name: 'TLB entries', values: t.tlbEntries, panel: 'tlb'},
      {name: 'splits (cumulative)', values: t.splits, panel: 'ops'},
      {name: 'collapses (cumulative)', values: t.collapses, panel: 'ops'},
    ],
  }
}

export interface Offender {
  /** comm, symbol, module … (untrusted) */
  who: string
  events: number
  splits: number
  collapses?: number
  /** Table bytes this caller's events added (net). */
  tableBytes?: number
}

export function offendersSection(rows: readonly Offender[], title = 'Top offenders'): TableSection {
  return {
    kind: 'table',
    title,
    columns: [{header: 'who', align: 'left'}, {header: 'events'}, {header: 'splits'}, {header: 'collapses'}, {header: 'table bytes'}],
    rows: rows.map((r) => [r.who, r.events, r.splits, r.collapses ?? '·', r.tableBytes ?? '·']),
  }
}

export interface PolicyOutcome {
  label: string
  tableBytes: number
  tlbEntries: number
  splits: number
  collapses: number
}

/** One bar group per policy: table bytes, TLB entries, splits, collapses. */
export function compareBarsSection(outcomes: readonly PolicyOutcome[], title = 'Policies compared'): BarGroupSection {
  return {
    kind: 'bars',
    title,
    metrics: [{name: 'table bytes', format: 'bytes'}, {name: 'TLB entries'}, {name: 'splits'}, {name: 'collapses'}],
    groups: outcomes.map((o) => ({label: o.label, values: [o.tableBytes, o.tlbEntries, o.splits, o.collapses]})),
  }
}

/**
 * The final maps of several policies side by side, zoomed together region by region. The byte
 * budget is shared so the page stays bounded whatever the number of policies.
 */
export function compareMapsSection(
  states: readonly {label: string; pt: PageTables; regions: readonly Region[]; events?: Iterable<MapEvent>}[],
  opts: {title?: string; budgetBytes?: number} = {},
): MapSection {
  const budget = (opts.budgetBytes ?? 3_500_000) / Math.max(1, states.length)
  return {
    kind: 'map',
    title: opts.title ?? 'Final maps side by side',
    columns: states.map((s) => mapColumnFromPageTables(s.pt, s.regions, {label: s.label, events: s.events, budgetBytes: budget})),
  }
}

/**
 * Section builders for the replay and compare reports. They only arrange figures the replay
 * engine already produced (per-event series, per-policy totals, final page tables); nothing is
 * recomputed here.
 */
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import type {ReplayOptions, Sample} from '../../replay/engine.js'
import type {Offender as ReplayOffender} from '../../replay/offenders.js'
import {fmtBytes, fmtDelta, fmtInt} from '../table.js'
import type {CompareReport} from '../compare.js'
import type {ReplayReport} from '../replay.js'
import {replayHeadline} from '../headline.js'
import {auditTableSections, captureMeta} from './audit-doc.js'
import {type MapEvent, type MapSection, mapColumnFromPageTables, mapSectionFromPageTables} from './map-model.js'
import type {BarGroupSection, HtmlReportDoc, SeriesChartSection, TableSection} from './render.js'

/** Markers kept for the chart (the rest are counted). */
const MAX_TIMELINE_MARKERS = 10_000

/**
 * What the chart needs from a replay beyond its samples, collected from the replay's callbacks:
 * the time the window starts (from there until the first call the page tables are the "before"
 * state) and the trace's markers, each with its time and the calls applied before it.
 */
export class TimelineLog {
  /** The window's start: its from-marker (the last event before it), else its first call or marker. */
  startTsNs: bigint | undefined
  private lastBeforeTsNs: bigint | undefined
  calls = 0
  readonly markers: {tsNs: bigint; calls: number; text: string}[] = []
  dropped = 0

  private mark(tsNs: bigint, text: string | undefined): void {
    if (this.markers.length >= MAX_TIMELINE_MARKERS) this.dropped++
    else this.markers.push({tsNs, calls: this.calls, text: text ?? ''})
  }

  /** Chain onto a replay's options (keeps the callbacks already there). */
  hook<T extends Pick<ReplayOptions, 'onIntent' | 'onOutsideWindow'>>(opts: T): T {
    const onIntent = opts.onIntent
    const outside = opts.onOutsideWindow
    opts.onIntent = (i, o) => {
      this.startTsNs ??= this.lastBeforeTsNs ?? i.ev.tsNs
      if (i.type === 'marker') this.mark(i.ev.tsNs, i.ev.text)
      else if (o !== undefined) this.calls++
      onIntent?.(i, o)
    }
    opts.onOutsideWindow = (ev, where) => {
      if (where === 'before') this.lastBeforeTsNs = ev.tsNs
      if (ev.kind === 'marker') this.mark(ev.tsNs, ev.text)
      outside?.(ev, where)
    }
    return opts
  }
}

/** The series over the trace, starting with the state before the first call. */
export interface ReplayTimeline {
  tableBytes: ArrayLike<number>
  tlbEntries: ArrayLike<number>
  /** Cumulative counts. */
  splits: ArrayLike<number>
  collapses: ArrayLike<number>
  /** Kernel calls applied at each point (0 for the first). */
  calls: ArrayLike<number>
  /** Trace time of each point in seconds, when the trace has timestamps. */
  seconds?: ArrayLike<number>
  /** trace_marker writes at their time (seconds) or, without timestamps, at their call count (labels untrusted). */
  markers?: {x: number; label: string}[]
}

function secondsOf(tsNs: bigint | string): number {
  const ns = BigInt(tsNs)
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9
}

/**
 * The chart's points: first the page tables the replay started from (`before`, what the text
 * report prints as "before"), placed where the window starts (the state holds until the first
 * call), then the engine's samples. The engine samples after calls and thins its samples as the trace grows, so
 * without this point the chart would start some calls in. x is trace time when the trace has
 * timestamps that advance, else the call count.
 */
export function replayTimeline(series: readonly Sample[], before: {tableBytes: number; tlbEntries: number}, log?: TimelineLog): ReplayTimeline {
  const n = series.length + 1
  const tableBytes = new Float64Array(n)
  const tlbEntries = new Float64Array(n)
  const splits = new Float64Array(n)
  const collapses = new Float64Array(n)
  const calls = new Float64Array(n)
  tableBytes[0] = before.tableBytes
  tlbEntries[0] = before.tlbEntries
  series.forEach((x, i) => {
    tableBytes[i + 1] = x.tableBytes
    tlbEntries[i + 1] = x.tlbEntries
    splits[i + 1] = x.splits
    collapses[i + 1] = x.collapses
    calls[i + 1] = x.calls
  })
  let seconds: Float64Array | undefined
  const t0 = log?.startTsNs ?? (series.length ? BigInt(series[0]!.tsNs) : undefined)
  if (t0 !== undefined && series.length && BigInt(series.at(-1)!.tsNs) > t0) {
    seconds = new Float64Array(n)
    seconds[0] = secondsOf(t0)
    // Never backwards (two inputs merged, CPUs' clocks): each point at least at the one before.
    series.forEach((x, i) => (seconds![i + 1] = Math.max(seconds![i]!, secondsOf(x.tsNs))))
  }
  const markers = log?.markers.map((m) => ({x: seconds ? secondsOf(m.tsNs) : m.calls, label: m.text}))
  return {tableBytes, tlbEntries, splits, collapses, calls, seconds, markers}
}

/** Three panels sharing the x axis (trace time, else kernel calls): table bytes; TLB entries; splits and collapses. */
export function replayTimelineSection(t: ReplayTimeline, title = 'Over the trace'): SeriesChartSection {
  return {
    kind: 'series',
    title,
    xLabel: t.seconds ? 'trace time (s)' : 'kernel calls',
    x: t.seconds ?? t.calls,
    xFormat: t.seconds ? 'seconds' : 'int',
    xAlt: t.seconds ? {name: 'kernel calls', values: t.calls} : undefined,
    markers: t.markers,
    series: [
      {name: 'table bytes', values: t.tableBytes, format: 'bytes', panel: 'bytes'},
      {name: 'TLB entries', values: t.tlbEntries, panel: 'tlb'},
      {name: 'splits (cumulative)', values: t.splits, panel: 'ops'},
      {name: 'collapses (cumulative)', values: t.collapses, panel: 'ops'},
    ],
    note: 'The first point is the page tables before the first call (the "before" column of the text report); then one point per sample the replay kept.',
  }
}

/** The replay's top offenders as the text report lists them, with the net table bytes they cost. */
export function offendersSection(rows: readonly ReplayOffender[], pageSize: number, title = 'Top offenders (by table pages they cost)'): TableSection {
  return {
    kind: 'table',
    title,
    columns: [{header: 'by', align: 'left'}, {header: 'who', align: 'left'}, {header: 'calls'}, {header: 'splits'}, {header: 'tables +'}, {header: 'tables −'}, {header: 'table bytes'}],
    rows: rows.filter((o) => o.tablePagesAllocated || o.splits || o.tablePagesFreed).map((o) => [o.by, o.name, fmtInt(o.calls), fmtInt(o.splits), fmtInt(o.tablePagesAllocated), fmtInt(o.tablePagesFreed), fmtDelta((o.tablePagesAllocated - o.tablePagesFreed) * pageSize, fmtBytes)]),
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

/** The text report's "Page tables" table: before (and the capture when rebased), after, change. */
export function replayPageTablesSection(r: ReplayReport): TableSection {
  const cap = r.capture
  return {
    kind: 'table',
    title: 'Page tables',
    columns: [{header: '', align: 'left'}, ...(cap ? [{header: 'captured'}] : []), {header: cap ? 'rebased' : 'before'}, {header: 'after'}, {header: 'change'}],
    rows: [
      ['table bytes', ...(cap ? [fmtBytes(cap.total.tableBytes)] : []), fmtBytes(r.tableBytesBefore), fmtBytes(r.tableBytesAfter), fmtDelta(r.tableBytesAfter - r.tableBytesBefore, fmtBytes)],
      ['TLB entries', ...(cap ? [fmtInt(cap.total.tlbEntries)] : []), fmtInt(r.before.total.tlbEntries), fmtInt(r.after.total.tlbEntries), fmtDelta(r.after.total.tlbEntries - r.before.total.tlbEntries)],
      ['runs', ...(cap ? [fmtInt(cap.total.runs)] : []), fmtInt(r.before.total.runs), fmtInt(r.after.total.runs), fmtDelta(r.after.total.runs - r.before.total.runs)],
    ],
    note: `table pages allocated ${fmtInt(r.tablePagesAllocated)}, freed ${fmtInt(r.tablePagesFreed)}, peak table bytes ${fmtBytes(r.peakTableBytes)}`,
  }
}

export interface ReplayHtmlInput {
  report: ReplayReport
  /** The page tables after the replay, and the regions. */
  pt: PageTables
  regions: readonly Region[]
  source: string
  kernel?: string
  version: string
  /** Markers and the first call's time, from the replay's callbacks. */
  log?: TimelineLog
}

/** replay --html: the headline, the page-table change, the chart over the trace, the offenders, the final map and tables. */
export function replayHtmlDoc(i: ReplayHtmlInput): HtmlReportDoc {
  const r = i.report
  return {
    title: `ptreplay replay — ${r.policy.name}`,
    headline: [replayHeadline({...r, policy: r.policy.name}), ...r.warnings.map((w) => `Warning: ${w}`)],
    version: i.version,
    meta: captureMeta(r.after, {source: i.source, policy: r.policy.name, kernel: i.kernel}),
    sections: [
      replayPageTablesSection(r),
      replayTimelineSection(replayTimeline(r.series, {tableBytes: r.tableBytesBefore, tlbEntries: r.before.total.tlbEntries}, i.log)),
      offendersSection(r.offenders, r.after.geometry.pageSize),
      mapSectionFromPageTables(i.pt, i.regions, {title: 'After the replay'}),
      ...auditTableSections(r.after, {titleSuffix: ' (after)'}),
    ],
  }
}

export interface CompareHtmlInput {
  report: CompareReport
  runs: readonly {label: string; pt: PageTables; report: ReplayReport}[]
  regions: readonly Region[]
  source: string
  kernel?: string
  version: string
}

/** compare --html: which policy costs least first, the bars per policy, the final maps side by side. */
export function compareHtmlDoc(i: CompareHtmlInput): HtmlReportDoc {
  const ps = i.report.policies
  const best = [...ps].sort((a, b) => a.tableBytes - b.tableBytes || a.tlbEntries - b.tlbEntries)[0]
  const base = ps[0]
  const headline =
    best && base && best !== base && best.tableBytes < base.tableBytes
      ? `Fewest page tables under ${best.label}: ${fmtBytes(best.tableBytes)} and ${fmtInt(best.tlbEntries)} TLB entries, against ${fmtBytes(base.tableBytes)} and ${fmtInt(base.tlbEntries)} under ${base.label}`
      : base
        ? `${base.label} needs the fewest page tables of the policies compared: ${fmtBytes(base.tableBytes)}, ${fmtInt(base.tlbEntries)} TLB entries`
        : 'No policy compared'
  return {
    title: `ptreplay compare — ${ps.map((p) => p.label).join(', ')}`,
    headline: [headline],
    version: i.version,
    meta: captureMeta(i.runs[0]!.report.after, {source: i.source, policy: ps.map((p) => p.label).join(', '), kernel: i.kernel}),
    sections: [
      compareBarsSection(ps.map((p) => ({label: p.label, tableBytes: p.tableBytes, tlbEntries: p.tlbEntries, splits: p.splits, collapses: p.collapses}))),
      compareMapsSection(i.runs.map((r) => ({label: r.label, pt: r.pt, regions: i.regions}))),
    ],
  }
}

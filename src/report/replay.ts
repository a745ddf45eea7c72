/**
 * The replay report: the final audit plus what the replay did, under the kernel's names, and
 * who caused it. Built from the engine's ReplayStats; rendered as text or JSON (the same object).
 */
import {emptyCounters} from '../kernel/context.js'
import {formatKva} from '../model/address.js'
import type {Region} from '../model/layout.js'
import type {PageTables} from '../model/pagetable.js'
import type {ReplayRun} from '../replay/run.js'
import type {Sample} from '../replay/engine.js'
import type {Offender} from '../replay/offenders.js'
import type {RebaseSummary} from '../replay/rebase.js'
import {type AuditReport, audit} from './audit.js'
import {replayHeadline} from './headline.js'
import {type ModelWarningsReport, modelWarningsReport, renderModelWarnings} from './model-warnings.js'
import {wrapText} from './output-style.js'
import {fmtBytes, fmtDelta, fmtInt, renderTable} from './table.js'

/** Kernel split helpers a capture may have probed as ground truth, and the counters they match. */
export const TRUTH_COUNTERS = ['split_kernel_leaf_mapping', 'split_kernel_leaf_mapping_locked', 'split_pud', 'split_pmd', 'split_contpmd', 'split_contpte'] as const

export interface ReplayReport {
  policy: {name: string; description: string; reasons: string[]; config: Record<string, unknown>}
  rebase?: RebaseSummary
  window: ReplayRun['stats']['window']
  events: {seen: number; inWindow: number; calls: number; lost: number; unrecognizedLines: number}
  /**
   * The kernel's counters for this replay, under the kernel's function names: every counter, 0 when
   * not hit, in emptyCounters() order. Only what the kernel (or a probe on it) counts; the model's
   * own warnings are `modelWarnings`.
   */
  counters: Record<string, number>
  /** Where the trace probed the kernel's own split helpers: what the kernel recorded vs what the replay predicts. */
  groundTruth?: {fn: string; recorded: number; predicted: number}[]
  tablePagesAllocated: number
  tablePagesFreed: number
  tableBytesBefore: number
  tableBytesAfter: number
  peakTableBytes: number
  errors: {counts: Record<string, number>; first: {code: string; message: string; at: string; fn: string}[]}
  callsOnUnknownMemory: number
  unknownAliasPages: number
  offenders: Offender[]
  series: Sample[]
  /** The page tables the replay started from: the policy's re-derived boot map when rebased, else the capture. */
  before: AuditReport
  after: AuditReport
  /** When rebased: the captured snapshot, as a reference (the change is measured from `before`). */
  capture?: AuditReport
  /** Signs that the trace and the snapshot do not belong together (most calls on unknown memory). */
  warnings: string[]
  /** What the model warned about, per kind: kernel WARNs it mirrors and its own notes (not counters). */
  modelWarnings: ModelWarningsReport
}

export function buildReplayReport(run: ReplayRun, start: PageTables, regions: readonly Region[]): ReplayReport {
  const s = run.stats
  // Every key of Counters in its declared order (stable --json), then any the policy adds.
  const counters: Record<string, number> = {...emptyCounters(), ...s.counters}
  const truthKeys = TRUTH_COUNTERS.filter((k) => (s.truth[k] ?? 0) > 0)
  const capture = audit(start, regions)
  const before = run.rebasedStart ? audit(run.rebasedStart, regions) : capture
  const after = audit(run.pt, regions)
  return {
    policy: {name: run.policy.name, description: run.policy.description, reasons: run.reasons, config: {...run.policy.cfg}},
    rebase: run.rebase,
    window: s.window,
    events: {
      seen: s.eventsSeen,
      inWindow: s.eventsInWindow,
      calls: s.callsApplied,
      lost: run.traceStats?.lostEvents ?? 0,
      unrecognizedLines: run.traceStats?.unrecognized ?? 0,
    },
    counters,
    groundTruth: truthKeys.length ? truthKeys.map((fn) => ({fn, recorded: s.truth[fn] ?? 0, predicted: s.counters[fn] ?? 0})) : undefined,
    tablePagesAllocated: s.tablePagesAllocated,
    tablePagesFreed: s.tablePagesFreed,
    tableBytesBefore: before.total.tableBytes,
    tableBytesAfter: after.total.tableBytes,
    peakTableBytes: s.peakTableBytes,
    errors: {counts: s.errorCounts, first: s.errors.slice(0, 10)},
    callsOnUnknownMemory: s.callsOnUnknownMemory,
    unknownAliasPages: s.unknownAliasPages,
    offenders: s.offenders,
    series: s.series,
    before,
    after,
    ...(run.rebasedStart ? {capture} : {}),
    warnings: mismatchWarnings(s.callsOnUnknownMemory, s.callsApplied, before, regions),
    modelWarnings: modelWarningsReport(run.ctx.warnings),
  }
}

/**
 * Most calls on memory the snapshot does not describe: the trace was probably captured on another
 * machine or boot (another VA size puts the linear map elsewhere; another kernel, other addresses).
 */
export function mismatchWarnings(unknown: number, calls: number, snap: AuditReport, regions: readonly Region[]): string[] {
  if (calls === 0 || unknown * 2 <= calls) return []
  const lin = regions.find((r) => r.name === 'linear')
  return [
    `${fmtInt(unknown)} of ${fmtInt(calls)} calls are on memory this snapshot does not describe: does the trace belong to it? The snapshot is ${snap.geometry.label}${lin ? `, linear map from ${formatKva(lin.start)}` : ''}; a trace from another VA size, kernel or boot has its addresses elsewhere (check version.txt and the trace's addresses).`,
  ]
}

const SPLITS = ['split_pud', 'split_pmd', 'split_contpmd', 'split_contpte']

export function renderReplayText(r: ReplayReport): string[] {
  const out: string[] = []
  out.push(...wrapText(replayHeadline({...r, policy: r.policy.name})))
  for (const w of r.warnings ?? []) out.push(...wrapText(`WARNING: ${w}`, '  '))
  out.push(`Policy: ${r.policy.name}`)
  for (const reason of r.policy.reasons) out.push(...wrapText(`  · ${reason}`, '    '))
  if (r.rebase) out.push(...wrapText(`  · rebased: ${r.rebase.note}`, '    '))
  const w = r.window
  // A marker that matches nothing never gets here: the engine throws markerNotFound() (exit 2).
  if (w.from || w.until) out.push(...wrapText(`Window: ${w.from ? `from "${w.from}"` : 'from the start'} ${w.until ? `until "${w.until}"` : 'to the end'}`, '  '))
  out.push(`Events: ${fmtInt(r.events.seen)} read, ${fmtInt(r.events.inWindow)} in the window, replayed as ${fmtInt(r.events.calls)} kernel calls` + (r.events.lost ? `; ${fmtInt(r.events.lost)} LOST in the capture` : '') + (r.events.unrecognizedLines ? `; ${fmtInt(r.events.unrecognizedLines)} unrecognized lines skipped` : ''))
  out.push('')
  out.push('Page tables')
  out.push(
    ...renderTable(
      [{header: '', align: 'left'}, ...(r.capture ? [{header: 'captured'}] : []), {header: r.capture ? 'rebased' : 'before'}, {header: 'after'}, {header: 'change'}],
      [
        ['table bytes', ...(r.capture ? [fmtBytes(r.capture.total.tableBytes)] : []), fmtBytes(r.tableBytesBefore), fmtBytes(r.tableBytesAfter), fmtDelta(r.tableBytesAfter - r.tableBytesBefore, fmtBytes)],
        ['TLB entries', ...(r.capture ? [fmtInt(r.capture.total.tlbEntries)] : []), fmtInt(r.before.total.tlbEntries), fmtInt(r.after.total.tlbEntries), fmtDelta(r.after.total.tlbEntries - r.before.total.tlbEntries)],
        ['runs', ...(r.capture ? [fmtInt(r.capture.total.runs)] : []), fmtInt(r.before.total.runs), fmtInt(r.after.total.runs), fmtDelta(r.after.total.runs - r.before.total.runs)],
      ],
    ),
  )
  if (r.capture) out.push(...wrapText(`captured: the snapshot as taken (reference); rebased: the boot map ${r.policy.name} re-derives for the same memory, which the workload starts from; change: after − rebased.`, ''))
  out.push(`table pages allocated ${fmtInt(r.tablePagesAllocated)}, freed ${fmtInt(r.tablePagesFreed)}, peak table bytes ${fmtBytes(r.peakTableBytes)}`)
  out.push('')
  const counterRows = Object.entries(r.counters)
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
  if (counterRows.length) {
    out.push('Kernel counters (the kernel function each counts)')
    const splitsFirst = [...counterRows.filter(([k]) => SPLITS.includes(k) || k.startsWith('collapse')), ...counterRows.filter(([k]) => !SPLITS.includes(k) && !k.startsWith('collapse'))]
    out.push(...renderTable([{header: 'counter', align: 'left'}, {header: 'count'}], splitsFirst.map(([k, v]) => [k, fmtInt(v)])))
    out.push('')
  }
  if (r.groundTruth) {
    out.push("Against the kernel's own split probes in the trace")
    out.push(
      ...renderTable(
        [{header: 'function', align: 'left'}, {header: 'recorded'}, {header: 'predicted'}, {header: '', align: 'left'}],
        r.groundTruth.map((g) => [g.fn, fmtInt(g.recorded), fmtInt(g.predicted), g.recorded === g.predicted ? 'exact' : `off by ${fmtDelta(g.predicted - g.recorded)}`]),
      ),
    )
    out.push('')
  }
  const errs = Object.entries(r.errors.counts)
  if (errs.length) {
    out.push(`Kernel errors the events would have hit: ${errs.map(([k, v]) => `-${k} ×${fmtInt(v)}`).join(', ')}`)
    for (const e of r.errors.first.slice(0, 5)) out.push(`  ${e.at}: ${e.message}`)
    out.push('')
  }
  if (r.callsOnUnknownMemory) out.push(...wrapText(`${fmtInt(r.callsOnUnknownMemory)} calls touched memory the snapshot does not describe (mapped after it was taken, or unmapped): applied where possible, not counted as splits.`, ''))
  if (r.unknownAliasPages)
    out.push(...wrapText(`${fmtInt(r.unknownAliasPages)} linear-alias page updates could not be applied: the trace has set_memory_* on vmalloc addresses but no __change_memory_common/update_range_prot hits naming the backing pages.`, ''))
  const mw = renderModelWarnings(r.modelWarnings)
  if (mw.length) out.push('', ...mw)
  const offenders = r.offenders.filter((o) => o.tablePagesAllocated || o.splits || o.tablePagesFreed)
  if (offenders.length) {
    out.push('')
    out.push('Top offenders (by table pages they cost)')
    out.push(
      ...renderTable(
        [{header: 'by', align: 'left'}, {header: 'who', align: 'left'}, {header: 'calls'}, {header: 'splits'}, {header: 'tables +'}, {header: 'tables −'}],
        offenders.map((o) => [o.by, o.name, fmtInt(o.calls), fmtInt(o.splits), fmtInt(o.tablePagesAllocated), fmtInt(o.tablePagesFreed)]),
      ),
    )
  }
  return out
}

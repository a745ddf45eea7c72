/**
 * verify --html: the verdict first, then one row per region (its verdict and why), the differing
 * ranges with the predicted and actual runs as ptdump lines and the call that explains each, and
 * the predicted and actual maps side by side with the differing ranges on their hover. Built
 * from the `--json` document (src/report/verify.ts words it); nothing is recomputed here.
 */
import {parseKva} from '../../model/address.js'
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import {fmtBytesExact, fmtInt, plural} from '../table.js'
import {type VerifyResult, refLine, statusText, windowText} from '../verify.js'
import {type MapEvent} from './map-model.js'
import type {HtmlReportDoc, HtmlSection, RangeListSection, TableSection} from './render.js'
import {compareMapsSection} from './replay-doc.js'

export interface VerifyHtmlInput {
  result: VerifyResult
  /** The page tables the replay predicts, over the starting snapshot's regions. */
  predicted?: {pt: PageTables; regions: readonly Region[]}
  /** The later snapshot the prediction is checked against. */
  actual: {pt: PageTables; regions: readonly Region[]}
  kernel?: string
  version: string
}

function regionsSection(v: VerifyResult): TableSection {
  return {
    kind: 'table',
    title: 'Regions',
    columns: [
      {header: 'region', align: 'left'},
      {header: 'verdict', align: 'left'},
      {header: 'differing ranges'},
      {header: 'differing bytes'},
      {header: 'not explained'},
      {header: 'explained by the dump times'},
      {header: 'why', align: 'left'},
    ],
    rows: v.regions.map((r) => [r.label, statusText(r), fmtInt(r.differingRanges), r.differingBytes ? fmtBytesExact(r.differingBytes) : '0', fmtInt(r.notExplained), fmtInt(r.dumpTimingRanges), r.reasons.join('; ') || '·']),
    note: v.regionNotes.length ? v.regionNotes.join(' ') : undefined,
  }
}

/** Per region with differences: each range with why, the predicted and actual runs as ptdump lines, and the calls around it. */
function differencesSections(v: VerifyResult): RangeListSection[] {
  return v.regions
    .filter((r) => r.differences.length)
    .map((r) => ({
      kind: 'ranges' as const,
      title: `${r.label}: ${r.differingRanges > r.differences.length ? `first ${fmtInt(r.differences.length)} of ` : ''}${plural(r.differingRanges, 'differing range')}${r.status === 'not-verifiable' ? ' (region not verifiable; differences where both sides map something)' : ''}`,
      items: r.differences.map((d) => ({
        head: `${d.start}-${d.end}  ${fmtBytesExact(d.bytes)}  (${d.cause})`,
        why: d.note,
        lines: [
          ...d.predicted.map((p) => `predicted ${p.line}`),
          ...(d.morePredicted ? [`predicted … ${fmtInt(d.morePredicted)} more run(s)`] : []),
          ...d.actual.map((a) => `actual    ${a.line}`),
          ...(d.moreActual ? [`actual    … ${fmtInt(d.moreActual)} more run(s)`] : []),
        ],
        notes: [
          d.lastTouch ? refLine('last call on it', d.lastTouch) : undefined,
          d.nearest.below ? refLine('nearest below', d.nearest.below) : undefined,
          d.nearest.above ? refLine('nearest above', d.nearest.above) : undefined,
          d.nearest.beforeWindow ? refLine('last call on it before the window', d.nearest.beforeWindow) : undefined,
          d.nearest.afterWindow ? refLine('first call on it after the window', d.nearest.afterWindow) : undefined,
        ].filter((x): x is string => x !== undefined),
      })),
      note: r.differingRanges > r.differences.length ? `${fmtInt(r.differingRanges - r.differences.length)} more not listed (--max-ranges)` : undefined,
    }))
}

function replaySection(v: VerifyResult): TableSection {
  const rows: string[][] = [
    ['window', windowText(v)],
    ['calls replayed', `${fmtInt(v.window.callsApplied)} from ${fmtInt(v.window.eventsInWindow)} of ${fmtInt(v.window.eventsSeen)} events; ${fmtInt(v.replay.callsOnUnknownMemory)} on memory the starting snapshot does not map`],
    ['policy', [v.policy, ...v.policyReasons].join('; ')],
  ]
  if (v.replay.lostEvents || v.replay.overwritten) rows.push(['lost events', `the trace lost ${fmtInt(v.replay.lostEvents)} and overwrote ${fmtInt(v.replay.overwritten)}: differences may come from them`])
  const errs = Object.entries(v.replay.errorCounts)
  if (errs.length) rows.push(['kernel errors', errs.map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ')])
  for (const g of v.groundTruth) rows.push([`${g.fn} (kernel's own probe)`, `${fmtInt(g.kernel)} in the trace, ${fmtInt(g.replay)} replayed${g.kernel === g.replay ? ' (same)' : ''}`])
  return {kind: 'table', title: 'The replay', columns: [{header: '', align: 'left'}, {header: '', align: 'left'}], rows}
}

/** The differing ranges as map events, so hovering a map cell names them. */
function differenceEvents(v: VerifyResult): MapEvent[] {
  const out: MapEvent[] = []
  for (const r of v.regions)
    for (const d of r.differences) {
      const start = parseKva(d.start)
      const end = parseKva(d.end)
      if (start !== undefined && end !== undefined) out.push({start, end, label: `differs (${d.cause}): ${d.note}`})
    }
  return out
}

export function verifyHtmlDoc(i: VerifyHtmlInput): HtmlReportDoc {
  const v = i.result
  const events = differenceEvents(v)
  const sections: HtmlSection[] = [regionsSection(v), ...differencesSections(v), replaySection(v)]
  if (i.predicted) {
    sections.push(
      compareMapsSection(
        [
          {label: 'predicted (replay)', pt: i.predicted.pt, regions: i.predicted.regions, events},
          {label: 'actual (snapshot)', pt: i.actual.pt, regions: i.actual.regions, events},
        ],
        {title: 'Predicted and actual maps'},
      ),
    )
  }
  const meta: Record<string, string> = {
    kernel: i.kernel ?? 'not recorded beside the snapshot',
    geometry: v.geometry,
    policy: v.policy,
    before: v.before,
    trace: v.traces.join(', '),
    after: v.after,
    window: windowText(v),
  }
  return {
    title: `ptreplay verify — ${v.verdict === 'match' ? 'MATCH' : 'DIFFERS'}`,
    headline: [`${v.verdict === 'match' ? 'MATCH' : 'DIFFERS'}: ${v.summary}`],
    meta,
    sections,
    version: i.version,
  }
}

/**
 * One capture under several policies: the per-policy outcome and its change against the first.
 * Built from replay reports; nothing is recomputed.
 */
import type {ReplayReport} from './replay.js'
import {wrapText} from './output-style.js'
import {fmtBytes, fmtDelta, fmtInt, renderTable} from './table.js'

export interface PolicyOutcome {
  label: string
  policy: string
  rebased?: string
  tableBytes: number
  linearTableBytes: number
  tlbEntries: number
  linearTlbEntries: number
  splits: number
  collapses: number
  tablePagesAllocated: number
  tablePagesFreed: number
  peakTableBytes: number
  errors: number
  unknownAliasPages: number
  counters: Record<string, number>
  /** The model's warnings under this policy (not kernel counters). */
  modelWarnings: ReplayReport['modelWarnings']
  /** Against the first policy. */
  delta: {tableBytes: number; tlbEntries: number; splits: number; collapses: number}
}

export interface CompareReport {
  baseline: string
  policies: PolicyOutcome[]
}

const SPLITS = ['split_pud', 'split_pmd', 'split_contpmd', 'split_contpte', 'direct_map_level2_splits', 'direct_map_level3_splits']
const COLLAPSES = ['collapse_pmd', 'collapse_pud']

function sum(rec: Record<string, number>, keys: readonly string[]): number {
  return keys.reduce((a, k) => a + (rec[k] ?? 0), 0)
}

export function buildCompareReport(runs: readonly {label: string; report: ReplayReport}[]): CompareReport {
  const outcomes = runs.map(({label, report}) => {
    const lin = report.after.regions.find((r) => r.name === 'linear')
    return {
      label,
      policy: report.policy.name,
      rebased: report.rebase?.note,
      tableBytes: report.after.total.tableBytes,
      linearTableBytes: lin?.tableBytes ?? 0,
      tlbEntries: report.after.total.tlbEntries,
      linearTlbEntries: lin?.tlbEntries ?? 0,
      // x86-cpa counts its splits as direct_map_level*_splits as well as split_*: do not double count.
      splits: report.policy.name === 'x86-cpa' ? sum(report.counters, SPLITS.slice(4)) || sum(report.counters, SPLITS.slice(0, 4)) : sum(report.counters, SPLITS.slice(0, 4)),
      collapses: sum(report.counters, COLLAPSES),
      tablePagesAllocated: report.tablePagesAllocated,
      tablePagesFreed: report.tablePagesFreed,
      peakTableBytes: report.peakTableBytes,
      errors: Object.values(report.errors.counts).reduce((a, b) => a + b, 0),
      unknownAliasPages: report.unknownAliasPages,
      counters: report.counters,
      modelWarnings: report.modelWarnings,
      delta: {tableBytes: 0, tlbEntries: 0, splits: 0, collapses: 0},
    }
  })
  const base = outcomes[0]
  if (base) {
    for (const o of outcomes) {
      o.delta = {tableBytes: o.tableBytes - base.tableBytes, tlbEntries: o.tlbEntries - base.tlbEntries, splits: o.splits - base.splits, collapses: o.collapses - base.collapses}
    }
  }
  return {baseline: base?.label ?? '', policies: outcomes}
}

export function renderCompareText(r: CompareReport): string[] {
  const out: string[] = []
  out.push(`After the replay, per policy (changes against ${r.baseline})`)
  out.push(
    ...renderTable(
      [
        {header: 'policy', align: 'left'},
        {header: 'table bytes'},
        {header: 'bytes change'},
        {header: 'TLB entries'},
        {header: 'TLB change'},
        {header: 'splits'},
        {header: 'collapses', optional: true},
        {header: 'linear tables', optional: true},
        {header: 'tables +/−', optional: true},
        {header: 'peak tables', optional: true},
        {header: 'errors', optional: true},
      ],
      r.policies.map((p) => [
        p.label,
        fmtBytes(p.tableBytes),
        fmtDelta(p.delta.tableBytes, fmtBytes),
        fmtInt(p.tlbEntries),
        fmtDelta(p.delta.tlbEntries),
        fmtInt(p.splits),
        fmtInt(p.collapses),
        fmtBytes(p.linearTableBytes),
        `+${fmtInt(p.tablePagesAllocated)}/−${fmtInt(p.tablePagesFreed)}`,
        fmtBytes(p.peakTableBytes),
        p.errors ? fmtInt(p.errors) : '·',
      ]),
    ),
  )
  const notes = r.policies.filter((p) => p.rebased || p.unknownAliasPages)
  for (const p of notes) {
    if (p.rebased) out.push(...wrapText(`  ${p.label}: ${p.rebased}`, '    '))
    if (p.unknownAliasPages) out.push(...wrapText(`  ${p.label}: ${fmtInt(p.unknownAliasPages)} linear-alias page updates unknown (no inner range calls in the trace)`, '    '))
  }
  return out
}

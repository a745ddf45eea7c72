/**
 * Human rendering of an AuditReport: one table of where the memory is mapped and how, one of
 * what it costs beside the PTE-only and ideal references, and the DirectMap summary line.
 */
import {LEAF_KINDS} from '../model/geometry.js'
import type {AuditReport, RegionAudit, TablePages} from './audit.js'
import {auditHeadline} from './headline.js'
import {wrapText} from './output-style.js'
import {fmtBytes, fmtInt, fmtPercent, renderTable} from './table.js'

const KIND_LABEL = {PUD: 'PUD', CONT_PMD: 'cont-PMD', PMD: 'PMD', CONT_PTE: 'cont-PTE', PTE: 'PTE'} as const

function tables(t: TablePages): string {
  return (['P4D', 'PUD', 'PMD', 'PTE'] as const)
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k} ${fmtInt(t[k]!)}`)
    .join(' · ')
}

export function renderAuditText(report: AuditReport, opts: {regionsWithNothing?: boolean} = {}): string[] {
  const rows = report.regions.filter((r) => opts.regionsWithNothing || r.totalMappedBytes > 0 || r.tableBytes > 0 || r.invalidBytes > 0)
  const all: RegionAudit[] = [...rows, report.total]
  const out: string[] = []
  out.push(`Geometry: ${report.geometry.label}`)
  out.push('')
  out.push('Mapped memory by leaf size')
  out.push(
    ...renderTable(
      [
        {header: 'region', align: 'left'},
        {header: 'mapped'},
        ...LEAF_KINDS.map((k) => ({header: KIND_LABEL[k], compact: dropPercent})),
        {header: 'invalid', optional: true},
        {header: 'runs', optional: true},
      ],
      all.map((r) => [
        r.label,
        fmtBytes(r.totalMappedBytes),
        ...LEAF_KINDS.map((k) => (r.mappedBytes[k] ? `${fmtBytes(r.mappedBytes[k])} (${r.mappedPercent[k] ? fmtPercent(r.mappedPercent[k]) : '<0.01%'})` : '·')),
        r.invalidBytes ? fmtBytes(r.invalidBytes) : '·',
        fmtInt(r.runs),
      ]),
    ),
  )
  out.push('')
  out.push('TLB entries (actual, and for the same memory PTE-only and ideal)')
  out.push(
    ...renderTable(
      [{header: 'region', align: 'left'}, {header: 'TLB entries'}, {header: 'PTE-only'}, {header: 'ideal'}],
      all.map((r) => [r.label, fmtInt(r.tlbEntries), fmtInt(r.pteOnly.tlbEntries), fmtInt(r.ideal.tlbEntries)]),
    ),
  )
  out.push('')
  out.push('Page tables (actual, and for the same memory PTE-only and ideal)')
  out.push(
    ...renderTable(
      [{header: 'region', align: 'left'}, {header: 'table pages', align: 'left', optional: true}, {header: 'table bytes'}, {header: 'PTE-only'}, {header: 'ideal'}],
      all.map((r) => [r.label, tables(r.tablePages), fmtBytes(r.tableBytes), fmtBytes(r.pteOnly.tableBytes), fmtBytes(r.ideal.tableBytes)]),
    ),
  )
  if (report.directMap.length) {
    out.push('')
    out.push(...wrapText('Linear map: ' + report.directMap.map((d) => `${d.label}: ${fmtInt(d.bytes / 1024)} kB`).join('  ')))
  }
  out.push('')
  out.push(...wrapText(AUDIT_LEGEND, ''))
  return out
}

/** What the columns mean, printed under the tables (and in `audit --help`). */
export const AUDIT_LEGEND =
  'runs: stretches of consecutive entries with the same level and attributes. PTE-only: the same memory mapped by base-page PTEs only (rodata=full without BBML2). ideal: the fewest leaves the attribute boundaries allow, chosen greedily as map_mem() does.'

function dropPercent(cell: string): string {
  return cell.replace(/ \([^)]*\)$/, '')
}

/** The lines before the tables: the headline, the input, and with --verbose how the geometry was inferred. */
export function auditIntro(r: AuditReport & {source: string; lines: number; geometryReason: string}, verbose = false): string[] {
  const out = [...wrapText(auditHeadline(r)), ...wrapText(`${r.source}: ${fmtInt(r.lines)} lines`)]
  if (verbose) out.push(...wrapText(`Geometry inferred: ${r.geometryReason}`))
  return out
}

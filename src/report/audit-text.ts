/**
 * Human rendering of an AuditReport: one table of where the memory is mapped and how, one of
 * what it costs beside the PTE-only and ideal references, and the DirectMap summary line.
 */
import {LEAF_KINDS} from '../model/geometry.js'
import type {AuditReport, RegionAudit, TablePages} from './audit.js'
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
      [{header: 'region', align: 'left'}, {header: 'mapped'}, ...LEAF_KINDS.map((k) => ({header: KIND_LABEL[k]})), {header: 'invalid'}, {header: 'runs'}],
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
  out.push('Cost: TLB entries and page-table pages (actual · PTE-only · ideal)')
  out.push(
    ...renderTable(
      [
        {header: 'region', align: 'left'},
        {header: 'TLB entries'},
        {header: 'PTE-only'},
        {header: 'ideal'},
        {header: 'table pages', align: 'left'},
        {header: 'table bytes'},
        {header: 'PTE-only'},
        {header: 'ideal'},
      ],
      all.map((r) => [
        r.label,
        fmtInt(r.tlbEntries),
        fmtInt(r.pteOnly.tlbEntries),
        fmtInt(r.ideal.tlbEntries),
        tables(r.tablePages),
        fmtBytes(r.tableBytes),
        fmtBytes(r.pteOnly.tableBytes),
        fmtBytes(r.ideal.tableBytes),
      ]),
    ),
  )
  if (report.directMap.length) {
    out.push('')
    out.push('Linear map: ' + report.directMap.map((d) => `${d.label}: ${fmtInt(d.bytes / 1024)} kB`).join('  '))
  }
  return out
}

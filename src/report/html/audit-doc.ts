/**
 * HTML documents built from the audit's report object (no metric is recomputed here): the map
 * of the snapshot and the audit's two tables. Replay and compare reuse auditTableSections() for
 * their final states.
 */
import {LEAF_KINDS} from '../../model/geometry.js'
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import type {AuditReport, RegionAudit, TablePages} from '../audit.js'
import {fmtBytes, fmtInt, fmtPercent} from '../table.js'
import {type MapEvent, mapSectionFromPageTables} from './map-model.js'
import type {HtmlReportDoc, TableSection} from './render.js'

const KIND_LABEL = {PUD: 'PUD', CONT_PMD: 'cont-PMD', PMD: 'PMD', CONT_PTE: 'cont-PTE', PTE: 'PTE'} as const

function tables(t: TablePages): string {
  return (['P4D', 'PUD', 'PMD', 'PTE'] as const)
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k} ${fmtInt(t[k]!)}`)
    .join(' · ')
}

/** The audit's two tables (mapped memory by leaf size; TLB and table cost beside the references). */
export function auditTableSections(report: AuditReport, opts: {regionsWithNothing?: boolean; titleSuffix?: string} = {}): TableSection[] {
  const rows = report.regions.filter((r) => opts.regionsWithNothing || r.totalMappedBytes > 0 || r.tableBytes > 0 || r.invalidBytes > 0)
  const all: RegionAudit[] = [...rows, report.total]
  const sfx = opts.titleSuffix ? ` ${opts.titleSuffix}` : ''
  return [
    {
      kind: 'table',
      title: `Mapped memory by leaf size${sfx}`,
      columns: [{header: 'region', align: 'left'}, {header: 'mapped'}, ...LEAF_KINDS.map((k) => ({header: KIND_LABEL[k]})), {header: 'invalid'}, {header: 'runs'}],
      rows: all.map((r) => [
        r.label,
        fmtBytes(r.totalMappedBytes),
        ...LEAF_KINDS.map((k) => (r.mappedBytes[k] ? `${fmtBytes(r.mappedBytes[k])} (${fmtPercent(r.mappedPercent[k])})` : '·')),
        r.invalidBytes ? fmtBytes(r.invalidBytes) : '·',
        fmtInt(r.runs),
      ]),
    },
    {
      kind: 'table',
      title: `Cost: TLB entries and page-table pages${sfx}`,
      columns: [
        {header: 'region', align: 'left'},
        {header: 'TLB entries'},
        {header: 'PTE-only'},
        {header: 'ideal'},
        {header: 'table pages', align: 'left'},
        {header: 'table bytes'},
        {header: 'PTE-only'},
        {header: 'ideal'},
      ],
      rows: all.map((r) => [
        r.label,
        fmtInt(r.tlbEntries),
        fmtInt(r.pteOnly.tlbEntries),
        fmtInt(r.ideal.tlbEntries),
        tables(r.tablePages),
        fmtBytes(r.tableBytes),
        fmtBytes(r.pteOnly.tableBytes),
        fmtBytes(r.ideal.tableBytes),
      ]),
      note: report.directMap.length ? 'Linear map: ' + report.directMap.map((d) => `${d.label}: ${fmtInt(d.bytes / 1024)} kB`).join('  ') : undefined,
    },
  ]
}

/** The capture's metadata line-up for the top of a report (values are shown escaped). */
export function captureMeta(report: Pick<AuditReport, 'geometry'>, extra: {kernel?: string; policy?: string; source?: string; [k: string]: string | undefined}): Record<string, string> {
  const g = report.geometry
  const meta: Record<string, string> = {}
  meta.kernel = extra.kernel ?? 'not recorded in a ptdump'
  meta.granule = `${g.pageSize / 1024}K`
  meta['VA bits'] = String(g.vaBits)
  meta.levels = String(g.levels)
  meta.policy = extra.policy ?? 'none (snapshot)'
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && !['kernel', 'policy'].includes(k)) meta[k] = v
  return meta
}

export interface AuditHtmlInput {
  report: AuditReport
  pt: PageTables
  regions: readonly Region[]
  source: string
  version: string
  kernel?: string
  /** Extra metadata rows (era, geometry inference, lines …). */
  meta?: Record<string, string>
  events?: Iterable<MapEvent>
}

export function auditHtmlDoc(input: AuditHtmlInput): HtmlReportDoc {
  return {
    title: `ptreplay audit — ${input.source}`,
    meta: captureMeta(input.report, {kernel: input.kernel, source: input.source, ...input.meta}),
    sections: [mapSectionFromPageTables(input.pt, input.regions, {events: input.events}), ...auditTableSections(input.report)],
    version: input.version,
  }
}

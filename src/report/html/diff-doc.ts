/**
 * diff --html: what changed first (one line), then one row per region (splits, collapses,
 * permission changes, mapped/unmapped bytes, table pages), what the change cost (table bytes, TLB
 * entries of each snapshot, from their audits), the first changed ranges as ptdump lines, and the
 * two maps side by side with the changed ranges on their hover. Built from the `--json` document
 * (src/report/diff.ts); nothing is recomputed here but the two audits.
 */
import {parseKva} from '../../model/address.js'
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import {type AuditReport, audit} from '../audit.js'
import type {RegionDiff, SnapshotDiff} from '../diff.js'
import {fmtBytes, fmtBytesExact, fmtDelta, fmtInt, plural} from '../table.js'
import {type MapEvent} from './map-model.js'
import type {HtmlReportDoc, HtmlSection, RangeListSection, TableSection} from './render.js'
import {compareMapsSection} from './replay-doc.js'

export interface DiffSnapshotInput {
  pt: PageTables
  regions: readonly Region[]
}

export interface DiffHtmlInput {
  diff: SnapshotDiff
  a: DiffSnapshotInput
  b: DiffSnapshotInput
  kernel?: string
  version: string
}

const sum = (rec: Record<string, number>): number => Object.values(rec).reduce((s, v) => s + v, 0)

function listOf(rec: Record<string, number>): string {
  const parts = Object.entries(rec)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${fmtInt(v)}`)
  return parts.length ? parts.join(', ') : '·'
}

/** "17 changed ranges (1.1 GiB) in Linear map, Modules, vmalloc: 15 splits, 0 collapses, permissions changed on 1.04 MiB, …; table pages +15 −0". */
export function diffHeadline(d: SnapshotDiff): string {
  const changed = d.regions.filter((r) => !r.same)
  if (!changed.length) return 'No change: both snapshots hold the same entries in every region'
  const ranges = changed.reduce((s, r) => s + r.changedRanges, 0)
  const bytes = changed.reduce((s, r) => s + r.changedBytes, 0)
  const splits = changed.reduce((s, r) => s + sum(r.splits), 0)
  const collapses = changed.reduce((s, r) => s + sum(r.collapses), 0)
  const perm = changed.reduce((s, r) => s + r.permissionChanges.reduce((a, p) => a + p.bytes, 0), 0)
  const mapped = changed.reduce((s, r) => s + r.mappedBytes, 0)
  const unmapped = changed.reduce((s, r) => s + r.unmappedBytes, 0)
  let added = 0
  let freed = 0
  for (const r of changed) {
    for (const t of Object.values(r.tablePages)) {
      added += t.added
      freed += t.freed
    }
  }
  const what = [
    `${fmtInt(splits)} split${splits === 1 ? '' : 's'}`,
    `${fmtInt(collapses)} collapse${collapses === 1 ? '' : 's'}`,
    ...(perm ? [`permissions changed on ${fmtBytes(perm)}`] : []),
    ...(mapped ? [`${fmtBytes(mapped)} mapped`] : []),
    ...(unmapped ? [`${fmtBytes(unmapped)} unmapped`] : []),
  ]
  return `${plural(ranges, 'changed range')} (${fmtBytes(bytes)}) in ${changed.map((r) => r.label).join(', ')}: ${what.join(', ')}; table pages +${fmtInt(added)} −${fmtInt(freed)}`
}

function regionsSection(d: SnapshotDiff): TableSection {
  return {
    kind: 'table',
    title: 'Regions',
    columns: [
      {header: 'region', align: 'left'},
      {header: 'changed ranges'},
      {header: 'changed bytes'},
      {header: 'splits', align: 'left'},
      {header: 'collapses', align: 'left'},
      {header: 'permission changes', align: 'left'},
      {header: 'mapped'},
      {header: 'unmapped'},
      {header: 'table pages', align: 'left'},
    ],
    rows: d.regions.map((r) => [
      r.label,
      r.same ? 'unchanged' : fmtInt(r.changedRanges),
      r.changedBytes ? fmtBytesExact(r.changedBytes) : '0',
      listOf(r.splits),
      listOf(r.collapses),
      r.permissionChanges.map((p) => `${p.change}: ${fmtBytesExact(p.bytes)} in ${plural(p.ranges, 'range')}`).join('; ') || '·',
      r.mappedBytes ? fmtBytesExact(r.mappedBytes) : '·',
      r.unmappedBytes ? fmtBytesExact(r.unmappedBytes) : '·',
      Object.entries(r.tablePages)
        .filter(([, t]) => t.added || t.freed)
        .map(([k, t]) => `${k} ${fmtInt(t.a)} → ${fmtInt(t.b)} (+${fmtInt(t.added)} −${fmtInt(t.freed)})`)
        .join(', ') || '·',
    ]),
    note: d.regionNotes.length ? d.regionNotes.join(' ') : undefined,
  }
}

/** Table bytes and TLB entries of each snapshot (their audits), per region with anything mapped, and in total. */
function costSection(a: AuditReport, b: AuditReport): TableSection {
  const names = [...new Set([...a.regions, ...b.regions].filter((r) => r.totalMappedBytes > 0 || r.tableBytes > 0).map((r) => r.name))]
  const pick = (rep: AuditReport, name: string) => rep.regions.find((r) => r.name === name)
  const rows = [...names.map((n) => [pick(a, n) ?? pick(b, n)!, pick(a, n), pick(b, n)] as const), [a.total, a.total, b.total] as const].map(([label, x, y]) => [
    label.label,
    fmtBytes(x?.tableBytes ?? 0),
    fmtBytes(y?.tableBytes ?? 0),
    fmtDelta((y?.tableBytes ?? 0) - (x?.tableBytes ?? 0), fmtBytes),
    fmtInt(x?.tlbEntries ?? 0),
    fmtInt(y?.tlbEntries ?? 0),
    fmtDelta((y?.tlbEntries ?? 0) - (x?.tlbEntries ?? 0)),
  ])
  return {
    kind: 'table',
    title: 'What it cost',
    columns: [{header: 'region', align: 'left'}, {header: 'table bytes (first)'}, {header: 'table bytes (second)'}, {header: 'change'}, {header: 'TLB entries (first)'}, {header: 'TLB entries (second)'}, {header: 'change'}],
    rows,
  }
}

function rangesSection(r: RegionDiff): RangeListSection {
  return {
    kind: 'ranges',
    title: `${r.label}: ${r.changedRanges > r.ranges.length ? `first ${fmtInt(r.ranges.length)} of ` : ''}${plural(r.changedRanges, 'changed range')}`,
    items: r.ranges.map((c) => ({
      head: `${c.start}-${c.end}  ${fmtBytesExact(c.bytes)}`,
      why: c.kinds.join(', '),
      lines: [...c.a.map((x) => `- ${x.line}`), ...(c.moreA ? [`- … ${fmtInt(c.moreA)} more run(s)`] : []), ...c.b.map((x) => `+ ${x.line}`), ...(c.moreB ? [`+ … ${fmtInt(c.moreB)} more run(s)`] : [])],
    })),
    note: r.changedRanges > r.ranges.length ? `${fmtInt(r.changedRanges - r.ranges.length)} more not listed (--max-ranges)` : undefined,
  }
}

function changeEvents(d: SnapshotDiff): MapEvent[] {
  const out: MapEvent[] = []
  for (const r of d.regions)
    for (const c of r.ranges) {
      const start = parseKva(c.start)
      const end = parseKva(c.end)
      if (start !== undefined && end !== undefined) out.push({start, end, label: `changed: ${c.kinds.join(', ')}`})
    }
  return out
}

export function diffHtmlDoc(i: DiffHtmlInput): HtmlReportDoc {
  const d = i.diff
  const events = changeEvents(d)
  const sections: HtmlSection[] = [
    regionsSection(d),
    costSection(audit(i.a.pt, i.a.regions), audit(i.b.pt, i.b.regions)),
    ...d.regions.filter((r) => r.ranges.length).map(rangesSection),
    compareMapsSection(
      [
        {label: 'first snapshot', pt: i.a.pt, regions: i.a.regions, events},
        {label: 'second snapshot', pt: i.b.pt, regions: i.b.regions, events},
      ],
      {title: 'The two maps'},
    ),
  ]
  return {
    title: `ptreplay diff — ${d.same ? 'unchanged' : 'changed'}`,
    headline: [diffHeadline(d)],
    meta: {kernel: i.kernel ?? 'not recorded beside the snapshot', geometry: d.geometry, first: d.a, second: d.b},
    sections,
    version: i.version,
  }
}

/** `diff`'s text: per region the splits, collapses, permission changes and table pages, then the first changed ranges. */
import type {SnapshotDiff} from './diff.js'
import {fmtBytesExact, fmtInt, plural} from './table.js'

function nonZero<K extends string>(rec: Record<K, number>): [K, number][] {
  return (Object.entries(rec) as [K, number][]).filter(([, v]) => v !== 0)
}

/** Human-readable diff, one string per line. */
export function renderDiffText(d: SnapshotDiff): string[] {
  const out: string[] = []
  out.push(`diff: ${d.a} → ${d.b} (${d.geometry})`)
  for (const n of d.regionNotes) out.push(`note: ${n}`)
  const w = Math.max(...d.regions.map((r) => r.label.length))
  for (const r of d.regions) {
    if (r.same) {
      out.push(`  ${r.label.padEnd(w)}  unchanged`)
      continue
    }
    out.push(`  ${r.label.padEnd(w)}  ${plural(r.changedRanges, 'changed range')}, ${fmtBytesExact(r.changedBytes)}`)
    const pad = `  ${' '.repeat(w)}    `
    const splits = nonZero(r.splits)
    if (splits.length) out.push(`${pad}splits: ${splits.map(([k, v]) => `${k} ${v}`).join(', ')}`)
    const coll = nonZero(r.collapses)
    if (coll.length) out.push(`${pad}collapses: ${coll.map(([k, v]) => `${k} ${v}`).join(', ')}`)
    for (const p of r.permissionChanges) out.push(`${pad}permissions ${p.change}: ${fmtBytesExact(p.bytes)} in ${plural(p.ranges, 'range')} (${p.from} → ${p.to})`)
    if (r.mappedRanges) out.push(`${pad}mapped: ${fmtBytesExact(r.mappedBytes)} in ${plural(r.mappedRanges, 'range')}`)
    if (r.unmappedRanges) out.push(`${pad}unmapped: ${fmtBytesExact(r.unmappedBytes)} in ${plural(r.unmappedRanges, 'range')}`)
    const tables = Object.entries(r.tablePages).filter(([, t]) => t.added || t.freed)
    if (tables.length) out.push(`${pad}table pages: ${tables.map(([k, t]) => `${k} ${t.a}→${t.b} (+${t.added} −${t.freed})`).join(', ')}`)
  }
  for (const r of d.regions) {
    if (!r.ranges.length) continue
    out.push('')
    out.push(`${r.label}: first ${fmtInt(r.ranges.length)} of ${plural(r.changedRanges, 'changed range')}`)
    for (const c of r.ranges) {
      out.push(`  ${c.start}-${c.end} ${fmtBytesExact(c.bytes)}: ${c.kinds.join(', ')}`)
      for (const x of c.a) out.push(`    - ${x.line}`)
      if (c.moreA) out.push(`    - … ${c.moreA} more run(s)`)
      for (const x of c.b) out.push(`    + ${x.line}`)
      if (c.moreB) out.push(`    + … ${c.moreB} more run(s)`)
    }
  }
  return out
}

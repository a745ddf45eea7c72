/**
 * The one or two lines that answer the question before any table: how the linear map is mapped
 * and what it costs against the fewest leaves its attribute boundaries allow (audit), and what
 * the replayed workload did to it (replay).
 */
import type {AuditReport, RegionAudit} from './audit.js'
import {fmtBytes, fmtInt} from './table.js'

function mainRegion(r: AuditReport): RegionAudit {
  const linear = r.regions.find((x) => x.name === 'linear')
  return linear && linear.totalMappedBytes > 0 ? linear : r.total
}

/** "Linear map 99 % PTE-mapped: 3.97 MiB of tables where 32 KiB would do; 519,178 TLB entries where 369 would do". */
export function auditHeadline(r: AuditReport): string {
  const reg = mainRegion(r)
  const mapped = reg.totalMappedBytes
  if (!mapped) return `${reg.label}: nothing mapped`
  const pte = ((reg.mappedBytes.PTE + reg.mappedBytes.CONT_PTE) / mapped) * 100
  const shape = pte >= 50 ? `${Math.floor(pte)} % PTE-mapped` : `${Math.floor(100 - pte)} % block-mapped`
  const tables = reg.tableBytes > reg.ideal.tableBytes ? `${fmtBytes(reg.tableBytes)} of tables where ${fmtBytes(reg.ideal.tableBytes)} would do` : `${fmtBytes(reg.tableBytes)} of tables, the fewest its attributes allow`
  const tlb = reg.tlbEntries > reg.ideal.tlbEntries ? `${fmtInt(reg.tlbEntries)} TLB entries where ${fmtInt(reg.ideal.tlbEntries)} would do` : `${fmtInt(reg.tlbEntries)} TLB entries, the fewest possible`
  return `${reg.label} ${shape}: ${tables}; ${tlb}`
}

/** "Under bbml2 the workload took page tables from 120 KiB to 300 KiB and TLB entries from 1,025 to 25,783 (45 PMD splits)". */
export function replayHeadline(p: {policy: string; before: AuditReport; after: AuditReport; tableBytesBefore: number; tableBytesAfter: number; counters: Record<string, number>}): string {
  const tb = p.tableBytesBefore === p.tableBytesAfter ? `page tables stay ${fmtBytes(p.tableBytesAfter)}` : `page tables ${fmtBytes(p.tableBytesBefore)} → ${fmtBytes(p.tableBytesAfter)}`
  const a = p.before.total.tlbEntries
  const b = p.after.total.tlbEntries
  const tlb = a === b ? `TLB entries stay ${fmtInt(b)}` : `TLB entries ${fmtInt(a)} → ${fmtInt(b)}`
  const splits = ['split_pud', 'split_pmd', 'split_contpmd', 'split_contpte'].reduce((s, k) => s + (p.counters[k] ?? 0), 0)
  const collapses = Object.entries(p.counters).filter(([k]) => k.startsWith('collapse')).reduce((s, [, v]) => s + v, 0)
  const acts = [splits ? `${fmtInt(splits)} splits` : 'no splits', ...(collapses ? [`${fmtInt(collapses)} collapses`] : [])].join(', ')
  return `Under ${p.policy}: ${tb}; ${tlb}; ${acts}`
}

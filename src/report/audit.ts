/**
 * The audit: what a page-table state costs, per region and in total, beside two reference points
 * for the same mapped memory:
 *   - pteOnly: every mapped byte by a non-contiguous PTE (rodata=full without BBML2, ≤ 6.17);
 *   - ideal:   the fewest leaves the attribute boundaries allow — each maximal range of equal
 *              prot decomposed greedily the way map_mem() would (PUD, cont-PMD, PMD, cont-PTE, PTE
 *              by alignment). It assumes PA alignment follows VA, which holds for the linear map
 *              (PA = VA − PAGE_OFFSET + memstart_addr) and is an optimistic bound elsewhere.
 * One walk over the model's runs per region; no per-page state.
 */
import {type Kva, KVA_END, alignDown, alignUp, formatKva} from '../model/address.js'
import {type Geometry, type LeafKind, LEAF_KINDS, lvlName} from '../model/geometry.js'
import type {Region, RegionName} from '../model/layout.js'
import {REGION_LABELS} from '../model/layout.js'
import {HOLE, type LeafTotals, type PageTables, type Run, TableCounter, accumulate, emptyTotals} from '../model/pagetable.js'
import {P_VALID} from '../model/prot.js'

/** Table pages keyed by the level of the entries they hold ("PTE" tables hold PTEs). */
export type TablePages = Partial<Record<'P4D' | 'PUD' | 'PMD' | 'PTE', number>>

export interface CostFigures {
  tlbEntries: number
  tablePages: TablePages
  tableBytes: number
}

export interface RegionAudit extends CostFigures {
  name: RegionName | 'total'
  label: string
  /** Kernel VA bounds as 0x… strings (absent for the total). */
  start?: string
  end?: string
  /** Valid mapped bytes by leaf kind. */
  mappedBytes: Record<LeafKind, number>
  totalMappedBytes: number
  /** Bytes of invalid (non-present or present-invalid) leaves, e.g. KFENCE guard pages. */
  invalidBytes: number
  /** Share of totalMappedBytes per leaf kind, 0..100. */
  mappedPercent: Record<LeafKind, number>
  /** Number of maximal runs (distinct attribute/level stretches) in the region. */
  runs: number
  pteOnly: CostFigures
  ideal: CostFigures & {mappedBytes: Record<LeafKind, number>}
}

export interface DirectMapLine {
  /** e.g. "DirectMap4k" */
  label: string
  kind: LeafKind
  bytes: number
}

export interface AuditReport {
  geometry: {pageSize: number; vaBits: number; levels: number; label: string}
  regions: RegionAudit[]
  total: RegionAudit
  /** arm64 equivalents of x86's /proc/meminfo DirectMap4k/2M/1G, for the linear map. */
  directMap: DirectMapLine[]
}

function tablePagesRecord(geo: Geometry, counts: readonly number[]): TablePages {
  const out: TablePages = {}
  for (let l = counts.length - 1; l >= 0; l--) {
    const name = lvlName(geo, l) as 'P4D' | 'PUD' | 'PMD' | 'PTE'
    out[name] = counts[l]!
  }
  return out
}

function figures(geo: Geometry, tlbEntries: number, counts: readonly number[]): CostFigures {
  const pages = counts.reduce((a, b) => a + b, 0)
  return {tlbEntries, tablePages: tablePagesRecord(geo, counts), tableBytes: pages * geo.pageSize}
}

/** Leaf shapes from largest to smallest that a greedy mapping may use (map_mem order). */
function shapes(geo: Geometry): {lvl: number; cont: boolean; size: number}[] {
  const out: {lvl: number; cont: boolean; size: number}[] = []
  if (geo.pudBlocks) out.push({lvl: 2, cont: false, size: geo.entrySize[2]!})
  out.push({lvl: 1, cont: true, size: geo.contPmdSize})
  out.push({lvl: 1, cont: false, size: geo.entrySize[1]!})
  out.push({lvl: 0, cont: true, size: geo.contPteSize})
  out.push({lvl: 0, cont: false, size: geo.pageSize})
  return out
}

/**
 * Greedy decomposition of [start, end) into the largest aligned leaves, as runs (at most a few per
 * shape: head, middle, tail). Both bounds must be page aligned.
 */
export function decomposeRange(geo: Geometry, start: Kva, end: Kva, prot: number, from = 0, out: Run[] = []): Run[] {
  const sh = shapes(geo)
  const rec = (s: Kva, e: Kva, i: number): void => {
    if (s >= e) return
    const {lvl, cont, size} = sh[i]!
    const a = alignUp(s, size)
    const b = alignDown(e, size)
    if (i === sh.length - 1 || a >= b) {
      if (i === sh.length - 1) out.push({start: s, end: e, lvl, cont, prot, flags: 0})
      else rec(s, e, i + 1)
      return
    }
    rec(s, a, i + 1)
    out.push({start: a, end: b, lvl, cont, prot, flags: 0})
    rec(b, e, i + 1)
  }
  rec(start, end, from)
  return out
}

/** Audit the runs of one address range: one pass, streaming counters, no per-run copies kept. */
export function auditRange(pt: PageTables, start: Kva, end: Kva): Omit<RegionAudit, 'name' | 'label'> {
  const geo = pt.geo
  const totals: LeafTotals = emptyTotals()
  const idealTotals = emptyTotals()
  const actualTables = new TableCounter(geo)
  const pteOnlyTables = new TableCounter(geo)
  const idealTables = new TableCounter(geo)
  let runs = 0
  // A pending stretch of equal valid prot, for the ideal decomposition.
  let pendStart = -1
  let pendEnd = -1
  let pendProt = 0
  const flushIdeal = (): void => {
    if (pendStart < 0) return
    for (const r of decomposeRange(geo, pendStart, pendEnd, pendProt)) {
      idealTables.add(r.start, r.end, r.lvl)
      accumulate(geo, idealTotals, r)
    }
    pendStart = -1
  }
  for (const r of pt.runs(start, end)) {
    runs++
    accumulate(geo, totals, r)
    actualTables.add(r.start, r.end, r.lvl, r.flags)
    if (r.prot !== HOLE && (r.prot & P_VALID) !== 0) {
      pteOnlyTables.add(r.start, r.end, 0, r.flags)
      if (pendStart >= 0 && pendEnd === r.start && pendProt === r.prot) {
        pendEnd = r.end
      } else {
        flushIdeal()
        pendStart = r.start
        pendEnd = r.end
        pendProt = r.prot
      }
    } else {
      flushIdeal()
    }
  }
  flushIdeal()
  const total = LEAF_KINDS.reduce((a, k) => a + totals.mappedBytes[k], 0)
  const pct = {} as Record<LeafKind, number>
  for (const k of LEAF_KINDS) pct[k] = total ? Math.round((totals.mappedBytes[k] / total) * 10000) / 100 : 0
  return {
    ...figures(geo, totals.tlbEntries, actualTables.counts),
    mappedBytes: totals.mappedBytes,
    totalMappedBytes: total,
    invalidBytes: totals.invalidBytes,
    mappedPercent: pct,
    runs,
    pteOnly: figures(geo, total / geo.pageSize, pteOnlyTables.counts),
    ideal: {...figures(geo, idealTotals.tlbEntries, idealTables.counts), mappedBytes: idealTotals.mappedBytes},
  }
}

/** DirectMap labels per granule: the size one leaf kind maps. */
export function directMapLabel(geo: Geometry, kind: LeafKind): string {
  const size = {
    PTE: geo.pageSize,
    CONT_PTE: geo.contPteSize,
    PMD: geo.entrySize[1]!,
    CONT_PMD: geo.contPmdSize,
    PUD: geo.entrySize[2] ?? 0,
  }[kind]
  const units = ['k', 'M', 'G', 'T']
  let v = size / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `DirectMap${v}${units[u]}`
}

export function audit(pt: PageTables, regions: readonly Region[]): AuditReport {
  const geo = pt.geo
  const out: RegionAudit[] = []
  for (const reg of regions) {
    out.push({name: reg.name, label: REGION_LABELS[reg.name], ...withBounds(reg), ...auditRange(pt, reg.start, reg.end)})
  }
  const total: RegionAudit = {name: 'total', label: 'Total', ...auditRange(pt, 0, KVA_END)}
  const linear = out.find((r) => r.name === 'linear')
  const directMap: DirectMapLine[] = []
  if (linear) {
    for (const kind of ['PTE', 'CONT_PTE', 'PMD', 'CONT_PMD', 'PUD'] as const) {
      if (kind === 'PUD' && !geo.pudBlocks) continue
      directMap.push({label: directMapLabel(geo, kind), kind, bytes: linear.mappedBytes[kind]})
    }
  }
  return {
    geometry: {pageSize: geo.pageSize, vaBits: geo.vaBits, levels: geo.levels, label: geo.label},
    regions: out,
    total,
    directMap,
  }
}

function withBounds(reg: Region): {start: string; end: string} {
  return {start: formatKva(reg.start), end: formatKva(reg.end)}
}

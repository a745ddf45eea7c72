/**
 * The audit: what a page-table state costs, per region and in total, beside two reference points
 * for the same mapped memory:
 *   - pteOnly: every mapped byte by a non-contiguous PTE (rodata=full without BBML2, ≤ 6.17);
 *   - ideal:   the fewest leaves the attribute boundaries allow — each maximal range of equal
 *              prot mapped with __create_pgd_mapping()'s leaf choice (src/kernel/leaf-choice.ts:
 *              PUD, cont-PMD, PMD, cont-PTE, PTE by alignment). It assumes PA alignment follows VA, which holds for the linear map
 *              (PA = VA − PAGE_OFFSET + memstart_addr) and is an optimistic bound elsewhere.
 * One walk over the model's runs per region; no per-page state.
 */
import {type Kva, KVA_END, formatKva} from '../model/address.js'
import {type Geometry, type LeafKind, LEAF_KINDS, lvlName} from '../model/geometry.js'
import type {Region, RegionName} from '../model/layout.js'
import {REGION_LABELS} from '../model/layout.js'
import {type PageTables} from '../model/pagetable.js'
import {type LeafTotals, accumulate, emptyTotals} from '../model/leaf-totals.js'
import {HOLE, type Run} from '../model/run.js'
import {TableCounter} from '../model/table-counter.js'
import {P_VALID} from '../model/prot.js'
import {type LeafShape, type LeafSink, decompose, leafShapes} from '../kernel/leaf-choice.js'

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

/** Streaming audit of one address range: feed runs in order, then finish(). */
class RangeAudit {
  private readonly totals: LeafTotals = emptyTotals()
  private readonly idealTotals: LeafTotals = emptyTotals()
  private readonly actualTables: TableCounter
  private readonly pteOnlyTables: TableCounter
  private readonly idealTables: TableCounter
  private readonly sh: LeafShape[]
  private runs = 0
  // A pending stretch of equal valid prot, for the ideal decomposition.
  private pendStart = -1
  private pendEnd = -1
  private pendProt = 0
  private readonly sink: LeafSink

  constructor(private readonly geo: Geometry) {
    this.actualTables = new TableCounter(geo)
    this.pteOnlyTables = new TableCounter(geo)
    this.idealTables = new TableCounter(geo)
    this.sh = leafShapes(geo)
    const leaf = {start: 0, end: 0, lvl: 0, cont: false, prot: 0}
    this.sink = (s, e, lvl, cont) => {
      this.idealTables.add(s, e, lvl)
      leaf.start = s
      leaf.end = e
      leaf.lvl = lvl
      leaf.cont = cont
      leaf.prot = this.pendProt
      accumulate(this.geo, this.idealTotals, leaf)
    }
  }

  private flushIdeal(): void {
    if (this.pendStart < 0) return
    decompose(this.sh, this.pendStart, this.pendEnd, 0, this.sink)
    this.pendStart = -1
  }

  add(start: Kva, end: Kva, r: Run): void {
    this.runs++
    const c = start === r.start && end === r.end ? r : {...r, start, end}
    accumulate(this.geo, this.totals, c)
    this.actualTables.add(start, end, r.lvl, r.flags)
    if (r.prot !== HOLE && (r.prot & P_VALID) !== 0) {
      this.pteOnlyTables.add(start, end, 0, r.flags)
      if (this.pendStart >= 0 && this.pendEnd === start && this.pendProt === r.prot) {
        this.pendEnd = end
      } else {
        this.flushIdeal()
        this.pendStart = start
        this.pendEnd = end
        this.pendProt = r.prot
      }
    } else {
      this.flushIdeal()
    }
  }

  finish(): Omit<RegionAudit, 'name' | 'label'> {
    this.flushIdeal()
    const geo = this.geo
    const totals = this.totals
    const total = LEAF_KINDS.reduce((a, k) => a + totals.mappedBytes[k], 0)
    const pct = {} as Record<LeafKind, number>
    for (const k of LEAF_KINDS) pct[k] = total ? Math.round((totals.mappedBytes[k] / total) * 10000) / 100 : 0
    return {
      ...figures(geo, totals.tlbEntries, this.actualTables.counts),
      mappedBytes: totals.mappedBytes,
      totalMappedBytes: total,
      invalidBytes: totals.invalidBytes,
      mappedPercent: pct,
      runs: this.runs,
      pteOnly: figures(geo, total / geo.pageSize, this.pteOnlyTables.counts),
      ideal: {...figures(geo, this.idealTotals.tlbEntries, this.idealTables.counts), mappedBytes: this.idealTotals.mappedBytes},
    }
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

/**
 * Audit every region and the total in one walk over the runs: each run feeds the total and the
 * regions it overlaps (clipped to each).
 */
export function audit(pt: PageTables, regions: readonly Region[]): AuditReport {
  const geo = pt.geo
  const order = regions.map((reg, i) => ({reg, i, acc: new RangeAudit(geo)})).sort((x, y) => x.reg.start - y.reg.start)
  const whole = new RangeAudit(geo)
  let first = 0
  // One reused run object: the walk allocates nothing per run.
  const r: Run = {start: 0, end: 0, lvl: 0, cont: false, prot: 0, flags: 0}
  pt.forEachRun(0, KVA_END, (start, end, lvl, cont, prot, flags) => {
    r.start = start
    r.end = end
    r.lvl = lvl
    r.cont = cont
    r.prot = prot
    r.flags = flags
    whole.add(r.start, r.end, r)
    while (first < order.length && order[first]!.reg.end <= r.start) first++
    for (let j = first; j < order.length && order[j]!.reg.start < r.end; j++) {
      const {reg, acc} = order[j]!
      if (reg.end <= r.start) continue
      acc.add(Math.max(r.start, reg.start), Math.min(r.end, reg.end), r)
    }
  })
  const out: RegionAudit[] = order
    .sort((x, y) => x.i - y.i)
    .map(({reg, acc}) => ({name: reg.name, label: REGION_LABELS[reg.name], ...withBounds(reg), ...acc.finish()}))
  const total: RegionAudit = {name: 'total', label: 'Total', ...whole.finish()}
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

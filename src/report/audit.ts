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
import {type Geometry, type LeafKind, LEAF_KINDS, lvlName, tlbReach} from '../model/geometry.js'
import type {Region, RegionName} from '../model/layout.js'
import {REGION_LABELS} from '../model/layout.js'
import {type PageTables} from '../model/pagetable.js'
import {HOLE} from '../model/run.js'
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

/** Index into LEAF_KINDS of a leaf's kind (leafKind()), for per-kind sums in arrays. */
function kindIndex(lvl: number, cont: boolean): number {
  if (lvl === 0) return cont ? 3 : 4
  if (lvl === 1) return cont ? 1 : 2
  return 0
}

function byKind(sums: readonly number[]): Record<LeafKind, number> {
  return {PUD: sums[0]!, CONT_PMD: sums[1]!, PMD: sums[2]!, CONT_PTE: sums[3]!, PTE: sums[4]!}
}

/**
 * Streaming audit of one address range: feed runs in order as scalars, then finish(). Per run it
 * allocates nothing: sums per leaf kind live in arrays, the ideal decomposition reports its leaves
 * to one sink made once.
 */
class RangeAudit {
  /** Valid mapped bytes per leaf kind (LEAF_KINDS order), invalid bytes, TLB entries (accumulate()'s sums). */
  private readonly mapped = [0, 0, 0, 0, 0]
  private invalid = 0
  private tlb = 0
  private readonly idealMapped = [0, 0, 0, 0, 0]
  private idealTlb = 0
  /** tlbReach() per kindIndex(). */
  private readonly reach: number[]
  private readonly leafLevels: number
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
    this.leafLevels = geo.levels - 1
    this.reach = [tlbReach(geo, 2, false), tlbReach(geo, 1, true), tlbReach(geo, 1, false), tlbReach(geo, 0, true), tlbReach(geo, 0, false)]
    this.sink = (s, e, lvl, cont) => {
      this.idealTables.add(s, e, lvl, 0)
      const k = kindIndex(lvl, cont)
      this.idealMapped[k]! += e - s
      this.idealTlb += (e - s) / this.reach[k]!
    }
  }

  private flushIdeal(): void {
    if (this.pendStart < 0) return
    decompose(this.sh, this.pendStart, this.pendEnd, 0, this.sink)
    this.pendStart = -1
  }

  add(start: Kva, end: Kva, lvl: number, cont: boolean, prot: number, flags: number): void {
    this.runs++
    // accumulate() (model/leaf-totals.ts) on scalars
    if (prot !== HOLE && !(lvl >= this.leafLevels && lvl > 2)) {
      if ((prot & P_VALID) === 0) this.invalid += end - start
      else {
        const k = kindIndex(lvl, cont)
        this.mapped[k]! += end - start
        this.tlb += (end - start) / this.reach[k]!
      }
    }
    this.actualTables.add(start, end, lvl, flags)
    if (prot !== HOLE && (prot & P_VALID) !== 0) {
      this.pteOnlyTables.add(start, end, 0, flags)
      if (this.pendStart >= 0 && this.pendEnd === start && this.pendProt === prot) {
        this.pendEnd = end
      } else {
        this.flushIdeal()
        this.pendStart = start
        this.pendEnd = end
        this.pendProt = prot
      }
    } else {
      this.flushIdeal()
    }
  }

  finish(): Omit<RegionAudit, 'name' | 'label'> {
    this.flushIdeal()
    const geo = this.geo
    const mapped = byKind(this.mapped)
    const total = LEAF_KINDS.reduce((a, k) => a + mapped[k], 0)
    const pct = {} as Record<LeafKind, number>
    for (const k of LEAF_KINDS) pct[k] = total ? Math.round((mapped[k] / total) * 10000) / 100 : 0
    return {
      ...figures(geo, this.tlb, this.actualTables.counts),
      mappedBytes: mapped,
      totalMappedBytes: total,
      invalidBytes: this.invalid,
      mappedPercent: pct,
      runs: this.runs,
      pteOnly: figures(geo, total / geo.pageSize, this.pteOnlyTables.counts),
      ideal: {...figures(geo, this.idealTlb, this.idealTables.counts), mappedBytes: byKind(this.idealMapped)},
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
  pt.forEachRun(0, KVA_END, (start, end, lvl, cont, prot, flags) => {
    whole.add(start, end, lvl, cont, prot, flags)
    while (first < order.length && order[first]!.reg.end <= start) first++
    for (let j = first; j < order.length && order[j]!.reg.start < end; j++) {
      const {reg, acc} = order[j]!
      if (reg.end <= start) continue
      acc.add(Math.max(start, reg.start), Math.min(end, reg.end), lvl, cont, prot, flags)
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

/**
 * What changed between two page-table states, per region: splits, collapses, permission
 * changes, mapped/unmapped bytes, table pages allocated/freed per level, and the first changed
 * ranges — the kernel's own vocabulary (split_pud / split_pmd / split_contpmd / split_contpte,
 * try_collapse_kernel_pmd, set_memory_*, vmap/vunmap).
 *
 * One merge walk over both run lists (alignRuns, src/model/align.ts): memory follows the number
 * of runs, never the number of pages. `verify` shares the walk; both show runs with
 * viewRuns (src/report/run-view.ts); src/report/diff-text.ts renders the text.
 */
import {type Kva, formatKva} from '../model/address.js'
import {type AlignedSegment, alignRuns, isPresent, pairRegions, pushMerged, sameEntry} from '../model/align.js'
import {type Geometry, lvlName, tlbReach} from '../model/geometry.js'
import {REGION_LABELS, type Region, type RegionName} from '../model/layout.js'
import type {PageTables} from '../model/pagetable.js'
import {F_KASAN_EARLY, HOLE, type Run} from '../model/run.js'
import {P_VALID, type Prot, describeProt} from '../model/prot.js'
import type {PtdumpEra} from '../ingest/ptdump/tables.js'
import {type RunView, viewRuns} from './run-view.js'

export type SplitKind = 'PUD→PMD' | 'PMD→PTE' | 'CONT_PMD cleared' | 'CONT_PTE cleared'
export type CollapseKind = 'PMD→PUD' | 'PTE→PMD' | 'CONT_PMD set' | 'CONT_PTE set'

export interface PermissionChange {
  /** Attributes before / after (describeProt). */
  from: string
  to: string
  /** Only what differs, e.g. "RW→ro", "valid→F", "NX→x". */
  change: string
  bytes: number
  ranges: number
}

export interface ChangedRange {
  start: string
  end: string
  bytes: number
  /** What happened: split, collapse, permission, mapped, unmapped, tables (empty entries moved level). */
  kinds: string[]
  a: RunView[]
  b: RunView[]
  /** Runs beyond the ones shown (capped per side). */
  moreA: number
  moreB: number
}

export interface RegionDiff {
  name: RegionName
  label: string
  start: string
  end: string
  /** Nothing changed at all. */
  same: boolean
  /** Entries split (each counted once, as the kernel's split_* would be). */
  splits: Record<SplitKind, number>
  collapses: Record<CollapseKind, number>
  permissionChanges: PermissionChange[]
  mappedBytes: number
  unmappedBytes: number
  mappedRanges: number
  unmappedRanges: number
  /** Table pages holding entries of each level (PTE tables hold PTEs): in a, in b, new in b, gone from a. */
  tablePages: Record<string, {a: number; b: number; added: number; freed: number}>
  changedRanges: number
  changedBytes: number
  /** The first changes, in address order (at most maxRanges). */
  ranges: ChangedRange[]
}

export interface SnapshotDiff {
  a: string
  b: string
  geometry: string
  regions: RegionDiff[]
  /** Regions present in only one of the two snapshots, or with other bounds. */
  regionNotes: string[]
  same: boolean
}

export interface DiffOptions {
  /** Changed ranges listed per region (default 10). */
  maxRanges?: number
  /** Runs shown per side of a changed range (default 8). */
  maxRunsShown?: number
  era?: PtdumpEra | 'unknown'
}

/** The attribute words that differ between two prots, e.g. "RW→ro NX→x". */
export function protChange(a: Prot, b: Prot): string {
  if (a === HOLE || b === HOLE) return `${a === HOLE ? 'none' : describeProt(a)}→${b === HOLE ? 'none' : describeProt(b)}`
  const wa = describeProt(a | P_VALID).split(' ')
  const wb = describeProt(b | P_VALID).split(' ')
  const parts: string[] = []
  if ((a & P_VALID) !== (b & P_VALID)) parts.push(a & P_VALID ? 'valid→F' : 'F→valid')
  // Same word positions for RW/ro and NX/x (always printed); flags present in one only.
  for (let i = 0; i < 2; i++) if (wa[i] !== wb[i]) parts.push(`${wa[i]}→${wb[i]}`)
  const restA = new Set(wa.slice(2))
  const restB = new Set(wb.slice(2))
  for (const w of restA) if (!restB.has(w)) parts.push(`-${w}`)
  for (const w of restB) if (!restA.has(w)) parts.push(`+${w}`)
  return parts.join(' ') || 'same'
}

/**
 * Slots of table pages per level as merged index intervals: a level-L table exists for every
 * slot of size entrySize[L+1] holding an entry at level ≤ L (docs/page-table-model.md).
 */
class TableSlots {
  /** Per level: ascending, merged [first, last] slot intervals. */
  readonly levels: [number, number][][]
  constructor(private readonly geo: Geometry) {
    this.levels = Array.from({length: geo.levels - 1}, () => [])
  }
  add(r: Run): void {
    if (r.flags & F_KASAN_EARLY) return
    for (let L = r.lvl; L < this.levels.length; L++) {
      const S = this.geo.entrySize[L + 1]!
      const first = Math.floor(r.start / S)
      const last = Math.floor((r.end - 1) / S)
      const list = this.levels[L]!
      const tail = list[list.length - 1]
      if (tail && first <= tail[1] + 1) tail[1] = Math.max(tail[1], last)
      else list.push([first, last])
    }
  }
}

function count(list: readonly [number, number][]): number {
  let n = 0
  for (const [f, l] of list) n += l - f + 1
  return n
}

/** |X \ Y| for merged, ascending interval lists. */
function minusCount(x: readonly [number, number][], y: readonly [number, number][]): number {
  let n = 0
  let j = 0
  for (const [f, l] of x) {
    let pos = f
    while (j < y.length && y[j]![1] < pos) j++
    let k = j
    while (pos <= l) {
      const iv = y[k]
      if (!iv || iv[0] > l) {
        n += l - pos + 1
        break
      }
      if (iv[0] > pos) n += iv[0] - pos
      pos = Math.max(pos, iv[1] + 1)
      k++
    }
  }
  return n
}

/** Counts each entry (aligned block) once across consecutive segments. */
class EntryCounter {
  private last = new Map<string, number>()
  n: Record<string, number> = {}
  /** Count every aligned block of `size` that [s, e) touches, each once. */
  hitRange(kind: string, s: Kva, e: Kva, size: number): void {
    const first = Math.floor(s / size)
    const last = Math.floor((e - 1) / size)
    const prev = this.last.get(kind)
    const from = prev !== undefined && prev >= first ? prev + 1 : first
    if (last >= from) this.n[kind] = (this.n[kind] ?? 0) + (last - from + 1)
    if (prev === undefined || last > prev) this.last.set(kind, last)
  }
}

/** The kinds of change one aligned segment shows (shape from a to b). */
function segmentKinds(geo: Geometry, s: AlignedSegment, counter: EntryCounter, perms: Map<string, PermissionChange>, lastPerm: {key?: string; end?: Kva}): string[] {
  const {a, b} = s
  const kinds: string[] = []
  const pa = isPresent(a)
  const pb = isPresent(b)
  if (!pa && pb) return ['mapped']
  if (pa && !pb) return ['unmapped']
  if (!pa && !pb) return ['tables']
  // Both map something: shape first (split/collapse), then attributes.
  const A = a!
  const B = b!
  if (B.lvl < A.lvl) {
    kinds.push('split')
    // split_pud: the PUD entry becomes a PMD table; split_pmd: each PMD-sized slot that ends up
    // holding PTEs was a PMD (or PUD) leaf before.
    if (A.lvl >= 2 && geo.levels > 2) counter.hitRange('PUD→PMD', s.start, s.end, geo.entrySize[2]!)
    if (B.lvl === 0) counter.hitRange('PMD→PTE', s.start, s.end, geo.entrySize[1]!)
  } else if (B.lvl > A.lvl) {
    kinds.push('collapse')
    if (B.lvl >= 2 && geo.levels > 2) counter.hitRange('PMD→PUD', s.start, s.end, geo.entrySize[2]!)
    if (A.lvl === 0) counter.hitRange('PTE→PMD', s.start, s.end, geo.entrySize[1]!)
  }
  if (A.cont && !(B.cont && B.lvl === A.lvl)) {
    kinds.push('cont cleared')
    counter.hitRange(A.lvl === 0 ? 'CONT_PTE cleared' : 'CONT_PMD cleared', s.start, s.end, tlbReach(geo, A.lvl, true))
  }
  // A contiguous hint set on entries of the same level (a split to cont PTEs is a split, not this).
  if (B.cont && !A.cont && A.lvl === B.lvl) {
    kinds.push('cont set')
    counter.hitRange(B.lvl === 0 ? 'CONT_PTE set' : 'CONT_PMD set', s.start, s.end, tlbReach(geo, B.lvl, true))
  }
  if (A.prot !== B.prot) {
    kinds.push('permission')
    const key = `${A.prot}:${B.prot}`
    let p = perms.get(key)
    if (!p) {
      p = {from: describeProt(A.prot), to: describeProt(B.prot), change: protChange(A.prot, B.prot), bytes: 0, ranges: 0}
      perms.set(key, p)
    }
    p.bytes += s.end - s.start
    if (!(lastPerm.key === key && lastPerm.end === s.start)) p.ranges++
    lastPerm.key = key
    lastPerm.end = s.end
  }
  return kinds
}

/** Diff one address range of two models. */
export function diffRegion(geo: Geometry, a: PageTables, b: PageTables, region: Region, opts: DiffOptions = {}): RegionDiff {
  const maxRanges = opts.maxRanges ?? 10
  const maxShown = opts.maxRunsShown ?? 8
  const counter = new EntryCounter()
  const perms = new Map<string, PermissionChange>()
  const lastPerm: {key?: string; end?: Kva} = {}
  const slotsA = new TableSlots(geo)
  const slotsB = new TableSlots(geo)
  for (const r of a.runs(region.start, region.end)) slotsA.add(r)
  for (const r of b.runs(region.start, region.end)) slotsB.add(r)
  let mappedBytes = 0
  let unmappedBytes = 0
  let mappedRanges = 0
  let unmappedRanges = 0
  let lastMapEnd = -1
  let lastUnmapEnd = -1
  let changedRanges = 0
  let changedBytes = 0
  const ranges: ChangedRange[] = []
  // The changed range being built: contiguous changed segments.
  let cur: {start: Kva; end: Kva; kinds: Set<string>; a: Run[]; b: Run[]} | undefined
  const close = (): void => {
    if (!cur) return
    changedRanges++
    changedBytes += cur.end - cur.start
    if (ranges.length < maxRanges) {
      ranges.push({
        start: formatKva(cur.start),
        end: formatKva(cur.end),
        bytes: cur.end - cur.start,
        kinds: [...cur.kinds],
        a: viewRuns(geo, cur.a.slice(0, maxShown), opts.era),
        b: viewRuns(geo, cur.b.slice(0, maxShown), opts.era),
        moreA: Math.max(0, cur.a.length - maxShown),
        moreB: Math.max(0, cur.b.length - maxShown),
      })
    }
    cur = undefined
  }
  for (const s of alignRuns(a.runs(region.start, region.end), b.runs(region.start, region.end), region.start, region.end)) {
    if (sameEntry(s.a, s.b)) {
      close()
      continue
    }
    const kinds = segmentKinds(geo, s, counter, perms, lastPerm)
    if (kinds[0] === 'mapped') {
      mappedBytes += s.end - s.start
      if (lastMapEnd !== s.start) mappedRanges++
      lastMapEnd = s.end
    } else if (kinds[0] === 'unmapped') {
      unmappedBytes += s.end - s.start
      if (lastUnmapEnd !== s.start) unmappedRanges++
      lastUnmapEnd = s.end
    }
    if (!cur || cur.end !== s.start) {
      close()
      cur = {start: s.start, end: s.end, kinds: new Set(), a: [], b: []}
    }
    cur.end = s.end
    for (const k of kinds) cur.kinds.add(k)
    // Keep at most maxShown+1 runs per side (enough to know there are more).
    if (s.a && cur.a.length <= maxShown) pushMerged(cur.a, s.a)
    if (s.b && cur.b.length <= maxShown) pushMerged(cur.b, s.b)
  }
  close()
  const tablePages: RegionDiff['tablePages'] = {}
  for (let L = slotsA.levels.length - 1; L >= 0; L--) {
    const xa = slotsA.levels[L]!
    const xb = slotsB.levels[L]!
    tablePages[lvlName(geo, L)] = {a: count(xa), b: count(xb), added: minusCount(xb, xa), freed: minusCount(xa, xb)}
  }
  const n = counter.n
  return {
    name: region.name,
    label: REGION_LABELS[region.name],
    start: formatKva(region.start),
    end: formatKva(region.end),
    same: changedRanges === 0,
    splits: {
      'PUD→PMD': n['PUD→PMD'] ?? 0,
      'PMD→PTE': n['PMD→PTE'] ?? 0,
      'CONT_PMD cleared': n['CONT_PMD cleared'] ?? 0,
      'CONT_PTE cleared': n['CONT_PTE cleared'] ?? 0,
    },
    collapses: {
      'PMD→PUD': n['PMD→PUD'] ?? 0,
      'PTE→PMD': n['PTE→PMD'] ?? 0,
      'CONT_PMD set': n['CONT_PMD set'] ?? 0,
      'CONT_PTE set': n['CONT_PTE set'] ?? 0,
    },
    permissionChanges: [...perms.values()].sort((x, y) => y.bytes - x.bytes),
    mappedBytes,
    unmappedBytes,
    mappedRanges,
    unmappedRanges,
    tablePages,
    changedRanges,
    changedBytes,
    ranges,
  }
}

export function diffSnapshots(
  a: {source: string; pt: PageTables; regions: readonly Region[]; era?: PtdumpEra | 'unknown'},
  b: {source: string; pt: PageTables; regions: readonly Region[]},
  opts: DiffOptions = {},
): SnapshotDiff {
  const geo = a.pt.geo
  const {regions, notes} = pairRegions(a.regions, b.regions)
  const out = regions.map((r) => diffRegion(geo, a.pt, b.pt, r, {era: a.era, ...opts}))
  return {a: a.source, b: b.source, geometry: geo.label, regions: out, regionNotes: notes, same: out.every((r) => r.same)}
}

/**
 * Two page-table states side by side: one merge walk over both run lists (alignRuns), entry
 * equality, and the pairing of two snapshots' regions. `diff` and `verify` share them. Memory
 * follows the number of runs, never the number of pages.
 */
import {type Kva, formatKva} from './address.js'
import type {Region} from './layout.js'
import {HOLE, type Run} from './run.js'

/** One stretch where neither side changes shape: `a`/`b` are the runs there (clipped), undefined = no entry known (a gap). */
export interface AlignedSegment {
  start: Kva
  end: Kva
  a?: Run
  b?: Run
}

/**
 * Walk two ascending run sequences over [from, to) together, yielding maximal stretches where
 * both sides are constant. Gaps (a 5.4 dump omits holes) come through as undefined.
 */
export function* alignRuns(a: Iterable<Run>, b: Iterable<Run>, from: Kva, to: Kva): Generator<AlignedSegment> {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  let ra = ia.next().value as Run | undefined
  let rb = ib.next().value as Run | undefined
  let pos = from
  while (pos < to) {
    while (ra && ra.end <= pos) ra = ia.next().value as Run | undefined
    while (rb && rb.end <= pos) rb = ib.next().value as Run | undefined
    const inA = ra && ra.start <= pos ? ra : undefined
    const inB = rb && rb.start <= pos ? rb : undefined
    const endA = inA ? inA.end : ra ? ra.start : to
    const endB = inB ? inB.end : rb ? rb.start : to
    const end = Math.min(endA, endB, to)
    if (inA || inB) {
      yield {
        start: pos,
        end,
        a: inA && {...inA, start: pos, end},
        b: inB && {...inB, start: pos, end},
      }
    } else if (!ra && !rb) {
      return
    }
    pos = end
  }
}

/** Same entry: level, contiguous hint, attributes and flags (both undefined counts as same). */
export function sameEntry(x: Run | undefined, y: Run | undefined): boolean {
  if (!x || !y) return x === y
  return x.lvl === y.lvl && x.cont === y.cont && x.prot === y.prot && x.flags === y.flags
}

/** A run that maps something (valid or invalid non-zero entry), as opposed to an empty entry or a gap. */
export function isPresent(r: Run | undefined): r is Run {
  return r !== undefined && r.prot !== HOLE
}

/** Append r to runs, merging with the last one when contiguous and of the same shape. */
export function pushMerged(runs: Run[], r: Run): void {
  const last = runs[runs.length - 1]
  if (last && last.end === r.start && sameEntry(last, r)) last.end = r.end
  else runs.push({...r})
}

/**
 * Regions to compare: b's regions (the later snapshot), with a note for any region whose
 * bounds differ or that only one snapshot has.
 */
export function pairRegions(a: readonly Region[], b: readonly Region[]): {regions: Region[]; notes: string[]} {
  const notes: string[] = []
  for (const r of b) {
    const o = a.find((x) => x.name === r.name)
    if (!o) notes.push(`${r.name}: only in the second snapshot`)
    else if (o.start !== r.start || o.end !== r.end) {
      notes.push(`${r.name}: bounds differ (${formatKva(o.start)}-${formatKva(o.end)} → ${formatKva(r.start)}-${formatKva(r.end)}); compared over the second's`)
    }
  }
  for (const r of a) if (!b.some((x) => x.name === r.name)) notes.push(`${r.name}: only in the first snapshot (not compared)`)
  return {regions: [...b], notes}
}

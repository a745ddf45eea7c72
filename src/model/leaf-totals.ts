/**
 * The totals PageTables keeps incrementally over its valid leaves: bytes per leaf kind, bytes of
 * invalid non-zero entries, and the TLB entries they need (tlbReach per level and hint).
 */
import type {Kva} from './address.js'
import {type Geometry, type LeafKind, leafKind, tlbReach} from './geometry.js'
import {P_VALID} from './prot.js'
import {HOLE, type Run} from './run.js'

/** Incrementally maintained totals (valid leaves only). */
export interface LeafTotals {
  mappedBytes: Record<LeafKind, number>
  /** Bytes of present-invalid or invalid non-zero leaves (e.g. KFENCE guard pages). */
  invalidBytes: number
  tlbEntries: number
}

export function emptyTotals(): LeafTotals {
  return {
    mappedBytes: {PUD: 0, CONT_PMD: 0, PMD: 0, CONT_PTE: 0, PTE: 0},
    invalidBytes: 0,
    tlbEntries: 0,
  }
}

/** Add (sign = 1) or remove (sign = -1) one run's contribution to totals. */
export function accumulate(geo: Geometry, t: LeafTotals, r: Pick<Run, 'start' | 'end' | 'lvl' | 'cont' | 'prot'>, sign = 1): void {
  if (r.prot === HOLE) return
  const bytes = r.end - r.start
  if (r.lvl >= geo.levels - 1 && r.lvl > 2) return // no leaves at a P4D/PGD level
  if ((r.prot & P_VALID) === 0) {
    t.invalidBytes += sign * bytes
    return
  }
  t.mappedBytes[leafKind(r.lvl, r.cont)] += sign * bytes
  t.tlbEntries += (sign * bytes) / tlbReach(geo, r.lvl, r.cont)
}

/** accumulate() for a packed shape (no Run object). */
export function accumulateMeta(geo: Geometry, t: LeafTotals, start: Kva, end: Kva, m: number, sign: number): void {
  const prot = (m >> 8) - 2
  if (prot === HOLE) return
  const lvl = m & 15
  if (lvl >= geo.levels - 1 && lvl > 2) return
  const bytes = end - start
  if ((prot & P_VALID) === 0) {
    t.invalidBytes += sign * bytes
    return
  }
  const cont = (m & 16) !== 0
  // leafKind() spelled out: a store to a named field, not a keyed store (paint() runs this twice per change).
  const mb = t.mappedBytes
  const d = sign * bytes
  if (lvl === 0) {
    if (cont) mb.CONT_PTE += d
    else mb.PTE += d
  } else if (lvl === 1) {
    if (cont) mb.CONT_PMD += d
    else mb.PMD += d
  } else mb.PUD += d
  t.tlbEntries += d / tlbReach(geo, lvl, cont)
}

/**
 * One run of identical page-table entries (Run), and its packed form: the small integer the run
 * store keeps per run (level, contiguous hint, flags, prot), with its decoders. PageTables
 * (pagetable.ts) is built from them.
 */
import type {Kva} from './address.js'
import type {Prot} from './prot.js'

/** prot value of an empty (none) entry inside an existing table: a ptdump "hole" line. */
export const HOLE = -1

/** Run flag: KASAN early-shadow entries (note_kasan_page_table()): shared tables, not counted. */
export const F_KASAN_EARLY = 1

export interface Run {
  /** First byte, as a Kva. */
  start: Kva
  /** One past the last byte. */
  end: Kva
  /** Entry level from the leaf side: 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D, 4 = PGD (5 levels). */
  lvl: number
  /** PTE_CONT set on every entry of the run (whole, aligned contiguous groups). */
  cont: boolean
  /** Attributes of every entry, or HOLE for none entries. Invalid non-zero entries have P_VALID clear. */
  prot: Prot
  /** F_* flags */
  flags: number
}

/**
 * Storage: the run store (run-store.ts: sorted blocks) maps each run's start to one small integer (`meta`: level, cont, flags,
 * prot packed), and runs tile [0, KVA_END) — a run ends where the next key starts. Space the
 * snapshot does not describe (5.4 dumps omit holes) is a GAP run, never yielded. So a run costs
 * one key and one small integer in the tree's arrays: no object per run.
 */
const GAP = -2

export function pack(lvl: number, cont: boolean, prot: Prot, flags: number): number {
  return ((prot + 2) << 8) | ((flags & 7) << 5) | (cont ? 16 : 0) | (lvl & 15)
}

/** The shape of space no run describes. */
export const GAP_META = pack(0, false, GAP, 0)

/** shapeAt()'s answer for space no run describes (a gap, or outside [0, KVA_END)). */
export const NO_RUN = GAP_META

/** Decoders of a packed run shape (PageTables.shapeAt). */
export function metaLvl(m: number): number {
  return m & 15
}
export function metaCont(m: number): boolean {
  return (m & 16) !== 0
}
export function metaFlags(m: number): number {
  return (m >> 5) & 7
}
export function metaProt(m: number): Prot {
  return (m >> 8) - 2
}

export function runOf(start: Kva, end: Kva, m: number): Run {
  return {start, end, lvl: m & 15, cont: (m & 16) !== 0, prot: (m >> 8) - 2, flags: (m >> 5) & 7}
}

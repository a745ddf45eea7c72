/**
 * Which call last (or first) touched each address range: a bounded interval map for `verify`.
 *
 * A call "touches" the range it asks the kernel to change — set_memory_*(addr, numpages), the
 * linear-alias pages its inner __change_memory_common/update_range_prot hits name,
 * set_memory_valid(addr, n), set_direct_map_*(page) on page_address(page) — not the wider
 * entries a split rewrites as a consequence: a difference between the replay and a snapshot is
 * the trace's doing only where some call asked for a change there.
 *
 * Memory follows the number of distinct touched stretches still visible (in the run store, like
 * the page tables), never the number of pages: a later call over the same range replaces the
 * earlier one, neighbours with the same toucher merge.
 */
import type {TraceEvent} from '../ingest/events.js'
import type {Kva} from '../model/address.js'
import {RunStore} from '../model/run-store.js'
import type {Intent} from './intents.js'

export interface Span {
  start: Kva
  end: Kva
}

/** A stretch [start, end) and the ref that owns it. */
export interface Owned<T> extends Span {
  ref: T
}

/** Half-open interval map [start, end) → ref, non-overlapping, sorted, neighbours with the same ref merged. */
export class TouchMap<T> {
  /** Each stretch's start → its end, in the project's ordered run store (as the page tables). */
  private readonly ends: RunStore
  /** Each stretch's start → the ref that owns it. */
  private readonly refs = new Map<Kva, T>()

  /** `maxBlock`: the run store's block size (tests pass a tiny one to cross blocks often). */
  constructor(maxBlock?: number) {
    this.ends = new RunStore(maxBlock)
  }

  get size(): number {
    return this.ends.size
  }

  /** Last writer wins: `ref` now owns [start, end). */
  set(start: Kva, end: Kva, ref: T): void {
    if (end <= start) return
    this.cut(start, end)
    this.put(start, end, ref)
    this.mergeAround(start)
  }

  /** First writer wins: `ref` takes only the parts of [start, end) nobody owns yet. */
  fill(start: Kva, end: Kva, ref: T): void {
    if (end <= start) return
    const gaps: Span[] = []
    let pos = start
    for (const s of this.overlapping(start, end)) {
      if (s.start > pos) gaps.push({start: pos, end: s.start})
      pos = Math.max(pos, s.end)
    }
    if (pos < end) gaps.push({start: pos, end})
    for (const g of gaps) {
      this.put(g.start, g.end, ref)
      this.mergeAround(g.start)
    }
  }

  /** Stretches intersecting [start, end), unclipped, in address order. */
  overlapping(start: Kva, end: Kva): Array<Owned<T>> {
    const left = this.ends.getPairOrNextLower(start)
    const from = left && left[1] > start ? left[0] : start
    const out: Array<Owned<T>> = []
    this.ends.forRange(from, end, false, (k, e) => {
      if (e > start) out.push({start: k, end: e, ref: this.refs.get(k)!})
    })
    return out
  }

  /** The refs touching [start, end), in address order (duplicates removed). */
  refsIn(start: Kva, end: Kva): T[] {
    const out: T[] = []
    for (const s of this.overlapping(start, end)) if (!out.includes(s.ref)) out.push(s.ref)
    return out
  }

  /** The nearest stretch wholly below `start` and the nearest wholly at or above `end`. */
  neighbours(start: Kva, end: Kva): {below?: Owned<T>; above?: Owned<T>} {
    const out: {below?: Owned<T>; above?: Owned<T>} = {}
    let b = this.ends.getPairOrNextLower(start - 1)
    while (b && b[1] > start) b = this.ends.nextLowerPair(b[0])
    if (b) out.below = {start: b[0], end: b[1], ref: this.refs.get(b[0])!}
    const a = this.ends.get(end) !== undefined ? end : this.ends.nextHigherKey(end)
    if (a !== undefined) out.above = {start: a, end: this.ends.get(a)!, ref: this.refs.get(a)!}
    return out
  }

  private put(start: Kva, end: Kva, ref: T): void {
    this.ends.set(start, end)
    this.refs.set(start, ref)
  }

  private remove(start: Kva): void {
    this.ends.delete(start)
    this.refs.delete(start)
  }

  /** Remove everything in [start, end), keeping the parts of straddling stretches outside it. */
  private cut(start: Kva, end: Kva): void {
    for (const s of this.overlapping(start, end)) {
      this.remove(s.start)
      if (s.start < start) this.put(s.start, start, s.ref)
      if (s.end > end) this.put(end, s.end, s.ref)
    }
  }

  /** Merge the stretch at `key` with an adjoining one of the same ref on either side. */
  private mergeAround(key: Kva): void {
    let k = key
    const e = this.ends.get(k)!
    const ref = this.refs.get(k)
    const prev = this.ends.nextLowerPair(k)
    if (prev && prev[1] === k && this.refs.get(prev[0]) === ref) {
      const p = prev[0]
      this.remove(k)
      this.ends.set(p, e)
      k = p
    }
    const next = this.ends.get(e)
    if (next !== undefined && this.refs.get(e) === ref) {
      this.remove(e)
      this.ends.set(k, next)
    }
  }
}

/** Ranges whose change an event itself asks for (its own arguments only). */
export function spansOfEvent(ev: TraceEvent, pageSize: number): Span[] {
  if (ev.addr === undefined) return []
  switch (ev.kind) {
    case 'set_memory':
    case 'set_memory_valid':
    case 'change_range':
    case 'set_direct_map': {
      const size = ev.size ?? (ev.pages ?? 1) * pageSize
      return size > 0 ? [{start: ev.addr, end: ev.addr + size}] : []
    }
    case 'vmap':
    case 'vunmap':
      return ev.end !== undefined && ev.end > ev.addr ? [{start: ev.addr, end: ev.end}] : []
    default:
      return []
  }
}

/**
 * Ranges a whole call asks to change: its outer hit's range plus those of its inner range calls
 * (which name the linear-alias pages the outer hit cannot show).
 */
export function spansOfIntent(intent: Intent, pageSize: number): Span[] {
  const out = spansOfEvent(intent.ev, pageSize)
  for (const n of intent.nested) if (n.kind === 'change_range') out.push(...spansOfEvent(n, pageSize))
  if (intent.type === 'set_direct_map' && intent.ev.addr === undefined) {
    // struct page not translated: the inner update_range_prot names page_address(page).
    const inner = intent.nested.find((n) => n.kind === 'change_range' && n.addr !== undefined)
    if (inner?.addr !== undefined) out.push({start: inner.addr, end: inner.addr + pageSize})
  }
  return out
}

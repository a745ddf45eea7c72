/**
 * Which call last (or first) touched each address range: a bounded interval map for `verify`.
 *
 * A call "touches" the range it asks the kernel to change — set_memory_*(addr, numpages), the
 * linear-alias pages its inner __change_memory_common/update_range_prot hits name,
 * set_memory_valid(addr, n), set_direct_map_*(page) on page_address(page) — not the wider
 * entries a split rewrites as a consequence: a difference between the replay and a snapshot is
 * the trace's doing only where some call asked for a change there.
 *
 * Memory follows the number of distinct touched stretches still visible (runs in a B-tree, like
 * the page tables), never the number of pages: a later call over the same range replaces the
 * earlier one, neighbours with the same toucher merge.
 */
import * as btreeNs from 'sorted-btree'

import type {TraceEvent} from '../ingest/events.js'
import type {Kva} from '../model/address.js'
import type {Intent} from './intents.js'

// sorted-btree is CommonJS with `exports.default` (see model/pagetable.ts).
type BTreeClass<K, V> = import('sorted-btree', {with: {'resolution-mode': 'require'}}).default<K, V>
type BTreeCtor = new <K, V>() => BTreeClass<K, V>
const BTree: BTreeCtor =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ((btreeNs as any).default?.default ?? (btreeNs as any).default ?? btreeNs) as BTreeCtor

export interface Span {
  start: Kva
  end: Kva
}

interface Entry<T> {
  end: Kva
  ref: T
}

/** Half-open interval map [start, end) → ref, non-overlapping, sorted. */
export class TouchMap<T> {
  private readonly tree = new BTree<number, Entry<T>>()

  get size(): number {
    return this.tree.size
  }

  /** Last writer wins: `ref` now owns [start, end). */
  set(start: Kva, end: Kva, ref: T): void {
    if (end <= start) return
    this.cut(start, end)
    this.tree.set(start, {end, ref})
    this.mergeAround(start)
  }

  /** First writer wins: `ref` takes only the parts of [start, end) nobody owns yet. */
  fill(start: Kva, end: Kva, ref: T): void {
    if (end <= start) return
    const gaps: Span[] = []
    let pos = start
    for (const [k, v] of this.overlapping(start, end)) {
      if (k > pos) gaps.push({start: pos, end: k})
      pos = Math.max(pos, v.end)
    }
    if (pos < end) gaps.push({start: pos, end})
    for (const g of gaps) {
      this.tree.set(g.start, {end: g.end, ref})
      this.mergeAround(g.start)
    }
  }

  /** Entries intersecting [start, end), unclipped, in address order. */
  *overlapping(start: Kva, end: Kva): Generator<[Kva, Entry<T>]> {
    const left = this.tree.getPairOrNextLower(start)
    const from = left && left[1].end > start ? left[0] : start
    for (const [k, v] of this.tree.entries(from)) {
      if (k >= end) return
      if (v.end <= start) continue
      yield [k, v]
    }
  }

  /** The refs touching [start, end), in address order (duplicates removed). */
  refsIn(start: Kva, end: Kva): T[] {
    const out: T[] = []
    for (const [, v] of this.overlapping(start, end)) if (!out.includes(v.ref)) out.push(v.ref)
    return out
  }

  /** The nearest entry wholly below `start` and the nearest wholly at or above `end`. */
  neighbours(start: Kva, end: Kva): {below?: {start: Kva; end: Kva; ref: T}; above?: {start: Kva; end: Kva; ref: T}} {
    const out: {below?: {start: Kva; end: Kva; ref: T}; above?: {start: Kva; end: Kva; ref: T}} = {}
    let b = this.tree.getPairOrNextLower(start - 1)
    while (b && b[1].end > start) b = this.tree.nextLowerPair(b[0])
    if (b) out.below = {start: b[0], end: b[1].end, ref: b[1].ref}
    const a = this.tree.getPairOrNextHigher(end)
    if (a) out.above = {start: a[0], end: a[1].end, ref: a[1].ref}
    return out
  }

  /** Remove everything in [start, end), keeping the parts of straddling entries outside it. */
  private cut(start: Kva, end: Kva): void {
    const hits = [...this.overlapping(start, end)].map(([k, v]) => [k, {...v}] as const)
    for (const [k, v] of hits) {
      this.tree.delete(k)
      if (k < start) this.tree.set(k, {end: start, ref: v.ref})
      if (v.end > end) this.tree.set(end, {end: v.end, ref: v.ref})
    }
  }

  private mergeAround(key: Kva): void {
    let k = key
    let v = this.tree.get(k)!
    const prev = this.tree.nextLowerPair(k)
    if (prev && prev[1].end === k && prev[1].ref === v.ref) {
      prev[1].end = v.end
      this.tree.delete(k)
      k = prev[0]
      v = prev[1]
    }
    const next = this.tree.get(v.end)
    if (next && next.ref === v.ref) {
      this.tree.delete(v.end)
      v.end = next.end
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

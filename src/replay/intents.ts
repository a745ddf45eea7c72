/**
 * From probe hits to kernel calls.
 *
 * A kprobe capture records every level of one call: set_memory_ro → change_memory_common →
 * __change_memory_common (once per page of the linear alias, then once for the vmalloc range)
 * → update_range_prot → split_kernel_leaf_mapping → split_* (6.18+). Replaying every hit would
 * apply the same change several times. The assembler groups the hits of one call (same pid,
 * consecutive, nested functions only) into one Intent at the outermost level the trace has,
 * keeping what the inner hits reveal that the outer one cannot: the linear-alias pages
 * (`aliasPages`, from __change_memory_common / update_range_prot on linear-map addresses) and
 * the kernel's own split primitives (ground truth, never replayed).
 *
 * Streaming: at most one open group per pid; intents come out in the order their outer hit
 * started, once every earlier group is closed.
 */
import type {TraceEvent} from '../ingest/events.js'
import type {Kva} from '../model/address.js'
import {HW} from '../model/prot.js'

export type IntentType =
  | 'set_memory'
  | 'set_memory_valid'
  | 'set_direct_map'
  | 'change_range'
  | 'vm_alloc'
  | 'vm_free'
  | 'module_load'
  | 'module_free'
  | 'marker'
  | 'other'

export interface Intent {
  type: IntentType
  /** The outermost hit of the call. */
  ev: TraceEvent
  /** Inner hits, in order (change_range, split_call, split_primitive, return). */
  nested: TraceEvent[]
}

/** Which inner hits may belong to which outer call (pageattr.c call graph, 6.1–6.19). */
const NESTABLE: Partial<Record<IntentType, ReadonlySet<TraceEvent['kind']>>> = {
  set_memory: new Set(['change_range', 'split_call', 'split_primitive', 'return']),
  set_memory_valid: new Set(['change_range', 'split_call', 'split_primitive', 'return']),
  set_direct_map: new Set(['change_range', 'split_call', 'split_primitive', 'return']),
  change_range: new Set(['change_range', 'split_call', 'split_primitive', 'return']),
}

function intentTypeOf(ev: TraceEvent): IntentType {
  switch (ev.kind) {
    case 'set_memory':
    case 'set_memory_valid':
    case 'set_direct_map':
    case 'change_range':
    case 'vm_alloc':
    case 'vm_free':
    case 'module_load':
    case 'module_free':
    case 'marker':
      return ev.kind
    default:
      return 'other'
  }
}

/** change_range functions from outermost to innermost. */
const RANGE_DEPTH: Record<string, number> = {change_memory_common: 0, __change_memory_common: 1, update_range_prot: 2}

function depth(fn: string): number {
  return RANGE_DEPTH[fn] ?? 1
}

interface Open {
  intent: Intent
  closed: boolean
}

export class IntentAssembler {
  private readonly open = new Map<number, Open>()
  private readonly queue: Open[] = []
  /** Hits that could not be attached to any call (e.g. a split probe with no outer call). */
  orphans = 0

  /** Feed one event; returns the intents that are now complete, in order. */
  push(ev: TraceEvent): Intent[] {
    const cur = this.open.get(ev.pid)
    if (cur && !cur.closed && NESTABLE[cur.intent.type]?.has(ev.kind) && this.fits(cur.intent, ev)) {
      cur.intent.nested.push(ev)
      return []
    }
    if (cur) cur.closed = true
    const type = intentTypeOf(ev)
    if (ev.kind === 'split_call' || ev.kind === 'split_primitive' || ev.kind === 'return') {
      // Ground-truth probes outside any call we replay: count, do not replay.
      this.orphans++
      const o: Open = {intent: {type: 'other', ev, nested: []}, closed: true}
      this.queue.push(o)
      this.open.delete(ev.pid)
      return this.drain()
    }
    const o: Open = {intent: {type, ev, nested: []}, closed: !NESTABLE[type]}
    this.queue.push(o)
    if (NESTABLE[type]) this.open.set(ev.pid, o)
    else this.open.delete(ev.pid)
    return this.drain()
  }

  /** Close everything (end of input). */
  flush(): Intent[] {
    for (const o of this.queue) o.closed = true
    this.open.clear()
    return this.drain()
  }

  /**
   * Whether a change_range hit belongs to the open call (pageattr.c call graph):
   * change_memory_common calls __change_memory_common once per alias page and once for the
   * vmalloc range, so under it any deeper hit nests; __change_memory_common, set_memory_valid
   * and set_direct_map_* make one update_range_prot call each, so a second hit of the same depth
   * starts a new call; a hit no deeper than the open range call is a new call.
   */
  private fits(outer: Intent, ev: TraceEvent): boolean {
    if (ev.kind !== 'change_range' || outer.type === 'set_memory') return true
    const ed = depth(ev.fn)
    if (outer.type === 'change_range') {
      const od = depth(outer.ev.fn)
      if (ed <= od) return false
      if (od === 0) return true
    }
    return !outer.nested.some((n) => n.kind === 'change_range' && depth(n.fn) === ed)
  }

  private drain(): Intent[] {
    const out: Intent[] = []
    while (this.queue.length && this.queue[0]!.closed) out.push(this.queue.shift()!.intent)
    // Keep memory bounded when one pid never closes: a group older than 4096 queued ones closes.
    if (this.queue.length > 4096) {
      this.queue[0]!.closed = true
      return out.concat(this.drain())
    }
    return out
  }
}

/**
 * The linear-alias pages a set_memory_* call touched, as the trace shows them: the starts of its
 * inner range calls that lie in [linStart, linEnd), at the shallowest depth present
 * (__change_memory_common before update_range_prot, so one page is never counted twice).
 * Undefined when the trace has no inner range calls (the alias is then unknown).
 */
export function aliasPagesOf(intent: Intent, linStart: Kva, linEnd: Kva): {addr: Kva; size: number}[] | undefined {
  const inner = intent.nested.filter((n) => n.kind === 'change_range' && n.fn !== 'change_memory_common')
  if (!inner.length) return undefined
  const shallowest = Math.min(...inner.map((n) => depth(n.fn)))
  return inner
    .filter((n) => depth(n.fn) === shallowest && n.addr !== undefined && n.addr >= linStart && n.addr < linEnd)
    .map((n) => ({addr: n.addr!, size: n.size ?? 0}))
}

/** The kernel's own split primitives recorded inside a call (ground truth for verification). */
export function splitPrimitivesOf(intent: Intent): TraceEvent[] {
  return intent.nested.filter((n) => n.kind === 'split_primitive')
}

/** set_memory_* operation from change_memory_common's masks when only that function was probed. */
export function opFromMasks(set: bigint, clear: bigint): 'ro' | 'rw' | 'x' | 'nx' | undefined {
  if (set & HW.PTE_RDONLY) return 'ro'
  if (clear & HW.PTE_RDONLY) return 'rw'
  if (set & HW.PTE_PXN) return 'nx'
  if (clear & HW.PTE_PXN) return 'x'
  return undefined
}

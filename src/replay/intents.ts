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
import {FUNCTIONS} from '../ingest/normalize/functions.js'
import type {Kva} from '../model/address.js'
import {HW} from '../model/prot.js'

export type IntentType =
  | 'set_memory'
  | 'set_memory_valid'
  | 'set_direct_map'
  | 'change_range'
  | 'vm_alloc'
  | 'vm_free'
  | 'vmap'
  | 'vunmap'
  | 'vm_purge'
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

/**
 * Events that fire inside a call without being part of its page-table change, and never end it:
 * tracepoints and probes of the vmalloc and module machinery, e.g. vmalloc:purge_vmap_area_lazy,
 * emitted by vm_unmap_aliases() between change_memory_common()'s alias loop and its last
 * __change_memory_common() (arch/arm64/mm/pageattr.c, change_memory_common(), v7.3), or a return
 * probe of a function that is not a call the replay assembles (__vmalloc_node_range_noprof).
 * They become intents of their own, queued behind the open call.
 */
export function isSideEvent(ev: TraceEvent): boolean {
  switch (ev.kind) {
    case 'vm_alloc':
    case 'vm_free':
    case 'vmap':
    case 'vunmap':
    case 'vm_purge':
    case 'module_load':
    case 'module_free':
    case 'other':
      return true
    case 'return': {
      const k = FUNCTIONS[ev.fn]?.kind
      return k === undefined || !CALL_KINDS.has(k)
    }
    default:
      return false
  }
}

/** Kinds of the pageattr.c/mmu.c calls and their inner hits (a return of one of them nests). */
const CALL_KINDS: ReadonlySet<TraceEvent['kind']> = new Set(['set_memory', 'set_memory_valid', 'set_direct_map', 'change_range', 'split_call', 'split_primitive'])

/**
 * Which inner hits may belong to which outer call (pageattr.c call graph, 6.1–6.19): the calls that
 * can hold inner hits are set_memory_*, set_memory_valid, set_direct_map_* and the change_range functions.
 */
function opens(type: IntentType): boolean {
  return type === 'set_memory' || type === 'set_memory_valid' || type === 'set_direct_map' || type === 'change_range'
}

/** Whether a hit of `kind` may be an inner hit of an open `type` call: change_range, split_call, split_primitive, return. */
function nests(type: IntentType, kind: TraceEvent['kind']): boolean {
  return opens(type) && (kind === 'change_range' || kind === 'split_call' || kind === 'split_primitive' || kind === 'return')
}

function intentTypeOf(ev: TraceEvent): IntentType {
  switch (ev.kind) {
    case 'set_memory':
    case 'set_memory_valid':
    case 'set_direct_map':
    case 'change_range':
    case 'vm_alloc':
    case 'vm_free':
    case 'vmap':
    case 'vunmap':
    case 'vm_purge':
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

/** The shared "nothing ready" answer of push()/drain() (callers only read it). */
const NONE: Intent[] = []

interface Open {
  intent: Intent
  closed: boolean
}

export class IntentAssembler {
  /** The open call of each pid (at most one). */
  private readonly open = new Map<number, Open>()
  /**
   * The pid that last ran on each CPU: a call cannot go on while another task runs there. An
   * array for CPUs below 4096 (every real machine; one load per event instead of a Map lookup),
   * a Map above.
   */
  private readonly pidOnCpu: (number | undefined)[] = []
  private readonly pidOnBigCpu = new Map<number, number>()
  private readonly queue: Open[] = []
  private head = 0
  /** Hits that could not be attached to any call (e.g. a split probe with no outer call). */
  orphans = 0

  /** The one-intent answer of drain(), reused: no array per call. */
  private readonly one: Intent[] = []

  /**
   * Feed one event; returns the intents that are now complete, in order. The array is the
   * assembler's own, valid until the next push() or flush(): read it before feeding more.
   */
  push(ev: TraceEvent): Intent[] {
    // Another task on this CPU ends the call the previous one had open (the probes of one call
    // fire back to back on one CPU; kprobe handlers run with interrupts off).
    const cpu = ev.cpu
    const pid = ev.pid
    const small = cpu >= 0 && cpu < 4096 && Number.isInteger(cpu)
    const prevPid = small ? this.pidOnCpu[cpu] : this.pidOnBigCpu.get(cpu)
    if (prevPid !== pid) {
      if (prevPid !== undefined) this.close(prevPid)
      if (small) this.pidOnCpu[cpu] = pid
      else this.pidOnBigCpu.set(cpu, pid)
    }
    if (isSideEvent(ev)) {
      this.queue.push({intent: {type: intentTypeOf(ev), ev, nested: []}, closed: true})
      return this.drain()
    }
    const cur = this.open.get(pid)
    if (cur && nests(cur.intent.type, ev.kind) && this.fits(cur.intent, ev)) {
      cur.intent.nested.push(ev)
      return NONE
    }
    if (cur) this.close(ev.pid)
    const type = intentTypeOf(ev)
    if (ev.kind === 'split_call' || ev.kind === 'split_primitive' || ev.kind === 'return') {
      // Ground-truth probes outside any call we replay: count, do not replay.
      this.orphans++
      this.queue.push({intent: {type: 'other', ev, nested: []}, closed: true})
      return this.drain()
    }
    const o: Open = {intent: {type, ev, nested: []}, closed: !opens(type)}
    this.queue.push(o)
    if (!o.closed) this.open.set(ev.pid, o)
    return this.drain()
  }

  private close(pid: number): void {
    const o = this.open.get(pid)
    if (!o) return
    o.closed = true
    this.open.delete(pid)
  }

  /** Close everything (end of input). */
  flush(): Intent[] {
    for (const o of this.open.values()) o.closed = true
    this.open.clear()
    this.pidOnCpu.length = 0
    this.pidOnBigCpu.clear()
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
    const nested = outer.nested
    for (let i = 0; i < nested.length; i++) if (nested[i]!.kind === 'change_range' && depth(nested[i]!.fn) === ed) return false
    return true
  }

  private drain(): Intent[] {
    const q = this.queue
    // Usually nothing or one intent is ready: no array for those cases.
    if (q.length - this.head <= 4096) {
      if (this.head >= q.length || !q[this.head]!.closed) return NONE
      if (this.head + 1 === q.length || !q[this.head + 1]!.closed) {
        this.one[0] = q[this.head++]!.intent
        this.trim()
        if (this.head === q.length) {
          q.length = 0
          this.head = 0
        }
        return this.one
      }
    }
    const out: Intent[] = []
    // Keep memory bounded when a call stays open while others complete behind it.
    while (q.length - this.head > 4096) {
      const o = q[this.head]!
      if (!o.closed) this.close(o.intent.ev.pid)
      out.push(o.intent)
      this.head++
    }
    while (this.head < q.length && q[this.head]!.closed) out.push(q[this.head++]!.intent)
    this.trim()
    return out
  }

  private trim(): void {
    const q = this.queue
    if (this.head > 1024 && this.head * 2 > q.length) {
      q.splice(0, this.head)
      this.head = 0
    }
  }
}

/**
 * Depth of an inner hit that names one linear-alias page of a set_memory_* call, or undefined:
 * __change_memory_common(page, PAGE_SIZE) → update_range_prot(page, PAGE_SIZE) →
 * split_kernel_leaf_mapping(page, page + PAGE_SIZE) (arch/arm64/mm/pageattr.c, update_range_prot(),
 * v6.19 and v7.3: one split_kernel_leaf_mapping(start, start + size) per range), so a trace that
 * probed only the outer calls and the split entry (6.19's trace_stacktrace) still names the pages.
 */
function aliasDepth(n: TraceEvent): number | undefined {
  if (n.kind === 'change_range') return n.fn === 'change_memory_common' ? undefined : depth(n.fn)
  if (n.kind === 'split_call' && n.fn === 'split_kernel_leaf_mapping') return 3
  return undefined
}

/**
 * The linear-alias pages a set_memory_* call touched, as the trace shows them: the starts of its
 * inner hits that lie in [linStart, linEnd), at the shallowest depth present
 * (__change_memory_common before update_range_prot before split_kernel_leaf_mapping, so one page
 * is never counted twice). Undefined when the trace has no such inner hits (the alias is then
 * unknown).
 */
export function aliasPagesOf(intent: Intent, linStart: Kva, linEnd: Kva): {addr: Kva; size: number}[] | undefined {
  // Two plain passes (this runs for every set_memory_* call): the shallowest inner depth, then the hits at it.
  const nested = intent.nested
  let shallowest = Infinity
  for (let i = 0; i < nested.length; i++) {
    const d = aliasDepth(nested[i]!)
    if (d !== undefined && d < shallowest) shallowest = d
  }
  if (shallowest === Infinity) return undefined
  const out: {addr: Kva; size: number}[] = []
  for (let i = 0; i < nested.length; i++) {
    const n = nested[i]!
    if (aliasDepth(n) !== shallowest) continue
    if (n.addr !== undefined && n.addr >= linStart && n.addr < linEnd) out.push({addr: n.addr, size: n.size ?? 0})
  }
  return out
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

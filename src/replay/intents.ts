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
  return (kindBits(ev.kind) & K_SIDE) !== 0 || (ev.kind === 'return' && !returnNests(ev.fn))
}

/** Kinds of the pageattr.c/mmu.c calls and their inner hits (a return of one of them nests). */
const CALL_KINDS: ReadonlySet<TraceEvent['kind']> = new Set(['set_memory', 'set_memory_valid', 'set_direct_map', 'change_range', 'split_call', 'split_primitive'])

/** A return probe of a pageattr.c/mmu.c call or inner hit nests in the open call; any other return is a side event. */
function returnNests(fn: string): boolean {
  const k = FUNCTIONS[fn]?.kind
  return k !== undefined && CALL_KINDS.has(k)
}

// What the assembler asks of an event kind, as bits (one switch per event instead of several
// string comparisons): a side event, a call that holds inner hits, a hit that may be inner.
const K_SIDE = 1
const K_OPENS = 2
const K_INNER = 4

function kindBits(kind: TraceEvent['kind']): number {
  switch (kind) {
    case 'vm_alloc':
    case 'vm_free':
    case 'vmap':
    case 'vunmap':
    case 'vm_purge':
    case 'module_load':
    case 'module_free':
    case 'other':
      return K_SIDE
    case 'set_memory':
    case 'set_memory_valid':
    case 'set_direct_map':
      return K_OPENS
    case 'change_range':
      return K_OPENS | K_INNER
    case 'split_call':
    case 'split_primitive':
    case 'return':
      return K_INNER
    default:
      return 0
  }
}

/**
 * Which inner hits may belong to which outer call (pageattr.c call graph, 6.1–6.19): the calls that
 * can hold inner hits are set_memory_*, set_memory_valid, set_direct_map_* and the change_range functions.
 */
function opens(type: IntentType): boolean {
  return type === 'set_memory' || type === 'set_memory_valid' || type === 'set_direct_map' || type === 'change_range'
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
function depth(fn: string): number {
  return fn === 'change_memory_common' ? 0 : fn === 'update_range_prot' ? 2 : 1
}

/** The shared "nothing ready" answer of push()/drain() (callers only read it). */
const NONE: Intent[] = []

/** A call while the assembler holds it. */
interface Held extends Intent {
  /** No later hit can join it. */
  closed: boolean
  /** Bit d set once an inner change_range hit of depth d (depth()) is nested: what fits() asks. */
  depths: number
}

/** Intents kept for reuse (release()), at most this many; a nested list longer than MAX_POOLED_NESTED is not kept. */
const MAX_POOLED = 8192
const MAX_POOLED_NESTED = 1024

export class IntentAssembler {
  /**
   * The open calls, one per pid: parallel arrays searched from the end. A call stays open only
   * while its pid is the last one seen on the CPU where it started (a task switch there closes
   * it), so there are never more open calls than CPUs, and usually one or two.
   */
  private readonly openPids: number[] = []
  private readonly openCalls: Held[] = []
  /**
   * The pid that last ran on each CPU: a call cannot go on while another task runs there. An
   * array for CPUs below 4096 (every real machine; one load per event instead of a Map lookup),
   * a Map above.
   */
  private readonly pidOnCpu: (number | undefined)[] = []
  private readonly pidOnBigCpu = new Map<number, number>()
  private readonly queue: Held[] = []
  private head = 0
  /** Hits that could not be attached to any call (e.g. a split probe with no outer call). */
  orphans = 0

  /** The one-intent answer of drain(), reused: no array per call. */
  private readonly one: Intent[] = []
  /** Released intents, reused by the next calls: no objects per call in a steady replay. */
  private readonly pool: Held[] = []

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
    const kind = ev.kind
    const bits = kindBits(kind)
    if (bits & K_SIDE || (kind === 'return' && !returnNests(ev.fn))) {
      this.queue.push(this.held(intentTypeOf(ev), ev, true))
      return this.drain()
    }
    const at = this.openIndex(pid)
    if (at >= 0) {
      const cur = this.openCalls[at]!
      if (bits & K_INNER && this.fits(cur, ev)) {
        cur.nested.push(ev)
        if (kind === 'change_range') cur.depths |= 1 << depth(ev.fn)
        return NONE
      }
      this.closeAt(at)
    }
    if (kind === 'split_call' || kind === 'split_primitive' || kind === 'return') {
      // Ground-truth probes outside any call we replay: count, do not replay.
      this.orphans++
      this.queue.push(this.held('other', ev, true))
      return this.drain()
    }
    const type = intentTypeOf(ev)
    const o = this.held(type, ev, !(bits & K_OPENS))
    this.queue.push(o)
    if (!o.closed) {
      this.openPids.push(pid)
      this.openCalls.push(o)
    }
    return this.drain()
  }

  /**
   * Hand back an intent push()/flush() returned, once read: the assembler reuses it (and its
   * nested list) for a later call. Only for intents no one keeps.
   */
  release(intent: Intent): void {
    const h = intent as Held
    if (this.pool.length >= MAX_POOLED || h.nested.length > MAX_POOLED_NESTED) return
    // pop(), not length = 0: emptying by length gives the backing store back, and the next call's
    // pushes would allocate a new one.
    const n = h.nested
    while (n.length > 0) n.pop()
    this.pool.push(h)
  }

  private held(type: IntentType, ev: TraceEvent, closed: boolean): Held {
    const h = this.pool.pop()
    if (h === undefined) return {type, ev, nested: [], closed, depths: 0}
    h.type = type
    h.ev = ev
    h.closed = closed
    h.depths = 0
    return h
  }

  private openIndex(pid: number): number {
    const pids = this.openPids
    for (let i = pids.length - 1; i >= 0; i--) if (pids[i] === pid) return i
    return -1
  }

  private closeAt(i: number): void {
    const pids = this.openPids
    const calls = this.openCalls
    calls[i]!.closed = true
    const last = pids.length - 1
    pids[i] = pids[last]!
    calls[i] = calls[last]!
    pids.pop()
    calls.pop()
  }

  private close(pid: number): void {
    const i = this.openIndex(pid)
    if (i >= 0) this.closeAt(i)
  }

  /** Close everything (end of input). */
  flush(): Intent[] {
    for (const o of this.openCalls) o.closed = true
    this.openPids.length = 0
    this.openCalls.length = 0
    this.pidOnCpu.length = 0
    this.pidOnBigCpu.clear()
    return this.drain()
  }

  /**
   * Whether an inner hit belongs to the open call (pageattr.c call graph): any inner hit nests in
   * a call that holds inner hits; for a change_range hit, change_memory_common calls
   * __change_memory_common once per alias page and once for the vmalloc range, so under it any
   * deeper hit nests; __change_memory_common, set_memory_valid and set_direct_map_* make one
   * update_range_prot call each, so a second hit of the same depth starts a new call; a hit no
   * deeper than the open range call is a new call.
   */
  private fits(outer: Held, ev: TraceEvent): boolean {
    if (!opens(outer.type)) return false
    if (ev.kind !== 'change_range' || outer.type === 'set_memory') return true
    const ed = depth(ev.fn)
    if (outer.type === 'change_range') {
      const od = depth(outer.ev.fn)
      if (ed <= od) return false
      if (od === 0) return true
    }
    return (outer.depths & (1 << ed)) === 0
  }

  private drain(): Intent[] {
    const q = this.queue
    // Usually nothing or one intent is ready: no array for those cases.
    if (q.length - this.head <= 4096) {
      if (this.head >= q.length || !q[this.head]!.closed) return NONE
      if (this.head + 1 === q.length || !q[this.head + 1]!.closed) {
        this.one[0] = q[this.head++]!
        this.trim()
        if (this.head === q.length) {
          // Emptied by pop(): `length = 0` would give the backing store back (see release()).
          while (q.length > 0) q.pop()
          this.head = 0
        }
        return this.one
      }
    }
    const out: Intent[] = []
    // Keep memory bounded when a call stays open while others complete behind it.
    while (q.length - this.head > 4096) {
      const o = q[this.head]!
      if (!o.closed) this.close(o.ev.pid)
      out.push(o)
      this.head++
    }
    while (this.head < q.length && q[this.head]!.closed) out.push(q[this.head++]!)
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

/** set_memory_* operation from change_memory_common's masks when only that function was probed. */
export function opFromMasks(set: bigint, clear: bigint): 'ro' | 'rw' | 'x' | 'nx' | undefined {
  if (set & HW.PTE_RDONLY) return 'ro'
  if (clear & HW.PTE_RDONLY) return 'rw'
  if (set & HW.PTE_PXN) return 'nx'
  if (clear & HW.PTE_PXN) return 'x'
  return undefined
}

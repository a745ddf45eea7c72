/**
 * The one normalized event model every trace reader produces and the replay consumes.
 *
 * Readers (tracefs, trace-cmd, perf script, bpftrace, CSV) are tokenizers: they turn a line into
 * a RawRecord (who, when, which probe/event, raw argument text). `normalize()` (src/ingest/
 * normalize.ts) maps a RawRecord onto a TraceEvent: it decides the kind from the probed symbol
 * first, the event name second, `--map NAME=KIND` overrides, and decodes the arguments.
 * Ordering across CPUs lives in one place (src/ingest/sorter.ts).
 */
import type {Kva} from '../model/address.js'

/** What the replay needs to know an event is. */
export type EventKind =
  /** set_memory_ro/rw/x/nx/rox on a vmalloc/module address (change_memory_common's callers). */
  | 'set_memory'
  /** set_memory_valid(addr, numpages, enable). */
  | 'set_memory_valid'
  /** set_direct_map_invalid_noflush / _default_noflush / _valid_noflush: one struct page. */
  | 'set_direct_map'
  /** change_memory_common / __change_memory_common / update_range_prot: a range with masks. */
  | 'change_range'
  /** split_kernel_leaf_mapping(start, end) and its _locked(addr) helper. */
  | 'split_call'
  /** The kernel's own split primitives, probed as ground truth: split_pud/pmd/contpmd/contpte. */
  | 'split_primitive'
  /** A return probe (kretprobe / fexit): `ret` is set. */
  | 'return'
  /** __vmalloc_node_range / execmem_alloc (returns an address) and vfree / execmem_free. */
  | 'vm_alloc'
  | 'vm_free'
  /** __vmap_pages_range_noflush(addr, end, prot, page_shift) and ioremap_page_range(addr, end, phys, prot): a range mapped. */
  | 'vmap'
  /** __vunmap_range_noflush(start, end): a range unmapped. */
  | 'vunmap'
  /** vmalloc:purge_vmap_area_lazy(start, end, npurged): lazily freed areas handed back. */
  | 'vm_purge'
  /** module:module_load / module:module_free tracepoints. */
  | 'module_load'
  | 'module_free'
  /** A trace_marker write (`tracing_mark_write: …`). */
  | 'marker'
  /** Anything else a trace carries (kept for counting; the replay ignores it). */
  | 'other'

export interface SourcePos {
  file: string
  line: number
}

/** A record as a tokenizer sees it, before any meaning is given to it. */
export interface RawRecord {
  /** Timestamp in nanoseconds, exact (tracefs prints seconds.micro; counter clocks print raw counts). */
  tsNs: bigint
  cpu: number
  pid: number
  tgid?: number
  comm: string
  /** Event name as printed (e.g. `set_memory_ro`, `p_set_memory_ro_0`, `kprobes:foo`, `module_load`). */
  event: string
  /** Event system/group when the format prints one (perf: `probe:`, trace-cmd: none, bpftrace: provider). */
  group?: string
  /** The probed symbol when the line shows the probe IP, e.g. `set_memory_ro` from `(set_memory_ro+0x0/0x30)`. */
  probeSymbol?: string
  /** For a return probe, the function returned from (`<- split_kernel_leaf_mapping`); `0x…` when unsymbolized. */
  returnFrom?: string
  /** Argument text by name, exactly as printed (`addr` → `0xffffcc0d8602b000`). */
  args: Record<string, string>
  /** The rest of the payload for events without name=value args (markers, function tracer). */
  text?: string
  /** Kernel stack (innermost first), when the trace attached one. */
  stack?: string[]
  /** `<user stack trace>` frames, when the trace attached one. */
  userStack?: string[]
  /** Module of the probed symbol (` [nf_tables]` suffix of the IP). */
  probeModule?: string
  /** The probe IP when it is not symbolized (`0xffff80008034a1c8`: trace-cmd, perf, `0x%08lx`). */
  probeIp?: string
  /** Function tracer: the caller after `<-`. */
  caller?: string
  /** The line was cut by the kernel (`[LINE TOO BIG]`): args/text may be incomplete. */
  truncated?: boolean
  src: SourcePos
}

export type SetMemoryOp = 'ro' | 'rw' | 'x' | 'nx' | 'rox'
export type DirectMapOp = 'invalid' | 'default' | 'valid'

/** A normalized event. Fields that do not apply to a kind are undefined. */
export interface TraceEvent {
  kind: EventKind
  /** The kernel function the event came from (`set_memory_ro`, `__change_memory_common`, …). */
  fn: string
  /** The probe/event name as the user defined it. */
  probe: string
  tsNs: bigint
  cpu: number
  pid: number
  comm: string
  /** Start address as a Kva (see model/address.ts); undefined if the value is not a kernel VA. */
  addr?: Kva
  /** The address text as captured, kept for messages. */
  addrText?: string
  /** End address (split_kernel_leaf_mapping's `end`). */
  end?: Kva
  /** Size in bytes (numpages × PAGE_SIZE, `size`, or end − start). */
  size?: number
  /** Page count as passed (numpages / nr). */
  pages?: number
  /** set_memory_* operation. */
  op?: SetMemoryOp | DirectMapOp
  /** set_memory_valid enable / set_direct_map_valid valid. */
  enable?: boolean
  /** Hardware set/clear masks (change_range). */
  setMask?: bigint
  clearMask?: bigint
  /** Decoded mask names, e.g. ["RDONLY"] / ["WRITE"]. */
  setNames?: string[]
  clearNames?: string[]
  /** set_direct_map_*: the struct page pointer (vmemmap address) as a Kva. */
  page?: Kva
  /** vmap: page_shift of __vmap_pages_range_noflush (PAGE_SHIFT when absent). */
  pageShift?: number
  /** vmap: the pgprot value as passed; ioremap: the physical address too. */
  prot?: bigint
  phys?: bigint
  /** Return value of a return probe. */
  ret?: bigint
  /** Module name (module_load/free), marker text, or other free text. */
  text?: string
  stack?: string[]
  /** The raw argument text of the record (shared with the RawRecord, not copied). */
  args?: Record<string, string>
  /** A marker ptreplay inserted (a snapshot's dump placed by steps.log), not one the trace holds. */
  synthetic?: true
  src: SourcePos
}

/** A per-reader diagnostic: never thrown, counted and shown. */
export interface Diagnostic {
  src: SourcePos
  message: string
  /** e.g. 'unrecognized', 'lost-events', 'clock', 'truncated' */
  code: string
}

/** Set on a record's args (a symbol key: not seen by Object.keys or JSON) to the first argument name a line gives twice. */
export const REPEATED_ARG: unique symbol = Symbol('repeated-arg')

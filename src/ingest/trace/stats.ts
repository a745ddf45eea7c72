/**
 * Counters a trace read produces, and the diagnostic sink (bounded: the first examples per code
 * are kept, every occurrence is counted).
 */
import type {Diagnostic} from '../events.js'
import {fatalInStrict} from '../diagnostics.js'
import {InputError} from '../source.js'

export interface TraceFileStats {
  name: string
  format: string
  lines: number
  bytes: number
}

export interface TraceStats {
  /** Lines read, over all files. */
  lines: number
  /** Bytes read (compressed bytes for compressed files). */
  bytes: number
  /** Normalized events delivered. */
  events: number
  byKind: Record<string, number>
  /** By event name as printed (`set_memory_ro`, `tracing_mark_write`, …): compare with kprobe_profile. */
  byProbe: Record<string, number>
  byComm: Record<string, number>
  byCpu: Record<string, number>
  firstTsNs?: bigint
  lastTsNs?: bigint
  /** Sum of known loss counts (`CPU:N [LOST N EVENTS]`, `[N EVENTS DROPPED]`, perf/bpftrace lost). */
  lostEvents: number
  /** Number of loss markers, including those with an unknown count. */
  lostMarkers: number
  lostByCpu: Record<string, number>
  /** entries-written − entries-in-buffer from `# entries-in-buffer/entries-written:` headers. */
  overwritten: number
  /** Lines that are neither a record, a header, nor a continuation. */
  unrecognized: number
  /** The first few unrecognized lines, `file:line: expected …, got …`. */
  unrecognizedExamples: Diagnostic[]
  /** Format of the input ('tracefs', 'trace-cmd', 'perf', …; 'mixed' when files differ). */
  format: string
  files: TraceFileStats[]
  /** Stack traces attached to their event. */
  stacks: number
  /** Stack traces with no preceding record of the same CPU and PID. */
  orphanStacks: number
  /** Unmatched lines appended to the previous free-text record (multi-line markers). */
  continuationLines: number
  /** Records dropped as duplicates of an earlier `cat trace` snapshot in the same file (docs/trace-text-quirks.md#repeated-snapshots). */
  duplicates: number
  /** `[LINE TOO BIG]` records and a cut last line. */
  truncatedLines: number
  /** Per-CPU timestamps that went backwards (kept in file order; docs/trace-text-quirks.md#per-cpu-order). */
  clockBackwards: number
  /** Events that arrived after later-stamped events were already emitted (sorter window exceeded). */
  lateEvents: number
  /** set_direct_map_* events whose struct page could not be turned into a VA. */
  directMapPagesWithoutVmemmap: number
  /** Events whose address/size arguments did not decode. */
  badArgs: number
  /** Occurrences per diagnostic code. */
  diagnosticsByCode: Record<string, number>
}

/** A record keyed by input text (comm, probe names): no prototype, so `__proto__` is a key like any other. */
function dict(): Record<string, number> {
  return Object.create(null) as Record<string, number>
}

export function newStats(): TraceStats {
  return {
    lines: 0,
    bytes: 0,
    events: 0,
    byKind: dict(),
    byProbe: dict(),
    byComm: dict(),
    byCpu: dict(),
    firstTsNs: undefined,
    lastTsNs: undefined,
    lostEvents: 0,
    lostMarkers: 0,
    lostByCpu: dict(),
    overwritten: 0,
    unrecognized: 0,
    unrecognizedExamples: [],
    format: 'unknown',
    files: [],
    stacks: 0,
    orphanStacks: 0,
    continuationLines: 0,
    duplicates: 0,
    truncatedLines: 0,
    clockBackwards: 0,
    lateEvents: 0,
    directMapPagesWithoutVmemmap: 0,
    badArgs: 0,
    diagnosticsByCode: dict(),
  }
}

/** Diagnostics kept per code; the rest are counted only. */
export const MAX_DIAGNOSTICS_PER_CODE = 100
const MAX_UNRECOGNIZED_EXAMPLES = 20

export class DiagnosticSink {
  readonly list: Diagnostic[] = []
  /** Under strict: the earliest fatal diagnostic seen since the last throwPending(). */
  private pending: Diagnostic | undefined
  constructor(
    readonly stats: TraceStats,
    readonly strict = false,
  ) {}

  add(d: Diagnostic): void {
    const by = this.stats.diagnosticsByCode
    const n = (by[d.code] = (by[d.code] ?? 0) + 1)
    if (d.code === 'unrecognized') {
      this.stats.unrecognized++
      if (this.stats.unrecognizedExamples.length < MAX_UNRECOGNIZED_EXAMPLES) this.stats.unrecognizedExamples.push(d)
    }
    if (n <= MAX_DIAGNOSTICS_PER_CODE) this.list.push(d)
    // Strict stops at the first diagnostic in input order, whichever stage found it: a bad
    // argument (found when the record is normalized) comes before a junk line read later.
    if (this.strict && fatalInStrict(d.code)) {
      const p = this.pending
      if (!p || (p.src.file === d.src.file && d.src.line < p.src.line)) this.pending = d
    }
  }

  /**
   * Under strict, throw the earliest fatal diagnostic collected (called between slices of input),
   * unless a record before it is still held back unnormalized (`heldFrom`: its line): that one's
   * diagnostic, found later, would come first in input order.
   */
  throwPending(heldFrom?: number): void {
    const d = this.pending
    if (d && !(heldFrom !== undefined && heldFrom < d.src.line)) throw new InputError(d.message.startsWith(`${d.src.file}:`) ? d.message : `${d.src.file}:${d.src.line}: ${d.message}`, d.src.file, d.src.line)
  }
}

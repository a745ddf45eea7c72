/**
 * The reader interface every trace format implements (tracefs, trace-cmd, perf script here;
 * bpftrace, bpftrace-json and CSV elsewhere); the tokens they return are in tokens.ts.
 *
 * Perfetto's trace processor split, in small: a **tokenizer** turns one line into one token and
 * knows nothing else (no ordering, no meaning); the assembler (assemble.ts) attaches stack frames
 * and continuation lines to their record; normalize.ts gives records a meaning; sorter.ts alone
 * knows about time order across CPUs and files.
 *
 * A reader is either
 * - a `LineReader`: `tokenize(line, pos, state)` is pure apart from its own per-file state and
 *   returns one token (or null for a line that carries nothing, such as a blank line), or
 * - a `StreamReader`: a whole-stream parser (CSV via csv-parse) that yields batches of tokens.
 */
import type {RawRecord, SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import type {LineBatch} from '../source.js'
import type {ProbeEvent} from './probe-event.js'
import type {Token} from './tokens.js'

export interface ReaderOptions {
  /** Source name for messages. */
  file: string
}

interface ReaderBase {
  /** Registry key and `--format` value, e.g. 'tracefs', 'trace-cmd', 'perf'. */
  readonly name: string
  readonly description: string
  /**
   * Confidence in [0, 1] that these first lines (CR stripped, at most ~200) are this format.
   * 0 = certainly not. detect.ts picks the highest score.
   */
  sniff?(head: readonly string[]): number
  /**
   * Sorter window (events) this format needs: how far out of time order its events can be.
   * Default DEFAULT_WINDOW (sorter.ts). tracefs `trace` is merged by timestamp already and
   * trace_pipe disorders by at most what one read() returns; bpftrace drains whole per-CPU
   * buffers unsorted and needs more. TraceReadOptions.window overrides.
   */
  readonly sortWindow?: number
}

export interface LineReader<S = unknown> extends ReaderBase {
  readonly type: 'line'
  newState(opts: ReaderOptions): S
  /** One token per line as a rule; an array when one line carries two things (a warning + a record). */
  tokenize(line: string, pos: SourcePos, state: S): Token | Token[] | null
  /**
   * Optional fast path for event lines, given as bytes `buf[from, to)` (ASCII, no newline or
   * carriage return) with the same characters at `text[from + off, to + off)` (chunk.ts): the
   * record tokenize(line) returns, or undefined to let tokenize() read the line.
   */
  recordBytes?(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, state: S): RawRecord | undefined
  /**
   * Optional fused fast path before recordBytes: the normalized event `norm.normalize()` would
   * make of recordBytes's record, built directly (a ProbeEvent), or undefined.
   */
  eventBytes?(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, state: S, norm: Normalizer): ProbeEvent | undefined
  /** recordBytes() of a line given as `[from, to)` of a larger string (the parallel reader's batch text). */
  tokenizeRange?(text: string, from: number, to: number, pos: SourcePos, state: S): RawRecord | undefined
  /** eventBytes() of a line given as `[from, to)` of a larger string (the parallel reader's batch text). */
  eventRange?(text: string, from: number, to: number, pos: SourcePos, state: S, norm: Normalizer): ProbeEvent | undefined
}

export interface StreamReader extends ReaderBase {
  readonly type: 'stream'
  /** Parse a whole source; yield tokens in file order (normally RawRecords and Diagnostics). */
  parse(batches: AsyncIterable<LineBatch>, opts: ReaderOptions): AsyncIterable<Token[]>
}

export type TraceReader = LineReader<unknown> | StreamReader

/**
 * The reader interface every trace format implements (tracefs, trace-cmd, perf script here;
 * bpftrace, bpftrace-json and CSV elsewhere).
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
import type {Diagnostic, RawRecord, SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import type {LineBatch} from '../source.js'
import type {ProbeEvent} from './probe-event.js'

/** A `<stack trace>` / `<user stack trace>` record: its frames follow as `frame` tokens. */
export interface StackToken {
  t: 'stack'
  cpu: number
  pid: number
  user: boolean
  src: SourcePos
}

/** One stack frame line (` => sym`, perf `\t addr sym (dso)`, bpftrace 8-space frames). */
export interface FrameToken {
  t: 'frame'
  frame: string
  src: SourcePos
}

/** `CPU:N [LOST N EVENTS]`, `CPU:N [N EVENTS DROPPED]`, bpftrace `Lost N events`. */
export interface LostToken {
  t: 'lost'
  /** -1 when the format does not say which CPU. */
  cpu: number
  /** undefined when the count is unknown (`CPU:3 [LOST EVENTS]`). */
  count?: number
  src: SourcePos
}

/** Structural lines that are not events but that the stats want to know about. */
export interface InfoToken {
  t: 'info'
  /**
   * 'segment': a `# tracer:` header (start of a `cat trace` snapshot; duplicates possible after it).
   * 'overwritten': `# entries-in-buffer/entries-written: a/b` → value = b − a events overwritten.
   * 'cpu-started': `##### CPU N buffer started ####` (value = cpu).
   * 'cpus': trace-cmd `cpus=N`. 'header': any other header line (ignored).
   * 'blank': an empty line that ends a record (perf -g, bpftrace kstack); it closes the stack.
   */
  what: 'segment' | 'overwritten' | 'cpu-started' | 'cpus' | 'header' | 'blank'
  value?: number
  text?: string
  src: SourcePos
}

/** A line that matches no record start; the assembler decides (continuation or unrecognized). */
export interface TextToken {
  t: 'text'
  text: string
  /** A hint the reader can give for the unrecognized message (e.g. "options/context-info off?"). */
  hint?: string
  src: SourcePos
}

export type ControlToken = StackToken | FrameToken | LostToken | InfoToken | TextToken

/** Everything a tokenizer can return for one line. */
export type Token = RawRecord | Diagnostic | ControlToken

export function isControl(t: Token): t is ControlToken {
  return (t as ControlToken).t !== undefined
}

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
   * Optional fast path for event lines, given as `[from, to)` of a larger string (LineBatch.text):
   * the record tokenize(line) returns, or undefined to let tokenize() read the line.
   */
  tokenizeRange?(text: string, from: number, to: number, pos: SourcePos, state: S): RawRecord | undefined
  /**
   * Optional fused fast path before tokenizeRange: the normalized event `norm.normalize()` would
   * make of tokenizeRange's record, built directly (a ProbeEvent), or undefined.
   */
  eventRange?(text: string, from: number, to: number, pos: SourcePos, state: S, norm: Normalizer): ProbeEvent | undefined
}

export interface StreamReader extends ReaderBase {
  readonly type: 'stream'
  /** Parse a whole source; yield tokens in file order (normally RawRecords and Diagnostics). */
  parse(batches: AsyncIterable<LineBatch>, opts: ReaderOptions): AsyncIterable<Token[]>
}

export type TraceReader = LineReader<unknown> | StreamReader

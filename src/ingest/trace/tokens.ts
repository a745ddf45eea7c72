/**
 * The tokens a trace reader returns, one per line as a rule: a record (RawRecord), a diagnostic,
 * or a control token (stack start, frame, lost events, structural info, unmatched text) that the
 * assembler (assemble.ts) and the stats act on. The reader interface is in types.ts.
 */
import type {Diagnostic, RawRecord, SourcePos} from '../events.js'

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

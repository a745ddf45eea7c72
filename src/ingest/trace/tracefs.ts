/**
 * tracefs `trace` / `trace_pipe` / `per_cpu/cpuN/trace` text (kernel/trace/trace_output.c
 * trace_print_context(), kernel/trace/trace.c print_trace_line(); quirks: docs/trace-text-quirks.md).
 *
 * Accepts every header era (0/4/5/7+ flag columns, 5- and 7-wide PIDs, optional TGID, irq-info
 * off, counter/uptime clocks), kprobe/kretprobe/fprobe payloads, function-tracer lines with and
 * without func-args, `<stack trace>` records, `CPU:N [LOST N EVENTS]`, `##### CPU N buffer
 * started ####`, `[LINE TOO BIG]`, markers. The latency-format layout is parsed (relative
 * times, with a warning); options/raw output is refused with the option to turn off.
 */
import type {Diagnostic, RawRecord, SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import {fastProbeEvent, fastProbeRecord, probeEventAt, probeRecordAt, TRACEFS_SHAPE} from './fastpath.js'
import type {ProbeEvent} from './probe-event.js'
import {type Context, newContext, parseBody, scanContext, scanNoBracketContext} from './scan.js'
import {isDigit, quotePrefixEnd, skipSpaces} from './chars.js'
import {NAMES} from './intern.js'
import type {LineReader} from './types.js'
import type {Token} from './tokens.js'

export {fastProbeEvent, fastProbeRecord} from './fastpath.js'

export interface TracefsState {
  file: string
  ctx: Context
  /** A `# … latency trace v1.1.5` header was seen: lines use the latency layout. */
  latency: boolean
  latencyWarned: boolean
  rawWarned: boolean
}

const LOST = /^CPU:(\d+) \[LOST (?:(\d+) )?EVENTS\]$/
const CPU_STARTED = /^##### CPU (\d+) buffer started ####$/
const ENTRIES = /^# entries-in-buffer\/entries-written: (\d+)\/(\d+)/
/** options/raw: `pid cpu ts type: N` or `pid cpu ts` + a raw dump (trace_output.c *_raw()). */
const RAW_LINE = /^\d+ \d+ \d+ /

export function tokenizeTracefs(line: string, pos: SourcePos, st: TracefsState): Token | Token[] | null {
  const i = line.charCodeAt(0) === 62 /* > */ ? quotePrefixEnd(line) : 0
  const c0 = line.charCodeAt(i)
  if (c0 === 35 /* # */) return header(line.slice(i), pos, st)
  if (i >= line.length) return null
  // frame lines: " => sym" (one leading space, but do not count spaces: docs/trace-text-quirks.md#multi-line-records)
  if (c0 === 32 || c0 === 9 || c0 === 61) {
    const j = skipSpaces(line, i)
    if (j >= line.length) return null
    if (line.charCodeAt(j) === 61 /* = */ && line.charCodeAt(j + 1) === 62 /* > */) {
      return {t: 'frame', frame: frameText(line, j + 2), src: pos}
    }
  }
  const ctx = st.ctx
  if (!st.latency && scanContext(line, i, ctx)) return parseBody(line, ctx, pos, 'site-func')
  if (c0 === 67 /* C */) {
    const m = LOST.exec(line.slice(i))
    if (m) return {t: 'lost', cpu: Number(m[1]), count: m[2] === undefined ? undefined : Number(m[2]), src: pos}
  }
  if (scanNoBracketContext(line, i, ctx)) {
    const rec = parseBody(line, ctx, pos, 'site-func')
    if (!st.latencyWarned) {
      st.latencyWarned = true
      return [
        {
          src: pos,
          code: 'latency-format',
          message: `${pos.file}:${pos.line}: latency-format line (comm cut to 8 characters, CPU without brackets, relative times); parsed, but for absolute times and full comms: echo 0 > /sys/kernel/tracing/options/latency-format`,
        },
        rec,
      ]
    }
    return rec
  }
  if (RAW_LINE.test(line.slice(i)) && isDigit(line.charCodeAt(i))) {
    return refuseRaw(pos, st)
  }
  return {t: 'text', text: line, hint: hintFor(line.slice(i)), src: pos}
}

function refuseRaw(pos: SourcePos, st: TracefsState): Diagnostic {
  const first = !st.rawWarned
  st.rawWarned = true
  return {
    src: pos,
    code: first ? 'raw-format' : 'unrecognized',
    message: `${pos.file}:${pos.line}: options/raw output (pid cpu ts + raw fields) cannot be replayed: echo 0 > /sys/kernel/tracing/options/raw and capture again`,
  }
}

function hintFor(s: string): string {
  if (/^[A-Za-z_][\w.]*: /.test(s)) return 'a `comm-pid [cpu] ts:` prefix (options/context-info off? turn it on)'
  return 'a tracefs event line `comm-pid [cpu] flags ts: event: payload`'
}

/**
 * The frame after ` => `, interned (stacks repeat: no allocation, no reference into the chunk).
 * The sym-addr option appends ` <ffff…>` to each symbol: dropped.
 */
function frameText(line: string, from: number): string {
  const s = skipSpaces(line, from)
  let e = line.length
  while (e > s && (line.charCodeAt(e - 1) === 32 || line.charCodeAt(e - 1) === 9)) e--
  if (e > s && line.charCodeAt(e - 1) === 62 /* > */) {
    const lt = line.lastIndexOf(' <', e)
    if (lt > s) e = lt
  }
  return NAMES.get(line, s, e)
}

function header(h: string, pos: SourcePos, st: TracefsState): Token | null {
  if (h.startsWith('##### CPU')) {
    const m = CPU_STARTED.exec(h)
    if (m) return {t: 'info', what: 'cpu-started', value: Number(m[1]), src: pos}
  }
  if (h.startsWith('# tracer:')) {
    st.latency = false
    return {t: 'info', what: 'segment', text: h.slice(9).trim(), src: pos}
  }
  if (h.startsWith('# entries-in-buffer')) {
    const m = ENTRIES.exec(h)
    if (m) return {t: 'info', what: 'overwritten', value: Number(m[2]) - Number(m[1]), src: pos}
  }
  // latency-format header: "# nop latency trace v1.1.5 on …" or the "#  cmd     pid" legend
  if (/ latency trace v\d/.test(h) || /^#\s+cmd\s+pid\b/.test(h)) {
    st.latency = true
    if (!st.latencyWarned) {
      st.latencyWarned = true
      return {
        src: pos,
        code: 'latency-format',
        message: `${pos.file}:${pos.line}: latency-format output: times are relative µs and comms cut to 8 characters; parsed as such. For absolute times: echo 0 > /sys/kernel/tracing/options/latency-format`,
      }
    }
  }
  return {t: 'info', what: 'header', text: h, src: pos}
}

/** Score the first lines: a `# tracer:` header or tracefs-shaped event lines. */
export function sniffTracefs(head: readonly string[]): number {
  let events = 0
  let singleSpace = 0
  const ctx = newContext()
  for (const raw of head) {
    const l = raw.charCodeAt(0) === 62 ? raw.slice(quotePrefixEnd(raw)) : raw
    if (l.startsWith('# tracer:') || / latency trace v\d/.test(l)) return 1
    if (/^CPU:\d+ \[LOST /.test(l) || l.startsWith('##### CPU ')) return 0.9
    if (/^cpus=\d+$/.test(l)) return 0
    if (scanContext(l, 0, ctx)) {
      events++
      // tracefs prints exactly one space after "event:"; trace-cmd pads names to 20 columns
      const m = /^([\w.]+):( +)/.exec(l.slice(ctx.body))
      if (!m || m[2]!.length === 1 || m[1]!.length + 1 >= 20) singleSpace++
    }
  }
  if (events === 0) return 0
  return singleSpace === events ? 0.8 : 0.3
}

/** eventBytes for tracefs: the fused fast path (the caller falls back to recordBytes). */
function tracefsEventBytes(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, st: TracefsState, norm: Normalizer): ProbeEvent | undefined {
  return st.latency ? undefined : probeEventAt(buf, from, to, text, off, pos, norm, TRACEFS_SHAPE)
}

/** recordBytes for tracefs: the fast path only (the caller falls back to tokenizeTracefs). */
function tracefsRecordBytes(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, st: TracefsState): RawRecord | undefined {
  return st.latency ? undefined : probeRecordAt(buf, from, to, text, off, pos, TRACEFS_SHAPE)
}

export const tracefsReader: LineReader<TracefsState> = {
  type: 'line',
  name: 'tracefs',
  description: 'tracefs trace / trace_pipe text (cat /sys/kernel/tracing/trace)',
  sniff: sniffTracefs,
  // trace: merged by timestamp; trace_pipe: out of order by at most one read()
  sortWindow: 2048,
  newState: ({file}) => ({file, ctx: newContext(), latency: false, latencyWarned: false, rawWarned: false}),
  tokenize: tokenizeTracefs,
  recordBytes: tracefsRecordBytes,
  eventBytes: tracefsEventBytes,
  tokenizeRange: (text, from, to, pos, st) => (st.latency ? undefined : fastProbeRecord(text, pos, from, to, TRACEFS_SHAPE)),
  eventRange: (text, from, to, pos, st, norm) => (st.latency ? undefined : fastProbeEvent(text, pos, from, to, norm, TRACEFS_SHAPE)),
}

/**
 * The tracefs reader without its fast path (every line through scanContext + parseBody): not
 * registered; tests register it to check that the fast path changes no event.
 */
export const tracefsGeneralReader: LineReader<TracefsState> = {
  type: 'line',
  name: 'tracefs-general',
  description: 'tracefs text, general path only (for checking the fast path)',
  sortWindow: tracefsReader.sortWindow,
  newState: tracefsReader.newState,
  tokenize: tokenizeTracefs,
}

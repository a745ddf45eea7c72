/**
 * `trace-cmd report` text (rostedt/trace-cmd tracecmd/trace-read.c trace_show_data(), 3.1–3.4;
 * quirks: docs/trace-text-quirks.md).
 *
 * `%16s-%-5d [%03d]`, flags only from trace-cmd 3.3 (commit 1e713bfc), ` %5lu.%06lu:` (or 9
 * digits with -t), the event name padded to 20 columns, then libtraceevent's rendering of the
 * event's print fmt. For kprobes that is `(%lx) a=…` with a bare-hex IP and, for return
 * probes, `(%lx <- %lx)` = (function, return site): the reverse of the tracefs text
 * (docs/trace-text-quirks.md#kretprobe-ip-order).
 * `-l` glues the CPU to the flags (`1.....`) and cuts comms to 8. Header/special lines:
 * `cpus=N`, `version = N`, `CPU N is empty`, `CPU:N [[N ]EVENTS DROPPED]`, `CPU:N [SUBBUFFER START]`.
 */
import type {SourcePos} from '../events.js'
import {fastProbeEvent, fastProbeRecord, probeEventAt, probeRecordAt, TRACE_CMD_SHAPE} from './fastpath.js'
import {type Context, newContext, parseBody, scanContext, scanNoBracketContext} from './scan.js'
import {quotePrefixEnd, skipSpaces} from './chars.js'
import type {LineReader} from './types.js'
import type {Token} from './tokens.js'

export interface TraceCmdState {
  file: string
  ctx: Context
}

const DROPPED = /^CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]$/
const HEADER = /^(?:cpus=(\d+)|version = (\d+)|CPU (\d+) is empty|CPU:\d+ \[SUBBUFFER START\])\s*$/

export function tokenizeTraceCmd(line: string, pos: SourcePos, st: TraceCmdState): Token | Token[] | null {
  const i = line.charCodeAt(0) === 62 /* > */ ? quotePrefixEnd(line) : 0
  if (i >= line.length) return null
  const c0 = line.charCodeAt(i)
  if (c0 === 32 || c0 === 9 || c0 === 61) {
    const j = skipSpaces(line, i)
    if (j >= line.length) return null
    // kernel_stack events render their frames as "=> sym (addr)" lines
    if (line.charCodeAt(j) === 61 && line.charCodeAt(j + 1) === 62) {
      let f = line.slice(j + 2).trim()
      const paren = f.lastIndexOf(' (')
      if (paren > 0 && f.endsWith(')')) f = f.slice(0, paren)
      return {t: 'frame', frame: f, src: pos}
    }
  }
  const ctx = st.ctx
  if (scanContext(line, i, ctx) || scanNoBracketContext(line, i, ctx)) {
    // the event name is padded to 20 columns: skip the extra spaces before the payload
    const r = parseBody(line, ctx, pos, 'func-site')
    if ('t' in r && r.t === 'text') {
      // kernel_stack: "<stack trace >" rendering
      if (/^kernel_stack:\s+<stack trace/.test(line.slice(ctx.body))) return {t: 'stack', cpu: ctx.cpu, pid: ctx.pid, user: false, src: pos}
    } else if (!('t' in r)) {
      if (r.event === 'kernel_stack' && r.text?.startsWith('<stack trace')) {
        return {t: 'stack', cpu: ctx.cpu, pid: ctx.pid, user: false, src: pos}
      }
      if (r.event === 'user_stack' && r.text?.startsWith('<user stack trace')) {
        return {t: 'stack', cpu: ctx.cpu, pid: ctx.pid, user: true, src: pos}
      }
      // function plugin: "function:             mutex_unlock [<-- parent]"
      if (r.event === 'function' && r.probeSymbol === undefined && r.text) {
        const m = /^([A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?)?(?:\s+<-+\s*(\S+))?\s*$/.exec(r.text)
        if (m) {
          r.probeSymbol = m[1]
          if (m[2]) r.caller = m[2]
          r.args = {}
        }
      }
    }
    return r
  }
  const s = i === 0 ? line : line.slice(i)
  if (c0 === 67 /* C */) {
    const m = DROPPED.exec(s)
    if (m) return {t: 'lost', cpu: Number(m[1]), count: m[2] === undefined ? undefined : Number(m[2]), src: pos}
  }
  const h = HEADER.exec(s)
  if (h) {
    if (h[1] !== undefined) return {t: 'info', what: 'cpus', value: Number(h[1]), src: pos}
    return {t: 'info', what: 'header', text: s, src: pos}
  }
  return {t: 'text', text: line, hint: 'a trace-cmd report line `comm-pid [cpu] ts: event: payload`', src: pos}
}

/** `cpus=N` is always trace-cmd's first stdout line; otherwise padded event names give it away. */
export function sniffTraceCmd(head: readonly string[]): number {
  let events = 0
  let padded = 0
  let flagless = 0
  const ctx = newContext()
  for (const raw of head) {
    const l = raw.charCodeAt(0) === 62 ? raw.slice(quotePrefixEnd(raw)) : raw
    if (l.trim() === '') continue
    if (/^cpus=\d+$/.test(l) || /^version = \d+$/.test(l)) return 1
    if (/^CPU:\d+ \[(?:\d+ )?EVENTS DROPPED\]$/.test(l)) return 0.95
    if (l.startsWith('# tracer:')) return 0
    if (scanContext(l, 0, ctx)) {
      events++
      if (ctx.flags === undefined) flagless++
      const m = /^([\w.]+):( +)/.exec(l.slice(ctx.body))
      // " %s: " then padding up to 20 name columns: name + ':' + spaces = 22 (23 with -R)
      const w = m ? m[1]!.length + 1 + m[2]!.length : 0
      if (m && m[2]!.length > 1 && w >= 21 && w <= 24) padded++
    } else if (scanNoBracketContext(l, 0, ctx)) events++
  }
  if (events === 0) return 0
  if (padded > 0) return 0.85
  return flagless === events ? 0.4 : 0.2
}

export const traceCmdReader: LineReader<TraceCmdState> = {
  type: 'line',
  name: 'trace-cmd',
  description: 'trace-cmd report text (3.1 without flags, ≥3.3 with flags, -t, -l)',
  sniff: sniffTraceCmd,
  // trace-cmd report merges the per-CPU streams by timestamp
  sortWindow: 1024,
  newState: ({file}) => ({file, ctx: newContext()}),
  tokenize: tokenizeTraceCmd,
  // the kprobe lines' fast path (fastpath.ts); every other line: tokenizeTraceCmd
  recordBytes: (buf, from, to, text, off, pos) => probeRecordAt(buf, from, to, text, off, pos, TRACE_CMD_SHAPE),
  eventBytes: (buf, from, to, text, off, pos, _st, norm) => probeEventAt(buf, from, to, text, off, pos, norm, TRACE_CMD_SHAPE),
  tokenizeRange: (text, from, to, pos) => fastProbeRecord(text, pos, from, to, TRACE_CMD_SHAPE),
  eventRange: (text, from, to, pos, _st, norm) => fastProbeEvent(text, pos, from, to, norm, TRACE_CMD_SHAPE),
}

/**
 * Hand-written scanners shared by the tracefs, trace-cmd and perf tokenizers.
 *
 * Why not regexes: a `.{1,16}` comm followed by backtracking over flags and a timestamp costs
 * several passes per line; the hot path here is one left-to-right pass with charCodeAt, anchored on the
 * `[cpu]` field, never by column (docs/trace-text-quirks.md#anchor-on-cpu).
 */
import type {RawRecord, SourcePos} from '../events.js'
import {C0, SP, isDigit, isNameChar, isSpace, skipSpaces} from './chars.js'
import {NAMES} from './intern.js'
import {parseFunctionBody, parseProbePayload, parseTracepointArgs} from './probe-args.js'
import type {StackToken, TextToken} from './tokens.js'

/** The per-event context prefix: `comm-pid [(tgid)] [cpu] [flags] ts: `. */
export interface Context {
  comm: string
  pid: number
  tgid: number | undefined
  cpu: number
  flags: string | undefined
  /** Nanoseconds for `sec.frac` stamps; the raw count for counter/uptime clocks (isCount). */
  tsNs: bigint
  isCount: boolean
  /** Index just after `: ` (the body start). */
  body: number
}

/**
 * Parse a timestamp `[from, to)`: `692.763082` (µs, tracefs/trace-cmd), `714.687947377` (ns, -t /
 * --ns) or a raw integer (counter/uptime clocks). Returns undefined when the text is not one.
 * Exact: the number path is used while seconds × 1e9 stays below 2^53 (104 days of uptime).
 */
export function parseTs(line: string, from: number, to: number): {ns: bigint; isCount: boolean} | undefined {
  let sec = 0
  let i = from
  while (i < to) {
    const c = line.charCodeAt(i)
    if (c === 46) break
    if (!isDigit(c)) return undefined
    sec = sec * 10 + (c - C0)
    i++
  }
  if (i === from) return undefined
  if (i === to) {
    if (to - from > 15) return {ns: BigInt(line.slice(from, to)), isCount: true}
    return {ns: BigInt(sec), isCount: true}
  }
  // fraction
  i++
  const fracStart = i
  let frac = 0
  while (i < to) {
    const c = line.charCodeAt(i)
    if (!isDigit(c)) return undefined
    frac = frac * 10 + (c - C0)
    i++
  }
  const digits = to - fracStart
  if (digits === 0 || digits > 9) return undefined
  const scale = SCALE[digits]!
  if (sec < 9e6) return {ns: BigInt(sec * 1e9 + frac * scale), isCount: false}
  return {ns: BigInt(line.slice(from, fracStart - 1)) * 1_000_000_000n + BigInt(frac * scale), isCount: false}
}

const SCALE = [1, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1]

/**
 * Find `comm-pid [(tgid)] [cpu]` anchored on the `[cpu]` field, searching from `from`.
 * Returns the index just after `]`, or -1. `out` receives comm/pid/tgid/cpu.
 * comm is everything from the first non-blank character to the last `-digits` before the
 * `[cpu]`, so `kworker/0:0-eve-9` gives comm `kworker/0:0-eve` (docs/trace-text-quirks.md#comm).
 */
export function scanTaskCpu(
  line: string,
  from: number,
  out: {comm: string; pid: number; tgid: number | undefined; cpu: number},
): number {
  const start = skipSpaces(line, from)
  const limit = Math.min(line.length, start + 72)
  let b = line.indexOf('[', start + 2)
  while (b >= 0 && b < limit) {
    let j = b + 1
    let cpu = 0
    while (j < line.length && isDigit(line.charCodeAt(j))) {
      cpu = cpu * 10 + (line.charCodeAt(j) - C0)
      j++
    }
    if (j > b + 1 && line.charCodeAt(j) === 93 /* ] */ && isSpace(line.charCodeAt(b - 1))) {
      let k = b - 1
      while (k > start && isSpace(line.charCodeAt(k))) k--
      let tgid: number | undefined
      let ok = true
      if (line.charCodeAt(k) === 41 /* ) */) {
        const p = line.lastIndexOf('(', k)
        if (p <= start) ok = false
        else {
          const t = line.slice(p + 1, k).trim()
          if (/^\d+$/.test(t)) tgid = Number(t)
          else if (!/^-+$/.test(t)) ok = false
          k = p - 1
          if (!isSpace(line.charCodeAt(k))) ok = false
          while (k > start && isSpace(line.charCodeAt(k))) k--
        }
      }
      if (ok) {
        const e = k + 1
        while (k > start && isDigit(line.charCodeAt(k))) k--
        if (k < e - 1 && line.charCodeAt(k) === 45 /* - */ && k > start) {
          let pid = 0
          for (let q = k + 1; q < e; q++) pid = pid * 10 + (line.charCodeAt(q) - C0)
          out.comm = NAMES.get(line, start, k)
          out.pid = pid
          out.tgid = tgid
          out.cpu = cpu
          return j + 1
        }
      }
    }
    b = line.indexOf('[', b + 1)
  }
  return -1
}

/**
 * After `]`: optional flags, the timestamp and `:`. Returns the index of the `:` that ends the
 * timestamp, or -1. Sets ctx.flags/tsNs/isCount.
 */
export function scanFlagsTs(line: string, i: number, ctx: Context): number {
  const n = line.length
  i = skipSpaces(line, i)
  let s = i
  while (i < n) {
    const c = line.charCodeAt(i)
    if (c === 58 /* : */ || isSpace(c)) break
    i++
  }
  if (i >= n) return -1
  if (line.charCodeAt(i) !== 58) {
    // a flags column (irq-info on): 4, 5 or 7+ characters, any of [.a-zA-Z0-9] (docs/trace-text-quirks.md#flags-column)
    ctx.flags = line.slice(s, i)
    i = skipSpaces(line, i)
    s = i
    while (i < n && line.charCodeAt(i) !== 58 && !isSpace(line.charCodeAt(i))) i++
    if (i >= n || line.charCodeAt(i) !== 58) return -1
  } else ctx.flags = undefined
  const ts = parseTs(line, s, i)
  if (!ts) return -1
  ctx.tsNs = ts.ns
  ctx.isCount = ts.isCount
  return i
}

export function newContext(): Context {
  return {comm: '', pid: 0, tgid: undefined, cpu: 0, flags: undefined, tsNs: 0n, isCount: false, body: 0}
}

/** Full tracefs/trace-cmd prefix. Returns false when the line is not an event line. */
export function scanContext(line: string, from: number, ctx: Context): boolean {
  const j = scanTaskCpu(line, from, ctx)
  if (j < 0) return false
  const colon = scanFlagsTs(line, j, ctx)
  if (colon < 0) return false
  const n = line.length
  if (colon + 1 < n && line.charCodeAt(colon + 1) !== SP) return false
  ctx.body = colon + 2 > n ? n : colon + 2
  return true
}

/**
 * The latency-format / `trace-cmd report -l` prefix: `comm-pid  CPUflags  time: ` where the CPU
 * number is glued to the flags (`0.....`, `1.....`) and the time is either seconds (`739.914242`)
 * or relative microseconds with a mark (`33409us : `). Comm is cut to 8 characters there.
 */
export function scanNoBracketContext(line: string, from: number, ctx: Context): boolean {
  const n = line.length
  const start = skipSpaces(line, from)
  // find "-digits<space>" then "digits<flag chars>"
  let d = line.indexOf('-', start + 1)
  while (d >= 0 && d < start + 24) {
    let k = d + 1
    let pid = 0
    while (k < n && isDigit(line.charCodeAt(k))) {
      pid = pid * 10 + (line.charCodeAt(k) - C0)
      k++
    }
    if (k > d + 1 && k < n && isSpace(line.charCodeAt(k))) {
      let i = skipSpaces(line, k)
      let cpu = 0
      const cs = i
      while (i < n && isDigit(line.charCodeAt(i))) {
        cpu = cpu * 10 + (line.charCodeAt(i) - C0)
        i++
      }
      const fs = i
      while (i < n && !isSpace(line.charCodeAt(i))) i++
      const flagLen = i - fs
      if (i > cs && fs > cs && flagLen >= 4 && flagLen <= 8 && !isDigit(line.charCodeAt(fs))) {
        ctx.comm = line.slice(start, d)
        ctx.pid = pid
        ctx.tgid = undefined
        ctx.cpu = cpu
        ctx.flags = line.slice(fs, i)
        i = skipSpaces(line, i)
        const ts0 = i
        while (i < n && isDigit(line.charCodeAt(i))) i++
        if (i === ts0) return false
        if (line.startsWith('us', i)) {
          // relative microseconds, then a mark character, then ':'
          const us = Number(line.slice(ts0, i))
          i += 2
          if (i < n && line.charCodeAt(i) !== 58) i++
          if (line.charCodeAt(i) !== 58) return false
          ctx.tsNs = BigInt(us) * 1000n
          ctx.isCount = false
          ctx.body = Math.min(n, i + 2)
          return true
        }
        while (i < n && line.charCodeAt(i) !== 58 && !isSpace(line.charCodeAt(i))) i++
        if (line.charCodeAt(i) !== 58) return false
        const ts = parseTs(line, ts0, i)
        if (!ts) return false
        ctx.tsNs = ts.ns
        ctx.isCount = ts.isCount
        ctx.body = Math.min(n, i + 2)
        return true
      }
    }
    d = line.indexOf('-', d + 1)
  }
  return false
}

export const LINE_TOO_BIG = '[LINE TOO BIG]'

export function newRecord(ctx: Context, event: string, src: SourcePos): RawRecord {
  return {
    tsNs: ctx.tsNs,
    cpu: ctx.cpu,
    pid: ctx.pid,
    tgid: ctx.tgid,
    comm: ctx.comm,
    event,
    group: undefined,
    probeSymbol: undefined,
    returnFrom: undefined,
    args: {},
    text: undefined,
    stack: undefined,
    src,
  }
}

/** Events whose payload is free text (markers, trace_printk): never split into args. */
export const TEXT_EVENTS = new Set(['tracing_mark_write', 'print', 'bprint', 'bputs', 'ftrace:print'])

/**
 * The body after the context prefix, shared by tracefs and trace-cmd:
 * `<stack trace>`, `event: payload`, a probe payload, or a function-tracer line.
 */
export function parseBody(
  line: string,
  ctx: Context,
  src: SourcePos,
  returnOrder: 'site-func' | 'func-site',
): RawRecord | StackToken | TextToken {
  const b = ctx.body
  const n0 = line.length
  if (line.charCodeAt(b) === 60 /* < */) {
    if (line.startsWith('<stack trace>', b)) return {t: 'stack', cpu: ctx.cpu, pid: ctx.pid, user: false, src}
    if (line.startsWith('<user stack trace>', b)) return {t: 'stack', cpu: ctx.cpu, pid: ctx.pid, user: true, src}
  }
  let n = n0
  let truncated = false
  // `[LINE TOO BIG]` ends a cut body (v6.7+, docs/trace-text-quirks.md#line-too-big)
  if (line.charCodeAt(n0 - 1) === 93 /* ] */ && line.endsWith(LINE_TOO_BIG)) {
    truncated = true
    n = n0 - LINE_TOO_BIG.length
  }
  let e = b
  while (e < n && isNameChar(line.charCodeAt(e))) e++
  if (e > b && (e === n || (line.charCodeAt(e) === 58 && (e + 1 === n || line.charCodeAt(e + 1) === SP)))) {
    const rec = newRecord(ctx, NAMES.get(line, b, e), src)
    if (truncated) rec.truncated = true
    let q = e + 1
    while (q < n && line.charCodeAt(q) === SP) q++
    if (q < n && line.charCodeAt(q) === 40 /* ( */ && !truncated) {
      if (parseProbePayload(line, q, rec, returnOrder)) return rec
    }
    const payload = q < n ? line.slice(q, n) : ''
    rec.text = payload
    if (!TEXT_EVENTS.has(rec.event) && payload.length) parseTracepointArgs(payload, rec.args)
    return rec
  }
  // function tracer
  const body = line.slice(b, n)
  const rec = newRecord(ctx, 'function', src)
  if (truncated) rec.truncated = true
  if (parseFunctionBody(body, rec)) return rec
  return {t: 'text', text: line, hint: 'an event body `name: payload` after the timestamp', src}
}

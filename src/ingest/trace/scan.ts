/**
 * Hand-written scanners shared by the tracefs, trace-cmd and perf tokenizers.
 *
 * Why not regexes: a `.{1,16}` comm followed by backtracking over flags and a timestamp costs
 * several passes per line; the hot path here is one left-to-right pass with charCodeAt, anchored on the
 * `[cpu]` field, never by column (docs/trace-text-quirks.md#anchor-on-cpu).
 */
import {REPEATED_ARG} from '../events.js'
import type {RawRecord, SourcePos} from '../events.js'
import type {StackToken, TextToken} from './tokens.js'

const SP = 32
const TAB = 9
const C0 = 48
const C9 = 57

export function isDigit(c: number): boolean {
  return c >= C0 && c <= C9
}

function isSpace(c: number): boolean {
  return c === SP || c === TAB
}

/** Characters of an event name as tracefs/trace-cmd print it ([A-Za-z0-9_.]). */
export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= C0 && c <= C9) || c === 95 || c === 46
}

/** Characters allowed in a probe argument name (`$retval`, `arg1`, `ptr.x`). */
function isArgNameChar(c: number): boolean {
  return isNameChar(c) || c === 36 /* $ */ || c === 45 /* - */
}

function isHexDigit(c: number): boolean {
  return (c >= C0 && c <= C9) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
}

/**
 * Interns short strings cut out of a line (event names, comms, argument names) without
 * allocating on a hit: a hash over the characters picks a slot, the candidate is compared in
 * place. Repeated names then share one flat string — no per-line allocation, fast property
 * lookups downstream, and no reference into the 1 MB chunk the line was cut from.
 */
export class Interner {
  private readonly table: (string | undefined)[]
  private readonly mask: number
  private size = 0
  constructor(bits = 14) {
    this.table = new Array<string | undefined>(1 << bits)
    this.mask = (1 << bits) - 1
  }

  get(line: string, start: number, end: number): string {
    const len = end - start
    if (len > 96 || len <= 0) return line.slice(start, end)
    // a sampled hash (length, ends, middle): names differ there; the compare below is exact
    const c0 = line.charCodeAt(start)
    const c1 = line.charCodeAt(end - 1)
    const cm = line.charCodeAt(start + (len >> 1))
    const c2 = len > 3 ? line.charCodeAt(end - 3) : 0
    let slot = (Math.imul(len, 0x9e3779b1) ^ Math.imul(c0, 31) ^ Math.imul(c1, 1021) ^ Math.imul(cm, 8191) ^ Math.imul(c2, 131071)) & this.mask
    for (let probe = 0; probe < 8; probe++) {
      const cand = this.table[slot]
      if (cand === undefined) {
        const fresh = flat(line.slice(start, end))
        if (this.size < this.mask >> 1) {
          this.table[slot] = fresh
          this.size++
        }
        return fresh
      }
      // startsWith(s, pos) is one native compare, no charCodeAt loop
      if (cand.length === len && line.startsWith(cand, start)) return cand
      slot = (slot + 1) & this.mask
    }
    return line.slice(start, end)
  }
}

/** A flat copy that does not keep its parent string alive. */
export function flat(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string)
}

/** Shared by every tokenizer (a cache only: it changes no result). */
export const NAMES = new Interner()

export function intern(s: string): string {
  return NAMES.get(s, 0, s.length)
}

export function skipSpaces(line: string, i: number): number {
  const n = line.length
  while (i < n && isSpace(line.charCodeAt(i))) i++
  return i
}

/**
 * Strip an e-mail quote prefix `> `, `>> `, `> > ` (docs/trace-text-quirks.md#text-hygiene). Returns the index where the line
 * proper starts. No tracefs/trace-cmd/perf line starts with '>', so this is safe.
 */
export function quotePrefixEnd(line: string): number {
  let i = 0
  while (i < line.length && line.charCodeAt(i) === 62 /* > */) {
    i++
    if (i < line.length && isSpace(line.charCodeAt(i))) i++
  }
  return i
}

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

/** Symbol of `sym+0xOFF/0xSIZE` (or `sym+0xOFF`, or `sym`). */
export function symbolOf(where: string): string {
  const plus = where.indexOf('+')
  return plus > 0 ? where.slice(0, plus) : where
}

function isBareHex(s: string): boolean {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) if (!isHexDigit(s.charCodeAt(i))) return false
  return true
}

/** Where-part of a probe line, e.g. `set_memory_ro+0x0/0x30 [mod] <ffff…>`, split up. */
export function parseEntryWhere(where: string, rec: RawRecord): void {
  let w = where
  // sym-addr option: ` <ffff…>` after the symbol
  const lt = w.indexOf(' <')
  if (lt > 0 && w.endsWith('>')) w = w.slice(0, lt)
  const sp = w.indexOf(' [')
  if (sp > 0 && w.endsWith(']')) {
    rec.probeModule = w.slice(sp + 2, -1)
    w = w.slice(0, sp)
  }
  if (w.startsWith('0x')) {
    rec.probeIp = w
    return
  }
  if (isBareHex(w) && w.length >= 8) {
    rec.probeIp = '0x' + w
    return
  }
  rec.probeSymbol = intern(symbolOf(w))
}

/**
 * Parse a kprobe/kretprobe/fprobe payload starting at `p` (the `(`):
 * `(sym+0x0/0x30 [mod]) a=1 b=0x2` or `(site <- func) ret=0x0`.
 * `returnOrder` is 'site-func' for the kernel's own text (tracefs) and 'func-site' for
 * libtraceevent renderings (trace-cmd, perf), which print `(%lx <- %lx)` with
 * `__probe_func, __probe_ret_ip` (kernel/trace/trace_probe.c __set_print_fmt(); docs/trace-text-quirks.md#kretprobe-ip-order).
 * Returns false when the payload is not a probe payload.
 */
export function parseProbePayload(
  line: string,
  p: number,
  rec: RawRecord,
  returnOrder: 'site-func' | 'func-site',
): boolean {
  const close = line.indexOf(')', p + 1)
  if (close < 0) return false
  // fast path: `(sym+0xOFF/0xSIZE)` — no module, no return arrow, no sym-addr
  const sp = line.indexOf(' ', p + 1)
  if (sp < 0 || sp > close) {
    const plus = line.indexOf('+', p + 1)
    if (plus > p + 1 && plus < close && line.charCodeAt(p + 1) !== 48 /* 0 */) {
      rec.probeSymbol = NAMES.get(line, p + 1, plus)
      const rest = parseArgs(line, close + 1, rec.args)
      if (rest < line.length) rec.text = line.slice(rest).trim() || undefined
      return true
    }
  }
  const where = line.slice(p + 1, close)
  const arrow = where.indexOf(' <- ')
  if (arrow >= 0) {
    const a = where.slice(0, arrow)
    const b = where.slice(arrow + 4)
    const func = returnOrder === 'site-func' ? b : a
    if (isBareHex(func) || func.startsWith('0x')) {
      // unsymbolized: the function's address stands in for its name (still a return probe)
      rec.probeIp = func.startsWith('0x') ? func : '0x' + func
      rec.returnFrom = rec.probeIp
    } else rec.returnFrom = intern(symbolOf(func.split(' ')[0]!))
  } else {
    parseEntryWhere(where, rec)
  }
  const rest = parseArgs(line, close + 1, rec.args)
  if (rest < line.length) rec.text = line.slice(rest).trim() || undefined
  return true
}

/**
 * ` name=value` pairs (kprobe fetchargs, kernel/trace/trace_probe.c): values are `0x…`, decimal, signed,
 * `"string"` (with escapes), `{array}`, `'c'`, `(fault)` or `sym+0x…/0x…`. With options/fields a
 * ` (decimal)` follows each value; it is skipped. Returns the index where parsing stopped (the
 * line length when every token was a pair). `end` bounds the line inside a larger string.
 */
export function parseArgs(line: string, i: number, args: Record<string, string>, end = line.length): number {
  const n = end
  for (;;) {
    i = skipSpaces(line, i)
    if (i >= n) return n
    const ns = i
    while (i < n && isArgNameChar(line.charCodeAt(i))) i++
    if (i === ns || i >= n || line.charCodeAt(i) !== 61 /* = */) return ns
    const name = NAMES.get(line, ns, i)
    const vs = i + 1
    i = argValueEnd(line, vs, n)
    // A name given twice keeps its first value; the normalizer reports it (REPEATED_ARG).
    if (Object.hasOwn(args, name)) (args as Record<string | symbol, string>)[REPEATED_ARG] ??= name
    else args[name] = line.slice(vs, i)
    i = skipFieldsDecimal(line, i, n)
  }
}

/**
 * parseArgs() for a line whose argument names are expected to be `names`, in order (the names of
 * the previous line of the same probe): each name is compared in place instead of being scanned
 * and interned. At the first pair that differs it hands the rest of the line to parseArgs(), so
 * the result is parseArgs()'s whatever the line holds.
 */
export function parseArgsAs(line: string, i: number, args: Record<string, string>, end: number, names: readonly string[]): number {
  const n = end
  for (let k = 0; k < names.length; k++) {
    i = skipSpaces(line, i)
    if (i >= n) return n
    const name = names[k]!
    const len = name.length
    const eq = i + len
    if (eq >= n || line.charCodeAt(eq) !== 61 /* = */) return parseArgs(line, i, args, n)
    if (!line.startsWith(name, i)) return parseArgs(line, i, args, n)
    const vs = eq + 1
    i = argValueEnd(line, vs, n)
    args[name] = line.slice(vs, i)
    i = skipFieldsDecimal(line, i, n)
  }
  return parseArgs(line, i, args, n)
}

/** End of a fetcharg value starting at `i`: `"string"`, `{array}`, `'c'`, `(fault)`, else up to the next space. */
export function argValueEnd(line: string, i: number, n: number): number {
  const c = i < n ? line.charCodeAt(i) : 0
  if (c === 34 /* " */) {
    i++
    while (i < n) {
      const d = line.charCodeAt(i)
      if (d === 92 /* \ */) i += 2
      else if (d === 34) {
        i++
        break
      } else i++
    }
    return i > n ? n : i
  }
  if (c === 123 /* { */) {
    const e = line.indexOf('}', i)
    return e < 0 || e >= n ? n : e + 1
  }
  if (c === 39 /* ' */ && i + 2 < n && line.charCodeAt(i + 2) === 39) return i + 3
  if (c === 40 /* ( */) {
    const e = line.indexOf(')', i)
    return e < 0 || e >= n ? n : e + 1
  }
  const sp = line.indexOf(' ', i)
  return sp < 0 || sp > n ? n : sp
}

/** options/fields: `addr=0xffffc90006084000 (-60473038323712)` — skip the ` (decimal)` after a value. */
export function skipFieldsDecimal(line: string, i: number, n: number): number {
  const k = skipSpaces(line, i)
  if (k < n && line.charCodeAt(k) === 40 && k > i) {
    const e = line.indexOf(')', k)
    if (e > 0 && e < n && /^\(-?\d+\)$/.test(line.slice(k, e + 1))) return e + 1
  }
  return i
}

/**
 * Lenient `name=value` / `name: value` pairs of a tracepoint payload (`va_start: 1844… size=20480
 * …`, `module_put: hello call_site=do_init_module refcnt=1`). Tokens that are neither stay in the
 * record's text, which always holds the whole payload.
 */
export function parseTracepointArgs(payload: string, args: Record<string, string>): void {
  const toks = payload.split(/\s+/)
  for (let t = 0; t < toks.length; t++) {
    const tok = toks[t]!
    const eq = tok.indexOf('=')
    if (eq > 0) {
      args[tok.slice(0, eq)] = tok.slice(eq + 1)
    } else if (tok.length > 1 && tok.endsWith(':') && t + 1 < toks.length && /^[A-Za-z_]\w*:$/.test(tok)) {
      args[tok.slice(0, -1)] = toks[++t]!
    }
  }
}

/**
 * Function tracer body: `func <-parent`, `func+0x6/0xa0 <-parent`, or with func-args
 * `func(a=0x1, b=2) <-parent` / early `func(a = 0x1, b = 2) <-parent` (kernel/trace/trace_output.c
 * print_function_args(), CONFIG_FUNCTION_TRACE_ARGS).
 */
export function parseFunctionBody(body: string, rec: RawRecord): boolean {
  let head = body
  const arrow = body.lastIndexOf(' <-')
  if (arrow >= 0) {
    rec.caller = symbolOf(body.slice(arrow + 3).trim())
    head = body.slice(0, arrow)
  }
  const paren = head.indexOf('(')
  let fn = head
  if (paren > 0 && head.endsWith(')')) {
    fn = head.slice(0, paren)
    const inner = head.slice(paren + 1, -1)
    if (inner.trim()) {
      for (const part of inner.split(',')) {
        const eq = part.indexOf('=')
        if (eq < 0) continue
        rec.args[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
      }
    }
  }
  fn = fn.trim()
  if (!/^[A-Za-z_.$][\w.$]*(?:\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?)?$/.test(fn)) return false
  rec.probeSymbol = symbolOf(fn)
  return true
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

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
import type {FusedPlan} from '../normalize/fused.js'
import {ProbeEvent} from './probe-event.js'
import {type Context, newContext, parseBody, scanContext, scanNoBracketContext} from './scan.js'
import {isDigit, isNameChar, quotePrefixEnd, skipSpaces} from './chars.js'
import {flat, NAMES} from './intern.js'
import {parseArgs, parseArgsAs} from './probe-args.js'
import type {LineReader} from './types.js'
import type {Token} from './tokens.js'

export interface TracefsState {
  file: string
  ctx: Context
  /** A `# … latency trace v1.1.5` header was seen: lines use the latency layout. */
  latency: boolean
  latencyWarned: boolean
  rawWarned: boolean
  /** Try fastProbeRecord() first (false only in tracefsGeneralReader). */
  fastPath: boolean
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
  if (!st.latency) {
    if (i === 0 && st.fastPath) {
      const rec = fastProbeRecord(line, pos)
      if (rec !== undefined) return rec
    }
    if (scanContext(line, i, ctx)) return parseBody(line, ctx, pos, 'site-func')
  }
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

const SP = 32
const C0 = 48

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
}

/**
 * The dominant line of a kprobe capture, in one left-to-right pass:
 *
 *   `<spaces>comm-pid [cpu] flags sec.frac: event: (sym+0xOFF/0xSIZE) name=value …` (entry) or
 *   `… event: (site+0xOFF/0xSIZE <- func) ret=value` (kretprobe, kernel order site ← func).
 *
 * It is scanContext() + parseBody() + parseProbePayload() specialised to that shape, without their
 * intermediate results (no Context writes, no flags string, no timestamp object). At the first
 * character that leaves the shape (tabs, a `(tgid)` column, a counter clock, `<stack trace>`, a
 * module or sym-addr suffix, an unsymbolized IP, a trailing `]` such as `[LINE TOO BIG]`, …) it
 * returns undefined and the general path reads the line. Where it returns a record, that record
 * is the one the general path builds, field for field and in the same field order —
 * test/ingest/trace/fastpath.test.ts runs both over every real capture.
 */
export function fastProbeRecord(line: string, pos: SourcePos, from = 0, to = line.length): RawRecord | undefined {
  const head = scanProbeLine(line, from, to)
  if (head === undefined) return undefined
  const n = to
  const close = L.close
  // seconds × 1e9 + ns < 2^53 while sec < 9e6: exact (as parseTs)
  const rec: RawRecord = {
    tsNs: BigInt(L.ts),
    cpu: L.cpu,
    pid: L.pid,
    tgid: undefined,
    comm: L.comm,
    event: head.event,
    group: undefined,
    probeSymbol: head.probeSymbol,
    returnFrom: head.returnFrom,
    args: {},
    text: undefined,
    stack: undefined,
    src: pos,
  }
  const args = rec.args
  const rest = head.argNames === undefined ? parseArgs(line, close + 1, args, n) : parseArgsAs(line, close + 1, args, n, head.argNames)
  if (rest < n) rec.text = line.slice(rest, n).trim() || undefined
  if (head.argNames === undefined) head.argNames = Object.keys(args)
  return rec
}

/** What scanProbeLine() read besides the head (module state: one line at a time, no allocation). */
const L = {cpu: 0, pid: 0, comm: '', ts: 0, close: 0}

/**
 * The context prefix of the last line scanProbeLine() read in full — from the line start up to
 * and including the `.` of the timestamp — and what it says. Consecutive lines mostly share it
 * (same task, CPU, flags and second): one compare then replaces the scan up to the fraction.
 * Everything up to the `.` is read left to right from that text alone, so equal text means equal
 * comm, pid, CPU and seconds.
 */
const P = {text: '', cpu: 0, pid: 0, comm: '', sec: 0}

/**
 * The context and probe head of a kprobe line `[from, to)` (see fastProbeRecord), into L; the
 * head, or undefined when the line leaves the common shape.
 */
function scanProbeLine(line: string, from: number, to: number): ProbeHead | undefined {
  const n = to
  if (n - from < 24 || line.charCodeAt(n - 1) === 93 /* ] */) return undefined
  let i: number
  let sec: number
  let c: number
  // slice + === is one native compare (the bench measured it ahead of startsWith here)
  if (P.text !== '' && line.slice(from, from + P.text.length) === P.text) {
    i = from + P.text.length
    sec = P.sec
    L.cpu = P.cpu
    L.pid = P.pid
    L.comm = P.comm
  } else {
    // comm-pid [cpu]: anchored on the first `[` (scanTaskCpu tries it first too)
    let start = from
    while (start < n && line.charCodeAt(start) === SP) start++
    const c0 = line.charCodeAt(start)
    // tab: scanTaskCpu skips it too; `#` header, `>` quote prefix, `=>` frame: other paths
    if (c0 === 9 || c0 === 35 || c0 === 62 || c0 === 61) return undefined
    const b = line.indexOf('[', start + 2)
    if (b < 0 || b >= start + 72 || b >= n || line.charCodeAt(b - 1) !== SP) return undefined
    let j = b + 1
    let cpu = 0
    c = line.charCodeAt(j)
    while (c >= C0 && c <= 57) {
      cpu = cpu * 10 + (c - C0)
      c = line.charCodeAt(++j)
    }
    if (j === b + 1 || c !== 93 /* ] */) return undefined
    let k = b - 1
    while (k > start && line.charCodeAt(k) === SP) k--
    const pidEnd = k + 1
    let pid = 0
    let mul = 1
    c = line.charCodeAt(k)
    while (k > start && c >= C0 && c <= 57) {
      pid += (c - C0) * mul
      mul *= 10
      c = line.charCodeAt(--k)
    }
    if (k === pidEnd - 1 || c !== 45 /* - */ || k <= start || mul > 1e15) return undefined
    const commEnd = k
    // flags (optional), then `sec.frac:`
    i = j + 1
    while (line.charCodeAt(i) === SP) i++
    let s = i
    c = line.charCodeAt(i)
    while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
    if (c !== 58) {
      if (c !== SP) return undefined
      while (line.charCodeAt(i) === SP) i++
      s = i
      c = line.charCodeAt(i)
      while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
      if (c !== 58) return undefined
    }
    // the timestamp token is [s, i): digits `.` digits up to the `:`
    const colon = i
    sec = 0
    i = s
    c = line.charCodeAt(i)
    while (c >= C0 && c <= 57) {
      sec = sec * 10 + (c - C0)
      c = line.charCodeAt(++i)
    }
    if (i === s || c !== 46 /* . */ || sec >= 9e6 || colon <= i) return undefined
    i++
    L.cpu = P.cpu = cpu
    L.pid = P.pid = pid
    L.comm = P.comm = NAMES.get(line, start, commEnd)
    P.sec = sec
    P.text = line.slice(from, i)
  }
  const fracStart = i
  let frac = 0
  c = line.charCodeAt(i)
  while (c >= C0 && c <= 57) {
    frac = frac * 10 + (c - C0)
    c = line.charCodeAt(++i)
  }
  const digits = i - fracStart
  // the fraction runs to the `:` (the general scan reads the token to the first `:`, space or tab)
  if (c !== 58 || i >= n || digits === 0 || digits > 9 || line.charCodeAt(i + 1) !== SP) return undefined
  const colon = i
  // `event: (probe payload)`: looked up whole in the head cache, parsed on a miss
  const body = colon + 2
  const close = line.indexOf(')', body)
  if (close < 0 || close >= n) return undefined
  const head = HEADS.get(line, body, close + 1) ?? parseHead(line, body, close, n)
  if (head === undefined) return undefined
  // seconds × 1e9 + ns < 2^53 while sec < 9e6: exact (as parseTs)
  L.ts = sec * 1e9 + frac * SCALE[digits]!
  L.close = close
  return head
}

/** Argument value ranges of the line fastProbeEvent() reads (index = position in the head's argNames). */
const VS = new Int32Array(64)
const VE = new Int32Array(64)

/**
 * fastProbeRecord() + Normalizer.normalize() in one step, for the lines of a probe seen before
 * (its argument names known) whose arguments are exactly those names in that order and nothing
 * after them, and whose values the probe's decoder accepts (Normalizer.fusedPlan/decodeFused):
 * the normalized event, with `args` read from the line on demand (ProbeEvent). Undefined for any
 * other line: fastProbeRecord / the general path read it. No RawRecord, no argument object, no
 * argument strings but the address text.
 */
export function fastProbeEvent(line: string, pos: SourcePos, from: number, to: number, norm: Normalizer): ProbeEvent | undefined {
  const head = scanProbeLine(line, from, to)
  if (head === undefined) return undefined
  const names = head.argNames
  if (names === undefined || names.length > 64) return undefined
  let plan = head.plan
  if (plan === undefined || plan.owner !== norm) {
    if (head.noPlan === norm) return undefined
    plan = norm.fusedPlan(head.event, head.probeSymbol, head.returnFrom, names)
    if (plan === undefined) {
      head.noPlan = norm
      return undefined
    }
    head.plan = plan
  }
  // parseArgsAs over the known names, keeping value ranges; anything else: not this path
  const n = to
  let i = L.close + 1
  // (argValueEnd/skipFieldsDecimal for plain values; a quoted, braced or parenthesized value or a
  // `(-123)` field after one: not this path)
  let c = line.charCodeAt(i)
  for (let k = 0; k < names.length; k++) {
    while (c === SP || c === 9) c = line.charCodeAt(++i)
    if (i >= n) return undefined
    const name = names[k]!
    const eq = i + name.length
    if (eq >= n || line.charCodeAt(eq) !== 61 /* = */ || !line.startsWith(name, i)) return undefined
    const vs = eq + 1
    c = line.charCodeAt(vs)
    if (c === 34 || c === 123 || c === 39 || c === 40) return undefined
    let ve = line.indexOf(' ', vs)
    if (ve < 0 || ve > n) ve = n
    VS[k] = vs
    VE[k] = ve
    i = ve
    c = line.charCodeAt(i)
    while (c === SP || c === 9) c = line.charCodeAt(++i)
    if (c === 40 && i < n) return undefined
  }
  if (i < n) return undefined
  const ev = new ProbeEvent(plan.kind, plan.fn, plan.probe, plan.op, BigInt(L.ts), L.cpu, L.pid, L.comm, pos, line, L.close + 1, n, names)
  return norm.decodeFused(plan, line, VS, VE, ev) ? ev : undefined
}

/**
 * What the text from the event name to the `)` of the probe payload says — the same for every
 * hit of a probe: `set_memory_ro: (set_memory_ro+0x0/0x1c)`.
 */
interface ProbeHead {
  /** That text (a flat copy). */
  key: string
  event: string
  probeSymbol: string | undefined
  returnFrom: string | undefined
  /** The argument names of the first line seen with this head: the next ones are expected to match (parseArgsAs). */
  argNames: string[] | undefined
  /** fastProbeEvent: how its normalizer decodes this probe, or the normalizer that has no plan for it. */
  plan: FusedPlan | undefined
  noPlan: Normalizer | undefined
}

/**
 * The event name and probe payload at `[body, close]`, as parseBody() + parseProbePayload() read
 * them (tracefs order `(site <- func)`), or undefined when they have another shape.
 */
function parseHead(line: string, body: number, close: number, n: number): ProbeHead | undefined {
  let e = body
  while (e < n && isNameChar(line.charCodeAt(e))) e++
  if (e === body || line.charCodeAt(e) !== 58 || line.charCodeAt(e + 1) !== SP) return undefined
  let q = e + 1
  while (line.charCodeAt(q) === SP) q++
  if (line.charCodeAt(q) !== 40 /* ( */) return undefined
  // the first `)` after the body is the first after `(`: event names have none
  const sp = line.indexOf(' ', q + 1)
  let probeSymbol: string | undefined
  let returnFrom: string | undefined
  if (sp < 0 || sp > close) {
    const plus = line.indexOf('+', q + 1)
    if (plus <= q + 1 || plus >= close || line.charCodeAt(q + 1) === C0) return undefined
    probeSymbol = NAMES.get(line, q + 1, plus)
  } else {
    // `(site <- func)`: the first space must be the arrow and func a plain symbol
    if (line.charCodeAt(sp + 1) !== 60 || line.charCodeAt(sp + 2) !== 45 || line.charCodeAt(sp + 3) !== SP) return undefined
    const f0 = sp + 4
    if (f0 >= close) return undefined
    let bareHex = true
    for (let f = f0; f < close; f++) {
      const d = line.charCodeAt(f)
      if (!isNameChar(d)) return undefined
      if (bareHex && !isHexDigit(d)) bareHex = false
    }
    if (bareHex || (line.charCodeAt(f0) === C0 && line.charCodeAt(f0 + 1) === 120)) return undefined
    returnFrom = NAMES.get(line, f0, close)
  }
  const head: ProbeHead = {key: flat(line.slice(body, close + 1)), event: NAMES.get(line, body, e), probeSymbol, returnFrom, argNames: undefined, plan: undefined, noPlan: undefined}
  HEADS.put(head)
  return head
}

/**
 * Probe heads by their text, compared in place (no allocation on a hit). A cache only: a hit
 * means the text is identical to one parseHead() accepted, so parsing it again would give the
 * same head. Bounded: at most 4096 heads, then new ones are not kept.
 */
class HeadCache {
  private readonly table: (ProbeHead | undefined)[] = new Array<ProbeHead | undefined>(8192)
  private size = 0

  private slot(line: string, start: number, end: number): number {
    const len = end - start
    return (Math.imul(len, 0x9e3779b1) ^ Math.imul(line.charCodeAt(start), 31) ^ Math.imul(line.charCodeAt(start + (len >> 1)), 8191) ^ Math.imul(line.charCodeAt(end - 3), 131071) ^ Math.imul(line.charCodeAt(end - 6), 524287)) & 8191
  }

  get(line: string, start: number, end: number): ProbeHead | undefined {
    const len = end - start
    if (len < 8 || len > 200) return undefined
    let slot = this.slot(line, start, end)
    for (let probe = 0; probe < 8; probe++) {
      const h = this.table[slot]
      if (h === undefined) return undefined
      // slice + ===: one native memcmp (the bench measured it ahead of startsWith and of a
      // charCodeAt loop on 40–80 character heads)
      if (h.key.length === len && line.slice(start, end) === h.key) return h
      slot = (slot + 1) & 8191
    }
    return undefined
  }

  put(h: ProbeHead): void {
    const len = h.key.length
    if (len < 8 || len > 200 || this.size >= 4096) return
    let slot = this.slot(h.key, 0, len)
    for (let probe = 0; probe < 8; probe++) {
      if (this.table[slot] === undefined) {
        this.table[slot] = h
        this.size++
        return
      }
      slot = (slot + 1) & 8191
    }
  }
}

const HEADS = new HeadCache()

const SCALE = [1, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1]

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

/** eventRange for tracefs: the fused fast path (the caller falls back to tokenizeRange). */
function tracefsEventRange(text: string, from: number, to: number, pos: SourcePos, st: TracefsState, norm: Normalizer): ProbeEvent | undefined {
  return st.latency ? undefined : fastProbeEvent(text, pos, from, to, norm)
}

/** tokenizeRange for tracefs: the fast path only (the caller falls back to tokenizeTracefs). */
function tokenizeTracefsRange(text: string, from: number, to: number, pos: SourcePos, st: TracefsState): RawRecord | undefined {
  return st.latency ? undefined : fastProbeRecord(text, pos, from, to)
}

export const tracefsReader: LineReader<TracefsState> = {
  type: 'line',
  name: 'tracefs',
  description: 'tracefs trace / trace_pipe text (cat /sys/kernel/tracing/trace)',
  sniff: sniffTracefs,
  // trace: merged by timestamp; trace_pipe: out of order by at most one read()
  sortWindow: 2048,
  newState: ({file}) => ({file, ctx: newContext(), latency: false, latencyWarned: false, rawWarned: false, fastPath: true}),
  tokenize: tokenizeTracefs,
  tokenizeRange: tokenizeTracefsRange,
  eventRange: tracefsEventRange,
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
  newState: (opts) => ({...tracefsReader.newState(opts), fastPath: false}),
  tokenize: tokenizeTracefs,
}

/**
 * The fast path of the text readers (tracefs, trace-cmd report, perf script) for their dominant
 * line, the kprobe hit, in one left-to-right pass:
 *
 *   tracefs    `<spaces>comm-pid [cpu] flags sec.frac: event: (sym+0xOFF/0xSIZE) name=value …`
 *              or `… event: (site+0xOFF/0xSIZE <- func) ret=value` (kernel order site ← func)
 *   trace-cmd  the same prefix (flags from 3.3 on), the event name padded to 20 columns, and
 *              libtraceevent's payload: `(ffff…)` (a bare-hex IP), `(func <- site)` for returns
 *   perf       `<spaces>comm pid[/tid] [cpu] sec.frac: group:event: (ffff…) name=value …`
 *
 * It is each reader's general tokenizer (scanContext + parseBody + parseProbePayload, or
 * tokenizePerf + perfBody) specialised to that shape, without their intermediate results. At the
 * first character that leaves the shape (tabs, a `(tgid)` column, a counter clock, `<stack
 * trace>`, a module or sym-addr suffix, a trailing `]` such as `[LINE TOO BIG]`, …) it returns
 * undefined and the general path reads the line. Where it returns a record, that record is the
 * one the general path builds, field for field and in the same field order, and the event the one
 * normalize() makes of it — test/ingest/trace/fastpath*.test.ts run both over every real capture.
 */
import type {RawRecord, SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import type {FusedPlan} from '../normalize/fused.js'
import {ProbeEvent} from './probe-event.js'
import {isNameChar} from './chars.js'
import {flat, NAMES} from './intern.js'
import {parseArgs, parseArgsAs} from './probe-args.js'

const SP = 32
const C0 = 48

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
}

/** A line shape: its prefix, the order of a return probe's `(a <- b)`, and its caches. */
export interface LineShape {
  readonly name: 'tracefs' | 'trace-cmd' | 'perf'
  /** `comm-pid [cpu] flags ts: ` (tracefs, trace-cmd) or `comm pid[/tid] [cpu] ts: ` (perf). */
  readonly perfPrefix: boolean
  /** (docs/trace-text-quirks.md#kretprobe-ip-order) */
  readonly returnOrder: 'site-func' | 'func-site'
  /** The payload may be a bare IP `(ffff…)` / `(0x…)` (libtraceevent without symbols). */
  readonly ipHeads: boolean
  /**
   * The context prefix of the last line read in full — from the line start up to and including
   * the `.` of the timestamp — and what it says. Consecutive lines mostly share it (same task,
   * CPU, flags and second): one compare then replaces the scan up to the fraction. Everything up
   * to the `.` is read left to right from that text alone, so equal text means equal comm, pid,
   * tgid, CPU and seconds.
   */
  readonly prev: {text: string; cpu: number; pid: number; tgid: number | undefined; comm: string; sec: number}
  readonly heads: HeadCache
}

function shape(name: LineShape['name'], perfPrefix: boolean, returnOrder: LineShape['returnOrder'], ipHeads: boolean): LineShape {
  return {name, perfPrefix, returnOrder, ipHeads, prev: {text: '', cpu: 0, pid: 0, tgid: undefined, comm: '', sec: 0}, heads: new HeadCache()}
}


/** What scanProbeLine() read besides the head (module state: one line at a time, no allocation). */
const L = {cpu: 0, pid: 0, tgid: undefined as number | undefined, comm: '', ts: 0, close: 0}

/**
 * The record fastProbeRecord() reads from line `[from, to)` in shape `sh`, or undefined when the
 * line leaves the common shape (the general path reads it).
 */
export function fastProbeRecord(line: string, pos: SourcePos, from = 0, to = line.length, sh: LineShape = TRACEFS_SHAPE): RawRecord | undefined {
  const head = scanProbeLine(line, from, to, sh)
  if (head === undefined) return undefined
  const n = to
  const close = L.close
  // seconds × 1e9 + ns < 2^53 while sec < 9e6: exact (as parseTs)
  const rec: RawRecord = {
    tsNs: BigInt(L.ts),
    cpu: L.cpu,
    pid: L.pid,
    tgid: L.tgid,
    comm: L.comm,
    event: head.event,
    group: head.group,
    probeSymbol: head.probeSymbol,
    returnFrom: head.returnFrom,
    args: {},
    text: undefined,
    stack: undefined,
    src: pos,
  }
  // parseProbePayload sets it after the record is made: the last field
  if (head.probeIp !== undefined) rec.probeIp = head.probeIp
  const args = rec.args
  const rest = head.argNames === undefined ? parseArgs(line, close + 1, args, n) : parseArgsAs(line, close + 1, args, n, head.argNames)
  if (rest < n) rec.text = line.slice(rest, n).trim() || undefined
  if (head.argNames === undefined) head.argNames = Object.keys(args)
  return rec
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
export function fastProbeEvent(line: string, pos: SourcePos, from: number, to: number, norm: Normalizer, sh: LineShape = TRACEFS_SHAPE): ProbeEvent | undefined {
  const head = scanProbeLine(line, from, to, sh)
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
 * The context and probe head of a kprobe line `[from, to)` in shape `sh`, into L; the head, or
 * undefined when the line leaves the common shape.
 */
function scanProbeLine(line: string, from: number, to: number, sh: LineShape): ProbeHead | undefined {
  const n = to
  if (n - from < 24 || line.charCodeAt(n - 1) === 93 /* ] */) return undefined
  const P = sh.prev
  let i: number
  let c: number
  // slice + === is one native compare (the bench measured it ahead of startsWith here)
  if (P.text !== '' && line.slice(from, from + P.text.length) === P.text) {
    i = from + P.text.length
    L.cpu = P.cpu
    L.pid = P.pid
    L.tgid = P.tgid
    L.comm = P.comm
  } else {
    i = sh.perfPrefix ? scanPerfPrefix(line, from, n) : scanBracketPrefix(line, from, n)
    if (i < 0) return undefined
    P.cpu = L.cpu
    P.pid = L.pid
    P.tgid = L.tgid
    P.comm = L.comm
    P.sec = L.ts
    P.text = line.slice(from, i)
  }
  const sec = P.sec
  const fracStart = i
  let frac = 0
  c = line.charCodeAt(i)
  while (c >= C0 && c <= 57) {
    frac = frac * 10 + (c - C0)
    c = line.charCodeAt(++i)
  }
  const digits = i - fracStart
  // the fraction runs to the `:` (the general scan reads the token to the first `:`, space or tab)
  if (c !== 58 || i >= n || digits === 0 || digits > 9) return undefined
  let body: number
  if (sh.perfPrefix) {
    // perfBody: blanks after the `:`, then `group:event: `
    body = i + 1
    c = line.charCodeAt(body)
    while (c === SP || c === 9) c = line.charCodeAt(++body)
  } else {
    // scanContext: exactly one space after the `:`
    if (line.charCodeAt(i + 1) !== SP) return undefined
    body = i + 2
  }
  // `event: (probe payload)`: looked up whole in the head cache, parsed on a miss
  const close = line.indexOf(')', body)
  if (close < 0 || close >= n) return undefined
  const head = sh.heads.get(line, body, close + 1) ?? parseHead(line, body, close, n, sh)
  if (head === undefined) return undefined
  // seconds × 1e9 + ns < 2^53 while sec < 9e6: exact (as parseTs)
  L.ts = sec * 1e9 + frac * SCALE[digits]!
  L.close = close
  return head
}

/**
 * tracefs / trace-cmd `comm-pid [cpu] [flags] sec.` (scanTaskCpu + scanFlagsTs, anchored on the
 * first `[` as scanTaskCpu tries it first): into L (seconds in L.ts); the index after the `.`, or -1.
 */
function scanBracketPrefix(line: string, from: number, n: number): number {
  let start = from
  while (start < n && line.charCodeAt(start) === SP) start++
  const c0 = line.charCodeAt(start)
  // tab: scanTaskCpu skips it too; `#` header, `>` quote prefix, `=>` frame: other paths
  if (c0 === 9 || c0 === 35 || c0 === 62 || c0 === 61) return -1
  const b = line.indexOf('[', start + 2)
  if (b < 0 || b >= start + 72 || b >= n || line.charCodeAt(b - 1) !== SP) return -1
  let j = b + 1
  let cpu = 0
  let c = line.charCodeAt(j)
  while (c >= C0 && c <= 57) {
    cpu = cpu * 10 + (c - C0)
    c = line.charCodeAt(++j)
  }
  if (j === b + 1 || c !== 93 /* ] */) return -1
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
  if (k === pidEnd - 1 || c !== 45 /* - */ || k <= start || mul > 1e15) return -1
  const commEnd = k
  // flags (optional), then `sec.frac:`
  let i = j + 1
  while (line.charCodeAt(i) === SP) i++
  let s = i
  c = line.charCodeAt(i)
  while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
  if (c !== 58) {
    if (c !== SP) return -1
    while (line.charCodeAt(i) === SP) i++
    s = i
    c = line.charCodeAt(i)
    while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
    if (c !== 58) return -1
  }
  return secondsOf(line, s, i, start, commEnd, cpu, pid, undefined)
}

/**
 * perf `comm pid[/tid] [cpu] sec.` (tokenizePerf + perfBody with the first `[`): into L; the index
 * after the `.`, or -1.
 */
function scanPerfPrefix(line: string, from: number, n: number): number {
  // tokenizePerf's indexes, relative to the line start `from`
  let start = from
  while (start < n && line.charCodeAt(start) === SP) start++
  const c0 = line.charCodeAt(start)
  if (c0 === 9 || c0 === 62 || start >= n) return -1
  const b = line.indexOf('[', from + 1)
  if (b < 0 || b >= from + 80 || b >= n) return -1
  let j = b + 1
  let cpu = 0
  let c = line.charCodeAt(j)
  while (c >= C0 && c <= 57) {
    cpu = cpu * 10 + (c - C0)
    c = line.charCodeAt(++j)
  }
  if (j === b + 1 || c !== 93 /* ] */) return -1
  // `pid` or `pid/tid` between blanks
  let k = b - 1
  c = line.charCodeAt(k)
  while (k > from && (c === SP || c === 9)) c = line.charCodeAt(--k)
  const idEnd = k + 1
  let a = 0
  let am = 1
  while (k > from && c >= C0 && c <= 57) {
    a += (c - C0) * am
    am *= 10
    c = line.charCodeAt(--k)
  }
  if (k === idEnd - 1 || am > 1e15) return -1
  let tgid: number | undefined
  let pid = a
  if (c === 47 /* / */) {
    // `pid/tid`: what was read is the tid
    const tid = a
    a = 0
    am = 1
    c = line.charCodeAt(--k)
    const pe = k
    while (k > from && c >= C0 && c <= 57) {
      a += (c - C0) * am
      am *= 10
      c = line.charCodeAt(--k)
    }
    if (k === pe || am > 1e15) return -1
    tgid = a
    pid = tid
  }
  if (c !== SP && c !== 9) return -1
  // comm: from the first non-blank to k, without trailing blanks (trimEnd: plain ASCII only here)
  let e = k
  while (e > start && (line.charCodeAt(e - 1) === SP || line.charCodeAt(e - 1) === 9)) e--
  const last = line.charCodeAt(e - 1)
  if (e <= start || last <= SP || last >= 127) return -1
  // `sec.frac:` after blanks, no flags column
  let s = j + 1
  c = line.charCodeAt(s)
  while (c === SP || c === 9) c = line.charCodeAt(++s)
  let i = s
  while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
  if (c !== 58) return -1
  return secondsOf(line, s, i, start, e, cpu, pid, tgid)
}

/** `sec.` of the timestamp token `[s, colon)`: into L (seconds in L.ts); the index after the `.`, or -1. */
function secondsOf(line: string, s: number, colon: number, commStart: number, commEnd: number, cpu: number, pid: number, tgid: number | undefined): number {
  let sec = 0
  let i = s
  let c = line.charCodeAt(i)
  while (c >= C0 && c <= 57) {
    sec = sec * 10 + (c - C0)
    c = line.charCodeAt(++i)
  }
  if (i === s || c !== 46 /* . */ || sec >= 9e6 || colon <= i) return -1
  L.cpu = cpu
  L.pid = pid
  L.tgid = tgid
  L.comm = NAMES.get(line, commStart, commEnd)
  L.ts = sec
  return i + 1
}

const SCALE = [1, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1]

/**
 * What the text from the event name to the `)` of the probe payload says — the same for every
 * hit of a probe: `set_memory_ro: (set_memory_ro+0x0/0x1c)`.
 */
interface ProbeHead {
  /** That text (a flat copy). */
  key: string
  event: string
  /** perf `group:` */
  group: string | undefined
  probeSymbol: string | undefined
  returnFrom: string | undefined
  /** An unsymbolized probe's IP `0x…` (trace-cmd, perf). */
  probeIp: string | undefined
  /** The argument names of the first line seen with this head: the next ones are expected to match (parseArgsAs). */
  argNames: string[] | undefined
  /** fastProbeEvent: how its normalizer decodes this probe, or the normalizer that has no plan for it. */
  plan: FusedPlan | undefined
  noPlan: Normalizer | undefined
}

/** Events the trace-cmd tokenizer treats apart (stacks, the function plugin): never this path. */
const SPECIAL = new Set(['kernel_stack', 'user_stack', 'function'])

/**
 * The event name and probe payload at `[body, close]`, as the general path reads them
 * (parseBody/perfBody + parseProbePayload in the shape's return order), or undefined when they
 * have another shape.
 */
function parseHead(line: string, body: number, close: number, n: number, sh: LineShape): ProbeHead | undefined {
  const keyStart = body
  let e = body
  let group: string | undefined
  let q: number
  if (sh.perfPrefix) {
    // perfBody: the name runs to the first `: `, holds no space; `group:` is cut at its first `:`
    const end = line.indexOf(': ', body)
    if (end <= body || end >= close) return undefined
    let colon = -1
    for (let x = body; x < end; x++) {
      const d = line.charCodeAt(x)
      if (d === 58 && colon < 0) colon = x
      else if (!isNameChar(d)) return undefined
    }
    if (colon === body) return undefined
    if (colon >= 0) {
      group = NAMES.get(line, body, colon)
      body = colon + 1
    }
    e = end
    q = end + 2
  } else {
    while (e < n && isNameChar(line.charCodeAt(e))) e++
    if (e === body || line.charCodeAt(e) !== 58 || line.charCodeAt(e + 1) !== SP) return undefined
    q = e + 1
    while (line.charCodeAt(q) === SP) q++
  }
  if (line.charCodeAt(q) !== 40 /* ( */ || e === body) return undefined
  const event = NAMES.get(line, body, e)
  if (sh.name !== 'tracefs' && SPECIAL.has(event)) return undefined
  // the first `)` after the body is the first after `(`: event names have none
  const sp = line.indexOf(' ', q + 1)
  let probeSymbol: string | undefined
  let returnFrom: string | undefined
  let probeIp: string | undefined
  if (sp < 0 || sp > close) {
    const plus = line.indexOf('+', q + 1)
    if (plus > q + 1 && plus < close && line.charCodeAt(q + 1) !== C0) probeSymbol = NAMES.get(line, q + 1, plus)
    else if (sh.ipHeads) {
      // parseEntryWhere: `0x…` as it is, bare hex of 8+ digits with `0x`
      if (line.charCodeAt(q + 1) === C0 && line.charCodeAt(q + 2) === 120 /* x */) probeIp = line.slice(q + 1, close)
      else if (close - q - 1 >= 8 && allHex(line, q + 1, close)) probeIp = '0x' + line.slice(q + 1, close)
      else return undefined
    } else return undefined
  } else {
    // `(a <- b)`: the first space must be the arrow
    if (line.charCodeAt(sp + 1) !== 60 || line.charCodeAt(sp + 2) !== 45 || line.charCodeAt(sp + 3) !== SP) return undefined
    const f0 = sp + 4
    if (f0 >= close) return undefined
    if (sh.returnOrder === 'site-func') {
      // func after the arrow, a plain symbol
      let bareHex = true
      for (let f = f0; f < close; f++) {
        const d = line.charCodeAt(f)
        if (!isNameChar(d)) return undefined
        if (bareHex && !isHexDigit(d)) bareHex = false
      }
      if (bareHex || (line.charCodeAt(f0) === C0 && line.charCodeAt(f0 + 1) === 120)) return undefined
      returnFrom = NAMES.get(line, f0, close)
    } else {
      // func before the arrow (libtraceevent `(%lx <- %lx)`): a symbol (cut at `+`) or an IP
      if (sp === q + 1) return undefined
      for (let f = f0; f < close; f++) if (line.charCodeAt(f) === 32) return undefined
      if (line.charCodeAt(q + 1) === C0 && line.charCodeAt(q + 2) === 120) returnFrom = probeIp = line.slice(q + 1, sp)
      else if (allHex(line, q + 1, sp)) returnFrom = probeIp = '0x' + line.slice(q + 1, sp)
      else {
        const plus = line.indexOf('+', q + 1)
        const symEnd = plus > q && plus < sp ? plus : sp
        for (let f = q + 1; f < symEnd; f++) if (!isNameChar(line.charCodeAt(f))) return undefined
        if (symEnd === q + 1) return undefined
        returnFrom = NAMES.get(line, q + 1, symEnd)
      }
    }
  }
  const head: ProbeHead = {key: flat(line.slice(keyStart, close + 1)), event, group, probeSymbol, returnFrom, probeIp, argNames: undefined, plan: undefined, noPlan: undefined}
  sh.heads.put(head)
  return head
}

function allHex(line: string, s: number, e: number): boolean {
  if (e <= s) return false
  for (let f = s; f < e; f++) if (!isHexDigit(line.charCodeAt(f))) return false
  return true
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

// after HeadCache (a class is not hoisted)
export const TRACEFS_SHAPE = shape('tracefs', false, 'site-func', false)
export const TRACE_CMD_SHAPE = shape('trace-cmd', false, 'func-site', true)
export const PERF_SHAPE = shape('perf', true, 'func-site', true)

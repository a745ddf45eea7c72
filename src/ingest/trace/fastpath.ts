/**
 * The fast path of the text readers (tracefs, trace-cmd report, perf script) for their dominant
 * line, the kprobe hit, in one left-to-right pass over the line's bytes:
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
 *
 * A line is given as bytes `buf[from, to)`, ASCII only, together with a string `text` holding the
 * same characters at `text[from + off, to + off)` (the batch decoded once: chunk.ts). The
 * per-line work reads the bytes: the context prefix compared with the previous line's, the
 * fraction, the probe head looked up by its bytes, argument names compared and values split in
 * place, numbers and addresses parsed from bytes (fused.ts). Strings come from `text` only for
 * what an event keeps (address text, marker text: slices) and on a cache miss (a new task, CPU,
 * second or probe: fast-prefix.ts, fast-head.ts read the text).
 */
import type {RawRecord, SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import {HeadCache, type LineShape, parseHead, type ProbeHead, viewOf} from './fast-head.js'

export type {LineShape} from './fast-head.js'
import {L, scanBracketPrefix, scanPerfPrefix, SCALE} from './fast-prefix.js'
import {parseArgs, parseArgsAs} from './probe-args.js'
import {ProbeEvent} from './probe-event.js'

const SP = 32
const C0 = 48

/** The longest prefix kept for the compare (a longer one is scanned every time). */
const PREFIX_MAX = 256

function shape(name: LineShape['name'], perfPrefix: boolean, returnOrder: LineShape['returnOrder'], ipHeads: boolean): LineShape {
  return {name, perfPrefix, returnOrder, ipHeads, prev: {bytes: new Uint8Array(PREFIX_MAX), words: new Int32Array(PREFIX_MAX / 4), len: 0, cpu: 0, pid: 0, tgid: undefined, comm: '', sec: 0}, heads: new HeadCache()}
}

/**
 * The record the general path reads from line `buf[from, to)` (characters `text[from + off, to +
 * off)`) in shape `sh`, or undefined when the line leaves the common shape.
 */
export function probeRecordAt(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, sh: LineShape): RawRecord | undefined {
  const head = scanProbeLine(buf, from, to, text, off, sh)
  if (head === undefined) return undefined
  const n = to + off
  const close = L.close + off
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
  const rest = head.argNames === undefined ? parseArgs(text, close + 1, args, n) : parseArgsAs(text, close + 1, args, n, head.argNames)
  if (rest < n) rec.text = text.slice(rest, n).trim() || undefined
  if (head.argNames === undefined) {
    head.argNames = Object.keys(args)
    head.argBytes = head.argNames.map((a) => Buffer.from(a, 'latin1'))
  }
  return rec
}

/** Argument value ranges of the line probeEventAt() reads (index = position in the head's argNames). */
const VS = new Int32Array(64)
const VE = new Int32Array(64)

/**
 * probeRecordAt() + Normalizer.normalize() in one step, for the lines of a probe seen before
 * (its argument names known) whose arguments are exactly those names in that order and nothing
 * after them, and whose values the probe's decoder accepts (Normalizer.fusedPlan/decodeFused):
 * the normalized event, with `args` read from the line's text on demand (ProbeEvent). Undefined
 * for any other line: probeRecordAt / the general path read it. No RawRecord, no argument
 * object, no argument strings but the address text.
 */
export function probeEventAt(buf: Uint8Array, from: number, to: number, text: string, off: number, pos: SourcePos, norm: Normalizer, sh: LineShape): ProbeEvent | undefined {
  const head = scanProbeLine(buf, from, to, text, off, sh)
  if (head === undefined) return undefined
  const names = head.argBytes
  if (names === undefined || names.length > 64) return undefined
  let plan = head.plan
  if (plan === undefined || plan.owner !== norm) {
    if (head.noPlan === norm) return undefined
    plan = norm.fusedPlan(head.event, head.probeSymbol, head.returnFrom, head.argNames!)
    if (plan === undefined) {
      head.noPlan = norm
      return undefined
    }
    head.plan = plan
  }
  // parseArgsAs over the known names, keeping value ranges; anything else: not this path
  // (argValueEnd/skipFieldsDecimal for plain values; a quoted, braced or parenthesized value or a
  // `(-123)` field after one: not this path)
  const n = to
  let i = L.close + 1
  let c = i < n ? buf[i]! : 0
  for (let k = 0; k < names.length; k++) {
    while ((c === SP || c === 9) && i < n) c = ++i < n ? buf[i]! : 0
    if (i >= n) return undefined
    const name = names[k]!
    const len = name.length
    const eq = i + len
    if (eq >= n || buf[eq] !== 61 /* = */) return undefined
    for (let j = 0; j < len; j++) if (buf[i + j] !== name[j]) return undefined
    const vs = eq + 1
    c = vs < n ? buf[vs]! : 0
    if (c === 34 || c === 123 || c === 39 || c === 40) return undefined
    let ve = vs
    while (ve < n && buf[ve] !== SP) ve++
    VS[k] = vs
    VE[k] = ve
    i = ve
    c = i < n ? buf[i]! : 0
    while ((c === SP || c === 9) && i < n) c = ++i < n ? buf[i]! : 0
    if (c === 40 && i < n) return undefined
  }
  if (i < n) return undefined
  const ev = new ProbeEvent(plan.kind, plan.fn, plan.probe, plan.op, BigInt(L.ts), L.cpu, L.pid, L.comm, pos, text, L.close + 1 + off, n + off, head.argNames!)
  return norm.decodeFused(plan, buf, text, off, VS, VE, ev) ? ev : undefined
}

/**
 * The context and probe head of a kprobe line `buf[from, to)` in shape `sh`, into L; the head, or
 * undefined when the line leaves the common shape.
 */
function scanProbeLine(buf: Uint8Array, from: number, to: number, text: string, off: number, sh: LineShape): ProbeHead | undefined {
  const n = to
  if (n - from < 24 || buf[n - 1] === 93 /* ] */) return undefined
  const P = sh.prev
  let i: number
  let c: number
  const plen = P.len
  let same = plen > 0 && from + plen <= n
  if (same) {
    // four bytes at a time (DataView reads are inlined; a byte loop costs 4× as much)
    const dv = viewOf(buf)
    const pw = P.words
    let k = 0
    for (; k + 4 <= plen; k += 4) {
      if (dv.getInt32(from + k, true) !== pw[k >> 2]) {
        same = false
        break
      }
    }
    if (same) {
      const pb = P.bytes
      for (; k < plen; k++) {
        if (buf[from + k] !== pb[k]) {
          same = false
          break
        }
      }
    }
  }
  if (same) {
    i = from + plen
    L.cpu = P.cpu
    L.pid = P.pid
    L.tgid = P.tgid
    L.comm = P.comm
  } else {
    // a new prefix: read from the text (fast-prefix.ts), kept as bytes for the next lines
    const t = sh.perfPrefix ? scanPerfPrefix(text, from + off, n + off) : scanBracketPrefix(text, from + off, n + off)
    if (t < 0) return undefined
    i = t - off
    P.cpu = L.cpu
    P.pid = L.pid
    P.tgid = L.tgid
    P.comm = L.comm
    P.sec = L.ts
    const len = i - from
    if (len <= PREFIX_MAX) {
      const pb = P.bytes
      for (let k = 0; k < len; k++) pb[k] = buf[from + k]!
      const dv = viewOf(buf)
      for (let k = 0; k + 4 <= len; k += 4) P.words[k >> 2] = dv.getInt32(from + k, true)
      P.len = len
    } else P.len = 0
  }
  const sec = P.sec
  const fracStart = i
  let frac = 0
  c = i < n ? buf[i]! : 0
  while (c >= C0 && c <= 57) {
    frac = frac * 10 + (c - C0)
    c = ++i < n ? buf[i]! : 0
  }
  const digits = i - fracStart
  // the fraction runs to the `:` (the general scan reads the token to the first `:`, space or tab)
  if (c !== 58 || digits === 0 || digits > 9) return undefined
  let body: number
  if (sh.perfPrefix) {
    // perfBody: blanks after the `:`, then `group:event: `
    body = i + 1
    c = body < n ? buf[body]! : 0
    while (c === SP || c === 9) c = ++body < n ? buf[body]! : 0
  } else {
    // scanContext: exactly one space after the `:`
    if (i + 1 >= n || buf[i + 1] !== SP) return undefined
    body = i + 2
  }
  // `event: (probe payload)`: looked up whole in the head cache, parsed on a miss
  const close = buf.indexOf(41 /* ) */, body)
  if (close < 0 || close >= n) return undefined
  const head = sh.heads.get(buf, body, close + 1) ?? parseHead(text, body + off, close + off, n + off, sh, new Uint8Array(buf.subarray(body, close + 1)))
  if (head === undefined) return undefined
  // seconds × 1e9 + ns < 2^53 while sec < 9e6: exact (as parseTs)
  L.ts = sec * 1e9 + frac * SCALE[digits]!
  L.close = close
  return head
}

/** The text of the last string-API call and its bytes (a batch text is given line after line). */
let wrapText: string | undefined
let wrapBytes: Buffer | undefined

/**
 * The bytes of `line` when it is all ASCII (the byte path reads no other line), as
 * probeRecordAt/probeEventAt take them with `text` = `line`, `off` = 0; undefined otherwise.
 */
function bytesOf(line: string): Buffer | undefined {
  if (line !== wrapText) {
    wrapText = line
    // UTF-8 length = characters: all ASCII
    wrapBytes = Buffer.byteLength(line, 'utf8') === line.length ? Buffer.from(line, 'latin1') : undefined
  }
  return wrapBytes
}

/** The bytes of `line[from, to)` when that line is all ASCII (in a text that is not). */
function lineBytes(line: string, from: number, to: number): Buffer | undefined {
  for (let i = from; i < to; i++) if (line.charCodeAt(i) > 127) return undefined
  return Buffer.from(line.slice(from, to), 'latin1')
}

/** probeRecordAt() of the string `line[from, to)` (the parallel reader's batch text, tests, tools). */
export function fastProbeRecord(line: string, pos: SourcePos, from = 0, to = line.length, sh: LineShape = TRACEFS_SHAPE): RawRecord | undefined {
  const all = bytesOf(line)
  if (all !== undefined) return probeRecordAt(all, from, to, line, 0, pos, sh)
  const b = lineBytes(line, from, to)
  return b === undefined ? undefined : probeRecordAt(b, 0, b.length, line, from, pos, sh)
}

/** probeEventAt() of the string `line[from, to)` (the parallel reader's batch text, tests, tools). */
export function fastProbeEvent(line: string, pos: SourcePos, from: number, to: number, norm: Normalizer, sh: LineShape = TRACEFS_SHAPE): ProbeEvent | undefined {
  const all = bytesOf(line)
  if (all !== undefined) return probeEventAt(all, from, to, line, 0, pos, norm, sh)
  const b = lineBytes(line, from, to)
  return b === undefined ? undefined : probeEventAt(b, 0, b.length, line, from, pos, norm, sh)
}

export const TRACEFS_SHAPE = shape('tracefs', false, 'site-func', false)
export const TRACE_CMD_SHAPE = shape('trace-cmd', false, 'func-site', true)
export const PERF_SHAPE = shape('perf', true, 'func-site', true)

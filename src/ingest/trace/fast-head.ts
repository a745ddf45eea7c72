/**
 * The probe head of a text trace line on the fast path (fastpath.ts): the text from the event
 * name to the `)` of the probe payload — the same for every hit of a probe — what it says
 * (parseHead(), the reader's parseBody/perfBody + parseProbePayload in the shape's return order),
 * and the cache of the heads seen, looked up by the line's bytes (HeadCache).
 */
import type {Normalizer} from '../normalize.js'
import type {FusedPlan} from '../normalize/fused.js'
import {isHexDigit, isNameChar} from './chars.js'
import {NAMES} from './intern.js'

const SP = 32
const C0 = 48

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
   * the `.` of the timestamp: its `len` bytes — and what it says. Consecutive lines mostly share
   * it (same task, CPU, flags and second): one compare then replaces the scan up to the fraction.
   * Everything up to the `.` is read left to right from those bytes alone, so equal bytes mean
   * equal comm, pid, tgid, CPU and seconds.
   */
  readonly prev: {bytes: Uint8Array; words: Int32Array; len: number; cpu: number; pid: number; tgid: number | undefined; comm: string; sec: number}
  readonly heads: HeadCache
}

/**
 * What the text from the event name to the `)` of the probe payload says — the same for every
 * hit of a probe: `set_memory_ro: (set_memory_ro+0x0/0x1c)`.
 */
export interface ProbeHead {
  /** That text's bytes (ASCII: the line's text is the same characters). */
  key: Uint8Array
  /** The same, four bytes at a time (little-endian words; the last 0–3 bytes only in `key`). */
  words: Int32Array
  event: string
  /** perf `group:` */
  group: string | undefined
  probeSymbol: string | undefined
  returnFrom: string | undefined
  /** An unsymbolized probe's IP `0x…` (trace-cmd, perf). */
  probeIp: string | undefined
  /** The argument names of the first line seen with this head: the next ones are expected to match (parseArgsAs). */
  argNames: string[] | undefined
  /** argNames as bytes, for the compare in place (fastpath.ts probeEventAt). */
  argBytes: Uint8Array[] | undefined
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
export function parseHead(line: string, body: number, close: number, n: number, sh: LineShape, key: Uint8Array): ProbeHead | undefined {
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
  const words = new Int32Array(key.length >> 2)
  const kv = new DataView(key.buffer, key.byteOffset, key.length)
  for (let k = 0; k + 4 <= key.length; k += 4) words[k >> 2] = kv.getInt32(k, true)
  const head: ProbeHead = {key, words, event, group, probeSymbol, returnFrom, probeIp, argNames: undefined, argBytes: undefined, plan: undefined, noPlan: undefined}
  sh.heads.put(head)
  return head
}

function allHex(line: string, s: number, e: number): boolean {
  if (e <= s) return false
  for (let f = s; f < e; f++) if (!isHexDigit(line.charCodeAt(f))) return false
  return true
}

/**
 * Probe heads by their bytes, compared in place (no allocation on a hit). A cache only: a hit
 * means the bytes are identical to a text parseHead() accepted, so parsing it again would give
 * the same head. Bounded: at most 4096 heads, then new ones are not kept.
 */
export class HeadCache {
  private readonly table: (ProbeHead | undefined)[] = new Array<ProbeHead | undefined>(8192)
  private size = 0

  /** A slot from the length and a few bytes (names differ there; the compare is exact). */
  private static slot(buf: Uint8Array, start: number, end: number): number {
    const len = end - start
    return (Math.imul(len, 0x9e3779b1) ^ Math.imul(buf[start]!, 31) ^ Math.imul(buf[start + (len >> 1)]!, 8191) ^ Math.imul(buf[end - 3]!, 131071) ^ Math.imul(buf[end - 6]!, 524287)) & 8191
  }

  /** The head whose text is `buf[start, end)`, if cached. */
  get(buf: Uint8Array, start: number, end: number): ProbeHead | undefined {
    const len = end - start
    if (len < 8 || len > 200) return undefined
    let slot = HeadCache.slot(buf, start, end)
    for (let probe = 0; probe < 8; probe++) {
      const h = this.table[slot]
      if (h === undefined) return undefined
      if (h.key.length === len && sameBytes(buf, start, h)) return h
      slot = (slot + 1) & 8191
    }
    return undefined
  }

  put(h: ProbeHead): void {
    const len = h.key.length
    if (len < 8 || len > 200 || this.size >= 4096) return
    let slot = HeadCache.slot(h.key, 0, len)
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

/** `buf[start, start + h.key.length)` holds the bytes of `h.key`: four at a time, then the rest. */
function sameBytes(buf: Uint8Array, start: number, h: ProbeHead): boolean {
  const dv = viewOf(buf)
  const words = h.words
  const nw = words.length
  for (let w = 0; w < nw; w++) if (dv.getInt32(start + (w << 2), true) !== words[w]) return false
  const key = h.key
  for (let k = nw << 2; k < key.length; k++) if (buf[start + k] !== key[k]) return false
  return true
}

let viewBuf: Uint8Array | undefined
let view: DataView = new DataView(new ArrayBuffer(0))

/** A DataView on `buf` (the one of the previous call while `buf` is the same: one per batch). */
export function viewOf(buf: Uint8Array): DataView {
  if (buf !== viewBuf) {
    viewBuf = buf
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  return view
}

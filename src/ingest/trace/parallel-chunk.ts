/**
 * One line-aligned byte range of a trace file, read in a worker thread (parallel-worker.ts) for
 * the parallel reader (parallel.ts): cut into the very batches source.ts cuts in one thread, and
 * the event lines the reader's fused fast path accepts turned into events, encoded compactly.
 *
 * Same batches: source.ts reads a file in CHUNK_BYTES reads from offset 0 and cuts batches at
 * newlines chosen inside each read (splitLines). A range starts just after the last newline of a
 * read and ends at the last newline of a later read (parallel.ts planChunks), so feeding
 * splitLines the bytes from the range start to the next read boundary (no newline: the carry one
 * thread has there) and then whole reads, the last one cut after its last newline, reproduces the
 * one-thread batches, line for line, with line numbers counted from 1 in the range.
 *
 * Compact events: structured clone of a million event objects costs about what parsing them does.
 * An event goes as EV_STRIDE doubles of one Float64Array (transferred, not copied) plus indexes
 * into small per-range tables (probe plans, comms, masks, return values); its argument text stays
 * where it is, in the batch text the main thread receives anyway.
 */
import {closeSync, openSync, read} from 'node:fs'

import type {TraceEvent} from '../events.js'
import {Normalizer, type NormalizeOptions} from '../normalize.js'
import {CHUNK_BYTES, InputError, type LineBatch, splitLines} from '../source.js'
import {perfReader} from './perf.js'
import {ProbeEvent} from './probe-event.js'
import {traceCmdReader} from './tracecmd.js'
import {tracefsReader} from './tracefs.js'
import type {LineReader} from './types.js'

/** The readers with a fused fast path, by name (the worker imports only these). */
export const PARALLEL_READERS: Record<string, LineReader<unknown>> = {
  tracefs: tracefsReader as LineReader<unknown>,
  'trace-cmd': traceCmdReader as LineReader<unknown>,
  perf: perfReader as LineReader<unknown>,
}

/** What the main thread asks a worker for. */
export interface ChunkTask {
  id: number
  path: string
  /** Reader name (READERS). */
  format: string
  /** [start, end): byte range, start just after a newline (or 0), end just after one (or EOF). */
  start: number
  end: number
}

/** Stand-in for the file name in the worker's messages (the main thread knows the line numbers). */
export const NAME_MARK = '\u0000range'

/** A batch as sent: `lines` only where the main thread must look at every line (see consumeBatch). */
export interface WireBatch {
  firstLine: number
  count: number
  bytesRead: number
  decodedRead?: number
  unterminated?: boolean
  overlong?: {line: number; bytes: number}[]
  /** The batch text as bytes [t0, t1) of the range (when no `lines`; the main thread reads them too). */
  t0: number
  t1: number
  /** With `lines`: the batch text, if any. */
  text?: string
  lines?: string[]
  /** Into ChunkResult.ends: the end offset of each line in `text` (when no `lines`). */
  ends0: number
  /** [ev0, ev1): this batch's events in ChunkResult.events. */
  ev0: number
  ev1: number
}

/** A probe plan: kind, fn, probe, op, index of its argument names. */
export type WirePlan = [TraceEvent['kind'], string, string, TraceEvent['op'], number]

export interface ChunkResult {
  id: number
  batches: WireBatch[]
  ends: Int32Array
  events: Float64Array
  plans: WirePlan[]
  names: string[][]
  comms: string[]
  masks: {mask: bigint; names: string[]}[]
  rets: bigint[]
  /** Lines in the range (the last one counted when unterminated). */
  lines: number
  /** An input error after the batches (splitLines: binary data, a read error), with NAME_MARK. */
  error?: {message: string; line?: number}
}

/**
 * Slots of one event in ChunkResult.events. NaN = undefined for numbers, -1 for table indexes
 * and offsets.
 */
export const EV = {line: 0, ts: 1, cpu: 2, pid: 3, comm: 4, plan: 5, argsFrom: 6, argsTo: 7, addr: 8, atFrom: 9, atTo: 10, end: 11, size: 12, pages: 13, page: 14, set: 15, clear: 16, ret: 17, noVmemmap: 18} as const
export const EV_STRIDE = 19

/**
 * The bytes [start, end) of a file read into `into` (end - start bytes), yielded as splitLines()
 * gets them in one thread (see the file comment).
 */
export async function* readRange(path: string, start: number, end: number, counter: {bytes: number}, into: Buffer): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r')
  try {
    let pos = start
    while (pos < end) {
      const next = Math.min(end, (Math.floor(pos / CHUNK_BYTES) + 1) * CHUNK_BYTES)
      const buf = into.subarray(pos - start, next - start)
      let got = 0
      while (got < buf.length) {
        const n = await new Promise<number>((resolve, reject) => read(fd, buf, got, buf.length - got, pos + got, (e, k) => (e ? reject(e) : resolve(k))))
        if (n === 0) break
        got += n
      }
      if (got === 0) return
      counter.bytes += got
      yield got < buf.length ? buf.subarray(0, got) : buf
      if (got < buf.length) return
      pos = next
    }
  } finally {
    closeSync(fd)
  }
}

/** The range bytes of this worker, reused (one range at a time; the texts made of them are copies). */
let scratch = Buffer.alloc(0)

const normalizers = new Map<string, Normalizer>()

/** One Normalizer per option set in this worker (its caches live across ranges). */
function normalizerFor(opts: NormalizeOptions): Normalizer {
  const key = JSON.stringify(opts)
  let n = normalizers.get(key)
  if (n === undefined) {
    n = new Normalizer(opts)
    normalizers.set(key, n)
  }
  return n
}

const NO_NAMES: string[] = []

/** Tables of one range: each distinct value once (mostly), by its index. */
class Tables {
  readonly plans: WirePlan[] = []
  readonly names: string[][] = []
  readonly comms: string[] = []
  readonly masks: {mask: bigint; names: string[]}[] = []
  readonly rets: bigint[] = []
  // the fast path keeps one argument-name array per probe head, and one names array per mask
  // text: keyed by those arrays (an identity lookup), checked against the values
  private readonly planIds = new Map<readonly string[], number>()
  private readonly nameIds = new Map<readonly string[], number>()
  private lastComm = ''
  private lastCommId = -1
  private readonly commIds = new Map<string, number>()
  private readonly maskIds = new Map<readonly string[], number>()
  private readonly retIds = new Map<bigint, number>()

  plan(ev: ProbeEvent, names: readonly string[]): number {
    const known = this.planIds.get(names)
    if (known !== undefined) {
      const p = this.plans[known]!
      if (p[0] === ev.kind && p[1] === ev.fn && p[2] === ev.probe && p[3] === ev.op) return known
    }
    let ni = this.nameIds.get(names)
    if (ni === undefined) {
      ni = this.names.length
      this.names.push([...names])
      this.nameIds.set(names, ni)
    }
    const id = this.plans.length
    this.plans.push([ev.kind, ev.fn, ev.probe, ev.op, ni])
    this.planIds.set(names, id)
    return id
  }

  comm(c: string): number {
    if (c === this.lastComm && this.lastCommId >= 0) return this.lastCommId
    let id = this.commIds.get(c)
    if (id === undefined) {
      id = this.comms.length
      this.comms.push(c)
      this.commIds.set(c, id)
    }
    this.lastComm = c
    this.lastCommId = id
    return id
  }

  mask(m: bigint | undefined, names: string[] | undefined): number {
    if (m === undefined) return -1
    const key = names ?? NO_NAMES
    let id = this.maskIds.get(key)
    if (id !== undefined && this.masks[id]!.mask === m) return id
    id = this.masks.length
    this.masks.push({mask: m, names: names ?? []})
    this.maskIds.set(key, id)
    return id
  }

  ret(r: bigint | undefined): number {
    if (r === undefined) return -1
    let id = this.retIds.get(r)
    if (id === undefined) {
      id = this.rets.length
      this.rets.push(r)
      this.retIds.set(r, id)
    }
    return id
  }
}

/** A growable Float64Array / Int32Array. */
class F64 {
  a = new Float64Array(EV_STRIDE * 4096)
  n = 0
  grow(k: number): void {
    if (this.n + k <= this.a.length) return
    const b = new Float64Array(Math.max(this.a.length * 2, this.n + k))
    b.set(this.a.subarray(0, this.n))
    this.a = b
  }
}
class I32 {
  a = new Int32Array(65536)
  n = 0
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[this.n++] = v
  }
}

const num = (v: number | undefined): number => (v === undefined ? NaN : v)

/**
 * Write `ev` (made from line `lineIdx` of `text`) at the end of `out`; false when it holds
 * something the encoding does not carry (the main thread then reads the line itself).
 */
function encode(ev: ProbeEvent, lineIdx: number, text: string, out: F64, t: Tables, noVmemmap: boolean): boolean {
  if (ev.enable !== undefined || ev.text !== undefined || ev.stack !== undefined || ev.userStack !== undefined) return false
  const src = ProbeEvent.argSource(ev)
  if (src.line !== text) return false
  let atFrom = -1
  let atTo = -1
  if (ev.addrText !== undefined) {
    atFrom = text.indexOf(ev.addrText, src.from)
    if (atFrom < 0 || atFrom >= src.to) return false
    atTo = atFrom + ev.addrText.length
  }
  out.grow(EV_STRIDE)
  const a = out.a
  const o = out.n
  a[o + EV.line] = lineIdx
  a[o + EV.ts] = Number(ev.tsNs)
  a[o + EV.cpu] = ev.cpu
  a[o + EV.pid] = ev.pid
  a[o + EV.comm] = t.comm(ev.comm)
  a[o + EV.plan] = t.plan(ev, src.names)
  a[o + EV.argsFrom] = src.from
  a[o + EV.argsTo] = src.to
  a[o + EV.addr] = num(ev.addr)
  a[o + EV.atFrom] = atFrom
  a[o + EV.atTo] = atTo
  a[o + EV.end] = num(ev.end)
  a[o + EV.size] = num(ev.size)
  a[o + EV.pages] = num(ev.pages)
  a[o + EV.page] = num(ev.page)
  a[o + EV.set] = t.mask(ev.setMask, ev.setNames)
  a[o + EV.clear] = t.mask(ev.clearMask, ev.clearNames)
  a[o + EV.ret] = t.ret(ev.ret)
  a[o + EV.noVmemmap] = noVmemmap ? 1 : 0
  out.n = o + EV_STRIDE
  return true
}

/** Read one range (in a worker): its batches, and the events of the lines the fused fast path takes. */
export async function parseChunk(task: ChunkTask, normOpts: NormalizeOptions): Promise<ChunkResult> {
  const reader = PARALLEL_READERS[task.format]
  if (reader === undefined || reader.type !== 'line' || !reader.eventRange || !reader.tokenizeRange) throw new Error(`${task.format}: not a reader with a fused fast path`)
  const norm = normalizerFor(normOpts)
  const state = reader.newState({file: NAME_MARK})
  const counter = {bytes: task.start}
  const batches: WireBatch[] = []
  const ends = new I32()
  const events = new F64()
  const t = new Tables()
  let lines = 0
  let error: ChunkResult['error']
  if (scratch.length < task.end - task.start) scratch = Buffer.allocUnsafeSlow(task.end - task.start)
  const bytes = scratch
  let decoded = 0
  const eventRange = reader.eventRange.bind(reader)
  const tokenizeRange = reader.tokenizeRange.bind(reader)
  try {
    for await (const b of splitLines(readRange(task.path, task.start, task.end, counter, bytes), counter, NAME_MARK) as AsyncIterable<LineBatch>) {
      const n = b.lines.length
      lines += n
      // the batch's bytes: from the end of the previous one to its last newline (decodedRead)
      const t0 = decoded
      const t1 = b.decodedRead !== undefined ? b.decodedRead - 1 : t0
      if (b.decodedRead !== undefined) decoded = b.decodedRead
      const w: WireBatch = {firstLine: b.firstLine, count: n, bytesRead: b.bytesRead, t0, t1, ends0: ends.n, ev0: events.n / EV_STRIDE, ev1: events.n / EV_STRIDE}
      if (b.decodedRead !== undefined) w.decodedRead = b.decodedRead
      if (b.unterminated) w.unterminated = true
      if (b.overlong) w.overlong = b.overlong
      const text = b.text
      // what consumeBatch reads line by line: a batch without one flat text, or with long/NUL lines
      if (text === undefined || b.overlong !== undefined || text.indexOf('\0') >= 0 || t1 - t0 !== text.length) {
        w.lines = b.lines
        if (text !== undefined) w.text = text
        batches.push(w)
        continue
      }
      let off = 0
      for (let i = 0; i < n; i++) {
        const end = off + b.lines[i]!.length
        ends.push(end)
        const pos = {file: NAME_MARK, line: b.firstLine + i}
        const before = norm.stats.directMapPagesWithoutVmemmap
        const ev = eventRange(text, off, end, pos, state, norm)
        // a first line of a probe: tokenizeRange learns its argument names for the next ones
        if (ev === undefined) tokenizeRange(text, off, end, pos, state)
        else encode(ev, i, text, events, t, norm.stats.directMapPagesWithoutVmemmap !== before)
        off = end + 1
      }
      w.ev1 = events.n / EV_STRIDE
      batches.push(w)
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e
    error = {message: e.message, line: e.line}
  }
  return {
    id: task.id,
    batches,
    ends: ends.a.subarray(0, ends.n),
    events: events.a.subarray(0, events.n),
    plans: t.plans,
    names: t.names,
    comms: t.comms,
    masks: t.masks,
    rets: t.rets,
    lines,
    error,
  }
}

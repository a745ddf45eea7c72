/**
 * The parallel reader: a large, uncompressed, regular text trace file is cut into line-aligned
 * byte ranges that worker threads read (parallel-chunk.ts) while this thread consumes the ranges
 * already done, in file order, through the one per-file pipeline of file-events.ts (reader state,
 * assembler, normalizer, sorter, diagnostics). A worker turns the event lines its reader's fused
 * fast path accepts into events; every other line (headers, stack frames, loss markers, text,
 * anything the fast path leaves) is read here, in order, as in one thread. So the output is the
 * one thread's, byte for byte: same batches, same slices, same diagnostics in the same order.
 *
 * When: a path (not `-`), a regular file that is not compressed, at least `minBytes`, a reader
 * with a fused fast path (tracefs, trace-cmd, perf), and more than one thread asked for
 * (PTREPLAY_THREADS; off by default: readThreads()). Compressed input and pipes are decoded as a
 * stream, in one thread. The compiled worker must exist (not when running from the TypeScript
 * sources). docs/parallel-read.md says why the output is the one thread's.
 *
 * Bounded memory: at most LOOKAHEAD ranges per worker are asked for ahead of the one consumed.
 */
import {closeSync, existsSync, openSync, readSync, statSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

import {compressionOf} from '../decompress.js'
import type {Normalizer, NormalizeOptions} from '../normalize.js'
import {CHUNK_BYTES, decodeText, InputError, splitLines} from '../source.js'
import type {BatchHints, FeedBatch} from './feed-batch.js'
import {type ChunkResult, type ChunkTask, EV, EV_STRIDE, NAME_MARK, PARALLEL_READERS, readRange} from './parallel-chunk.js'
import {ProbeEvent} from './probe-event.js'
import type {TraceReadOptions} from './read-options.js'
import type {LineReader} from './types.js'

/** Smallest file read in parallel (one input; several inputs: MIN_BYTES_SEVERAL each). */
export const MIN_BYTES = 32 << 20
export const MIN_BYTES_SEVERAL = 8 << 20
/** Bytes per range (a multiple of CHUNK_BYTES). */
export const RANGE_BYTES = 4 << 20
/** Ranges asked for per worker ahead of the one being consumed. */
const LOOKAHEAD = 2

/** The compiled worker beside this module; undefined when running from the TypeScript sources. */
function workerUrl(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined
  const u = new URL('./parallel-worker.js', import.meta.url)
  return existsSync(fileURLToPath(u)) ? u : undefined
}

function envInt(name: string): number | undefined {
  const v = process.env[name]
  if (v === undefined || v.trim() === '') return undefined
  const n = Number(v)
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

/**
 * Threads for reading one large file, this one included: PTREPLAY_THREADS (0: the cores this
 * process may use, os.availableParallelism()), else DEFAULT_THREADS.
 */
export function readThreads(): number {
  const n = envInt('PTREPLAY_THREADS') ?? DEFAULT_THREADS
  return Math.max(1, n === 0 ? availableParallelism() : n)
}

/**
 * One thread unless asked for: on the 2-core machine of issue 10 the parallel read was not faster
 * than one thread (docs/parallel-read.md has the measurements).
 */
export const DEFAULT_THREADS = 1

interface Pending {
  resolve: (r: ChunkResult) => void
  reject: (e: unknown) => void
}

/** Worker threads shared by the files of one readTrace() call, created on first use. */
class Pool {
  private readonly workers: {w: Worker; pending: Map<number, Pending>}[] = []
  private nextId = 0
  private closed = false

  constructor(
    private readonly url: URL,
    readonly size: number,
    private readonly norm: NormalizeOptions,
  ) {}

  run(task: Omit<ChunkTask, 'id'>): Promise<ChunkResult> {
    if (this.workers.length < this.size) this.spawn()
    let slot = this.workers[0]!
    for (const s of this.workers) if (s.pending.size < slot.pending.size) slot = s
    const id = this.nextId++
    const p = new Promise<ChunkResult>((resolve, reject) => slot.pending.set(id, {resolve, reject}))
    // held while it has work, so the process waits for it; never once idle
    slot.w.ref()
    slot.w.postMessage({...task, id})
    return p
  }

  private spawn(): void {
    const w = new Worker(this.url, {workerData: this.norm})
    const slot = {w, pending: new Map<number, Pending>()}
    const fail = (e: unknown) => {
      for (const p of slot.pending.values()) p.reject(e)
      slot.pending.clear()
    }
    w.on('message', (m: ChunkResult | {id: number; fail: string}) => {
      const p = slot.pending.get(m.id)
      if (p === undefined) return
      slot.pending.delete(m.id)
      if (slot.pending.size === 0) w.unref()
      if ('fail' in m) p.reject(new Error(`parallel reader: ${m.fail}`))
      else p.resolve(m)
    })
    w.on('error', fail)
    w.on('exit', (code) => {
      if (!this.closed) fail(new Error(`parallel reader: a worker thread ended (exit code ${code})`))
    })
    w.unref()
    this.workers.push(slot)
  }

  async close(): Promise<void> {
    this.closed = true
    const ws = this.workers.splice(0)
    await Promise.all(ws.map((s) => s.w.terminate()))
  }
}

/** The parallel reader of one readTrace() call (ParallelReads.create), undefined: one thread. */
export class ParallelReads {
  private pool: Pool | undefined
  /** Ranges read by workers, and events they made that were taken (PTREPLAY_PARALLEL_REPORT=1 prints them). */
  readonly counts = {files: 0, ranges: 0, events: 0}

  private constructor(
    private readonly url: URL,
    private readonly threads: number,
    private readonly minBytes: number,
    private readonly rangeBytes: number,
    private readonly norm: NormalizeOptions,
  ) {}

  static create(paths: readonly string[], opts: TraceReadOptions): ParallelReads | undefined {
    const threads = readThreads()
    const url = workerUrl()
    if (threads <= 1 || url === undefined) return undefined
    // PTREPLAY_PARALLEL_MIN_BYTES / PTREPLAY_RANGE_BYTES: for tests (small files, awkward cuts)
    const minBytes = envInt('PTREPLAY_PARALLEL_MIN_BYTES') ?? (paths.length > 1 ? MIN_BYTES_SEVERAL : MIN_BYTES)
    const rangeBytes = Math.max(1, Math.ceil((envInt('PTREPLAY_RANGE_BYTES') ?? RANGE_BYTES) / CHUNK_BYTES)) * CHUNK_BYTES
    const norm: NormalizeOptions = {map: opts.map, pageSize: opts.pageSize, vmemmapStart: opts.vmemmapStart, pageOffset: opts.pageOffset, structPageSize: opts.structPageSize}
    return new ParallelReads(url, threads, minBytes, rangeBytes, norm)
  }

  /**
   * The batches of `path` read in parallel, or undefined when this file is read in one thread
   * (see the file comment).
   */
  plan(path: string, name: string, reader: LineReader<unknown>, normalizer: Normalizer): AsyncIterable<FeedBatch> | undefined {
    if (path === '-' || !reader.eventRange || !reader.tokenizeRange || PARALLEL_READERS[reader.name] !== reader) return undefined
    let ranges: [number, number][]
    try {
      const st = statSync(path)
      if (!st.isFile() || st.size < this.minBytes) return undefined
      const fd = openSync(path, 'r')
      try {
        const head = Buffer.alloc(8)
        const n = readSync(fd, head, 0, 8, 0)
        if (compressionOf(head.subarray(0, n))) return undefined
        ranges = planRanges(fd, st.size, this.rangeBytes)
      } finally {
        closeSync(fd)
      }
    } catch {
      // unreadable now: the one-thread reader reports it
      return undefined
    }
    if (ranges.length < 2) return undefined
    this.pool ??= new Pool(this.url, Math.max(1, this.threads - 1), this.norm)
    this.counts.files++
    return rangeBatches(this.pool, path, name, reader.name, ranges, normalizer, this.counts)
  }

  async close(): Promise<void> {
    await this.pool?.close()
    this.pool = undefined
    if (process.env.PTREPLAY_PARALLEL_REPORT === '1' && this.counts.files > 0) {
      process.stderr.write(`parallel read: ${this.counts.files} files, ${this.counts.ranges} ranges by workers, ${this.counts.events} events made by workers\n`)
    }
  }
}

/**
 * Ranges of about `rangeBytes`, each ending just after the last newline of a CHUNK_BYTES read
 * (source.ts reads the file in those; see parallel-chunk.ts). A read without a newline is no cut.
 */
export function planRanges(fd: number, size: number, rangeBytes: number): [number, number][] {
  const ranges: [number, number][] = []
  let start = 0
  const tail = Buffer.allocUnsafe(CHUNK_BYTES)
  for (let k = rangeBytes; k < size; k += rangeBytes) {
    // the last newline of the read [k - CHUNK_BYTES, k)
    const n = readSync(fd, tail, 0, CHUNK_BYTES, k - CHUNK_BYTES)
    const nl = tail.subarray(0, n).lastIndexOf(10)
    if (nl < 0) continue
    const cut = k - CHUNK_BYTES + nl + 1
    if (cut <= start) continue
    ranges.push([start, cut])
    start = cut
  }
  if (start < size) ranges.push([start, size])
  return ranges
}

/** Per-range tables on this thread (strings shared across the events of the range). */
interface Decoded {
  r: ChunkResult
  plans: {kind: ProbeEvent['kind']; fn: string; probe: string; op: ProbeEvent['op']; names: readonly string[]}[]
}

/** The worker's events of one batch, built on demand (BatchHints). */
class RangeHints implements BatchHints {
  constructor(
    private readonly d: Decoded,
    private readonly ev0: number,
    readonly count: number,
    private readonly text: string,
    private readonly normalizer: Normalizer,
    private readonly counts: ParallelReads['counts'],
  ) {}

  lineOf(k: number): number {
    return this.d.r.events[(this.ev0 + k) * EV_STRIDE + EV.line]!
  }

  take(k: number, pos: {file: string; line: number}): ProbeEvent {
    this.counts.events++
    const a = this.d.r.events
    const o = (this.ev0 + k) * EV_STRIDE
    const p = this.d.plans[a[o + EV.plan]!]!
    const r = this.d.r
    const ev = new ProbeEvent(p.kind, p.fn, p.probe, p.op, BigInt(a[o + EV.ts]!), a[o + EV.cpu]!, a[o + EV.pid]!, r.comms[a[o + EV.comm]!]!, pos, this.text, a[o + EV.argsFrom]!, a[o + EV.argsTo]!, p.names)
    const addr = a[o + EV.addr]!
    if (addr === addr) ev.addr = addr
    const at = a[o + EV.atFrom]!
    if (at >= 0) ev.addrText = this.text.slice(at, a[o + EV.atTo]!)
    const end = a[o + EV.end]!
    if (end === end) ev.end = end
    const size = a[o + EV.size]!
    if (size === size) ev.size = size
    const pages = a[o + EV.pages]!
    if (pages === pages) ev.pages = pages
    const page = a[o + EV.page]!
    if (page === page) ev.page = page
    const set = a[o + EV.set]!
    if (set >= 0) {
      ev.setMask = r.masks[set]!.mask
      ev.setNames = r.masks[set]!.names
    }
    const clear = a[o + EV.clear]!
    if (clear >= 0) {
      ev.clearMask = r.masks[clear]!.mask
      ev.clearNames = r.masks[clear]!.names
    }
    const ret = a[o + EV.ret]!
    if (ret >= 0) ev.ret = r.rets[ret]
    if (a[o + EV.noVmemmap] === 1) this.normalizer.stats.directMapPagesWithoutVmemmap++
    return ev
  }
}

/** Argument-name lists shared across ranges (one array per distinct list, as the fast path keeps them). */
function internNames(cache: Map<string, readonly string[]>, names: string[]): readonly string[] {
  const key = names.join('\u0000')
  let v = cache.get(key)
  if (v === undefined) cache.set(key, (v = names))
  return v
}

/**
 * The ranges' batches in file order: the first range read here (the workers start meanwhile),
 * the others by the pool, LOOKAHEAD per worker ahead. Line numbers are made absolute here.
 */
async function* rangeBatches(pool: Pool, path: string, name: string, format: string, ranges: [number, number][], normalizer: Normalizer, counts: ParallelReads['counts']): AsyncGenerator<FeedBatch> {
  const ahead = Math.max(2, LOOKAHEAD * Math.max(1, pool.size))
  const results: (Promise<ChunkResult> | undefined)[] = []
  let asked = 1
  const ask = (upTo: number) => {
    for (; asked < ranges.length && asked <= upTo; asked++) {
      const p = pool.run({path, format, start: ranges[asked]![0], end: ranges[asked]![1]})
      // a range not consumed (an error stopped the read) must not become an unhandled rejection
      p.catch(() => {})
      results[asked] = p
    }
  }
  ask(ahead)
  const names = new Map<string, readonly string[]>()
  let base = 0
  // the first range, in this thread, through the same batches
  const counter = {bytes: 0}
  const first = Buffer.allocUnsafe(ranges[0]![1] - ranges[0]![0])
  for await (const b of splitLines(readRange(path, ranges[0]![0], ranges[0]![1], counter, first), counter, name)) {
    const f = b as FeedBatch
    f.count = b.lines.length
    base += f.count
    yield f
  }
  let again = Buffer.alloc(0)
  const fd = openSync(path, 'r')
  try {
    for (let c = 1; c < ranges.length; c++) {
      const r = await results[c]!
      results[c] = undefined
      counts.ranges++
      ask(c + ahead)
      // the range's bytes, read again here (page cache) into one reused buffer: cheaper than
      // receiving them (a new external buffer per range brings full collections sooner)
      const len = ranges[c]![1] - ranges[c]![0]
      if (again.length < len) again = Buffer.allocUnsafeSlow(len)
      const bytes = again.subarray(0, readAll(fd, again, len, ranges[c]![0]))
      const d: Decoded = {r, plans: r.plans.map(([kind, fn, probe, op, ni]) => ({kind, fn, probe, op, names: internNames(names, r.names[ni]!)}))}
      for (const w of r.batches) {
        const firstLine = base + w.firstLine
        const b: FeedBatch = {lines: w.lines, count: w.count, firstLine, bytesRead: w.bytesRead, text: w.lines === undefined ? decodeText(bytes.subarray(w.t0, w.t1)) : w.text}
        if (w.decodedRead !== undefined) b.decodedRead = w.decodedRead
        if (w.unterminated) b.unterminated = true
        if (w.overlong) b.overlong = w.overlong.map((o) => ({line: base + o.line, bytes: o.bytes}))
        if (w.lines === undefined) {
          b.ends = r.ends.subarray(w.ends0, w.ends0 + w.count)
          if (w.ev1 > w.ev0) b.hints = new RangeHints(d, w.ev0, w.ev1 - w.ev0, b.text!, normalizer, counts)
        }
        yield b
      }
      if (r.error) {
        const rel = r.error.line
        const line = rel === undefined ? undefined : base + rel
        const mark = rel === undefined ? `${NAME_MARK}:` : `${NAME_MARK}:${rel}`
        const msg = r.error.message.replace(mark, rel === undefined ? `${name}:` : `${name}:${line}`).replaceAll(NAME_MARK, name)
        throw new InputError(msg, name, line)
      }
      base += r.lines
    }
  } finally {
    closeSync(fd)
  }
}

/** Read `len` bytes at `pos` (fewer at the end of the file). */
function readAll(fd: number, buf: Buffer, len: number, pos: number): number {
  let got = 0
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got)
    if (n === 0) break
    got += n
  }
  return got
}

/**
 * Reading traces: paths → normalized, time-ordered TraceEvents, with stats and diagnostics.
 *
 *   openSource (gzip/…)  →  detect format  →  reader.tokenize per line  →  RecordAssembler
 *   (stacks, continuations, loss, duplicates)  →  Normalizer (kind, args)  →  WindowSorter per
 *   file (file-events.ts; large files optionally with worker threads: parallel.ts)  →
 *   mergeSorted across files
 *
 * Bad input never throws a stack trace: a malformed line is skipped, counted and reported as
 * `file:line: expected …, got …`; `strict` turns the first one into an InputError. A source that
 * fails mid-way (truncated gzip) ends with its InputError after every event read so far.
 */
import {expectedSize} from '../expected-size.js'

import type {Diagnostic, RawRecord, TraceEvent} from '../events.js'
import {Normalizer} from '../normalize.js'
import {mergeSorted} from '../sorter.js'
import {resolveTracePath} from '../input.js'
import {InputError} from '../source.js'
import {RecordAssembler} from './assemble.js'
import {fileEvents} from './file-events.js'
import {ParallelReads} from './parallel.js'
import {perfReader} from './perf.js'
import type {TraceReadOptions} from './read-options.js'
import {READERS, readerNames, registerReader} from './registry.js'
import {DiagnosticSink, newStats, type TraceStats} from './stats.js'
import {traceCmdReader} from './tracecmd.js'
import {tracefsReader} from './tracefs.js'
// Side effects: the bpftrace/CSV readers register themselves, so every readTrace() user gets them.
import './bpftrace.js'
import './csv.js'

export {READERS, readerNames, registerReader} from './registry.js'
export {detectFormat} from './detect.js'
export type {TraceStats, TraceFileStats} from './stats.js'
export type {LineReader, StreamReader, TraceReader, ReaderOptions} from './types.js'
export type {Token} from './tokens.js'
export type {TraceReadOptions} from './read-options.js'

registerReader(tracefsReader)
registerReader(traceCmdReader)
registerReader(perfReader)

export interface TraceRead {
  /** Events in time order. Iterate once (this or `batches`). */
  events: AsyncIterable<TraceEvent>
  /** The same events in arrays (cheaper per event). */
  batches: AsyncIterable<TraceEvent[]>
  /** Complete once the events have been drained. */
  stats: TraceStats
  /** Kept diagnostics (the first MAX_DIAGNOSTICS_PER_CODE per code; stats.diagnosticsByCode counts all). */
  diagnostics: Diagnostic[]
  /** Bundle arguments and the trace file taken from each (filled as the files are opened). */
  taken: {bundle: string; path: string}[]
}

export function readTrace(paths: string[], opts: TraceReadOptions = {}): TraceRead {
  const stats = newStats()
  const sink = new DiagnosticSink(stats, opts.strict ?? false)
  const taken: TraceRead['taken'] = []
  let started = false
  const start = (): AsyncIterable<TraceEvent[]> => {
    if (started) throw new InputError('readTrace: events can be iterated only once')
    started = true
    return run(paths, opts, stats, sink, taken)
  }
  const batches: AsyncIterable<TraceEvent[]> = {[Symbol.asyncIterator]: () => start()[Symbol.asyncIterator]()}
  const events: AsyncIterable<TraceEvent> = {
    [Symbol.asyncIterator]: () => perEvent(start())[Symbol.asyncIterator](),
  }
  return {events, batches, stats, diagnostics: sink.list, taken}
}

async function* perEvent(b: AsyncIterable<TraceEvent[]>): AsyncGenerator<TraceEvent> {
  for await (const batch of b) for (let i = 0; i < batch.length; i++) yield batch[i]!
}

async function* run(paths: string[], opts: TraceReadOptions, stats: TraceStats, sink: DiagnosticSink, taken: TraceRead['taken']): AsyncGenerator<TraceEvent[]> {
  if (paths.length === 0) throw new InputError('no trace file given')
  if (paths.filter((p) => p === '-').length > 1) throw new InputError('- (stdin) given twice: standard input can be read only once')
  // Bundle directories and tarballs stand for their trace (input.ts).
  const cleanups: (() => void)[] = []
  try {
    const resolved: string[] = []
    for (const p of paths) {
      const r = await resolveTracePath(p)
      if (r.cleanup) cleanups.push(r.cleanup)
      if (r.bundle !== undefined) taken.push({bundle: r.bundle, path: r.path})
      resolved.push(r.path)
    }
    const twice = resolved.find((p, i) => p !== '-' && resolved.indexOf(p) !== i)
    if (twice !== undefined) throw new InputError(`${twice}: given twice: every event would be counted twice`, twice)
    yield* runResolved(resolved, opts, stats, sink)
  } finally {
    for (const c of cleanups) c()
  }
}

async function* runResolved(paths: string[], opts: TraceReadOptions, stats: TraceStats, sink: DiagnosticSink): AsyncGenerator<TraceEvent[]> {
  if (opts.format !== undefined && opts.format !== 'trace.dat' && !READERS[opts.format]) {
    throw new InputError(`--format ${opts.format}: unknown trace format; expected one of ${readerNames().join(', ')}, trace.dat`)
  }
  const normalizer = new Normalizer(opts)
  normalizer.onDiagnostic = (d) => sink.add(d)
  let total: number | undefined = 0
  let expected: number | undefined = 0
  for (const p of paths) {
    if (p === '-') total = expected = undefined
    else if (total !== undefined && expected !== undefined) {
      // openSource reports a file that cannot be read.
      const size = expectedSize(p)
      total += size?.bytes ?? 0
      expected += size?.expected ?? 0
    }
  }
  const progress = {done: 0, expected, decoded: 0}
  // worker threads for large uncompressed files (parallel.ts), shared by the files
  const parallel = ParallelReads.create(paths, opts)
  const sources = paths.map((p) => fileEvents(p, opts, stats, sink, normalizer, progress, total, parallel))
  const counts = new Counts()
  const dups = paths.length > 1 ? new CrossInputDuplicates(sink) : undefined
  try {
    for await (const merged of mergeSorted(sources)) {
      const batch = dups ? dups.filter(merged) : merged
      for (let i = 0; i < batch.length; i++) counts.count(stats, batch[i]!)
      counts.flush(stats)
      yield batch
    }
    sink.throwPending()
  } catch (e) {
    // Say how far the read got (a truncated or corrupt compressed file fails mid-way).
    if (e instanceof InputError && !/events read before/.test(e.message)) {
      counts.flush(stats)
      throw new InputError(`${e.message} (${stats.events.toLocaleString('en-US')} events read before the error)`, e.file, e.line)
    }
    throw e
  } finally {
    await parallel?.close()
    counts.flush(stats)
    stats.directMapPagesWithoutVmemmap = normalizer.stats.directMapPagesWithoutVmemmap
    stats.badArgs = normalizer.stats.badArgs
    const formats = new Set(stats.files.map((f) => f.format))
    stats.format = formats.size === 1 ? [...formats][0]! : formats.size === 0 ? 'unknown' : 'mixed'
  }
}

/**
 * The same event in two inputs (`replay S trace.txt trace_stacktrace.txt`: two buffers of the same
 * calls; a file given twice): same CPU, pid, probe and arguments, from a different file, within
 * DUP_WINDOW_NS (each buffer stamps the call itself: the stack-trace buffer of the 6.1 capture
 * lags the top-level one by 45-700 us). Inputs are merged in time order, so the pair meets within
 * the window: the later copy is dropped and a `duplicate-input` diagnostic names each file pair once.
 */
const DUP_WINDOW_NS = 10_000_000n

class CrossInputDuplicates {
  private readonly seen = new Map<string, {ts: bigint; file: string}>()
  private readonly order: {ts: bigint; key: string}[] = []
  private head = 0
  private readonly reported = new Set<string>()
  dropped = 0
  constructor(private readonly sink: DiagnosticSink) {}

  filter(batch: TraceEvent[]): TraceEvent[] {
    let out: TraceEvent[] | undefined
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i]!
      // forget what is older than the window
      while (this.head < this.order.length && ev.tsNs - this.order[this.head]!.ts > DUP_WINDOW_NS) {
        const o = this.order[this.head++]!
        if (this.seen.get(o.key)?.ts === o.ts) this.seen.delete(o.key)
      }
      if (this.head > 4096 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head)
        this.head = 0
      }
      const key = `${ev.cpu}|${ev.pid}|${ev.probe}|${ev.addrText ?? ''}|${ev.text ?? ''}|${ev.args ? JSON.stringify(ev.args) : ''}`
      const prev = this.seen.get(key)
      if (prev !== undefined && prev.file !== ev.src.file) {
        this.seen.delete(key)
        this.dropped++
        out ??= batch.slice(0, i)
        const pair = `${prev.file}\n${ev.src.file}`
        if (!this.reported.has(pair)) {
          this.reported.add(pair)
          this.sink.add({
            src: ev.src,
            code: 'duplicate-input',
            message: `${ev.src.file}:${ev.src.line}: the same event (CPU ${ev.cpu}, pid ${ev.pid}, ${ev.probe}, same arguments) is in ${prev.file}: two buffers of the same calls, or a file given twice? Later copies are dropped and counted`,
          })
        } else this.sink.stats.diagnosticsByCode['duplicate-input'] = (this.sink.stats.diagnosticsByCode['duplicate-input'] ?? 0) + 1
        continue
      }
      this.seen.set(key, {ts: ev.tsNs, file: ev.src.file})
      this.order.push({ts: ev.tsNs, key})
      out?.push(ev)
    }
    return out ?? batch
  }
}

/**
 * stats.events/byKind/byProbe/byComm/byCpu/firstTsNs/lastTsNs, counted per event in Maps of
 * counter cells (one hash lookup and a field increment, where `o[k] = (o[k] ?? 0) + 1` on the
 * stats records costs two) and written into the records after each batch, before it is handed on:
 * keys are added in the order first seen, as before.
 */
class Counts {
  private readonly kind = new Map<string, {n: number}>()
  private readonly probe = new Map<string, {n: number}>()
  private readonly comm = new Map<string, {n: number}>()
  private readonly cpu = new Map<number, {n: number}>()

  count(stats: TraceStats, ev: TraceEvent): void {
    stats.events++
    bump(this.kind, ev.kind)
    bump(this.probe, ev.probe)
    bump(this.comm, ev.comm)
    bump(this.cpu, ev.cpu)
    if (stats.firstTsNs === undefined || ev.tsNs < stats.firstTsNs) stats.firstTsNs = ev.tsNs
    if (stats.lastTsNs === undefined || ev.tsNs > stats.lastTsNs) stats.lastTsNs = ev.tsNs
  }

  flush(stats: TraceStats): void {
    for (const [k, c] of this.kind) stats.byKind[k] = c.n
    for (const [k, c] of this.probe) stats.byProbe[k] = c.n
    for (const [k, c] of this.comm) stats.byComm[k] = c.n
    for (const [k, c] of this.cpu) stats.byCpu[k] = c.n
  }
}

function bump<K>(m: Map<K, {n: number}>, k: K): void {
  const c = m.get(k)
  if (c !== undefined) c.n++
  else m.set(k, {n: 1})
}

/** For tests and tools: tokenize + assemble one in-memory text with a given reader (no sorting). */
export function tokenizeText(readerName: string, text: string, file = '<text>'): {records: RawRecord[]; diagnostics: Diagnostic[]; stats: TraceStats} {
  const reader = READERS[readerName]
  if (!reader || reader.type !== 'line') throw new InputError(`${readerName}: not a line reader`)
  const stats = newStats()
  const sink = new DiagnosticSink(stats)
  const asm = new RecordAssembler(stats, sink)
  const state = reader.newState({file})
  const lines = text.split('\n')
  const unterminated = lines[lines.length - 1] !== ''
  if (!unterminated) lines.pop()
  const records: RawRecord[] = []
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const tok = reader.tokenize(line, {file, line: i + 1}, state)
    if (tok === null) return
    const cut = unterminated && i === lines.length - 1
    if (Array.isArray(tok)) for (const t of tok) asm.push(t, cut)
    else asm.push(tok, cut)
    records.push(...(asm.out as RawRecord[]))
    asm.out = []
  })
  asm.end()
  records.push(...(asm.out as RawRecord[]))
  return {records, diagnostics: sink.list, stats}
}

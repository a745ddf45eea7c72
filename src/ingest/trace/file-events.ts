/**
 * One trace file → its normalized events in time order (readTrace() in index.ts merges the files):
 *
 *   openByteSource  →  detect format  →  line-aligned byte ranges  →  reader per line (chunk.ts:
 *   the reader's byte fast paths, else tokenize())  →  RecordAssembler  →  Normalizer  →  WindowSorter
 *
 * The byte ranges come from source.ts in this thread (read by chunk.ts TextChunkParser), or — for
 * a large uncompressed file of a reader with a fused fast path — batches of lines from
 * parallel.ts, whose worker threads have already turned most event lines of each batch into
 * events (`hints`), read by consumeBatch() here. Either way every line is read in file order, with the same reader state, assembler, normalizer, sorter and diagnostic
 * sink: the parallel read gives the same events and the same diagnostics in the same order.
 */
import type {TraceEvent} from '../events.js'
import type {Normalizer} from '../normalize.js'
import {DEFAULT_WINDOW, WindowSorter} from '../sorter.js'
import {type ByteBatch, InputError, type LineBatch, lineBatchOf, MAX_LINE_BYTES, openByteSource} from '../source.js'
import {clipText} from '../text.js'
import {RecordAssembler} from './assemble.js'
import {TextChunkParser} from './chunk.js'
import {detectFormat, SNIFF_LINES} from './detect.js'
import type {FeedBatch} from './feed-batch.js'
import type {ParallelReads} from './parallel.js'
import {ProbeEvent} from './probe-event.js'
import type {TraceReadOptions} from './read-options.js'
import {READERS, readerNames} from './registry.js'
import type {DiagnosticSink, TraceStats} from './stats.js'
import {isTraceDatFile, traceDatEvents} from './tracedat/reader.js'
import type {LineReader, TraceReader} from './types.js'
import type {Token} from './tokens.js'

/** Lines tokenized between two hand-offs to the consumer. */
const SLICE_LINES = 512

export interface ProgressState {
  done: number
  expected?: number
  decoded: number
}

/**
 * A reader state the worker threads cannot stand in for: they read each range with a fresh state,
 * and a tracefs file in the latency-format layout reads the same line differently.
 */
function hintsTrusted(state: unknown): boolean {
  return (state as {latency?: unknown}).latency !== true
}

export async function* fileEvents(
  path: string,
  opts: TraceReadOptions,
  stats: TraceStats,
  sink: DiagnosticSink,
  normalizer: Normalizer,
  progress: ProgressState,
  total: number | undefined,
  parallel?: ParallelReads,
): AsyncGenerator<TraceEvent[]> {
  // a trace.dat (trace-cmd record) is binary: detected by its magic, read by offset
  if (isTraceDatFile(path)) {
    if (opts.format !== undefined && opts.format !== 'trace.dat') {
      throw new InputError(`${path}: --format ${opts.format}: the file is a trace.dat (trace-cmd binary); drop --format or use --format trace.dat`, path)
    }
    yield* traceDatEvents(path, stats, sink, normalizer, {
      onBytes: (n) => {
        progress.done += n
        progress.decoded += n
        opts.onProgress?.(progress.done, total, progress.expected, progress.decoded)
      },
    })
    return
  }
  if (opts.format === 'trace.dat') throw new InputError(`${path}: --format trace.dat: expected a trace.dat (magic 17 08 44 "tracing"), got another file`, path)
  const src = await openByteSource(path)
  const file = {name: src.name, format: 'unknown', lines: 0, bytes: 0}
  stats.files.push(file)
  // the number of the next line, for the source's own messages (a truncated gzip)
  let nextLine = 1
  const it = src.ranges(() => nextLine)[Symbol.asyncIterator]()
  const first: IteratorResult<ByteBatch> = await it.next()
  if (first.done) return
  // the first lines as text, for the checks and the format detection
  const head = lineBatchOf(first.value, 1).lines
  if (head[0]?.startsWith('\x17\x08Dtracing')) {
    throw new InputError(`${src.name}:0: expected a trace.dat as it is, got a compressed one (or stdin): trace.dat is read by offset; decompress it to a file first`, src.name, 0)
  }
  let reader: TraceReader | undefined = opts.format ? READERS[opts.format] : undefined
  if (!reader) {
    const d = detectFormat(head.slice(0, SNIFF_LINES))
    reader = d.reader
    if (!reader) {
      const sample = head.find((l) => l.trim() !== '') ?? ''
      throw new InputError(
        `${src.name}:1: cannot tell the trace format from the first lines (got '${clipText(sample, 80)}'); pass --format (${readerNames().join(', ')})`,
        src.name,
        1,
      )
    }
  }
  file.format = reader.name
  const assembler = new RecordAssembler(stats, sink)
  const sorter = new WindowSorter<TraceEvent>(stats, (d) => sink.add(d), opts.window ?? reader.sortWindow ?? DEFAULT_WINDOW)
  let lastBytes = 0
  let lastDecoded = 0
  const countLines = (n: number): void => {
    file.lines += n
    stats.lines += n
  }
  const account = (b: {bytesRead: number; decodedRead?: number}): void => {
    const delta = b.bytesRead - lastBytes
    lastBytes = b.bytesRead
    file.bytes += delta
    stats.bytes += delta
    progress.done += delta
    if (b.decodedRead !== undefined) {
      progress.decoded += b.decodedRead - lastDecoded
      lastDecoded = b.decodedRead
    }
    opts.onProgress?.(progress.done, total, progress.expected, progress.decoded)
  }
  const drain = (): TraceEvent[] => {
    const out: TraceEvent[] = []
    const recs = assembler.out
    if (recs.length) {
      assembler.out = []
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!
        sorter.push(r instanceof ProbeEvent ? r : normalizer.normalize(r), out)
      }
    }
    return out
  }
  // The parallel reader reads the file again from its first byte, in worker threads.
  const par = reader.type === 'line' && parallel !== undefined ? parallel.plan(path, src.name, reader, normalizer) : undefined
  if (par !== undefined) await it.return?.()
  // Byte ranges of the rest of the source, first one included.
  async function* rest(): AsyncGenerator<ByteBatch> {
    yield first.value as ByteBatch
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  let failure: unknown
  try {
    if (reader.type === 'line') {
      const lr = reader as LineReader<unknown>
      const state = lr.newState({file: src.name})
      if (par !== undefined) {
        for await (const b of par) {
          account(b)
          countLines(b.count)
          for (const out of consumeBatch(b, src.name, lr, state, assembler, normalizer, sink, drain)) yield out
        }
      } else {
        // one thread: the lines of each byte range (chunk.ts)
        const parser = new TextChunkParser(src.name, lr, state, normalizer, assembler, sink)
        for await (const b of rest()) {
          account(b)
          if (b.overlong !== undefined) {
            // a line too long (source.ts dropped its bytes): reported and skipped
            parser.overlong({file: src.name, line: parser.line++}, b.overlong)
            countLines(1)
          }
          if (!b.noLines) {
            parser.begin(b.buf, b.start, b.end, b.unterminated)
            for (let s = b.start; s <= b.end; ) {
              const l0 = parser.line
              s = parser.parse(s, SLICE_LINES)
              countLines(parser.line - l0)
              // hand events on in small slices so they die young
              const out = drain()
              sink.throwPending(assembler.firstHeldLine())
              if (out.length) yield out
            }
          }
          nextLine = parser.line
        }
      }
    } else {
      const counted = (async function* () {
        for await (const b of rest()) {
          account(b)
          const lb: LineBatch = lineBatchOf(b, nextLine)
          countLines(lb.lines.length)
          nextLine += lb.lines.length
          yield lb
        }
      })()
      for await (const toks of reader.parse(counted, {file: src.name})) {
        for (const t of toks as Token[]) assembler.push(t)
        const out = drain()
        sink.throwPending(assembler.firstHeldLine())
        if (out.length) yield out
      }
    }
  } catch (e) {
    if (!(e instanceof InputError) || opts.strict) throw e
    failure = e
  }
  assembler.end()
  const out = drain()
  sorter.flush(out)
  sink.throwPending()
  if (out.length) yield out
  if (failure !== undefined) throw failure
}

/**
 * Tokenize one batch, SLICE_LINES lines at a time, into the assembler; after each slice the
 * events released so far (drain(): normalized and sorted), when there are any.
 */
function* consumeBatch(
  b: FeedBatch,
  name: string,
  lr: LineReader<unknown>,
  state: unknown,
  assembler: RecordAssembler,
  normalizer: Normalizer,
  sink: DiagnosticSink,
  drain: () => TraceEvent[],
): Generator<TraceEvent[]> {
  const lines = b.lines
  const n = b.count
  const lastOpen = b.unterminated === true
  // Lines too long (blanked by source.ts) or holding NUL bytes are reported and skipped; such a
  // batch takes the per-line path (the parallel reader sends such a batch with its lines).
  const over = b.overlong
  const nul = lines === undefined ? false : b.text !== undefined ? b.text.indexOf('\0') >= 0 : lines.some((l) => l.indexOf('\0') >= 0)
  const checked = over !== undefined || nul
  let o = 0
  // the fast path reads the line inside the batch's flat text (see LineBatch.text)
  const text = !checked && lr.tokenizeRange && b.text !== undefined ? b.text : undefined
  const fused = text !== undefined ? lr.eventRange : undefined
  const ends = b.ends
  const hints = text !== undefined ? b.hints : undefined
  let hk = 0
  let hLine = hints !== undefined && hints.count > 0 ? hints.lineOf(0) : -1
  let off = 0
  for (let i0 = 0; i0 < n; i0 += SLICE_LINES) {
    const i1 = Math.min(n, i0 + SLICE_LINES)
    for (let i = i0; i < i1; i++) {
      const pos = {file: name, line: b.firstLine + i}
      let line: string
      if (checked) {
        line = lines![i]!
        if (over && o < over.length && over[o]!.line === pos.line) {
          sink.add({src: pos, code: 'line-too-long', message: `${pos.file}:${pos.line}: a line of ${over[o]!.bytes.toLocaleString('en-US')} bytes (over ${MAX_LINE_BYTES.toLocaleString('en-US')}); skipped`})
          o++
          continue
        }
        if (line.indexOf('\0') >= 0) {
          sink.add({src: pos, code: 'nul-bytes', message: `${pos.file}:${pos.line}: a line holding NUL bytes (binary data?), got '${clipText(line)}'; skipped`})
          continue
        }
      }
      if (text !== undefined) {
        const start = off
        const end = ends !== undefined ? ends[i]! : off + lines![i]!.length
        if (i === hLine) {
          // a worker made this line's event (with a fresh reader state: trusted unless ours differs)
          const ev = hintsTrusted(state) ? hints!.take(hk, pos) : undefined
          hLine = ++hk < hints!.count ? hints!.lineOf(hk) : -1
          if (ev !== undefined) {
            off = end + 1
            assembler.pushEvent(ev)
            continue
          }
        }
        if (fused !== undefined) {
          const ev = fused(text, off, end, pos, state, normalizer)
          if (ev !== undefined) {
            off = end + 1
            assembler.pushEvent(ev)
            continue
          }
        }
        const rec = lr.tokenizeRange!(text, off, end, pos, state)
        off = end + 1
        if (rec !== undefined) {
          assembler.pushRecord(rec)
          continue
        }
        line = lines !== undefined ? lines[i]! : text.slice(start, end)
      } else line = lines![i]!
      const tok = lr.tokenize(line, pos, state)
      if (tok === null) continue
      const cut = lastOpen && i === n - 1
      if (Array.isArray(tok)) for (const t of tok) assembler.push(t, cut)
      else assembler.push(tok, cut)
    }
    // hand events on in small slices so they die young (a 1 MB batch is ~6000 events)
    const out = drain()
    sink.throwPending(assembler.firstHeldLine())
    if (out.length) yield out
  }
}

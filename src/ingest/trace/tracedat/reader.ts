/**
 * A trace.dat file → normalized TraceEvents in time order, for readTrace().
 *
 *   readTraceDatMeta (header, options, sections)  →  per buffer instance and CPU: cpuRecords
 *   (pages → RawRecords)  →  Normalizer (the same as every text reader)  →  WindowSorter per CPU
 *   (clock checks)  →  mergeSorted across CPUs and instances (ties: buffer order, then CPU order,
 *   as trace-cmd report)
 *
 * Instance buffers (`trace-cmd record -B name`) are read as their own streams; their events'
 * positions name the file as `trace.dat[name]`. Bad input: a TraceDatError (`file:offset: expected
 * …, got …`) ends the stream it occurs in after every event read so far.
 */
import type {Diagnostic, TraceEvent} from '../../events.js'
import type {Normalizer} from '../../normalize.js'
import {mergeSorted, WindowSorter} from '../../sorter.js'
import type {DiagnosticSink, TraceFileStats, TraceStats} from '../stats.js'
import {EventDecoder} from './decode.js'
import {readTraceDatMeta, type TraceDatMeta} from './header.js'
import {cpuRecords, type LostInfo} from './stream.js'

export {isTraceDatFile, hasTraceDatMagic, TraceDatError} from './file.js'
export {readTraceDatMeta, type TraceDatMeta} from './header.js'

export interface TraceDatReadOptions {
  onBytes?: (n: number) => void
}

/** ns from a raw timestamp: TSC2NSEC then OFFSET (trace-cmd trace-input.c timestamp_calc()). */
export function timestampToNs(meta: TraceDatMeta): (ts: bigint) => bigint {
  const o = meta.options
  const t = o.tsc2nsec
  const off = o.tsOffset
  if (t) return (ts) => ((ts * t.mult) >> t.shift) + off
  if (off !== 0n) return (ts) => ts + off
  return (ts) => ts
}

export async function* traceDatEvents(
  path: string,
  stats: TraceStats,
  sink: DiagnosticSink,
  normalizer: Normalizer,
  opts: TraceDatReadOptions = {},
): AsyncGenerator<TraceEvent[]> {
  const meta = await readTraceDatMeta(path)
  const file: TraceFileStats = {name: path, format: `trace.dat v${meta.version}${meta.codec === 'none' ? '' : ` ${meta.codec}`}`, lines: 0, bytes: 0}
  stats.files.push(file)
  try {
    for (const w of meta.warnings) sink.add({src: {file: path, line: w.offset}, code: w.code, message: w.message})
    const dec = new EventDecoder(meta)
    const toNs = timestampToNs(meta)
    const onDiagnostic = (d: Diagnostic) => sink.add(d)
    const onBytes = (n: number) => {
      file.bytes += n
      stats.bytes += n
      opts.onBytes?.(n)
    }
    const sources: AsyncIterable<TraceEvent[]>[] = []
    for (const b of meta.buffers) {
      const name = b.name === '' ? path : `${path}[${b.name}]`
      for (const cpu of b.cpus) {
        sources.push(
          (async function* () {
            const lost: LostInfo[] = []
            const sorter = new WindowSorter<TraceEvent>(stats, onDiagnostic, 1)
            for await (const recs of cpuRecords(meta, dec, b, cpu, name, {onDiagnostic, onBytes, toNs}, lost)) {
              for (const l of lost) countLost(stats, sink, name, recs[0]?.src.line ?? cpu.offset, l)
              lost.length = 0
              const out: TraceEvent[] = []
              for (let i = 0; i < recs.length; i++) sorter.push(normalizer.normalize(recs[i]!), out)
              if (out.length) yield out
            }
            for (const l of lost) countLost(stats, sink, name, cpu.offset, l)
            const out: TraceEvent[] = []
            sorter.flush(out)
            if (out.length) yield out
          })(),
        )
      }
    }
    yield* mergeSorted(sources)
  } finally {
    meta.file.close()
  }
}

function countLost(stats: TraceStats, sink: DiagnosticSink, file: string, at: number, l: LostInfo): void {
  stats.lostMarkers++
  if (l.count !== undefined) stats.lostEvents += l.count
  const key = String(l.cpu)
  stats.lostByCpu[key] = (stats.lostByCpu[key] ?? 0) + (l.count ?? 0)
  sink.add({
    src: {file, line: at},
    code: 'lost-events',
    message: `${file}:${at}: CPU ${l.cpu} lost ${l.count ?? 'an unknown number of'} events here (ring buffer MISSING_EVENTS): state built from that CPU before this point is incomplete`,
  })
}

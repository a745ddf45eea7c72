/**
 * Time order, in one place (docs/trace-text-quirks.md#per-cpu-order).
 *
 * - Within one source: tracefs `trace` is already merged by smallest timestamp
 *   (kernel/trace/trace.c __find_next_entry()), but trace_pipe emits what is readable at each
 *   read() and per-CPU dumps / bpftrace are not sorted at all. `WindowSorter` keeps the last
 *   `window` events in a buffer sorted by (key, arrival) — insertion from the tail, so sorted
 *   input costs O(1) — and releases the oldest when the buffer is full.
 * - Never reorder events of the same CPU: an event's sort key is
 *   max(ts, previous key on that CPU). A timestamp that goes backwards on a CPU is a clock problem:
 *   it is reported (`clock` diagnostic) and the event keeps its file position.
 * - An event that arrives after a later-stamped event was already released (the disorder exceeds
 *   the window) is released at once and reported (`late`), never silently moved.
 * - Several sources: `mergeSorted` is a stable k-way merge of the per-source sorted streams;
 *   equal keys keep source order (the order of the paths) and, within a source, arrival order.
 */
import type {Diagnostic, SourcePos} from './events.js'

export interface Sortable {
  tsNs: bigint
  cpu: number
  src: SourcePos
}

export interface SorterStats {
  clockBackwards: number
  lateEvents: number
}

export const DEFAULT_WINDOW = 8192

/**
 * A Map keyed by CPU number, for per-event lookups: an array for 0 ≤ cpu < 4096 (every real CPU
 * number), a Map for anything else (-1 = unknown CPU). Iterates small CPUs in ascending order,
 * then the others in insertion order.
 */
export class CpuMap<V> {
  private small: (V | undefined)[] = []
  private readonly other = new Map<number, V>()

  get(cpu: number): V | undefined {
    return cpu >>> 0 === cpu && cpu < 4096 ? this.small[cpu] : this.other.get(cpu)
  }

  set(cpu: number, v: V): void {
    if (cpu >>> 0 === cpu && cpu < 4096) {
      const small = this.small
      while (small.length < cpu) small.push(undefined)
      small[cpu] = v
    } else this.other.set(cpu, v)
  }

  clear(): void {
    this.small = []
    this.other.clear()
  }

  *[Symbol.iterator](): Generator<[number, V]> {
    for (let c = 0; c < this.small.length; c++) {
      const v = this.small[c]
      if (v !== undefined) yield [c, v]
    }
    yield* this.other
  }
}

export class WindowSorter<T extends Sortable> {
  // parallel arrays (no per-event slot object): events and their sort keys
  private evs: T[] = []
  private keys: bigint[] = []
  private head = 0
  private readonly lastKeyByCpu = new CpuMap<bigint>()
  private released: bigint | undefined
  private readonly window: number

  constructor(
    readonly stats: SorterStats,
    private readonly onDiagnostic: (d: Diagnostic) => void,
    window = DEFAULT_WINDOW,
  ) {
    this.window = Math.max(1, window)
  }

  /** Add one event; released events are appended to `out`. */
  push(ev: T, out: T[]): void {
    let key = ev.tsNs
    const last = this.lastKeyByCpu.get(ev.cpu)
    if (last !== undefined && key < last) {
      this.stats.clockBackwards++
      this.onDiagnostic({
        src: ev.src,
        code: 'clock',
        message: `${ev.src.file}:${ev.src.line}: timestamp ${fmtNs(ev.tsNs)} on CPU ${ev.cpu} is earlier than the previous event of that CPU (${fmtNs(last)}): non-monotonic clock; kept in file order`,
      })
      key = last
    }
    this.lastKeyByCpu.set(ev.cpu, key)
    if (this.released !== undefined && key < this.released) {
      this.stats.lateEvents++
      this.onDiagnostic({
        src: ev.src,
        code: 'late',
        message: `${ev.src.file}:${ev.src.line}: event at ${fmtNs(ev.tsNs)} arrived after events up to ${fmtNs(this.released)} were already ordered (more than ${this.window} events out of place): emitted out of order`,
      })
      out.push(ev)
      return
    }
    const keys = this.keys
    // insertion from the tail; `>` keeps equal keys in arrival order (stable)
    let i = keys.length
    if (i === this.head || keys[i - 1]! <= key) {
      keys.push(key)
      this.evs.push(ev)
    } else {
      while (i > this.head && keys[i - 1]! > key) i--
      keys.splice(i, 0, key)
      this.evs.splice(i, 0, ev)
    }
    if (keys.length - this.head > this.window) this.releaseOne(out)
  }

  private releaseOne(out: T[]): void {
    const h = this.head++
    this.released = this.keys[h]
    out.push(this.evs[h]!)
    this.evs[h] = undefined as unknown as T
    if (this.head > 4096 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head)
      this.evs = this.evs.slice(this.head)
      this.head = 0
    }
  }

  /** Release everything (end of input). */
  flush(out: T[]): void {
    while (this.head < this.keys.length) this.releaseOne(out)
    this.keys = []
    this.evs = []
    this.head = 0
  }
}

/**
 * Stable k-way merge of sources that are each in time order (e.g. the output of one
 * WindowSorter per file). Ties go to the earlier source. A source that throws ends; the
 * error is re-thrown after every other source has been merged to its end, so the events read so
 * far are all delivered first.
 */
export async function* mergeSorted<T extends Sortable>(sources: AsyncIterable<T[]>[]): AsyncGenerator<T[]> {
  if (sources.length === 1) {
    yield* sources[0]!
    return
  }
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  const bufs: (T[] | null)[] = sources.map(() => [])
  const pos = sources.map(() => 0)
  let error: unknown
  async function fill(k: number): Promise<void> {
    while (bufs[k] && pos[k]! >= bufs[k]!.length) {
      try {
        const r = await its[k]!.next()
        if (r.done) bufs[k] = null
        else {
          bufs[k] = r.value
          pos[k] = 0
        }
      } catch (e) {
        error ??= e
        bufs[k] = null
      }
    }
  }
  for (let k = 0; k < its.length; k++) await fill(k)
  let out: T[] = []
  for (;;) {
    let best = -1
    let bestKey = 0n
    for (let k = 0; k < its.length; k++) {
      const b = bufs[k]
      if (!b) continue
      const key = b[pos[k]!]!.tsNs
      if (best < 0 || key < bestKey) {
        best = k
        bestKey = key
      }
    }
    if (best < 0) break
    out.push(bufs[best]![pos[best]!++]!)
    if (pos[best]! >= bufs[best]!.length) {
      if (out.length) {
        yield out
        out = []
      }
      await fill(best)
    } else if (out.length >= 1024) {
      yield out
      out = []
    }
  }
  if (out.length) yield out
  if (error !== undefined) throw error
}

function fmtNs(ns: bigint): string {
  const s = ns / 1_000_000_000n
  const f = (ns % 1_000_000_000n).toString().padStart(9, '0')
  return `${s}.${f}`
}

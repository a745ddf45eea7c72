/**
 * Turns a file's token stream into complete RawRecords, in file order:
 *
 * - `<stack trace>` records attach to the immediately preceding record **on the same CPU and
 *   PID** (its timestamp can be later, so timestamps are not matched: docs/trace-text-quirks.md#multi-line-records), and the
 *   ` => frame` lines that follow go into that record's `stack`. perf `-g` frames follow their
 *   event directly.
 * - A line that matches no record start is appended to the previous record when that record is
 *   free text (multi-line trace_marker/trace_printk, docs/trace-text-quirks.md#multi-line-records), and reported otherwise.
 * - Loss markers and `# entries-in-buffer` headers are counted, never hidden.
 * - Concatenated `cat trace` snapshots (a second `# tracer:` header) repeat events: records of
 *   a later segment not newer than what an earlier segment showed on that CPU are dropped as
 *   duplicates and counted (docs/trace-text-quirks.md#repeated-snapshots).
 *
 * Records are held back only while a stack can still arrive for them: until the next record on
 * the same CPU, or at most MAX_OPEN records (bounded memory).
 */
import {clipText} from '../text.js'
import type {Diagnostic, RawRecord, SourcePos} from '../events.js'
import {CpuMap} from '../sorter.js'
import type {ProbeEvent} from './probe-event.js'
import type {DiagnosticSink, TraceStats} from './stats.js'
import {isControl, type Token} from './tokens.js'

/**
 * A record, or an event a fused fast path already normalized (ProbeEvent: it has the fields the
 * assembler reads — cpu, pid, tsNs, stack, userStack, text — and never free text or a cut line).
 */
export type AsmRecord = RawRecord | ProbeEvent

interface Entry {
  rec: AsmRecord
  open: boolean
}

export const MAX_OPEN = 4096

export class RecordAssembler {
  /** Completed records (and fused events), in file order; the caller drains it. */
  out: AsmRecord[] = []
  private q: Entry[] = []
  private head = 0
  private readonly lastByCpu = new CpuMap<Entry>()
  /** Frames go here while a stack is being read. */
  private frames: string[] | null = null
  /** The most recent record (perf frames, continuation lines). */
  private last: Entry | null = null
  /** The previous token was `last` or a continuation of it, and `last` is free text. */
  private contOk = false
  /** The previous token was `last` itself (perf -g frames follow their event directly). */
  private afterRecord = false
  // duplicate detection across `# tracer:` segments
  private segments = 0
  private recordsInSegment = 0
  private readonly prevMax = new CpuMap<bigint>()
  private readonly curMax = new CpuMap<bigint>()

  constructor(
    private readonly stats: TraceStats,
    private readonly diags: DiagnosticSink,
  ) {}

  push(tok: Token, lastUnterminated = false): void {
    const afterRecord = this.afterRecord
    this.afterRecord = false
    if (!isControl(tok)) {
      if ((tok as Diagnostic).message !== undefined) {
        this.frames = null
        this.contOk = false
        this.diags.add(tok as Diagnostic)
        return
      }
      this.pushRecord(tok as RawRecord, lastUnterminated)
      return
    }
    switch (tok.t) {
      case 'frame':
        if (this.frames) this.frames.push(tok.frame)
        else if (this.last && afterRecord && this.last.open) {
          // perf -g: frames follow their event line directly
          this.frames = this.last.rec.stack = [tok.frame]
          this.stats.stacks++
          this.contOk = false
        } else this.diag(tok.src, 'orphan-frame', `expected a stack frame after a record or '<stack trace>', got '${tok.frame}'`)
        return
      case 'stack': {
        this.contOk = false
        const target = this.lastByCpu.get(tok.cpu)
        if (target && target.open && target.rec.pid === tok.pid && !(tok.user ? target.rec.userStack : target.rec.stack)) {
          this.frames = []
          if (tok.user) target.rec.userStack = this.frames
          else target.rec.stack = this.frames
          this.stats.stacks++
        } else {
          this.frames = [] // collected and dropped: reported
          this.stats.orphanStacks++
          this.diag(tok.src, 'orphan-stack', `expected a record on CPU ${tok.cpu} pid ${tok.pid} before this stack trace, found ${target ? `pid ${target.rec.pid}` : 'none'}`)
        }
        return
      }
      case 'text':
        this.frames = null
        if (this.contOk && this.last && this.last.open && this.last.rec.text !== undefined && !lastUnterminated) {
          this.last.rec.text += '\n' + tok.text
          this.stats.continuationLines++
          this.diag(tok.src, 'marker-continuation', `not a record: taken as the next line of the marker at line ${this.last.rec.src.line} (a multi-line trace_marker write?), got '${clip(tok.text)}'`)
          return
        }
        this.contOk = false
        if (lastUnterminated) {
          this.stats.truncatedLines++
          this.diag(tok.src, 'truncated', `the last line has no newline and does not parse (capture cut short): '${clip(tok.text)}'`)
        } else this.diag(tok.src, 'unrecognized', `expected ${tok.hint ?? 'a trace record'}, got '${clip(tok.text)}'`)
        return
      case 'lost': {
        this.frames = null
        this.contOk = false
        this.stats.lostMarkers++
        if (tok.count !== undefined) this.stats.lostEvents += tok.count
        const key = String(tok.cpu)
        this.stats.lostByCpu[key] = (this.stats.lostByCpu[key] ?? 0) + (tok.count ?? 0)
        const prev = this.lastByCpu.get(tok.cpu)
        if (prev) prev.open = false
        this.diag(tok.src, 'lost-events', `${tok.cpu >= 0 ? `CPU ${tok.cpu}` : 'the tracer'} lost ${tok.count ?? 'an unknown number of'} events here: state built from ${tok.cpu >= 0 ? 'that CPU' : 'the trace'} before this point is incomplete`)
        this.release()
        return
      }
      case 'info':
        this.frames = null
        this.contOk = false
        if (tok.what === 'segment') this.newSegment()
        else if (tok.what === 'overwritten' && tok.value && tok.value > 0) {
          this.stats.overwritten += tok.value
          this.diag(tok.src, 'overwritten', `the ring buffer overwrote ${tok.value} events before this snapshot (entries-in-buffer < entries-written): the oldest events are missing`)
        } else if (tok.what === 'cpu-started') {
          this.diag(tok.src, 'cpu-started', `CPU ${tok.value} buffer starts here: its earlier events were overwritten`)
        }
        return
    }
  }

  /** push() for a token known to be a record (a reader's fast path): no token-type tests. */
  pushRecord(rec: RawRecord, lastUnterminated = false): void {
    this.afterRecord = false
    if (lastUnterminated) {
      rec.truncated = true
      this.diag(rec.src, 'truncated', 'the last line has no newline (capture cut short?); kept, its arguments may be incomplete')
    }
    this.record(rec)
  }

  /** pushRecord() for an event a reader's fused fast path made (never a cut line). */
  pushEvent(ev: ProbeEvent): void {
    this.afterRecord = false
    this.record(ev)
  }

  /**
   * The line of the earliest record still held back (a stack may yet come for it), if any: its
   * diagnostics (found when it is normalized) are still to come. --strict waits for it.
   */
  firstHeldLine(): number | undefined {
    return this.head < this.q.length ? this.q[this.head]!.rec.src.line : undefined
  }

  /** End of input: release everything. */
  end(): void {
    for (let i = this.head; i < this.q.length; i++) this.q[i]!.open = false
    this.release()
    this.frames = null
    this.last = null
    this.lastByCpu.clear()
  }

  private record(rec: AsmRecord): void {
    this.frames = null
    if (this.segments > 1 && this.isDuplicate(rec)) {
      this.stats.duplicates++
      this.contOk = false
      if (this.stats.duplicates === 1) this.diag(rec.src, 'duplicate', 'this snapshot repeats events of an earlier `cat trace` in the same file; repeated records are dropped and counted')
      return
    }
    if ((rec as RawRecord).truncated) this.stats.truncatedLines++
    const cpu = rec.cpu
    const cm = this.curMax.get(cpu)
    if (cm === undefined || rec.tsNs > cm) this.curMax.set(cpu, rec.tsNs)
    this.recordsInSegment++
    const prev = this.lastByCpu.get(cpu)
    if (prev) prev.open = false
    const e: Entry = {rec, open: true}
    this.lastByCpu.set(cpu, e)
    this.last = e
    this.contOk = rec.text !== undefined
    this.afterRecord = true
    this.q.push(e)
    if (this.q.length - this.head > MAX_OPEN) this.q[this.head]!.open = false
    this.release()
  }

  private release(): void {
    const q = this.q
    let h = this.head
    while (h < q.length && !q[h]!.open) this.out.push(q[h++]!.rec)
    if (h === q.length) {
      q.length = 0
      h = 0
    } else if (h > 1024) {
      q.splice(0, h)
      h = 0
    }
    this.head = h
  }

  private newSegment(): void {
    this.segments++
    if (this.recordsInSegment === 0) return
    for (const [cpu, ts] of this.curMax) {
      const p = this.prevMax.get(cpu)
      if (p === undefined || ts > p) this.prevMax.set(cpu, ts)
    }
    this.curMax.clear()
    this.recordsInSegment = 0
  }

  /** A record of a later snapshot that is not newer than what an earlier one showed on its CPU. */
  private isDuplicate(rec: AsmRecord): boolean {
    const p = this.prevMax.get(rec.cpu)
    return p !== undefined && rec.tsNs <= p
  }

  private diag(src: SourcePos, code: string, message: string): void {
    this.diags.add({src, code, message: `${src.file}:${src.line}: ${message}`})
  }
}

function clip(s: string): string {
  return clipText(s)
}

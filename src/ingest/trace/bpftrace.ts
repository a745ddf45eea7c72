/**
 * bpftrace output: text mode and `-f json`, tokenized into RawRecords.
 *
 * bpftrace prints only what its program's printf() says, so the format is a contract between
 * this reader and the program `ptreplay capture-script --tool bpftrace` generates
 * (src/capture/bpftrace.ts). Grammar of one record (README "bpftrace line format"):
 *
 *   PGP <nsecs> <cpu> <tid> <event> <provider>:<function> <comm> [<name>=<value>]... [text=<free text>]
 *
 * - `PGP ` is the fixed line prefix; lines without it are not records.
 * - nsecs: bpftrace `nsecs` (CLOCK_MONOTONIC, integer nanoseconds). cpu: `cpu`. tid: `tid`
 *   (the thread id, which is what tracefs prints as PID).
 * - event: the event name as the tracefs probe would be named (`set_memory_ro`,
 *   `__change_memory_common`, `split_kernel_leaf_mapping_ret`, `tracing_mark_write`).
 * - provider:function: bpftrace's `probe` builtin (`kprobe:set_memory_ro`,
 *   `kretprobe:split_kernel_leaf_mapping`, `tracepoint:module:module_load`); a kprobe gives the
 *   probed symbol, a kretprobe the function returned from.
 * - comm: `%16s` of `comm`, exactly 16 characters, right-justified like tracefs, so a comm with
 *   spaces (`Web Content`) stays one field.
 * - name=value: values are `0x…` hex or decimal (`-` allowed); no spaces. A `text=` argument,
 *   when present, is last and runs to the end of the line (markers, module names).
 * - A kernel stack follows as printf("%s", kstack) does it: an empty line, one frame per line
 *   indented (`        set_memory_ro+0`, decimal offset), an empty line. Frames belong to the
 *   record just before them (they are printed by the same printf, so never interleaved).
 *
 * Also accepted: a shorter layout, as hand-written bpftrace programs print it,
 *   `PGP <nsecs> <cpu> <tid> <comm> <probe> [<name>=<value>]...`
 * where comm has no spaces and probe is `provider:function` or a bare event name.
 * Other lines: `Attaching N probes...` and `ptreplay: attached` (ignored), `Lost N events` (counted as lost events, CPU
 * unknown), map dumps `@name…` at exit and anything else (diagnostic 'unrecognized').
 *
 * `-f json` (one object per line): `{"type": "printf", "data": "<text>"}` carries the same
 * text (split on `\n`, partial lines carried to the next printf), `{"type": "lost_events",
 * "data": {"events": N}}` is a loss, `attached_probes`/`map`/`hist`/`time`/… are skipped.
 */
import type {Diagnostic, RawRecord, SourcePos} from '../events.js'
import type {LineBatch} from '../source.js'
import {registerReader} from './registry.js'
import type {LineReader, ReaderOptions, StreamReader} from './types.js'
import type {FrameToken, Token} from './tokens.js'

export const BPFTRACE_PREFIX = 'PGP '
/** What the capture program's BEGIN block prints once every probe is attached. */
export const READY_PREFIX = 'ptreplay: '

const NUM = /^\d+$/
const PROVIDER = /^([a-z_]+):(.+)$/
const ATTACH = /^Attaching \d+ probes?\.\.\.$/
const LOST = /^Lost (\d+) events$/
const FRAME = /^\s+(\S.*?)\s*$/
const ARG = /^([A-Za-z_$][\w$.]*)=(\S*)$/

/** Per-file state of the text tokenizer: are we right after a record or inside its frame block? */
export interface BpftraceTextState {
  file: string
  /** 0 = no record yet / after an unrelated line, 1 = just after a record, 2 = inside its frames. */
  stack: 0 | 1 | 2
  /** CPU and tid of the last record: the stack token that opens its frames names them. */
  cpu: number
  pid: number
}

/**
 * One line of bpftrace text output → one token: a RawRecord for `PGP …`, a frame token for a
 * stack line that follows a record (the assembler attaches it), a lost token for `Lost N events`,
 * null for blank lines and `Attaching N probes...`, a text token for anything else.
 */
export function tokenizeBpftraceLine(line: string, pos: SourcePos, state: BpftraceTextState): Token | Token[] | null {
  if (line.startsWith(BPFTRACE_PREFIX)) {
    const rec = parseBpftraceRecord(line, pos)
    if (typeof rec === 'string') {
      state.stack = 0
      return {src: pos, message: rec, code: 'unrecognized'} satisfies Diagnostic
    }
    state.stack = 1
    state.cpu = rec.cpu
    state.pid = rec.pid
    return rec
  }
  if (line.length === 0 || /^\s*$/.test(line)) {
    // The blank line before the frames keeps the record open for them; the one after closes it.
    state.stack = state.stack === 1 ? 1 : 0
    return null
  }
  if (state.stack !== 0 && (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9)) {
    const m = FRAME.exec(line)
    if (m) {
      const frame: FrameToken = {t: 'frame', frame: m[1]!, src: pos}
      if (state.stack === 2) return frame
      // First frame: open a stack on the record just read (the assembler attaches it to the
      // last record of that CPU and tid, which is this one).
      state.stack = 2
      return [{t: 'stack', cpu: state.cpu, pid: state.pid, user: false, src: pos}, frame]
    }
  }
  state.stack = 0
  const lost = LOST.exec(line)
  if (lost) return {t: 'lost', cpu: -1, count: Number(lost[1]), src: pos}
  // `Attaching N probes...` (bpftrace) and `ptreplay: attached` (the capture program's BEGIN).
  if (ATTACH.test(line) || line.startsWith(READY_PREFIX)) return {t: 'info', what: 'header', text: line, src: pos}
  return {
    t: 'text',
    text: line,
    hint: 'a bpftrace record "PGP <nsecs> <cpu> <tid> <event> <provider>:<function> <comm> name=value…"',
    src: pos,
  }
}

function clip(s: string): string {
  return s.length > 120 ? s.slice(0, 117) + '...' : s
}

/** Split `rest` into name=value args; `text=` swallows the rest of the line. */
function parseArgs(rest: string, into: RawRecord): string | undefined {
  let i = 0
  const n = rest.length
  while (i < n) {
    while (i < n && rest.charCodeAt(i) === 32) i++
    if (i >= n) break
    if (rest.startsWith('text=', i)) {
      into.text = rest.slice(i + 5)
      return undefined
    }
    let j = rest.indexOf(' ', i)
    if (j < 0) j = n
    const tok = rest.slice(i, j)
    const m = ARG.exec(tok)
    if (!m) return `expected name=value, got ${JSON.stringify(tok)}`
    into.args[m[1]!] = m[2]!
    i = j
  }
  return undefined
}

function applyProbe(probe: string, rec: RawRecord): void {
  const m = PROVIDER.exec(probe)
  if (!m) return
  const provider = m[1]!
  // tracepoint:module:module_load → group "module"; kprobe:sym → probed symbol.
  rec.group = provider
  const target = m[2]!
  if (provider === 'kprobe' || provider === 'fentry' || provider === 'kfunc') rec.probeSymbol = target.replace(/\+.*$/, '')
  else if (provider === 'kretprobe' || provider === 'fexit' || provider === 'kretfunc') rec.returnFrom = target
  else if (provider === 'tracepoint' || provider === 'rawtracepoint') {
    const t = /^([^:]+):(.+)$/.exec(target)
    if (t) rec.group = t[1]!
  }
}

/**
 * Parse one `PGP …` line (without its stack). Returns the record or a message saying what was
 * expected.
 */
export function parseBpftraceRecord(text: string, src: {file: string; line: number}): RawRecord | string {
  // Fields are single-space separated up to the comm; tolerate runs of spaces only where the
  // grammar is whitespace-split (numbers, event, probe).
  const t = text.endsWith('\r') ? text.slice(0, -1) : text
  let pos = BPFTRACE_PREFIX.length
  const fields: string[] = []
  for (let k = 0; k < 5; k++) {
    while (t.charCodeAt(pos) === 32) pos++
    let e = t.indexOf(' ', pos)
    if (e < 0) e = t.length
    fields.push(t.slice(pos, e))
    pos = e
  }
  const [ts, cpu, tid, f4, f5] = fields as [string, string, string, string, string]
  const where = `${src.file}:${src.line}`
  if (!NUM.test(ts) || !NUM.test(cpu) || !NUM.test(tid)) {
    return `${where}: expected "PGP <nsecs> <cpu> <tid> …" with integer fields, got ${JSON.stringify(clip(t))}`
  }
  if (!f4 || !f5) return `${where}: expected an event and a probe after the tid, got ${JSON.stringify(clip(t))}`
  const rec: RawRecord = {tsNs: BigInt(ts), cpu: Number(cpu), pid: Number(tid), comm: '', event: f4, args: {}, src}
  // Canonical layout: f5 is provider:function and the next 16 characters are the %16s comm.
  const after = pos + 1
  const comm16 = t.slice(after, after + 16)
  const canonical =
    PROVIDER.test(f5) && t.charCodeAt(pos) === 32 && comm16.length === 16 && (t.length === after + 16 || t.charCodeAt(after + 16) === 32) && !ARG.test(comm16.trim())
  let rest: string
  if (canonical) {
    rec.comm = comm16.trim()
    applyProbe(f5, rec)
    rest = t.slice(after + 16)
  } else {
    // The shorter layout: <comm> <probe>.
    rec.comm = f4
    if (PROVIDER.test(f5)) {
      applyProbe(f5, rec)
      rec.event = rec.probeSymbol ?? rec.returnFrom ?? f5.slice(f5.lastIndexOf(':') + 1)
    } else rec.event = f5
    rest = t.slice(pos)
  }
  const bad = parseArgs(rest, rec)
  if (bad) return `${where}: ${bad}`
  return rec
}


/**
 * `-f json` (one object per line): printf data is re-split into text lines and run through the
 * text tokenizer, so both modes share one grammar. Frames are attached here, not by the
 * assembler, because one JSON line can carry a record and its whole stack.
 */
export async function* parseBpftraceJson(batches: AsyncIterable<LineBatch>, opts: ReaderOptions): AsyncGenerator<Token[]> {
  const file = opts.file
  const state: BpftraceTextState = {file, stack: 0, cpu: -1, pid: -1}
  let pending: RawRecord | undefined
  let carry = ''
  let carryLine = 0
  let out: Token[] = []
  const flush = () => {
    if (pending) out.push(pending)
    pending = undefined
  }
  const textLine = (text: string, line: number) => {
    const got = tokenizeBpftraceLine(text, {file, line}, state)
    if (got === null) return
    // A frame comes as [stack, frame] or frame: attach frames here (one JSON line holds both).
    const tok = Array.isArray(got) ? got[got.length - 1]! : got
    if ('t' in tok && tok.t === 'frame') {
      if (pending) (pending.stack ??= []).push(tok.frame)
      return
    }
    flush()
    if ('tsNs' in tok) pending = tok
    else if ('t' in tok && tok.t === 'text')
      out.push({src: tok.src, message: `${file}:${line}: ${tok.hint ?? 'unrecognized line'}, got ${JSON.stringify(clip(text))}`, code: 'unrecognized'})
    else out.push(tok)
  }
  for await (const b of batches) {
    for (let i = 0; i < b.lines.length; i++) {
      const raw = b.lines[i]!
      const lineNo = b.firstLine + i
      if (raw.trim() === '') continue
      let obj: {type?: unknown; data?: unknown}
      try {
        obj = JSON.parse(raw) as {type?: unknown; data?: unknown}
      } catch {
        flush()
        out.push({
          src: {file, line: lineNo},
          message: `${file}:${lineNo}: expected one bpftrace JSON object per line, got ${JSON.stringify(clip(raw))}`,
          code: 'unrecognized',
        })
        continue
      }
      if (obj.type === 'printf' && typeof obj.data === 'string') {
        // A text line may span printf calls: its number is the JSON line where it began.
        const parts = (carry + obj.data).split('\n')
        const firstLine = carry ? carryLine : lineNo
        carry = parts.pop()!
        for (let k = 0; k < parts.length; k++) textLine(parts[k]!, k === 0 ? firstLine : lineNo)
        carryLine = parts.length === 0 ? firstLine : lineNo
      } else if (obj.type === 'lost_events') {
        flush()
        const d = obj.data as {events?: unknown} | undefined
        out.push({t: 'lost', cpu: -1, count: typeof d?.events === 'number' ? d.events : undefined, src: {file, line: lineNo}})
      } else if (obj.type === 'helper_error' || obj.type === 'error') {
        out.push({src: {file, line: lineNo}, message: `${file}:${lineNo}: bpftrace reported ${clip(raw)}`, code: 'tool-error'})
      } else if (typeof obj.type !== 'string') {
        flush()
        out.push({
          src: {file, line: lineNo},
          message: `${file}:${lineNo}: expected a bpftrace JSON event {"type": …, "data": …}, got ${JSON.stringify(clip(raw))}`,
          code: 'unrecognized',
        })
      }
      // attached_probes, map, hist, stats, time, join …: not events.
    }
    if (out.length) {
      yield out
      out = []
    }
  }
  if (carry) textLine(carry, carryLine)
  flush()
  if (out.length) yield out
}

/** Confidence that `head` is bpftrace text output from a ptreplay-style program. */
export function sniffBpftraceText(head: readonly string[]): number {
  let score = 0
  for (const l of head) {
    if (/^PGP \d+ \d+ \d+ \S/.test(l)) return 1
    if (ATTACH.test(l)) score = 0.5
  }
  return score
}

/** Confidence that `head` is `bpftrace -f json` output. */
export function sniffBpftraceJson(head: readonly string[]): number {
  let score = 0
  for (const l of head) {
    if (!/^\{\s*"type":\s*"/.test(l)) continue
    if (/"type":\s*"printf"/.test(l) && l.includes('PGP ')) return 1
    if (/"type":\s*"(attached_probes|printf|lost_events)"/.test(l)) score = 0.6
  }
  return score
}

export const bpftraceTextReader: LineReader<BpftraceTextState> = {
  type: 'line',
  name: 'bpftrace',
  description: 'bpftrace text output with ptreplay\'s "PGP " record lines (capture-script --tool bpftrace)',
  sniff: sniffBpftraceText,
  newState: (opts) => ({file: opts.file, stack: 0, cpu: -1, pid: -1}),
  tokenize: tokenizeBpftraceLine,
}

export const bpftraceJsonReader: StreamReader = {
  type: 'stream',
  name: 'bpftrace-json',
  description: 'bpftrace -f json output (printf objects carrying "PGP " records, lost_events)',
  sniff: sniffBpftraceJson,
  parse: parseBpftraceJson,
}

registerReader(bpftraceTextReader)
registerReader(bpftraceJsonReader)

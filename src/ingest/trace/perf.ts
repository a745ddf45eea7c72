/**
 * `perf script` text for tracepoint/probe events (tools/perf/builtin-script.c
 * process_event()): `%16s %5d [%03d] %12s: %*s: payload` with the tid 7 wide from perf ≈6.5, `pid/tid`
 * with -F pid,tid, 9 fractional digits with --ns, the event name `group:name` right-justified,
 * and with -g one `\t%16lx sym+0xoff (dso)` line per frame followed by an empty line.
 * Probe payloads come from libtraceevent: bare-hex IP, return probes `(func <- site)`.
 */
import type {SourcePos} from '../events.js'
import {fastProbeEvent, fastProbeRecord, PERF_SHAPE, probeEventAt, probeRecordAt} from './fastpath.js'
import {parseTs, TEXT_EVENTS} from './scan.js'
import {isDigit, quotePrefixEnd, skipSpaces} from './chars.js'
import {parseProbePayload, parseTracepointArgs} from './probe-args.js'
import type {LineReader} from './types.js'
import type {Token} from './tokens.js'

export interface PerfState {
  file: string
}

const FRAME = /^\s+([0-9a-f]+) (.+?) \(([^)]*)\)$/

function isSpace(c: number): boolean {
  return c === 32 || c === 9
}

export function tokenizePerf(line: string, pos: SourcePos, _st: PerfState): Token | null {
  const i = line.charCodeAt(0) === 62 /* > */ ? quotePrefixEnd(line) : 0
  const n = line.length
  // the empty line after a -g callchain ends it
  if (i >= n) return {t: 'info', what: 'blank', src: pos}
  const c0 = line.charCodeAt(i)
  if (c0 === 9 /* \t */ || c0 === 32) {
    const j = skipSpaces(line, i)
    if (j >= n) return {t: 'info', what: 'blank', src: pos}
    if (c0 === 9) {
      const m = FRAME.exec(line.slice(i))
      if (m) return {t: 'frame', frame: m[2]!, src: pos}
    }
  }
  // anchor on "[cpu]" preceded by "pid" or "pid/tid" preceded by a blank
  let b = line.indexOf('[', i + 1)
  while (b >= 0 && b < i + 80) {
    let j = b + 1
    let cpu = 0
    while (j < n && isDigit(line.charCodeAt(j))) cpu = cpu * 10 + (line.charCodeAt(j++) - 48)
    if (j > b + 1 && line.charCodeAt(j) === 93 /* ] */) {
      let k = b - 1
      while (k > i && isSpace(line.charCodeAt(k))) k--
      const idEnd = k + 1
      while (k > i && (isDigit(line.charCodeAt(k)) || line.charCodeAt(k) === 47) /* / */) k--
      if (k < idEnd - 1 && isSpace(line.charCodeAt(k))) {
        const ids = line.slice(k + 1, idEnd)
        const slash = ids.indexOf('/')
        const first = Number(slash < 0 ? ids : ids.slice(0, slash))
        const tid = slash < 0 ? first : Number(ids.slice(slash + 1))
        if (Number.isInteger(first) && Number.isInteger(tid)) {
          const comm = line.slice(skipSpaces(line, i), k).trimEnd()
          const r = perfBody(line, j + 1, pos, comm, tid, slash < 0 ? undefined : first, cpu)
          if (r) return r
        }
      }
    }
    b = line.indexOf('[', b + 1)
  }
  if (line.startsWith('PERF_RECORD_LOST', skipSpaces(line, i))) {
    const m = /lost (\d+)/.exec(line)
    return {t: 'lost', cpu: -1, count: m ? Number(m[1]) : undefined, src: pos}
  }
  return {t: 'text', text: line, hint: 'a perf script line `comm tid [cpu] secs.usecs: group:event: payload`', src: pos}
}

function perfBody(line: string, i: number, pos: SourcePos, comm: string, pid: number, tgid: number | undefined, cpu: number): Token | null {
  const n = line.length
  i = skipSpaces(line, i)
  const ts0 = i
  while (i < n && line.charCodeAt(i) !== 58 && !isSpace(line.charCodeAt(i))) i++
  if (line.charCodeAt(i) !== 58) return null
  const ts = parseTs(line, ts0, i)
  if (!ts) return null
  i = skipSpaces(line, i + 1)
  // event name: up to ": " (or the end); it contains "group:" itself
  let e = line.indexOf(': ', i)
  if (e < 0) e = line.endsWith(':') ? n - 1 : -1
  if (e <= i) return null
  const full = line.slice(i, e)
  if (full.includes(' ')) return null
  const colon = full.indexOf(':')
  const rec = {
    tsNs: ts.ns,
    cpu,
    pid,
    tgid,
    comm,
    event: colon < 0 ? full : full.slice(colon + 1),
    group: colon < 0 ? undefined : full.slice(0, colon),
    probeSymbol: undefined,
    returnFrom: undefined,
    args: {} as Record<string, string>,
    text: undefined as string | undefined,
    stack: undefined,
    src: pos,
  }
  const p = Math.min(n, e + 2)
  if (line.charCodeAt(p) === 40 /* ( */ && parseProbePayload(line, p, rec, 'func-site')) return rec
  const payload = line.slice(p)
  rec.text = payload
  if (!TEXT_EVENTS.has(rec.event) && !TEXT_EVENTS.has(full) && payload.length) parseTracepointArgs(payload, rec.args)
  return rec
}

/** perf lines: `group:event:` names, no flags column, tab-indented callchain frames. */
export function sniffPerf(head: readonly string[]): number {
  let events = 0
  let grouped = 0
  const st: PerfState = {file: ''}
  for (const l of head) {
    if (l.startsWith('# tracer:') || /^cpus=\d+$/.test(l)) return 0
    if (l.startsWith('#') || l.trim() === '') continue
    const t = tokenizePerf(l, {file: '', line: 0}, st)
    if (t && !('t' in t) && 'event' in t) {
      events++
      if (t.group !== undefined) grouped++
    }
  }
  if (events === 0) return 0
  return grouped === events ? 0.9 : 0.1
}

export const perfReader: LineReader<PerfState> = {
  type: 'line',
  name: 'perf',
  description: 'perf script text (default fields, --ns, pid/tid, -g callchains)',
  sniff: sniffPerf,
  // perf script sorts through ordered events
  sortWindow: 1024,
  newState: ({file}) => ({file}),
  tokenize: tokenizePerf,
  // the kprobe lines' fast path (fastpath.ts); every other line: tokenizePerf
  recordBytes: (buf, from, to, text, off, pos) => probeRecordAt(buf, from, to, text, off, pos, PERF_SHAPE),
  eventBytes: (buf, from, to, text, off, pos, _st, norm) => probeEventAt(buf, from, to, text, off, pos, norm, PERF_SHAPE),
  tokenizeRange: (text, from, to, pos) => fastProbeRecord(text, pos, from, to, PERF_SHAPE),
  eventRange: (text, from, to, pos, _st, norm) => fastProbeEvent(text, pos, from, to, norm, PERF_SHAPE),
}

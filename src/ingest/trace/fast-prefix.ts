/**
 * The context prefix of a text trace line on the fast path (fastpath.ts), read from the line's
 * text when the line does not start with the previous line's prefix: tracefs / trace-cmd
 * `comm-pid [cpu] [flags] sec.` and perf `comm pid[/tid] [cpu] sec.`, into L. Each is its
 * reader's general scan (scan.ts scanTaskCpu + scanFlagsTs; perf.ts tokenizePerf + perfBody)
 * specialised to the common shape: -1 where the line leaves it.
 */
import {NAMES} from './intern.js'

const SP = 32
const C0 = 48

/** What the prefix scans read (module state: one line at a time, no allocation). */
export const L = {cpu: 0, pid: 0, tgid: undefined as number | undefined, comm: '', ts: 0, close: 0}

/** 10^(9 - digits): nanoseconds per unit of a fraction of `digits` digits. */
export const SCALE = [1, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1]

/**
 * tracefs / trace-cmd `comm-pid [cpu] [flags] sec.` (scanTaskCpu + scanFlagsTs, anchored on the
 * first `[` as scanTaskCpu tries it first): into L (seconds in L.ts); the index after the `.`, or -1.
 */
export function scanBracketPrefix(line: string, from: number, n: number): number {
  let start = from
  while (start < n && line.charCodeAt(start) === SP) start++
  const c0 = line.charCodeAt(start)
  // tab: scanTaskCpu skips it too; `#` header, `>` quote prefix, `=>` frame: other paths
  if (c0 === 9 || c0 === 35 || c0 === 62 || c0 === 61) return -1
  const b = line.indexOf('[', start + 2)
  if (b < 0 || b >= start + 72 || b >= n || line.charCodeAt(b - 1) !== SP) return -1
  let j = b + 1
  let cpu = 0
  let c = line.charCodeAt(j)
  while (c >= C0 && c <= 57) {
    cpu = cpu * 10 + (c - C0)
    c = line.charCodeAt(++j)
  }
  if (j === b + 1 || c !== 93 /* ] */) return -1
  let k = b - 1
  while (k > start && line.charCodeAt(k) === SP) k--
  const pidEnd = k + 1
  let pid = 0
  let mul = 1
  c = line.charCodeAt(k)
  while (k > start && c >= C0 && c <= 57) {
    pid += (c - C0) * mul
    mul *= 10
    c = line.charCodeAt(--k)
  }
  if (k === pidEnd - 1 || c !== 45 /* - */ || k <= start || mul > 1e15) return -1
  const commEnd = k
  // flags (optional), then `sec.frac:`
  let i = j + 1
  while (line.charCodeAt(i) === SP) i++
  let s = i
  c = line.charCodeAt(i)
  while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
  if (c !== 58) {
    if (c !== SP) return -1
    while (line.charCodeAt(i) === SP) i++
    s = i
    c = line.charCodeAt(i)
    while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
    if (c !== 58) return -1
  }
  return secondsOf(line, s, i, start, commEnd, cpu, pid, undefined)
}

/**
 * perf `comm pid[/tid] [cpu] sec.` (tokenizePerf + perfBody with the first `[`): into L; the index
 * after the `.`, or -1.
 */
export function scanPerfPrefix(line: string, from: number, n: number): number {
  // tokenizePerf's indexes, relative to the line start `from`
  let start = from
  while (start < n && line.charCodeAt(start) === SP) start++
  const c0 = line.charCodeAt(start)
  if (c0 === 9 || c0 === 62 || start >= n) return -1
  const b = line.indexOf('[', from + 1)
  if (b < 0 || b >= from + 80 || b >= n) return -1
  let j = b + 1
  let cpu = 0
  let c = line.charCodeAt(j)
  while (c >= C0 && c <= 57) {
    cpu = cpu * 10 + (c - C0)
    c = line.charCodeAt(++j)
  }
  if (j === b + 1 || c !== 93 /* ] */) return -1
  // `pid` or `pid/tid` between blanks
  let k = b - 1
  c = line.charCodeAt(k)
  while (k > from && (c === SP || c === 9)) c = line.charCodeAt(--k)
  const idEnd = k + 1
  let a = 0
  let am = 1
  while (k > from && c >= C0 && c <= 57) {
    a += (c - C0) * am
    am *= 10
    c = line.charCodeAt(--k)
  }
  if (k === idEnd - 1 || am > 1e15) return -1
  let tgid: number | undefined
  let pid = a
  if (c === 47 /* / */) {
    // `pid/tid`: what was read is the tid
    const tid = a
    a = 0
    am = 1
    c = line.charCodeAt(--k)
    const pe = k
    while (k > from && c >= C0 && c <= 57) {
      a += (c - C0) * am
      am *= 10
      c = line.charCodeAt(--k)
    }
    if (k === pe || am > 1e15) return -1
    tgid = a
    pid = tid
  }
  if (c !== SP && c !== 9) return -1
  // comm: from the first non-blank to k, without trailing blanks (trimEnd: plain ASCII only here)
  let e = k
  while (e > start && (line.charCodeAt(e - 1) === SP || line.charCodeAt(e - 1) === 9)) e--
  const last = line.charCodeAt(e - 1)
  if (e <= start || last <= SP || last >= 127) return -1
  // `sec.frac:` after blanks, no flags column
  let s = j + 1
  c = line.charCodeAt(s)
  while (c === SP || c === 9) c = line.charCodeAt(++s)
  let i = s
  while (i < n && c !== 58 && c !== SP && c !== 9) c = line.charCodeAt(++i)
  if (c !== 58) return -1
  return secondsOf(line, s, i, start, e, cpu, pid, tgid)
}

/** `sec.` of the timestamp token `[s, colon)`: into L (seconds in L.ts); the index after the `.`, or -1. */
function secondsOf(line: string, s: number, colon: number, commStart: number, commEnd: number, cpu: number, pid: number, tgid: number | undefined): number {
  let sec = 0
  let i = s
  let c = line.charCodeAt(i)
  while (c >= C0 && c <= 57) {
    sec = sec * 10 + (c - C0)
    c = line.charCodeAt(++i)
  }
  if (i === s || c !== 46 /* . */ || sec >= 9e6 || colon <= i) return -1
  L.cpu = cpu
  L.pid = pid
  L.tgid = tgid
  L.comm = NAMES.get(line, commStart, commEnd)
  L.ts = sec
  return i + 1
}

/**
 * tracefs fast path (fastProbeRecord) against the general path (scanContext + parseBody): on every
 * line of every real capture, and on near-miss lines built from them, the fast path either
 * declines (undefined) or returns the record the general path builds — same fields, same values,
 * same field order. It must also take the bulk of the kprobe lines, or it is not a fast path.
 * The fused fast path (fastProbeEvent: line → normalized event, `args` on demand) is held to the
 * same: declines, or gives the event normalize() makes of the general record, field for field
 * (own fields in the same order, `args` read through the accessor) and as exported (CSV, JSON).
 * Lines are given as ranges of the whole text, as readTrace does (LineBatch.text), so a scan past
 * the end of its line would show.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {FULL, runs} from '../../helpers/full.js'
import {fileText, ranges, ser, serEvent} from '../../helpers/trace-text.js'

import type {RawRecord, SourcePos} from '../../../src/ingest/events.js'
import {Normalizer} from '../../../src/ingest/normalize.js'
import {readTrace, registerReader, type TraceReadOptions} from '../../../src/ingest/trace/index.js'
import {parseKva} from '../../../src/model/address.js'
import {ProbeEvent} from '../../../src/ingest/trace/probe-event.js'
import {newContext, parseBody, scanContext} from '../../../src/ingest/trace/scan.js'
import {fastProbeEvent, fastProbeRecord, tracefsGeneralReader} from '../../../src/ingest/trace/tracefs.js'

const FILES = [
  'debian-6.1-qemu/max-2G-default/trace.txt',
  'debian-6.1-qemu/max-2G-default/trace_stacktrace.txt',
  'debian-6.1-qemu/max-2G-rodata-on/trace.txt',
  'debian-6.12-qemu/max-2G-default/trace_stacktrace.txt',
  'debian-6.12-qemu/max-2G-kfence/trace.txt',
  'linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz',
  'linux-6.19-bbml2-qemu/max-2G-default/trace_stacktrace.txt.gz',
]

/**
 * The default run samples the long traces (the 6.19 ones are 50 MB of text; the full check took
 * 72 s against a 60 s timeout on a loaded 2-core machine): every line of the first HEAD_LINES,
 * then every STRIDE-th, and readTrace on the first HEAD_LINES lines of each file. `npm run test:full` (vitest project
 * "full", PTREPLAY_FULL_TESTS=1) checks every line of every file.
 */
const HEAD_LINES = 10_000
const STRIDE = 50
const sampled = (i: number) => FULL || i <= HEAD_LINES || i % STRIDE === 0

/** The file readTrace is given: the sample itself, or (default run) its first HEAD_LINES lines. */
function tracePath(rel: string): string {
  if (FULL) return `samples/${rel}`
  const dir = mkdtempSync(join(tmpdir(), 'ptreplay-fastpath-'))
  const path = join(dir, basename(rel, '.gz'))
  const text = fileText(rel)
  let cut = 0
  for (let n = 0; n < HEAD_LINES && cut !== -1; n++) cut = text.indexOf('\n', cut + 1)
  writeFileSync(path, cut === -1 ? text : text.slice(0, cut + 1))
  return path
}

/** Record lines of a tracefs text file, by one regex (not the reader's code). */
function recordLines(path: string): number {
  const buf = readFileSync(path)
  const text = (path.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')
  let n = 0
  for (const line of text.split('\n')) if (/^\s*.+-\d+\s+\[\d{3}\]\s.*\d+\.\d+: \S/.test(line) && !/: <stack trace>$/.test(line)) n++
  return n
}

const ctx = newContext()
function general(line: string, pos: SourcePos) {
  return scanContext(line, 0, ctx) ? parseBody(line, ctx, pos, 'site-func') : undefined
}

const norms = {fused: new Normalizer(), general: new Normalizer()}
let fusedTaken = 0

/** The fast paths decline or agree; returns whether fastProbeRecord took the line. */
function check(text: string, from: number, to: number, pos: SourcePos): boolean {
  const fast = fastProbeRecord(text, pos, from, to)
  const line = text.slice(from, to)
  if (fast === undefined) {
    expect(fastProbeEvent(text, pos, from, to, norms.fused)).toBeUndefined()
    return false
  }
  const slow = general(line, pos)
  // serialized with keys in insertion order: equal values and equal field order
  if (ser(fast) !== ser(slow)) expect(ser(fast), line).toBe(ser(slow))
  // fastProbeRecord has seen this probe now (its argument names): the fused path may take it
  const ev = fastProbeEvent(text, pos, from, to, norms.fused)
  if (ev !== undefined) {
    fusedTaken++
    const want = serEvent(norms.general.normalize(slow as RawRecord))
    const got = serEvent(ev)
    if (got !== want) expect(got, line).toBe(want)
  }
  return true
}

describe('tracefs fast path', () => {
  for (const rel of FILES) {
    it(`declines or agrees with the general path on every line of ${rel}`, () => {
      let probeLines = 0
      let taken = 0
      let i = 0
      fusedTaken = 0
      const text = fileText(rel)
      expect(text).not.toContain('\r')
      for (const {line, from, to} of ranges(text)) {
        const pos = {file: rel, line: ++i}
        if (!sampled(i)) continue
        if (/: \(\S+\+0x/.test(line) && !line.startsWith('#')) probeLines++
        if (check(text, from, to, pos)) taken++
      }
      // not a result: a guard that the sample holds enough probe lines to mean something
      expect(probeLines).toBeGreaterThan(500)
      // every kprobe/kretprobe line of these captures has the common shape
      expect(taken).toBe(probeLines)
      // and the fused path takes the bulk of them
      expect(fusedTaken).toBeGreaterThan(0.9 * probeLines)
    })
  }

  it('declines or agrees on near misses of real lines (tabs, tgid, clocks, modules, cut lines)', () => {
    const base = fileText('linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz').split('\n').filter((l) => /: \(\S+\+0x/.test(l)).slice(0, 400)
    const variants = (l: string): string[] => [
      '\t' + l.trimStart(),
      l.replace(' [0', '\t[0'),
      l.replace(/-(\d+) +\[/, '-$1 (    1) ['),
      l.replace(/-(\d+) +\[/, '-$1 (-------) ['),
      l.replace(/ \d+\.(\d+):/, ' 123456$1:'),
      l.replace(/ (\d+)\.(\d+):/, ' $1.$20000:'),
      l.replace(/ (\d+)\.(\d+):/, ' 99999999.$2:'),
      l.replace(/\) /, ' [nf_tables]) '),
      l.replace(/\+0x0\/0x[0-9a-f]+\)/, '+0x0/0x30 <ffff800080123456>)'),
      l.replace(/<- \w+\)/, '<- ffff80008034a1c8)'),
      l.replace(/<- \w+\)/, '<- 0xffff80008034a1c8)'),
      l.replace(/<- \w+\)/, '<- add)'),
      l.replace(/<- \w+\)/, '<- foo+0x4/0x10)'),
      l.replace(/\(\w+\+/, '(0xffff80008034a1c8+'),
      l + ' [LINE TOO BIG]',
      l + ' trailing words',
      l.replace(/=0x/, '="a b" x=0x'),
      l.replace(/ (\w+)=(\S+)/, ' $1=$2 (-123)'),
      // the same probe with other argument names/order/count (parseArgsAs falls back)
      l.replace(/ (\w+)=(\S+) (\w+)=/, ' $3=$2 $1='),
      l.replace(/ \w+=\S+$/, ''),
      l.replace(/ (\w+)=/, ' $1x='),
      l.replace(/ (\w+)=/, (_m, a: string) => ` ${a.slice(0, -1)}${a.endsWith('z') ? 'y' : 'z'}=`),
      l.replace(/ (\w+)=(\S+) (\w+)=/, (_m, a: string, v: string, b: string) => ` ${a}=${v} ${b.slice(0, -1)}${b.endsWith('z') ? 'y' : 'z'}=`),
      l.replace(/ (\w+)=/, ' $1 ='),
      l + ' extra=1',
      l.replace(/: \(/, ':  ('),
      l.replace(/: \(/, ':('),
      l.replace(/\)/, ''),
      l.replace(/ [.dNhs]{5} /, ' '),
      l.replace(/ [.dNhs]{5} /, '\t.....\t'),
      l.replace(/^ +/, ''),
      l.replace(/-\d+ /, '-99999999999999999 '),
      l.slice(0, 40),
      l.slice(0, l.indexOf(': (') + 1),
    ]
    let taken = 0
    let declined = 0
    for (const l of base) {
      // each variant alone, and inside a text between two real lines
      const vs = variants(l)
      for (const v of vs) {
        if (check(v, 0, v.length, {file: 'x', line: 1})) taken++
        else declined++
      }
      const text = [l, ...vs, l].join('\n')
      for (const {from, to} of ranges(text)) check(text, from, to, {file: 'x', line: 1})
    }
    expect(taken).toBeGreaterThan(0)
    expect(declined).toBeGreaterThan(0)
  })

  it('declines or agrees on random edits of real probe lines', () => {
    const text = fileText('linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz')
    const base = [...new Set(text.split('\n').filter((l) => /: \(\S+\+0x/.test(l)).slice(0, 3000))]
    const edit = fc.record({at: fc.nat(), len: fc.nat(3), put: fc.constantFrom('', ' ', '\t', '[', ']', '(', ')', '-', ':', '.', '+', '=', '0', 'x', '<-', ' <- ', '"', '#', '>', 'a', '9')})
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.array(edit, {minLength: 1, maxLength: 3}), (k, edits) => {
        let l = base[k]!
        for (const e of edits) {
          const at = e.at % (l.length + 1)
          l = l.slice(0, at) + e.put + l.slice(at + e.len)
        }
        const t = [base[(k + 1) % base.length], l, base[(k + 2) % base.length]].join('\n')
        const from = t.indexOf('\n') + 1
        check(t, from, from + l.length, {file: 'x', line: 2})
        check(l, 0, l.length, {file: 'x', line: 1})
      }),
      {numRuns: runs(5000)},
    )
  })
})

describe('readTrace with and without the tracefs fast path', () => {
  registerReader(tracefsGeneralReader)

  /** Every event, then the stats and diagnostics, serialized (keys in order) into one digest. */
  async function readAll(path: string, format: string, opts: TraceReadOptions = {}): Promise<{events: number; digest: string; first: string; fused: number}> {
    const r = readTrace([path], {...opts, format})
    const h = createHash('sha256')
    let fused = 0
    let events = 0
    let first = ''
    for await (const b of r.batches) {
      for (const e of b) {
        if (e instanceof ProbeEvent) fused++
        const s = serEvent(e)
        if (events++ === 100) first = s
        h.update(s)
      }
    }
    // the format name is the one thing allowed to differ
    h.update(ser({stats: {...r.stats, format: '', files: r.stats.files.map((f) => ({...f, format: ''}))}, diagnostics: r.diagnostics}))
    return {events, digest: h.digest('hex'), first, fused}
  }

  for (const rel of FILES) {
    it(`gives the same events, stats and diagnostics on ${rel}`, async () => {
      const path = tracePath(rel)
      const fast = await readAll(path, 'tracefs')
      const general = await readAll(path, 'tracefs-general')
      // one event per record line of the file (`comm-pid [cpu] … ts: name:`), counted here by
      // one regex; a `<stack trace>` record belongs to the event before it
      expect(fast.events).toBe(recordLines(path))
      expect(general.fused).toBe(0)
      // most events come from the fused path (one line per probe first goes the RawRecord way)
      expect(fast.fused).toBeGreaterThan(0.8 * fast.events)
      expect({...fast, fused: 0}).toEqual(general)
    })
  }

  // the fused plans follow the normalizer's options: --map, page size, vmemmap/linear-map bases
  const OPTS: TraceReadOptions = {
    map: {update_range_prot: 'set_memory_nx', split_kernel_leaf_mapping_ret: 'split_pud', set_memory_ro: 'other', change_memory_common: 'split_call'},
    pageSize: 16384,
    vmemmapStart: parseKva('0xfffffc0000000000'),
    pageOffset: parseKva('0xffff000000000000'),
  }
  for (const rel of [FILES[0]!, FILES[6]!]) {
    it(`gives the same events with --map, a 16K page size and vmemmap bases on ${rel}`, async () => {
      const path = tracePath(rel)
      const fast = await readAll(path, 'tracefs', OPTS)
      const general = await readAll(path, 'tracefs-general', OPTS)
      expect(fast.fused).toBeGreaterThan(0.5 * fast.events)
      expect({...fast, fused: 0}).toEqual(general)
    })
  }
})

/**
 * trace-cmd report and perf script fast paths (fastpath.ts, TRACE_CMD_SHAPE / PERF_SHAPE) against
 * their general tokenizers (tokenizeTraceCmd, tokenizePerf), as test/ingest/trace/fastpath.test.ts
 * holds the tracefs one: on every line of the real 7.3 captures (samples/linux-7.3-debian-qemu/
 * ampere1a-2G-tools: trace-cmd 3.3 report with and without -t, perf script with and without
 * -F pid,tid), on near misses built from them and on random edits, the fast path declines
 * (undefined) or returns the record the general path builds (same fields, values, field order)
 * and the event normalize() makes of it; readTrace gives the same events, stats and diagnostics
 * with and without it. It must take the bulk of the kprobe lines, or it is not a fast path.
 */
import {createHash} from 'node:crypto'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {RawRecord, SourcePos} from '../../../src/ingest/events.js'
import {Normalizer} from '../../../src/ingest/normalize.js'
import {fastProbeEvent, fastProbeRecord, type LineShape, PERF_SHAPE, TRACE_CMD_SHAPE} from '../../../src/ingest/trace/fastpath.js'
import {readTrace, registerReader} from '../../../src/ingest/trace/index.js'
import {perfReader, tokenizePerf} from '../../../src/ingest/trace/perf.js'
import {ProbeEvent} from '../../../src/ingest/trace/probe-event.js'
import {newContext} from '../../../src/ingest/trace/scan.js'
import {traceCmdReader, tokenizeTraceCmd} from '../../../src/ingest/trace/tracecmd.js'
import type {LineReader} from '../../../src/ingest/trace/types.js'

import {FULL, runs} from '../../helpers/full.js'
import {fileText, ranges, ser, serEvent} from '../../helpers/trace-text.js'

const DIR = 'linux-7.3-debian-qemu/ampere1a-2G-tools'

interface Case {
  shape: LineShape
  reader: LineReader<unknown>
  general: (line: string, pos: SourcePos) => unknown
  files: string[]
}

const CASES: Case[] = [
  {
    shape: TRACE_CMD_SHAPE,
    reader: traceCmdReader as LineReader<unknown>,
    general: (line, pos) => tokenizeTraceCmd(line, pos, {file: 'x', ctx: newContext()}),
    files: [`${DIR}/trace-cmd-report.txt.gz`, `${DIR}/trace-cmd-report-t.txt.gz`],
  },
  {
    shape: PERF_SHAPE,
    reader: perfReader as LineReader<unknown>,
    general: (line, pos) => tokenizePerf(line, pos, {file: 'x'}),
    files: [`${DIR}/perf-script.txt.gz`, `${DIR}/perf-script-F.txt.gz`],
  },
]

/**
 * The default run checks every line of the first HEAD_LINES and every STRIDE-th after them; the
 * full project (npm run test:full) every line.
 */
const HEAD_LINES = 5_000
const STRIDE = 4
const sampled = (i: number) => FULL || i <= HEAD_LINES || i % STRIDE === 0

/** A kprobe line of these captures: `event: (hex IP) …` or `event: (sym+0x…` */
const PROBE = /:\s+\((?:[0-9a-f]{8,}|\S+\+0x)[^)]*\)/

for (const c of CASES) {
  const norms = {fused: new Normalizer(), general: new Normalizer()}
  let fusedTaken = 0
  const check = (text: string, from: number, to: number, pos: SourcePos): boolean => {
    const fast = fastProbeRecord(text, pos, from, to, c.shape)
    const line = text.slice(from, to)
    if (fast === undefined) {
      expect(fastProbeEvent(text, pos, from, to, norms.fused, c.shape)).toBeUndefined()
      return false
    }
    const slow = c.general(line, pos)
    if (ser(fast) !== ser(slow)) expect(ser(fast), line).toBe(ser(slow))
    const ev = fastProbeEvent(text, pos, from, to, norms.fused, c.shape)
    if (ev !== undefined) {
      fusedTaken++
      const want = serEvent(norms.general.normalize(slow as RawRecord))
      const got = serEvent(ev)
      if (got !== want) expect(got, line).toBe(want)
    }
    return true
  }

  describe(`${c.shape.name} fast path`, () => {
    for (const rel of c.files) {
      it(`declines or agrees with the general path on every line of ${rel}`, () => {
        const text = fileText(rel)
        let probeLines = 0
        let sampledProbeLines = 0
        let taken = 0
        let i = 0
        fusedTaken = 0
        for (const {line, from, to} of ranges(text)) {
          const pos = {file: rel, line: ++i}
          const probe = PROBE.test(line)
          if (probe) probeLines++
          if (!sampled(i)) continue
          if (probe) sampledProbeLines++
          if (check(text, from, to, pos)) taken++
        }
        expect(probeLines).toBeGreaterThan(10_000)
        // every kprobe line of these captures has the common shape, and the fused path takes the bulk
        expect(taken).toBe(sampledProbeLines)
        expect(fusedTaken).toBeGreaterThan(0.9 * sampledProbeLines)
      })
    }

    it('declines or agrees on near misses of real lines', () => {
      const base = fileText(c.files[1]!).split('\n').filter((l) => PROBE.test(l)).slice(0, 300)
      const variants = (l: string): string[] => [
        '\t' + l.trimStart(),
        l.replace(' [0', '\t[0'),
        l.replace(/ \[0/, ' (    1) [0'),
        l.replace(/(\d+) +\[/, '$1/77 ['),
        l.replace(/(\d+) +\[/, '/$1 ['),
        l.replace(/(\d+) +\[/, '$1/ ['),
        l.replace(/(\d+) +\[/, '1/2/$1 ['),
        l.replace(/ \d+\.(\d+):/, ' 123456$1:'),
        l.replace(/ (\d+)\.(\d+):/, ' $1.$20000:'),
        l.replace(/ (\d+)\.(\d+):/, ' 99999999.$2:'),
        l.replace(/\((\w+)\)/, '($1 [nf_tables])'),
        l.replace(/\((\w+)\)/, '(0x$1)'),
        l.replace(/\((\w+)\)/, '(ffff)'),
        l.replace(/\((\w+)\)/, '(0x12+0x4)'),
        l.replace(/\((\w+)\)/, '(ffff+0x4)'),
        l.replace(/\((\w+)\)/, '(set_memory_ro+0x0/0x30)'),
        l.replace(/\((\w+)\)/, '($1 <- ffff800080123456)'),
        l.replace(/\((\w+)\)/, '(0x$1 <- 0xffff800080123456)'),
        l.replace(/\((\w+)\)/, '(vmap_pages_range+0x4/0x10 <- foo+0x8)'),
        l.replace(/\((\w+)\)/, '(vmap_pages_range <- foo bar)'),
        l.replace(/\((\w+)\)/, '( <- foo)'),
        l.replace(/\((\w+)\)/, '(+0x4 <- foo)'),
        l.replace(/(\w+): +\(/, 'kernel_stack: ('),
        l.replace(/(\w+): +\(/, 'function: ('),
        l.replace(/(\w+): +\(/, 'print: ('),
        l.replace(/(\w+): +\(/, 'kprobes::$1: ('),
        l.replace(/(\w+): +\(/, ':$1: ('),
        l.replace(/(\w+): +\(/, 'a:b:$1: ('),
        l.replace(/(\w+): +\(/, '$1:  ('),
        l.replace(/(\w+): +\(/, '$1:('),
        l.replace(/kprobes:/, ''),
        l + ' [LINE TOO BIG]',
        l + ' trailing words',
        l.replace(/=0x/, '="a b" x=0x'),
        l.replace(/ (\w+)=(\S+)/, ' $1=$2 (-123)'),
        l.replace(/ (\w+)=(\S+) (\w+)=/, ' $3=$2 $1='),
        l.replace(/ \w+=\S+$/, ''),
        l.replace(/ (\w+)=/, ' $1x='),
        l + ' extra=1',
        l.replace(/\)/, ''),
        l.replace(/ [.dNhs]{5} /, ' '),
        l.replace(/^ +/, ''),
        l.replace(/^ +\S+/, ''),
        l.replace(/^ +(\S+)/, '$1\u00a0'),
        l.replace(/^( +\S+)/, '$1 two'),
        l.replace(/-\d+ /, '-99999999999999999 '),
        l.slice(0, 40),
      ]
      let taken = 0
      let declined = 0
      for (const l of base) {
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
      const base = [...new Set(fileText(c.files[0]!).split('\n').filter((l) => PROBE.test(l)).slice(0, 2000))]
      const edit = fc.record({at: fc.nat(), len: fc.nat(3), put: fc.constantFrom('', ' ', '\t', '[', ']', '(', ')', '-', '/', ':', '.', '+', '=', '0', 'x', '<-', ' <- ', '"', '#', '>', 'a', '9')})
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
        {numRuns: runs(3000)},
      )
    })
  })

  describe(`readTrace with and without the ${c.shape.name} fast path`, () => {
    const generalName = `${c.shape.name}-general`
    registerReader({...c.reader, name: generalName, tokenizeRange: undefined, eventRange: undefined, recordBytes: undefined, eventBytes: undefined})

    async function readAll(path: string, format: string): Promise<{events: number; digest: string; fused: number}> {
      const r = readTrace([path], {format})
      const h = createHash('sha256')
      let fused = 0
      let events = 0
      for await (const b of r.batches) {
        for (const e of b) {
          if (e instanceof ProbeEvent) fused++
          events++
          h.update(serEvent(e))
        }
      }
      h.update(ser({stats: {...r.stats, format: '', files: r.stats.files.map((f) => ({...f, format: ''}))}, diagnostics: r.diagnostics}))
      return {events, digest: h.digest('hex'), fused}
    }

    for (const rel of c.files) {
      it(`gives the same events, stats and diagnostics on ${rel}`, async () => {
        const fast = await readAll(`samples/${rel}`, c.shape.name)
        const general = await readAll(`samples/${rel}`, generalName)
        expect(fast.events).toBeGreaterThan(10_000)
        expect(general.fused).toBe(0)
        expect(fast.fused).toBeGreaterThan(0.8 * fast.events)
        expect({...fast, fused: 0}).toEqual(general)
      })
    }
  })
}

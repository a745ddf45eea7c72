import {describe, expect, it} from 'vitest'

import type {RawRecord} from '../../../src/ingest/events.js'
import type {LineBatch} from '../../../src/ingest/source.js'
import {
  bpftraceTextReader,
  parseBpftraceJson,
  parseBpftraceRecord,
  sniffBpftraceJson,
  sniffBpftraceText,
  tokenizeBpftraceLine,
  type BpftraceTextState,
} from '../../../src/ingest/trace/bpftrace.js'
import {READERS} from '../../../src/ingest/trace/registry.js'
import type {Token} from '../../../src/ingest/trace/tokens.js'
import {runs} from '../../helpers/full.js'

const F = 'bt.txt'
const pos = (line: number) => ({file: F, line})

function tokenizeAll(text: string): (Token | Token[] | null)[] {
  const st: BpftraceTextState = bpftraceTextReader.newState({file: F})
  return text.split('\n').map((l, i) => tokenizeBpftraceLine(l, pos(i + 1), st))
}

async function* batchesOf(text: string): AsyncGenerator<LineBatch> {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  // Two batches, to cross a batch boundary.
  const mid = Math.floor(lines.length / 2)
  yield {lines: lines.slice(0, mid), firstLine: 1, bytesRead: 0}
  yield {lines: lines.slice(mid), firstLine: mid + 1, bytesRead: 0}
}

async function jsonTokens(text: string): Promise<Token[]> {
  const out: Token[] = []
  for await (const b of parseBpftraceJson(batchesOf(text), {file: F})) out.push(...b)
  return out
}

// The events below are real ones from samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz
// (insmod-88 on CPU 1 at 2.846798 s …), re-printed the way the capture-script's bpftrace program
// prints them (ns timestamps, decimal ints, %16s comm).
describe('bpftrace text: canonical PGP lines', () => {
  it('parses an entry probe with the %16s comm and hex/decimal args', () => {
    const r = parseBpftraceRecord('PGP 2846798000 1 88 set_memory_ro kprobe:set_memory_ro           insmod addr=0xffff8000787b8000 numpages=1', pos(3))
    expect(r).toEqual({
      tsNs: 2846798000n,
      cpu: 1,
      pid: 88,
      comm: 'insmod',
      event: 'set_memory_ro',
      group: 'kprobe',
      probeSymbol: 'set_memory_ro',
      args: {addr: '0xffff8000787b8000', numpages: '1'},
      src: pos(3),
    } satisfies RawRecord)
  })

  it('keeps a comm with spaces and dashes whole', () => {
    const r = parseBpftraceRecord('PGP 5 0 4242 vfree kprobe:vfree      Web Content addr=0xffff800080a00000', pos(1)) as RawRecord
    expect(r.comm).toBe('Web Content')
    expect(r.args).toEqual({addr: '0xffff800080a00000'})
    const k = parseBpftraceRecord('PGP 5 0 9 vfree kprobe:vfree  kworker/0:0-eve addr=0x1', pos(1)) as RawRecord
    expect(k.comm).toBe('kworker/0:0-eve')
  })

  it('a return probe names the function returned from', () => {
    const r = parseBpftraceRecord(
      'PGP 2848612000 1 88 split_kernel_leaf_mapping_ret kretprobe:split_kernel_leaf_mapping           insmod ret=0',
      pos(7),
    ) as RawRecord
    expect(r.event).toBe('split_kernel_leaf_mapping_ret')
    expect(r.returnFrom).toBe('split_kernel_leaf_mapping')
    expect(r.probeSymbol).toBeUndefined()
    expect(r.args).toEqual({ret: '0'})
  })

  it('text= runs to the end of the line (trace_marker writes)', () => {
    const r = parseBpftraceRecord(
      'PGP 2811844000 0 1 tracing_mark_write kprobe:tracing_mark_write             init text=capture: insmod phase begin',
      pos(1),
    ) as RawRecord
    expect(r.comm).toBe('init')
    expect(r.text).toBe('capture: insmod phase begin')
    expect(r.args).toEqual({})
  })

  it('a tracepoint probe gives its system as group', () => {
    const r = parseBpftraceRecord('PGP 10 0 88 module_load tracepoint:module:module_load           insmod text=crc16', pos(1)) as RawRecord
    expect(r.group).toBe('module')
    expect(r.text).toBe('crc16')
  })

  it('accepts the shorter hand-written layout (comm before probe, no padding)', () => {
    const r = parseBpftraceRecord('PGP 756235337213 1 9659 insmod kprobe:set_memory_ro addr=0xffff8000787b8000 numpages=1', pos(1)) as RawRecord
    expect(r).toMatchObject({comm: 'insmod', event: 'set_memory_ro', probeSymbol: 'set_memory_ro', args: {addr: '0xffff8000787b8000', numpages: '1'}})
    const ret = parseBpftraceRecord('PGP 756235337999 1 9659 insmod execmem_alloc_ret ptr=0xffff800080a00000', pos(2)) as RawRecord
    expect(ret).toMatchObject({comm: 'insmod', event: 'execmem_alloc_ret', args: {ptr: '0xffff800080a00000'}})
  })

  it('a malformed PGP line is a diagnostic naming file:line and what was expected', () => {
    expect(parseBpftraceRecord('PGP 12x 1 88 set_memory_ro kprobe:set_memory_ro insmod addr=0x1', pos(9))).toMatch(
      /^bt\.txt:9: expected "PGP <nsecs> <cpu> <tid> …" with integer fields, got "PGP 12x/,
    )
    expect(parseBpftraceRecord('PGP 1 1 88 set_memory_ro kprobe:set_memory_ro           insmod addr 0x1', pos(4))).toMatch(
      /^bt\.txt:4: expected name=value, got "addr"/,
    )
  })
})

describe('bpftrace text: stacks, loss, other lines', () => {
  const text = [
    'Attaching 12 probes...',
    'PGP 39895444000 1 127 set_memory_ro kprobe:set_memory_ro           insmod addr=0xffffcc0d8602b000 numpages=1',
    '',
    '        set_memory_ro+0',
    '        load_module+5312',
    '        __do_sys_finit_module+600',
    '',
    'PGP 39897452000 1 127 change_memory_common kprobe:change_memory_common           insmod addr=0xffffcc0d8602b000 numpages=1 set_mask=0x80 clear_mask=0x8000000000000',
    'Lost 17 events',
    '@calls[set_memory_ro]: 3',
  ].join('\n')

  it('emits one token per line: record, frames, loss, unrecognized text', () => {
    const toks = tokenizeAll(text)
    expect(toks[0]).toMatchObject({t: 'info', what: 'header'})
    expect(toks[1]).toMatchObject({event: 'set_memory_ro', pid: 127, tsNs: 39895444000n})
    expect(toks[2]).toBeNull()
    // The first frame opens a stack on the record's CPU and tid (the assembler attaches it).
    expect(toks.slice(3, 6)).toEqual([
      [
        {t: 'stack', cpu: 1, pid: 127, user: false, src: pos(4)},
        {t: 'frame', frame: 'set_memory_ro+0', src: pos(4)},
      ],
      {t: 'frame', frame: 'load_module+5312', src: pos(5)},
      {t: 'frame', frame: '__do_sys_finit_module+600', src: pos(6)},
    ])
    expect(toks[6]).toBeNull()
    expect(toks[7]).toMatchObject({event: 'change_memory_common', args: {set_mask: '0x80', clear_mask: '0x8000000000000'}})
    expect(toks[8]).toEqual({t: 'lost', cpu: -1, count: 17, src: pos(9)})
    expect(toks[9]).toMatchObject({t: 'text', text: '@calls[set_memory_ro]: 3', src: pos(10)})
  })

  it('an indented line with no record before it is not a frame', () => {
    const toks = tokenizeAll('        orphan+1')
    expect(toks[0]).toMatchObject({t: 'text'})
  })
})

describe('bpftrace -f json', () => {
  const stackData = 'PGP 39895444000 1 127 set_memory_ro kprobe:set_memory_ro           insmod addr=0xffffcc0d8602b000 numpages=1\\n        set_memory_ro+0\\n        load_module+5312\\n\\n'
  const json = [
    '{"type": "attached_probes", "data": {"probes": 12}}',
    `{"type": "printf", "data": "${stackData}"}`,
    '{"type": "lost_events", "data": {"events": 3}}',
    // One record split over two printf calls.
    '{"type": "printf", "data": "PGP 39897452000 1 127 change_memory_common kprobe:change_memory_common           insmod "}',
    '{"type": "printf", "data": "addr=0xffffcc0d8602b000 numpages=1 set_mask=0x80 clear_mask=0x8000000000000\\n"}',
    'not json',
    '{"type": "map", "data": {"@calls": {"set_memory_ro": 3}}}',
  ].join('\n')

  it('re-splits printf data, attaches the kstack, counts lost_events, reports junk', async () => {
    const toks = await jsonTokens(json)
    expect(toks).toHaveLength(4)
    const [a, lost, b, bad] = toks as [RawRecord, Token, RawRecord, Token]
    expect(a).toMatchObject({event: 'set_memory_ro', comm: 'insmod', stack: ['set_memory_ro+0', 'load_module+5312'], src: {file: F, line: 2}})
    expect(lost).toEqual({t: 'lost', cpu: -1, count: 3, src: {file: F, line: 3}})
    // The record that spanned two printf objects reports the line where it began.
    expect(b).toMatchObject({event: 'change_memory_common', args: {addr: '0xffffcc0d8602b000', clear_mask: '0x8000000000000'}, src: {file: F, line: 4}})
    expect(bad).toMatchObject({code: 'unrecognized', src: {file: F, line: 6}})
    expect((bad as {message: string}).message).toMatch(/^bt\.txt:6: expected one bpftrace JSON object per line, got "not json"/)
  })

  it('sniffers tell text and JSON apart', () => {
    expect(sniffBpftraceJson(json.split('\n'))).toBe(1)
    expect(sniffBpftraceText(json.split('\n'))).toBe(0)
    expect(sniffBpftraceText(['Attaching 3 probes...', 'PGP 1 0 1 set_memory_ro kprobe:set_memory_ro insmod addr=0x1'])).toBe(1)
    expect(sniffBpftraceText(['            init-1       [001] .....    39.762255: tracing_mark_write: capture: insmod phase begin'])).toBe(0)
  })

  it('both readers are registered', () => {
    expect(READERS['bpftrace']).toBeDefined()
    expect(READERS['bpftrace-json']).toBeDefined()
  })
})

describe('bpftrace through the shared assembler', () => {
  it('frames after a record become its stack; a loss is counted', async () => {
    const {tokenizeText} = await import('../../../src/ingest/trace/index.js')
    const text = [
      'Attaching 12 probes...',
      'PGP 39895444000 1 127 set_memory_ro kprobe:set_memory_ro           insmod addr=0xffffcc0d8602b000 numpages=1',
      '',
      '        set_memory_ro+0',
      '        load_module+5312',
      '',
      'PGP 39897452000 1 127 change_memory_common kprobe:change_memory_common           insmod addr=0xffffcc0d8602b000 numpages=1 set_mask=0x80 clear_mask=0x8000000000000',
      'Lost 17 events',
      '',
    ].join('\n')
    const {records, diagnostics, stats} = tokenizeText('bpftrace', text, F)
    expect(records.map((r) => [r.event, r.stack])).toEqual([
      ['set_memory_ro', ['set_memory_ro+0', 'load_module+5312']],
      ['change_memory_common', undefined],
    ])
    expect(stats.lostEvents).toBe(17)
    expect(diagnostics.map((d) => d.code)).toEqual(['lost-events'])
  })
})

describe('bpftrace: any input line', () => {
  it('never throws: every line is a record, a token, a diagnostic or nothing', async () => {
    const fc = await import('fast-check')
    const st = bpftraceTextReader.newState({file: F})
    // Lines built from the grammar's own pieces, so many are near misses of a real record.
    const piece = fc.constantFrom('PGP ', '1', ' ', '0x', 'ffff', '=', 'kprobe:', 'set_memory_ro', 'text=', '\t', '        ', 'Lost 3 events', '-', 'é', '"', '')
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string()), {maxLength: 14}), (parts) => {
        const tok = tokenizeBpftraceLine(parts.join(''), pos(1), st)
        const toks = tok === null ? [] : Array.isArray(tok) ? tok : [tok]
        for (const t of toks) expect(typeof t).toBe('object')
      }),
      {numRuns: runs(3000)},
    )
  })
})

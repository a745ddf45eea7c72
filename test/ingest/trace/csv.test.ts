import {describe, expect, it} from 'vitest'

import type {Diagnostic, RawRecord} from '../../../src/ingest/events.js'
import {InputError, type LineBatch} from '../../../src/ingest/source.js'
import {decimalToNs, parseCsv, sniffCsv} from '../../../src/ingest/trace/csv.js'
import {READERS} from '../../../src/ingest/trace/registry.js'
import type {Token} from '../../../src/ingest/trace/tokens.js'

const F = 'x.csv'

async function* batchesOf(text: string, per = 3): AsyncGenerator<LineBatch> {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (let i = 0; i < lines.length; i += per) yield {lines: lines.slice(i, i + per), firstLine: i + 1, bytesRead: 0}
}

async function read(text: string): Promise<Token[]> {
  const out: Token[] = []
  for await (const b of parseCsv(batchesOf(text), {file: F})) out.push(...b)
  return out
}

// Rows are real events of samples/debian-6.1-qemu/max-2G-default/trace.txt (lines 13, 15-17)
// and of the 6.19 BBML2 trace (split_kernel_leaf_mapping and its return probe).
const CSV = `# exported from a trace database
ts,cpu,pid,comm,event,function,return,addr,numpages,start,size,end,set_mask,clear_mask,ret,text,stack
39.762255,1,1,init,tracing_mark_write,,,,,,,,,,,capture: insmod phase begin,
39.894771,1,127,insmod,set_memory_ro,set_memory_ro,,0xffffcc0d8602b000,0x1,,,,,,,,set_memory_ro;load_module;__do_sys_finit_module
39.897405,1,127,insmod,change_memory_common,change_memory_common,,0xffffcc0d8602b000,0x1,,,,0x80,0x8000000000000,,,
39.897689,1,127,insmod,__change_memory_common,__change_memory_common,,,,0xffff00000a255000,0x1000,,0x80,0x8000000000000,,,

2.848070,1,88,insmod,split_kernel_leaf_mapping,split_kernel_leaf_mapping,,,,0xffff000008df8000,,0xffff000008df9000,,,,,
2.848612,1,88,insmod,split_kernel_leaf_mapping_ret,split_kernel_leaf_mapping,1,,,,,,,,0x0,,
`

describe('CSV reader', () => {
  it('maps fixed columns and keeps every other non-empty cell as an argument', async () => {
    const toks = (await read(CSV)) as RawRecord[]
    expect(toks).toHaveLength(6)
    expect(toks[0]).toEqual({tsNs: 39762255000n, cpu: 1, pid: 1, comm: 'init', event: 'tracing_mark_write', text: 'capture: insmod phase begin', args: {}, src: {file: F, line: 3}})
    expect(toks[1]).toEqual({
      tsNs: 39894771000n,
      cpu: 1,
      pid: 127,
      comm: 'insmod',
      event: 'set_memory_ro',
      probeSymbol: 'set_memory_ro',
      args: {addr: '0xffffcc0d8602b000', numpages: '0x1'},
      stack: ['set_memory_ro', 'load_module', '__do_sys_finit_module'],
      src: {file: F, line: 4},
    } satisfies RawRecord)
    expect(toks[2]!.args).toEqual({addr: '0xffffcc0d8602b000', numpages: '0x1', set_mask: '0x80', clear_mask: '0x8000000000000'})
    expect(toks[3]!.args).toEqual({start: '0xffff00000a255000', size: '0x1000', set_mask: '0x80', clear_mask: '0x8000000000000'})
    // The blank line 7 is skipped but still counted.
    expect(toks[4]).toMatchObject({event: 'split_kernel_leaf_mapping', probeSymbol: 'split_kernel_leaf_mapping', args: {start: '0xffff000008df8000', end: '0xffff000008df9000'}, src: {line: 8}})
    expect(toks[5]).toMatchObject({event: 'split_kernel_leaf_mapping_ret', returnFrom: 'split_kernel_leaf_mapping', args: {ret: '0x0'}, src: {line: 9}})
    expect(toks[5]!.probeSymbol).toBeUndefined()
  })

  it('timestamp units: ts integer = ns, ts decimal = s, ts_us / ts_s / ts_ns exact', async () => {
    expect(decimalToNs('39.894771', 9)).toBe(39894771000n)
    expect(decimalToNs('714.687947377', 9)).toBe(714687947377n)
    expect(decimalToNs('39894771', 3)).toBe(39894771000n)
    expect(decimalToNs('1.5', 3)).toBe(1500n)
    expect(decimalToNs('1.0000000001', 9)).toBeUndefined() // sub-ns precision would be lost
    expect(decimalToNs('0x10', 9)).toBeUndefined()
    const t = async (h: string, v: string) => ((await read(`${h},event\n${v},e\n`))[0] as RawRecord).tsNs
    expect(await t('ts', '756235337213')).toBe(756235337213n)
    expect(await t('ts', '39.894771')).toBe(39894771000n)
    expect(await t('TS_US', '39894771')).toBe(39894771000n)
    expect(await t('ts_s', '2')).toBe(2000000000n)
    expect(await t('ts_ns', '7')).toBe(7n)
  })

  it('quoted cells keep commas and newlines; line numbers follow the file', async () => {
    const text = 'ts,event,text,comm\n1,tracing_mark_write,"phase: a, b\nsecond line",Web Content\n2,module_load,crc16 ,modprobe\n'
    const toks = (await read(text)) as RawRecord[]
    expect(toks[0]!.text).toBe('phase: a, b\nsecond line')
    expect(toks[0]!.comm).toBe('Web Content')
    expect(toks[1]).toMatchObject({text: 'crc16 ', src: {line: 4}})
  })

  it('TSV when the header has tabs and no commas', async () => {
    const toks = (await read('ts\tevent\taddr\n5\tvfree\t0xffff800080a00000\n')) as RawRecord[]
    expect(toks[0]).toMatchObject({tsNs: 5n, event: 'vfree', args: {addr: '0xffff800080a00000'}})
  })

  it('bad rows are diagnostics with file:line; the rest still reads', async () => {
    const text = 'ts,cpu,event,addr\n1,0,vfree,0x1\n1.2.3,0,vfree,0x2\n3,x,vfree,0x3\n4,0,,0x4\n5,0,vfree\n6,1,vfree,0x6\n'
    const toks = await read(text)
    const diags = toks.filter((t) => 'message' in t) as Diagnostic[]
    expect(diags.map((d) => d.message)).toEqual([
      'x.csv:3: expected ts as integer nanoseconds or decimal seconds, got "1.2.3"',
      'x.csv:4: expected cpu as a non-negative integer, got "x"',
      'x.csv:5: expected an event name, got an empty event cell',
      'x.csv:6: expected 4 columns as in the header, got 3',
    ])
    expect(diags.every((d) => d.code === 'bad-record')).toBe(true)
    expect(toks.filter((t) => 'tsNs' in t).map((t) => (t as RawRecord).args.addr)).toEqual(['0x1', '0x6'])
  })

  it('a header without ts or event is one InputError, not a stack trace', async () => {
    await expect(read('time,name\n1,x\n')).rejects.toThrow(InputError)
    await expect(read('time,event\n1,x\n')).rejects.toThrow(/^x\.csv:1: expected a CSV header with columns ts and event \(missing ts \(or ts_ns\/ts_us\/ts_s\)\), got "time,event"/)
  })

  it('an unterminated quote is one InputError with the line', async () => {
    await expect(read('ts,event,text\n1,m,"open\n')).rejects.toThrow(/^x\.csv:\d+: expected CSV \(RFC 4180\)/)
  })

  it('sniff: a header with ts and event', () => {
    expect(sniffCsv(['# c', 'ts,cpu,pid,comm,event,addr'])).toBe(1)
    expect(sniffCsv(['"ts_ns","event"'])).toBe(1)
    expect(sniffCsv(['# tracer: nop'])).toBe(0)
    expect(sniffCsv(['a,b,c'])).toBe(0)
    expect(READERS['csv']).toBeDefined()
  })
})

describe('CSV: any rows', () => {
  it('never throws past the header: a row is a record or a bad-record diagnostic', async () => {
    const fc = await import('fast-check')
    const cell = fc.oneof(fc.constantFrom('', '1', '39.894771', '0x80', 'set_memory_ro', '1.2.3', '-5', ' '), fc.string({maxLength: 6}).map((s) => s.replace(/["\r\n]/g, '')))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(cell, {minLength: 1, maxLength: 6}), {maxLength: 8}), async (rows) => {
        const text = 'ts,cpu,event,addr\n' + rows.map((r) => r.join(',')).join('\n') + '\n'
        const toks = await read(text)
        for (const t of toks) expect('tsNs' in t || ('code' in t && (t as Diagnostic).code === 'bad-record')).toBe(true)
      }),
      {numRuns: 300},
    )
  })
})

/** RawRecord → TraceEvent: kind resolution and argument decoding (src/ingest/normalize.ts). */
import {describe, expect, it} from 'vitest'

import type {RawRecord} from '../../src/ingest/events.js'
import {Normalizer} from '../../src/ingest/normalize.js'
import {int32, parseAddr, uint32} from '../../src/ingest/normalize/values.js'
import {InputError} from '../../src/ingest/source.js'
import {tokenizeText} from '../../src/ingest/trace/index.js'
import {parseKva} from '../../src/model/address.js'

function norm(reader: string, line: string, opts = {}) {
  const {records} = tokenizeText(reader, line + '\n')
  expect(records).toHaveLength(1)
  return new Normalizer(opts).normalize(records[0]!)
}

const P = '          insmod-127     [001] d....    39.894771: '

describe('kind resolution', () => {
  it('from the probed symbol first, whatever the event is called', () => {
    const ev = norm('tracefs', P + 'myprobe: (set_memory_ro+0x0/0x30) addr=0xffffcc0d8602b000 numpages=0x1')
    expect(ev).toMatchObject({kind: 'set_memory', fn: 'set_memory_ro', op: 'ro', probe: 'myprobe'})
  })

  it('compiler clone suffixes do not hide the function (docs/trace-text-quirks.md#clone-suffixes)', () => {
    const ev = norm('tracefs', P + 'cmc: (__change_memory_common.constprop.0+0x0/0xf0) start=0xffff00000a255000 size=0x1000 set_mask=0x80 clear_mask=0x0')
    expect(ev).toMatchObject({kind: 'change_range', fn: '__change_memory_common', size: 4096})
  })

  it('from the event name when the IP is not symbolized (trace-cmd/perf) or absent', () => {
    expect(norm('trace-cmd', '  insmod-1  [000]   1.000000: p_set_memory_x_0:     (ffff80008034a1c8) addr=0xffff800008000000 numpages=0x2')).toMatchObject({kind: 'set_memory', fn: 'set_memory_x', op: 'x', pages: 2, size: 8192})
    expect(norm('trace-cmd', '  insmod-1  [000]   1.000000: dm_invalid:           (ffff80008034a1c8) page=0xfffffdffc0291e40')).toMatchObject({kind: 'set_direct_map', op: 'invalid'})
    expect(norm('perf', '  insmod  1 [000]   1.000000: probe:set_memory_nx__entry: (ffff80008034a1c8) addr=0xffff800008000000 numpages=1')).toMatchObject({kind: 'set_memory', op: 'nx'})
  })

  it('return probes: kind return, fn = the function returned from, ret sign-extended for int functions', () => {
    const tf = norm('tracefs', P + 'split_kernel_leaf_mapping_ret: (update_range_prot+0x20/0xd8 <- split_kernel_leaf_mapping) ret=0xfffffff4')
    expect(tf).toMatchObject({kind: 'return', fn: 'split_kernel_leaf_mapping', ret: -12n})
    // trace-cmd order (func <- site), unsymbolized: the name decides the function
    const tc = norm('trace-cmd', '  insmod-1  [000]   1.000000: set_memory_ro_ret:    (ffff80008034a1c8 <- ffff8000801f0a44) ret=0x0')
    expect(tc).toMatchObject({kind: 'return', fn: 'set_memory_ro', ret: 0n})
    // a pointer-returning function: the value is an address
    const ex = norm('tracefs', P + 'execmem_alloc_ret: (module_memory_alloc+0x30/0x90 <- execmem_alloc) ptr=0xffff800080a00000')
    expect(ex).toMatchObject({kind: 'return', fn: 'execmem_alloc', addr: parseKva('0xffff800080a00000'), ret: 0xffff800080a00000n})
  })

  it('--map NAME=KIND overrides symbol and name; an unknown kind is an InputError', () => {
    const ev = norm('tracefs', P + 'weird: (some_helper+0x0/0x30) addr=0xffff800008000000 numpages=0x1', {map: {weird: 'set_memory_rw'}})
    expect(ev).toMatchObject({kind: 'set_memory', fn: 'set_memory_rw', op: 'rw', size: 4096})
    const ev2 = norm('tracefs', P + 'set_memory_ro: (set_memory_ro+0x0/0x30) addr=0xffff800008000000 numpages=0x1', {map: {set_memory_ro: 'other'}})
    expect(ev2.kind).toBe('other')
    expect(() => new Normalizer({map: {x: 'frobnicate'}})).toThrow(InputError)
  })

  it('markers keep the full text; trace-cmd `print: tracing_mark_write: …` and a kprobe text= arg too', () => {
    expect(norm('tracefs', P + 'tracing_mark_write: capture: insmod crc16')).toMatchObject({kind: 'marker', text: 'capture: insmod crc16'})
    expect(norm('trace-cmd', '  bash-9169  [001]   739.918396: print:                tracing_mark_write: hello marker')).toMatchObject({kind: 'marker', text: 'hello marker'})
    expect(norm('perf', '  bash   900 [000]   845.120300: kprobes:tracing_mark_write: (ffff800080123456) text="capture: workload begin"')).toMatchObject({kind: 'marker', text: 'capture: workload begin'})
  })

  it('module and vmalloc tracepoints', () => {
    expect(norm('tracefs', P + 'module_load: crypto_algapi ')).toMatchObject({kind: 'module_load', text: 'crypto_algapi'})
    expect(norm('tracefs', P + 'module_load: hello_world O')).toMatchObject({kind: 'module_load', text: 'hello_world'})
    expect(norm('tracefs', P + 'module_free: hello_world')).toMatchObject({kind: 'module_free', text: 'hello_world'})
    // va_start is decimal (%lu): 18446683600656252928 = 0xffffc9000523c000
    const a = norm('tracefs', P + 'alloc_vmap_area: va_start: 18446683600656252928 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0')
    expect(a).toMatchObject({kind: 'vm_alloc', addr: parseKva('0xffffc9000523c000'), size: 20480, pages: 5})
    expect(norm('tracefs', P + 'free_vmap_area_noflush: va_start=0xffffc90005244000 nr_lazy=10746 nr_lazy_max=16384')).toMatchObject({kind: 'vm_free', addr: parseKva('0xffffc90005244000')})
  })

  it('function tracer with func-args: signed decimal addresses of 6.15/6.16 (docs/trace-text-quirks.md#radix)', () => {
    // -131387050520576 = 2^64 − 0x777eee797000 = 0xffff888111869000 as unsigned 64
    const ev = norm('tracefs', '  insmod-5  [000] .....    10.000000: set_memory_ro(addr=-131387050520576, numpages=2) <-module_enable_rodata_ro')
    expect(ev).toMatchObject({kind: 'set_memory', op: 'ro', addr: parseKva('0xffff888111869000'), pages: 2, size: 8192})
  })
})

describe('argument decoding', () => {
  it('change_memory_common: numpages → pages × PAGE_SIZE; masks → bigint + names', () => {
    const ev = norm('tracefs', P + 'change_memory_common: (change_memory_common+0x0/0x130) addr=0xffffcc0d8602b000 numpages=0x1 set_mask=0x80 clear_mask=0x8000000000000', {pageSize: 16384})
    expect(ev).toMatchObject({kind: 'change_range', addr: parseKva('0xffffcc0d8602b000'), pages: 1, size: 16384, setMask: 0x80n, clearMask: 0x8000000000000n, setNames: ['RDONLY'], clearNames: ['WRITE']})
  })

  it('__change_memory_common / update_range_prot: size in bytes', () => {
    const ev = norm('tracefs', P + '__change_memory_common: (__change_memory_common+0x0/0xf0) start=0xffff00000a255000 size=0x3000 set_mask=0x8000000000001 clear_mask=0x80')
    expect(ev).toMatchObject({addr: parseKva('0xffff00000a255000'), size: 0x3000, pages: 3, setNames: ['VALID', 'WRITE'], clearNames: ['RDONLY']})
  })

  it('numpages from %x1 without :s32: the upper 32 bits are garbage (AAPCS64) and are dropped', () => {
    const ev = norm('tracefs', P + 'set_memory_ro: (set_memory_ro+0x0/0x30) addr=0xffff800008000000 numpages=0xffff800000000004')
    expect(ev).toMatchObject({pages: 4, size: 16384})
    expect(int32('0xffffffff')).toBe(-1)
    expect(uint32('0x1ffffffff')).toBe(0xffffffff)
    expect(int32('-5')).toBe(-5)
  })

  it('set_memory_valid enable; set_direct_map_valid_noflush nr/valid', () => {
    expect(norm('tracefs', P + 'set_memory_valid: (set_memory_valid+0x0/0x30) addr=0xffff000012345000 numpages=0x1 enable=0x0')).toMatchObject({kind: 'set_memory_valid', enable: false, pages: 1})
    expect(norm('tracefs', P + 'set_direct_map_valid_noflush: (set_direct_map_valid_noflush+0x0/0x30) page=0xfffffdffc0291e40 nr=0x2 valid=0x1')).toMatchObject({kind: 'set_direct_map', op: 'valid', pages: 2, enable: true, page: parseKva('0xfffffdffc0291e40')})
  })

  it('set_direct_map page → VA with a vmemmap base; counted when it cannot be done', () => {
    const line = P + 'set_direct_map_invalid_noflush: (set_direct_map_invalid_noflush+0x0/0x50) page=0xfffffdffc0291e40'
    const {records} = tokenizeText('tracefs', line + '\n')
    const n = new Normalizer({vmemmapStart: parseKva('0xfffffdffc0000000'), pageOffset: parseKva('0xffff000000000000')})
    // (0x291e40 / 64) × 4096 = 0xa479000
    expect(n.normalize(records[0]!).addr).toBe(parseKva('0xffff00000a479000'))
    expect(n.stats.directMapPagesWithoutVmemmap).toBe(0)
    const m = new Normalizer()
    expect(m.normalize(records[0]!).addr).toBeUndefined()
    expect(m.stats.directMapPagesWithoutVmemmap).toBe(1)
    // a pointer that is not a struct page boundary
    const bad = {...records[0]!, args: {page: '0xfffffdffc0291e41'}} as RawRecord
    expect(n.normalize(bad).addr).toBeUndefined()
    expect(n.stats.directMapPagesWithoutVmemmap).toBe(1)
  })

  it('split_kernel_leaf_mapping start/end; split primitives keep their raw args', () => {
    expect(norm('tracefs', P + 'split_kernel_leaf_mapping: (split_kernel_leaf_mapping+0x0/0xd8) start=0xffff000008df8000 end=0xffff000008df9000')).toMatchObject({kind: 'split_call', addr: parseKva('0xffff000008df8000'), end: parseKva('0xffff000008df9000'), size: 4096})
    expect(norm('tracefs', P + 'split_pmd: (split_pmd+0x0/0xfc) pmdp=0xffff00007fffe230 pmd=0x78000048c00705')).toMatchObject({kind: 'split_primitive', fn: 'split_pmd', args: {pmdp: '0xffff00007fffe230', pmd: '0x78000048c00705'}})
  })

  it('a bad address is kept as an event with addr undefined, reported with file:line', () => {
    const {records} = tokenizeText('tracefs', P + 'set_memory_ro: (set_memory_ro+0x0/0x30) addr=0x1234 numpages=0x1\n')
    const n = new Normalizer()
    const got: string[] = []
    n.onDiagnostic = (d) => got.push(d.message)
    const ev = n.normalize(records[0]!)
    expect(ev.addr).toBeUndefined()
    expect(ev.addrText).toBe('0x1234')
    expect(n.stats.badArgs).toBe(1)
    expect(got).toEqual(["<text>:1: set_memory_ro: expected a kernel address value, got '0x1234'"])
  })

  it('vfree(NULL) is a call with nothing to free (mm/vmalloc.c vfree(), v7.3: `if (!addr) return;`), not a bad value', () => {
    // The 7.3 capture has 16 such hits (a kworker's vfree(0x0) after freeing module init sections).
    const {records} = tokenizeText('tracefs', '     kworker/0:0-9       [000] d....   492.206065: vfree: (vfree+0x0/0x2a0) addr=0x0\n' + P + 'vfree: (vfree+0x0/0x2a0) addr=0x1234\n')
    const n = new Normalizer()
    const got: string[] = []
    n.onDiagnostic = (d) => got.push(d.message)
    const [nul, bad] = records.map((r) => n.normalize(r))
    expect(nul).toMatchObject({kind: 'vm_free', fn: 'vfree'})
    expect(nul!.addr).toBeUndefined()
    expect(bad!.addr).toBeUndefined()
    // Only the second, a non-kernel address that is not NULL, is a bad value.
    expect(got).toEqual(["<text>:2: vfree: expected a kernel address value, got '0x1234'"])
  })

  it('parseAddr: every radix the formats use (docs/trace-text-quirks.md#radix)', () => {
    const k = parseKva('0xffffc90000000000')
    expect(parseAddr('0xffffc90000000000')).toBe(k)
    expect(parseAddr('0xFFFFC90000000000')).toBe(k)
    expect(parseAddr('ffffc90000000000')).toBe(k) // bare hex (%lx)
    expect(parseAddr('18446683600656252928')).toBe(parseKva('0xffffc9000523c000')) // %lu
    expect(parseAddr('-60473139527680')).toBe(k) // signed: 2^64 − 60473139527680 = 0xffffc90000000000
    expect(parseAddr('0x7ffef36c6879')).toBeUndefined() // user address
    expect(parseAddr('12345')).toBeUndefined()
    expect(parseAddr('0xfffg000000000000')).toBeUndefined()
  })
})

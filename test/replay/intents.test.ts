import {describe, expect, it} from 'vitest'

import type {EventKind, TraceEvent} from '../../src/ingest/events.js'
import {parseKva} from '../../src/model/address.js'
import {IntentAssembler, aliasPagesOf} from '../../src/replay/intents.js'

let line = 0
function ev(kind: EventKind, fn: string, pid: number, addr?: string, extra: Partial<TraceEvent> = {}): TraceEvent {
  line++
  return {kind, fn, probe: fn, tsNs: BigInt(line), cpu: 0, pid, comm: 'insmod', addr: addr ? parseKva(addr) : undefined, src: {file: 't', line}, ...extra}
}

const LIN_START = parseKva('0xffff000000000000')!
const LIN_END = parseKva('0xffff800000000000')!

describe('IntentAssembler', () => {
  it('groups a 6.1 rodata=full set_memory_ro call (as in samples/debian-6.1-qemu trace.txt lines 15-20)', () => {
    const a = new IntentAssembler()
    const out = [
      ev('set_memory', 'set_memory_ro', 127, '0xffffcc0d8602b000'),
      ev('change_range', 'change_memory_common', 127, '0xffffcc0d8602b000'),
      ev('change_range', '__change_memory_common', 127, '0xffff00000a255000', {size: 4096}),
      ev('change_range', '__change_memory_common', 127, '0xffff00000a256000', {size: 4096}),
      ev('change_range', '__change_memory_common', 127, '0xffff00000a257000', {size: 4096}),
      ev('change_range', '__change_memory_common', 127, '0xffff00000a258000', {size: 4096}),
      ev('change_range', '__change_memory_common', 127, '0xffffcc0d8602b000', {size: 4096}),
      ev('set_memory', 'set_memory_ro', 127, '0xffffcc0d8602c000'),
    ].flatMap((e) => a.push(e))
    expect(out).toHaveLength(1)
    expect(out[0]!.ev.fn).toBe('set_memory_ro')
    expect(out[0]!.nested).toHaveLength(6)
    // The four linear-alias pages, not the vmalloc-range call.
    expect(aliasPagesOf(out[0]!, LIN_START, LIN_END)!.map((p) => p.addr)).toEqual(
      ['0xffff00000a255000', '0xffff00000a256000', '0xffff00000a257000', '0xffff00000a258000'].map((x) => parseKva(x)),
    )
    expect(a.flush()).toHaveLength(1)
  })

  it('6.19: set_direct_map + update_range_prot + split probes are one call each; alias from the shallowest depth', () => {
    const a = new IntentAssembler()
    const out = [
      ev('set_direct_map', 'set_direct_map_default_noflush', 103),
      ev('change_range', 'update_range_prot', 103, '0xffff00000a478000'),
      ev('split_call', 'split_kernel_leaf_mapping', 103, '0xffff00000a478000'),
      ev('split_call', 'split_kernel_leaf_mapping_locked', 103, '0xffff00000a479000'),
      ev('return', 'split_kernel_leaf_mapping', 103),
      ev('set_direct_map', 'set_direct_map_default_noflush', 103),
      ev('change_range', 'update_range_prot', 103, '0xffff00000a479000'),
    ].flatMap((e) => a.push(e))
    expect(out).toHaveLength(1)
    expect(out[0]!.nested.map((n) => n.fn)).toEqual(['update_range_prot', 'split_kernel_leaf_mapping', 'split_kernel_leaf_mapping_locked', 'split_kernel_leaf_mapping'])
    const rest = a.flush()
    expect(rest).toHaveLength(1)
    expect(aliasPagesOf(rest[0]!, LIN_START, LIN_END)!.map((p) => p.addr)).toEqual([parseKva('0xffff00000a479000')])
  })

  it('bare range calls without an outer probe: each __change_memory_common is its own call with its update_range_prot', () => {
    const a = new IntentAssembler()
    const out = [
      ev('change_range', '__change_memory_common', 5, '0xffff000000001000'),
      ev('change_range', 'update_range_prot', 5, '0xffff000000001000'),
      ev('change_range', '__change_memory_common', 5, '0xffff000000002000'),
      ev('change_range', 'update_range_prot', 5, '0xffff000000002000'),
    ].flatMap((e) => a.push(e))
    const all = [...out, ...a.flush()]
    expect(all.map((i) => [i.ev.fn, i.nested.length])).toEqual([
      ['__change_memory_common', 1],
      ['__change_memory_common', 1],
    ])
  })

  it('interleaved pids on different CPUs keep their own calls and the output keeps start order', () => {
    const a = new IntentAssembler()
    const out = [
      ev('set_memory', 'set_memory_x', 1, '0xffff800080000000', {cpu: 0}),
      ev('set_memory', 'set_memory_nx', 2, '0xffff800080100000', {cpu: 1}),
      ev('change_range', 'change_memory_common', 2, '0xffff800080100000', {cpu: 1}),
      ev('change_range', 'change_memory_common', 1, '0xffff800080000000', {cpu: 0}),
      ev('marker', 'tracing_mark_write', 3, undefined, {text: 'capture: x', cpu: 1}),
    ].flatMap((e) => a.push(e))
    const all = [...out, ...a.flush()]
    expect(all.map((i) => [i.ev.fn, i.ev.pid, i.nested.length])).toEqual([
      ['set_memory_x', 1, 1],
      ['set_memory_nx', 2, 1],
      ['tracing_mark_write', 3, 0],
    ])
  })

  it('another task on the same CPU ends the open call (no unbounded open groups)', () => {
    const a = new IntentAssembler()
    const first = [
      ev('set_memory', 'set_memory_ro', 10, '0xffff800080000000', {cpu: 0}),
      ev('change_range', 'change_memory_common', 10, '0xffff800080000000', {cpu: 0}),
      // pid 11 runs on CPU 0: pid 10's call is over, so its later hit is a new call.
      ev('set_direct_map', 'set_direct_map_invalid_noflush', 11, undefined, {cpu: 0}),
    ].flatMap((e) => a.push(e))
    expect(first.map((i) => [i.ev.fn, i.nested.length])).toEqual([['set_memory_ro', 1]])
    const rest = [ev('change_range', '__change_memory_common', 10, '0xffff000000001000', {cpu: 0}), ...[]].flatMap((e) => a.push(e))
    expect([...rest, ...a.flush()].map((i) => [i.ev.fn, i.nested.length])).toEqual([
      ['set_direct_map_invalid_noflush', 0],
      ['__change_memory_common', 0],
    ])
  })

  it('7.3: vm_unmap_aliases()\'s purge_vmap_area_lazy inside change_memory_common() does not end the call (ampere1a trace)', () => {
    // pageattr.c change_memory_common() (v7.3): alias loop, vm_unmap_aliases(), then
    // __change_memory_common(start, …) → update_range_prot(start, …). The tracepoint fires between.
    const a = new IntentAssembler()
    const out = [
      ev('set_memory', 'set_memory_ro', 160, '0xffffa3ecd9b59000', {pages: 1}),
      ev('change_range', 'change_memory_common', 160, '0xffffa3ecd9b59000', {pages: 1}),
      ev('change_range', 'update_range_prot', 160, '0xfff0000016200000', {size: 4096}),
      ev('split_call', 'split_kernel_leaf_mapping', 160, '0xfff0000016200000'),
      ev('return', 'split_kernel_leaf_mapping', 160),
      ev('vm_purge', 'purge_vmap_area_lazy', 160),
      ev('change_range', 'update_range_prot', 160, '0xffffa3ecd9b59000', {size: 4096}),
      ev('split_call', 'split_kernel_leaf_mapping', 160, '0xffffa3ecd9b59000'),
      ev('return', 'split_kernel_leaf_mapping', 160),
      ev('set_memory', 'set_memory_nx', 160, '0xffffa3ecd9b57000', {pages: 1}),
    ].flatMap((e) => a.push(e))
    // The set_memory_ro call with every inner hit, then the purge as its own intent behind it.
    expect(out.map((i) => i.type)).toEqual(['set_memory', 'vm_purge'])
    expect(out[0]!.nested.map((n) => n.fn)).toEqual([
      'change_memory_common',
      'update_range_prot',
      'split_kernel_leaf_mapping',
      'split_kernel_leaf_mapping',
      'update_range_prot',
      'split_kernel_leaf_mapping',
      'split_kernel_leaf_mapping',
    ])
    expect(a.orphans).toBe(0)
  })

  it('a return probe of __vmalloc_node_range_noprof is not an inner hit of an open set_direct_map call', () => {
    const a = new IntentAssembler()
    const out = [
      ev('set_direct_map', 'set_direct_map_default_noflush', 9),
      ev('return', '__vmalloc_node_range_noprof', 9),
      ev('change_range', 'update_range_prot', 9, '0xffff00000a479000'),
      ev('set_direct_map', 'set_direct_map_default_noflush', 9),
    ].flatMap((e) => a.push(e))
    expect(out.map((i) => [i.type, i.nested.length])).toEqual([
      ['set_direct_map', 1],
      ['other', 0],
    ])
  })
})

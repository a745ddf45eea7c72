/**
 * Payload decoding against the text reader on libtraceevent's rendering of the same payload.
 * The real capture has no kretprobe, so the return probe's format here is the kernel's own
 * (kernel/trace/trace_probe.c __set_print_fmt() for a return probe: `(%lx <- %lx)` of
 * __probe_func, __probe_ret_ip, then the fetchargs), and the report line is what libtraceevent
 * prints for it: bare hex, function first (trace-cmd report; quirk of the (func <- site) order).
 */
import {describe, expect, it} from 'vitest'

import {Normalizer} from '../../../src/ingest/normalize.js'
import {tokenizeText} from '../../../src/ingest/trace/index.js'
import {EventDecoder} from '../../../src/ingest/trace/tracedat/decode.js'
import {type EventFormat, parseEventFormat} from '../../../src/ingest/trace/tracedat/format.js'
import type {TraceDatMeta} from '../../../src/ingest/trace/tracedat/header.js'
import {evalConst} from '../../../src/ingest/trace/tracedat/const-expr.js'

const RET = `name: split_kernel_leaf_mapping_ret
ID: 1600
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;
\tfield:u64 ret;\toffset:24;\tsize:8;\tsigned:0;

print fmt: "(%lx <- %lx) ret=0x%Lx", REC->__probe_func, REC->__probe_ret_ip, REC->ret
`

function meta(...formats: EventFormat[]): TraceDatMeta {
  return {
    le: true,
    header: {timestampOffset: 0, commitOffset: 8, commitSize: 8, dataOffset: 16, dataSize: 4080},
    events: new Map(formats.map((f) => [f.id, f])),
    cmdlines: new Map([[88, 'insmod']]),
  } as unknown as TraceDatMeta
}

describe('trace.dat payload decoding', () => {
  it('a kretprobe gives the record of its trace-cmd report line', () => {
    const f = parseEventFormat(RET, 'kprobes') as EventFormat
    const b = Buffer.alloc(32)
    b.writeUInt16LE(1600, 0)
    b.writeInt32LE(88, 4)
    b.writeBigUInt64LE(0xffff9a552dac9330n, 8)
    b.writeBigUInt64LE(0xffff9a552dac1234n, 16)
    b.writeBigUInt64LE(0xfffffff4n, 24)
    const dec = new EventDecoder(meta(f))
    const p = {view: new DataView(b.buffer, b.byteOffset, b.length), buf: b, start: 0, len: 32}
    expect(dec.eventId(p)).toBe(1600)
    const rec = dec.decode(p, 1600, 2848612000n, 1, {file: 'x.dat', line: 0})!
    const line = '          insmod-88    [001]     2.848612: split_kernel_leaf_mapping_ret: (ffff9a552dac9330 <- ffff9a552dac1234) ret=0xfffffff4'
    const text = tokenizeText('trace-cmd', line).records[0]!
    const n = new Normalizer()
    const a = n.normalize(rec)
    const t = n.normalize(text)
    expect({...a, src: undefined}).toEqual({...t, src: undefined})
    expect(a.kind).toBe('return')
    // int return value sign-extended from 32 bits: -ENOMEM
    expect(a.ret).toBe(-12n)
  })

  it('evaluates __print_flags constants as C does', () => {
    expect(evalConst('(1UL << 12)')).toBe(4096n)
    expect(evalConst('0x10 | (1 << 2)')).toBe(20n)
    expect(evalConst('~0UL')).toBe(2n ** 64n - 1n)
    expect(evalConst('REC->x')).toBeUndefined()
  })
})

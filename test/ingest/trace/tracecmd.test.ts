/** trace-cmd report tokenizer on verbatim trace-cmd report output (tracecmd/trace-read.c). */
import {describe, expect, it} from 'vitest'

import {detectFormat, tokenizeText} from '../../../src/ingest/trace/index.js'

const rec = (text: string) => tokenizeText('trace-cmd', text)

describe('trace-cmd report', () => {
  it('3.1.6 output: no flags, 5-wide pid, event names padded to 20 columns, print = marker', () => {
    const text = `cpus=2
            true-9172  [001]   739.914242: sched_process_exec:   filename=<path elided> pid=9172 old_pid=9172
            bash-9171  [000]   739.915299: alloc_vmap_area:      va_start: 18446683600670310400 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
            bash-9169  [001]   739.918396: print:                tracing_mark_write: hello marker
`
    const {records, diagnostics} = rec(text)
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.cpu, r.tsNs, r.event])).toEqual([
      ['true', 9172, 1, 739_914_242_000n, 'sched_process_exec'],
      ['bash', 9171, 0, 739_915_299_000n, 'alloc_vmap_area'],
      ['bash', 9169, 1, 739_918_396_000n, 'print'],
    ])
    expect(records[0]!.args).toEqual({filename: '<path', pid: '9172', old_pid: '9172'})
    expect(records[1]!.args.va_start).toBe('18446683600670310400')
    expect(records[2]!.text).toBe('tracing_mark_write: hello marker')
    expect(detectFormat(text.split('\n')).reader?.name).toBe('trace-cmd')
  })

  it('-l (CPU glued to flags, comm cut to 8), -t (ns) and -R', () => {
    const {records, diagnostics} = rec(`    true-9172    1.....   739.914242: sched_process_exec:   filename=x pid=9172 old_pid=9172
            true-9172  [001]   739.914242143: sched_process_exec:   filename=x pid=9172 old_pid=9172
            bash-9171  [000]   739.915299: alloc_vmap_area:       addr=18446683600670310400 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
`)
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.cpu, r.tsNs])).toEqual([
      ['true', 9172, 1, 739_914_242_000n],
      ['true', 9172, 1, 739_914_242_143n],
      ['bash', 9171, 0, 739_915_299_000n],
    ])
    expect(records[2]!.args.addr).toBe('18446683600670310400')
  })

  it('EVENTS DROPPED with and without a count; plugin-rendered sched_switch kept as text', () => {
    const {records, stats} = rec(`cpus=2
CPU:0 [EVENTS DROPPED]
            true-9420  [000]   747.594889: sched_switch:         true:9420 [120] X ==> bash:9273 [120]
CPU:7 [204600 EVENTS DROPPED]
`)
    expect(records[0]).toMatchObject({event: 'sched_switch', text: 'true:9420 [120] X ==> bash:9273 [120]'})
    expect(stats.lostMarkers).toBe(2)
    expect(stats.lostEvents).toBe(204600)
  })

  it('≥3.3 with flags; 2018 collapsed spacing with the trailing space of module_load; version header', () => {
    const {records, diagnostics} = rec(`version = 6
cpus=8
           sleep-89142 [001] ...1. 162573.215752: function:             mutex_unlock
           sleep-89142 [001] ..... 162573.215755: lock_release:         0xffffffff855e7448 trace_types_lock
        modprobe-1687  [000]   102.001424: module_load: sysimgblt 
        modprobe-1687  [000]   102.001519: module_put:  sysimgblt call_site=do_init_module refcnt=1
`)
    expect(diagnostics).toEqual([])
    expect(records[0]!.probeSymbol).toBe('mutex_unlock')
    expect(records.map((r) => [r.event, r.text])).toEqual([
      ['function', 'mutex_unlock'],
      ['lock_release', '0xffffffff855e7448 trace_types_lock'],
      ['module_load', 'sysimgblt '],
      ['module_put', 'sysimgblt call_site=do_init_module refcnt=1'],
    ])
  })

  it('kprobes as libtraceevent renders them: bare-hex IP, return probes (func <- site)', () => {
    const {records} = rec(`          insmod-1532  [002]   845.120113: set_memory_ro:        (ffff80008034a1c8) addr=0xffff80007a3f0000 numpages=2
          insmod-1532  [002]   845.120200: set_memory_ro_ret:    (ffff80008034a1c8 <- ffff8000801f0a44) ret=0x0
`)
    expect(records[0]).toMatchObject({probeSymbol: undefined, probeIp: '0xffff80008034a1c8', args: {addr: '0xffff80007a3f0000', numpages: '2'}})
    // the function is the first address (REC->__probe_func), unlike the tracefs text
    expect(records[1]).toMatchObject({probeIp: '0xffff80008034a1c8', returnFrom: '0xffff80008034a1c8', args: {ret: '0x0'}})
  })
})

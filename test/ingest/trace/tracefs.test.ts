/**
 * tracefs tokenizer on verbatim tracefs lines (kernel/trace/trace_output.c) (input and expected
 * records side by side).
 */
import {describe, expect, it} from 'vitest'

import {tokenizeText} from '../../../src/ingest/trace/index.js'

const rec = (text: string) => tokenizeText('tracefs', text)

describe('tracefs event lines', () => {
  it('modern header: 5 flags, 7-wide pid; decimal va_start tracepoint; marker; comm with a dash', () => {
    const {records, diagnostics} = rec(`# tracer: nop
#
# entries-in-buffer/entries-written: 6/6   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
            bash-7189    [000] .....   692.763082: alloc_vmap_area: va_start: 18446683600656252928 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
            bash-7189    [000] ...1.   692.771445: tracing_mark_write: marker from capture
     kworker/1:0-23      [001] .....   692.787036: free_vmap_area_noflush: va_start=0xffffc90005244000 nr_lazy=10746 nr_lazy_max=16384
`)
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.cpu, r.tsNs, r.event])).toEqual([
      ['bash', 7189, 0, 692_763_082_000n, 'alloc_vmap_area'],
      ['bash', 7189, 0, 692_771_445_000n, 'tracing_mark_write'],
      ['kworker/1:0', 23, 1, 692_787_036_000n, 'free_vmap_area_noflush'],
    ])
    expect(records[0]!.args).toEqual({
      va_start: '18446683600656252928',
      size: '20480',
      align: '16384',
      vstart: '0xffffc90000000000',
      vend: '0xffffe8ffffffffff',
      failed: '0',
    })
    expect(records[1]!.text).toBe('marker from capture')
    expect(records[1]!.args).toEqual({})
    expect(records[2]!.args.va_start).toBe('0xffffc90005244000')
  })

  it('TGID column, irq-info off with the counter clock, truncated comm', () => {
    const {records, diagnostics} = rec(`            bash-7268    (   7268) [001] .....   698.836294: alloc_vmap_area: va_start: 18446683600656941056 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
 aarch64-linux-g-7517    [000]             2: alloc_vmap_area: va_start: 18446683600659234816 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
           <...>-12      (-------) [003] d..2.   1.000001: foo: x=1
`)
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.tgid, r.cpu, r.tsNs])).toEqual([
      ['bash', 7268, 7268, 1, 698_836_294_000n],
      // counter clock: the raw count, not nanoseconds
      ['aarch64-linux-g', 7517, undefined, 0, 2n],
      ['<...>', 12, undefined, 3, 1_000_001_000n],
    ])
  })

  it('comm with a dash and a space keeps the last -pid (docs/trace-text-quirks.md#comm); 4-flag 5.12 layout; 1000+ CPUs', () => {
    const {records} = rec(`     kworker/0:0-eve-9       [000] ...1    16.185877: e: a=1
     Web Content-4321    [1024] d...  16.185878: e: a=2
`)
    expect(records.map((r) => [r.comm, r.pid, r.cpu])).toEqual([
      ['kworker/0:0-eve', 9, 0],
      ['Web Content', 4321, 1024],
    ])
  })
})

describe('probe payloads', () => {
  it('kprobe with register args (32-bit ARM example)', () => {
    const {records} = rec(`              sh-75      [000] .....    33.793362: myprobe: (sys_clone+0xc/0xa0) r0=0x1200011 r1=0x0 r2=0x0
`)
    expect(records[0]).toMatchObject({event: 'myprobe', probeSymbol: 'sys_clone', args: {r0: '0x1200011', r1: '0x0', r2: '0x0'}})
  })

  it('kretprobe: (site <- func), function after the arrow', () => {
    const {records} = rec(`           <...>-134     [007] ...1    16.185877: r_full_proxy_read_0: (vfs_read+0x98/0x180 <- full_proxy_read)
`)
    expect(records[0]).toMatchObject({event: 'r_full_proxy_read_0', returnFrom: 'full_proxy_read', probeSymbol: undefined, args: {}})
  })

  it('fprobe entry/exit with BTF args', () => {
    const {records} = rec(`               sh-70      [000] ...1.   335.883195: vfs_read__entry: (vfs_read+0x4/0x340) file=0xffff888005cf9a80 buf=0x7ffef36c6879 count=1 pos=0xffffc900005aff08
               sh-70      [000] .....   335.883208: vfs_read__exit: (ksys_read+0x75/0x100 <- vfs_read) arg1=1
`)
    expect(records[0]).toMatchObject({probeSymbol: 'vfs_read', args: {file: '0xffff888005cf9a80', buf: '0x7ffef36c6879', count: '1', pos: '0xffffc900005aff08'}})
    expect(records[1]).toMatchObject({returnFrom: 'vfs_read', args: {arg1: '1'}})
  })

  it('old layout without flags, bare hex values, `$retval` name', () => {
    const {records} = rec(`             <...>-1447  [001] 1038282.286875: myprobe: (do_sys_open+0x0/0xd6) dfd=3 filename=7fffd1ec4440 flags=8000 mode=0
             <...>-1447  [001] 1038282.286878: myretprobe: (sys_openat+0xc/0xe <- do_sys_open) $retval=fffffffffffffffe
`)
    expect(records[0]).toMatchObject({tsNs: 1_038_282_286_875_000n, probeSymbol: 'do_sys_open', args: {dfd: '3', filename: '7fffd1ec4440', flags: '8000', mode: '0'}})
    expect(records[1]).toMatchObject({returnFrom: 'do_sys_open', args: {$retval: 'fffffffffffffffe'}})
  })

  it('module suffix, unsymbolized IP, strings with spaces, arrays, chars and (fault)', () => {
    const {records} = rec(`  insmod-1532    [002] .....   845.120113: p1: (nft_do_chain+0x0/0x5c0 [nf_tables]) s="a b \\"c\\"" arr={1,2,3} c='x' f=(fault) v=-5
  insmod-1532    [002] .....   845.120114: p2: (0xffff800008012345) addr=0x1
`)
    expect(records[0]).toMatchObject({
      probeSymbol: 'nft_do_chain',
      probeModule: 'nf_tables',
      args: {s: '"a b \\"c\\""', arr: '{1,2,3}', c: "'x'", f: '(fault)', v: '-5'},
    })
    expect(records[1]).toMatchObject({probeSymbol: undefined, probeIp: '0xffff800008012345', args: {addr: '0x1'}})
  })

  it('the illustrative Recipe-A arm64 line', () => {
    const {records} = rec(`          insmod-1532    [002] .....   845.120113: set_memory_ro: (set_memory_ro+0x0/0x28) addr=0xffff80007a3f0000 numpages=3
`)
    expect(records[0]).toMatchObject({comm: 'insmod', pid: 1532, cpu: 2, event: 'set_memory_ro', probeSymbol: 'set_memory_ro', args: {addr: '0xffff80007a3f0000', numpages: '3'}})
  })

  it('options/fields: the "(decimal)" after each value is skipped', () => {
    const {records, diagnostics} = rec(`  bash-1 [000] ..... 1.000000: alloc_vmap_area: addr=0xffffc90006084000 (-60473038323712) size=0x5000 (20480) align=0x4000 (16384) failed=0x0 (0)
  bash-1 [000] ..... 1.000001: p: (set_memory_ro+0x0/0x30) addr=0xffff800008000000 (-140737354137600) numpages=0x1 (1)
`)
    expect(diagnostics).toEqual([])
    expect(records[0]!.args).toMatchObject({addr: '0xffffc90006084000', size: '0x5000', align: '0x4000', failed: '0x0'})
    expect(records[1]!.args).toEqual({addr: '0xffff800008000000', numpages: '0x1'})
  })
})

describe('stack traces, loss and special lines', () => {
  it('attaches a <stack trace> to the preceding record of the same CPU and PID, even across another CPU', () => {
    const {records, diagnostics, stats} = rec(`            bash-7268    (   7268) [001] .....   698.836294: alloc_vmap_area: va_start: 18446683600656941056 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
            init-1       (      1) [000] .....   698.837000: tracing_mark_write: other cpu
            bash-7268    (   7268) [001] .....   698.839590: <stack trace>
 => trace_event_raw_event_alloc_vmap_area
 => alloc_vmap_area+0x684/0xe80
 => __get_vm_area_node+0xcd/0x140 <ffffffff8160a77d>
 => __vmalloc_node_range_noprof
`)
    expect(diagnostics).toEqual([])
    expect(records).toHaveLength(2)
    expect(records[0]!.stack).toEqual([
      'trace_event_raw_event_alloc_vmap_area',
      'alloc_vmap_area+0x684/0xe80',
      '__get_vm_area_node+0xcd/0x140',
      '__vmalloc_node_range_noprof',
    ])
    expect(records[1]!.stack).toBeUndefined()
    expect(stats.stacks).toBe(1)
  })

  it('a stack with no record of that CPU/PID before it is reported, not attached elsewhere', () => {
    const {records, diagnostics, stats} = rec(`            bash-1       [001] .....   1.000000: e: a=1
            bash-2       [001] .....   1.000001: <stack trace>
 => foo
`)
    expect(records[0]!.stack).toBeUndefined()
    expect(stats.orphanStacks).toBe(1)
    expect(diagnostics.map((d) => d.code)).toEqual(['orphan-stack'])
    expect(diagnostics[0]!.message).toMatch(/^<text>:2: /)
  })

  it('loss markers with and without a count, buffer-started annotation, overwritten header', () => {
    const {records, stats, diagnostics} = rec(`# tracer: nop
# entries-in-buffer/entries-written: 186/726   #P:2
CPU:1 [LOST 801 EVENTS]
     rcu_preempt-15      [001] d..2.   707.638969: sched_switch: prev_comm=rcu_preempt prev_pid=15 prev_prio=120 prev_state=I ==> next_comm=true next_pid=7879 next_prio=120
CPU:0 [LOST 830 EVENTS]
CPU:3 [LOST EVENTS]
##### CPU 1 buffer started ####
          <idle>-0       [000] dNh2.   707.642334: sched_wakeup: comm=mandb pid=7754 prio=120 target_cpu=000
`)
    expect(records.map((r) => [r.comm, r.pid, r.event])).toEqual([
      ['rcu_preempt', 15, 'sched_switch'],
      ['<idle>', 0, 'sched_wakeup'],
    ])
    expect(stats.lostEvents).toBe(1631)
    expect(stats.lostMarkers).toBe(3)
    expect(stats.lostByCpu).toEqual({'0': 830, '1': 801, '3': 0})
    expect(stats.overwritten).toBe(540)
    expect(diagnostics.map((d) => d.code)).toEqual(['overwritten', 'lost-events', 'lost-events', 'lost-events', 'cpu-started'])
  })

  it('[LINE TOO BIG] marks the record truncated', () => {
    const {records, stats} = rec(`           <...>-859     [001] .....   141.118951: tracing_mark_write[LINE TOO BIG]
           <...>-859     [001] .....   141.118952: tracing_mark_write: aaaa[LINE TOO BIG]
`)
    expect(records.map((r) => [r.event, r.text, r.truncated])).toEqual([
      ['tracing_mark_write', '', true],
      ['tracing_mark_write', 'aaaa', true],
    ])
    expect(stats.truncatedLines).toBe(2)
  })

  it('multi-line marker text is attached to the marker; other stray lines are reported with file:line', () => {
    const {records, diagnostics, stats} = rec(`            bash-1       [000] .....   1.000000: tracing_mark_write: first line
second line of the same write
            bash-1       [000] .....   1.000001: p: (set_memory_ro+0x0/0x30) addr=0x1
stray garbage
`)
    expect(records[0]!.text).toBe('first line\nsecond line of the same write')
    expect(stats.continuationLines).toBe(1)
    // The continuation is reported too (R09: junk after a marker must not vanish into its text).
    expect(diagnostics).toHaveLength(2)
    expect(diagnostics[0]).toMatchObject({code: 'marker-continuation', src: {file: '<text>', line: 2}})
    expect(diagnostics[1]).toMatchObject({code: 'unrecognized', src: {file: '<text>', line: 4}})
    expect(diagnostics[1]!.message).toBe("<text>:4: expected a tracefs event line `comm-pid [cpu] flags ts: event: payload`, got 'stray garbage'")
  })

  it('a cut last line (no newline) is reported as truncated, not as an error', () => {
    const {records, diagnostics} = rec(`            bash-1       [000] .....   1.000000: p: (set_memory_ro+0x0/0x30) addr=0x1
            bash-1       [000] .....   1.0`)
    expect(records).toHaveLength(1)
    expect(diagnostics.map((d) => d.code)).toEqual(['truncated'])
  })

  it('duplicate events of a second concatenated `cat trace` snapshot are dropped and counted (docs/trace-text-quirks.md#repeated-snapshots)', () => {
    const snap1 = `# tracer: nop
            bash-1       [000] .....   1.000000: e: a=1
            bash-1       [001] .....   1.000001: e: a=2
`
    const snap2 = `# tracer: nop
            bash-1       [000] .....   1.000000: e: a=1
            bash-1       [001] .....   1.000001: e: a=2
            bash-1       [000] .....   1.000002: e: a=3
`
    const {records, stats} = rec(snap1 + snap2)
    expect(records.map((r) => r.args.a)).toEqual(['1', '2', '3'])
    expect(stats.duplicates).toBe(2)
  })
})

describe('function tracer, latency format, raw, quoting', () => {
  it('function tracer lines with and without func-args', () => {
    const {records} = rec(`  <idle>-0       [005] d..3.  1050.656188: get_next_timer_interrupt(basej=0x10002dbad, basem=0xf45fd7d300) <-tick_nohz_next_event
  insmod-5       [000] .....    10.000000: set_memory_ro(addr=0xffff800008000000, numpages=2) <-module_enable_rodata_ro
  bash-6         [000] .....    10.000001: dummy_xmit(skb = 0x82904800, dev = 0x882d0000) <-dev_hard_start_xmit
  bash-6         [000] .....    10.000002: sys_close <-system_call_fastpath
  bash-6         [000] .....    10.000003: simple_strtoul+0x6/0xa0 <-kstrtoul
`)
    expect(records.map((r) => [r.event, r.probeSymbol, r.caller, r.args])).toEqual([
      ['function', 'get_next_timer_interrupt', 'tick_nohz_next_event', {basej: '0x10002dbad', basem: '0xf45fd7d300'}],
      ['function', 'set_memory_ro', 'module_enable_rodata_ro', {addr: '0xffff800008000000', numpages: '2'}],
      ['function', 'dummy_xmit', 'dev_hard_start_xmit', {skb: '0x82904800', dev: '0x882d0000'}],
      ['function', 'sys_close', 'system_call_fastpath', {}],
      ['function', 'simple_strtoul', 'kstrtoul', {}],
    ])
  })

  it('latency-format: parsed with relative µs and a warning naming the option', () => {
    const {records, diagnostics} = rec(`# nop latency trace v1.1.5 on 6.18.44-fc-v445
# --------------------------------------------------------------------
#  cmd     pid     |||||| time  |   caller     
#     \\   /        ||||||  \\    |    /       
    bash-7624      0..... 33409us : alloc_vmap_area: va_start: 18446683600659922944 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
`)
    expect(diagnostics.map((d) => d.code)).toEqual(['latency-format'])
    expect(diagnostics[0]!.message).toMatch(/options\/latency-format/)
    expect(records[0]).toMatchObject({comm: 'bash', pid: 7624, cpu: 0, tsNs: 33_409_000n, event: 'alloc_vmap_area'})
  })

  it('options/raw is refused with the option to turn off', () => {
    const {records, diagnostics} = rec(`9970 0 769279772655 type: 716
`)
    expect(records).toEqual([])
    expect(diagnostics[0]!.code).toBe('raw-format')
    expect(diagnostics[0]!.message).toMatch(/echo 0 > \/sys\/kernel\/tracing\/options\/raw/)
  })

  it('context-info off: the message says which option', () => {
    const {diagnostics} = rec(`set_memory_ro: (set_memory_ro+0x0/0x30) addr=0x1
`)
    expect(diagnostics[0]!.message).toMatch(/context-info/)
  })

  it('CRLF, e-mail quote prefixes and tabs (docs/trace-text-quirks.md#text-hygiene)', () => {
    const {records, diagnostics} = rec(
      '>              dd-4328    [005] .....   526.537605: smb3_enter: xid=67\r\n' +
      '>>\t  dd-4329    [005] .....   526.537606: smb3_enter: xid=68\r\n',
    )
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.args.xid])).toEqual([
      ['dd', 4328, '67'],
      ['dd', 4329, '68'],
    ])
  })
})

/** perf script tokenizer on verbatim perf script output (tools/perf/builtin-script.c). */
import {describe, expect, it} from 'vitest'

import {detectFormat, tokenizeText} from '../../../src/ingest/trace/index.js'

const rec = (text: string) => tokenizeText('perf', text)

describe('perf script', () => {
  it('default fields: right-justified event names with their group; comm with a dash', () => {
    const text = `              sh  8255 [001]   714.687947:        vmalloc:alloc_vmap_area: va_start: 18446683600662446080 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
 kworker/0:0-eve     9 [000]   714.724282: vmalloc:free_vmap_area_noflush: va_start=0xffffc90005824000 nr_lazy=11679 nr_lazy_max=16384
`
    const {records, diagnostics} = rec(text)
    expect(diagnostics).toEqual([])
    expect(records.map((r) => [r.comm, r.pid, r.cpu, r.tsNs, r.group, r.event])).toEqual([
      ['sh', 8255, 1, 714_687_947_000n, 'vmalloc', 'alloc_vmap_area'],
      ['kworker/0:0-eve', 9, 0, 714_724_282_000n, 'vmalloc', 'free_vmap_area_noflush'],
    ])
    expect(records[0]!.args).toMatchObject({va_start: '18446683600662446080', size: '20480'})
    expect(records[1]!.args).toEqual({va_start: '0xffffc90005824000', nr_lazy: '11679', nr_lazy_max: '16384'})
    expect(detectFormat(text.split('\n')).reader?.name).toBe('perf')
  })

  it('-g: tab-indented frames attach to the event; the blank line ends the stack', () => {
    const {records, stats} = rec(`sh  8411 [000]   719.739459: vmalloc:alloc_vmap_area: va_start: 18446683600664117248 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
\tffffffff816078c4 alloc_vmap_area+0x684 ([kernel.kallsyms])
\tffffffff8160a77d __get_vm_area_node+0xcd ([kernel.kallsyms])
\t           d43b8 __vfork+0x8 (<dso path elided>)

sh  8411 [000]   719.739460: vmalloc:alloc_vmap_area: va_start: 18446683600664117248 size=20480 align=16384 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
`)
    expect(records).toHaveLength(2)
    expect(records[0]!.stack).toEqual(['alloc_vmap_area+0x684', '__get_vm_area_node+0xcd', '__vfork+0x8'])
    expect(records[1]!.stack).toBeUndefined()
    expect(stats.stacks).toBe(1)
  })

  it('-g on a probe event (no free text): frames still attach; a frame after a blank line does not', () => {
    const {records, diagnostics} = rec(`          insmod  1532 [002]   845.120113:    probe:set_memory_ro: (ffff80008034a1c8) addr=0xffff80007a3f0000 numpages=2
	ffff80008034a1c8 set_memory_ro+0x0 ([kernel.kallsyms])
	ffff800080201234 module_enable_ro+0x98 ([kernel.kallsyms])

	ffff800080201234 stray+0x98 ([kernel.kallsyms])
`)
    expect(records[0]!.stack).toEqual(['set_memory_ro+0x0', 'module_enable_ro+0x98'])
    expect(diagnostics.map((d) => [d.code, d.src.line])).toEqual([['orphan-frame', 5]])
  })

  it('--ns and -F pid,tid', () => {
    const {records} = rec(`              sh  8255 [001]   714.687947377:        vmalloc:alloc_vmap_area: va_start: 18446683600662446080 size=20480
              sh  8255/8256  [001]   714.687947:        vmalloc:alloc_vmap_area: va_start: 18446683600662446080 size=20480
`)
    expect(records.map((r) => [r.pid, r.tgid, r.tsNs])).toEqual([
      [8255, undefined, 714_687_947_377n],
      [8256, 8255, 714_687_947_000n],
    ])
  })

  it('probe events: bare-hex IP, group, return probe (func <- site)', () => {
    const {records} = rec(`          insmod  1532 [002]   845.120113:    probe:set_memory_ro: (ffff80008034a1c8) addr=0xffff80007a3f0000 numpages=2
          insmod  1532 [002]   845.120200: probe:set_memory_ro__return: (ffff80008034a1c8 <- ffff8000801f0a44) arg1=0x0
            bash   900 [000]   845.120300: kprobes:tracing_mark_write: (ffff800080123456) text="capture: workload begin"
`)
    expect(records[0]).toMatchObject({group: 'probe', event: 'set_memory_ro', probeIp: '0xffff80008034a1c8', args: {addr: '0xffff80007a3f0000', numpages: '2'}})
    expect(records[1]).toMatchObject({event: 'set_memory_ro__return', returnFrom: '0xffff80008034a1c8', args: {arg1: '0x0'}})
    expect(records[2]).toMatchObject({group: 'kprobes', event: 'tracing_mark_write', args: {text: '"capture: workload begin"'}})
  })

  it('an unknown line is reported with file:line', () => {
    const {diagnostics} = rec(`hello world
`)
    expect(diagnostics[0]!.message).toMatch(/^<text>:1: expected a perf script line/)
  })
})

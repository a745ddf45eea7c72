/**
 * The trace-cmd report and perf script text readers on real tool output (samples/linux-7.3-
 * debian-qemu/ampere1a-2G-tools: trace-cmd 3.3.1 report / report -t of trace.dat, perf 7.3
 * script with default fields and with -F comm,pid,tid,cpu,time,event,trace of perf.data), not on
 * documentation examples. References: the kernel's kprobe_profile, trace-cmd-report-stat.txt and
 * the other rendering of the same recording.
 */
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'

import {detectFormat} from '../../../src/ingest/trace/index.js'
import {fields, firstDiff, readAll, TOOLS} from '../../helpers/tracedat.js'

const head = (f: string) => gunzipSync(readFileSync(`${TOOLS}/${f}`)).toString('latin1').split('\n').slice(0, 200)

describe('real trace-cmd 3.3.1 report and perf 7.3 script text', () => {
  it('is detected as what it is', () => {
    expect(detectFormat(head('trace-cmd-report.txt.gz')).reader?.name).toBe('trace-cmd')
    expect(detectFormat(head('trace-cmd-report-t.txt.gz')).reader?.name).toBe('trace-cmd')
    expect(detectFormat(head('perf-script.txt.gz')).reader?.name).toBe('perf')
    expect(detectFormat(head('perf-script-F.txt.gz')).reader?.name).toBe('perf')
  })

  it('trace-cmd report and report -t: every line read, the same events but for the µs rounding', async () => {
    const us = await readAll([`${TOOLS}/trace-cmd-report.txt.gz`])
    const ns = await readAll([`${TOOLS}/trace-cmd-report-t.txt.gz`])
    for (const r of [us, ns]) {
      expect(r.error).toBeUndefined()
      expect(r.diagnostics).toEqual([])
      expect(r.stats.unrecognized).toBe(0)
      // trace-cmd-report-stat.txt: entries CPU 0 5767, CPU 1 8607
      expect(r.stats.byCpu).toEqual({0: 5767, 1: 8607})
    }
    expect(firstDiff(us.events, ns.events, (t) => ((t + 500n) / 1000n) * 1000n)).toBe(-1)
    // the vmalloc tracepoints and the module ones become their kinds; print lines become markers
    expect(ns.stats.byKind).toMatchObject({vm_alloc: 239, vm_free: 232, module_load: 17, module_free: 16, marker: 38})
    const alloc = ns.events.find((e) => e.kind === 'vm_alloc')!
    // `va_start: %lu` is decimal: 18446603338373726208 = 0xffff8000804d0000
    expect(alloc.addrText).toBe('18446603338373726208')
    expect(alloc.size).toBe(20480)
    const free = ns.events.find((e) => e.kind === 'vm_free')!
    expect(free.addrText).toBe('0xffff8000804d8000')
    expect(ns.events.find((e) => e.kind === 'module_load')!.text).toBe('crc16')
  })

  it('perf script and perf script -F: every line read, the same events; counts match README', async () => {
    const d = await readAll([`${TOOLS}/perf-script.txt.gz`])
    const f = await readAll([`${TOOLS}/perf-script-F.txt.gz`])
    for (const r of [d, f]) {
      expect(r.error).toBeUndefined()
      expect(r.diagnostics).toEqual([])
      expect(r.stats.unrecognized).toBe(0)
      expect(r.stats.events).toBe(13778)
    }
    expect(firstDiff(d.events, f.events)).toBe(-1)
    expect(fields(d.events[0]!)).toBe(fields(f.events[0]!))
    // README: set_memory_ro 55, update_range_prot 4,564, split_pmd 5; perf delivers no ftrace:print
    expect(d.stats.byProbe).toMatchObject({set_memory_ro: 55, update_range_prot: 4564, split_pmd: 5})
    expect(d.stats.byKind.marker).toBeUndefined()
    // a comm perf cut to 15 characters stays as printed
    expect(d.events.some((e) => e.comm === 'kworker/1:1-eve')).toBe(true)
  })
})

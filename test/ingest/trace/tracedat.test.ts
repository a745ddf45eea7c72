/**
 * The trace.dat reader on the real capture samples/linux-7.3-debian-qemu/ampere1a-2G-tools (see
 * its README): trace.dat written by trace-cmd 3.3.1 (file version 7, zstd), and on the same
 * machine `trace-cmd report` (trace-cmd-report.txt, µs) and `report -t` (trace-cmd-report-t.txt,
 * ns) of it. Independent references: the report texts (libtraceevent's rendering, read by the
 * trace-cmd text reader) and the kernel's own kprobe_profile hit counts.
 */
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {firstDiff, readAll, TOOLS} from '../../helpers/tracedat.js'

/** trace-cmd report prints `%5lu.%06lu` of the ns stamp rounded to the nearest µs (trace-read.c). */
const usecs = (ns: bigint) => ((ns + 500n) / 1000n) * 1000n

function kprobeProfile(): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of readFileSync(`${TOOLS}/kprobe_profile`, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length === 3) out[f[0]!] = Number(f[1])
  }
  return out
}

describe('trace.dat v7 zstd as recorded by trace-cmd 3.3.1', () => {
  it('gives the events of trace-cmd report -t, field for field (ns) and of report (µs)', async () => {
    const dat = await readAll([`${TOOLS}/trace.dat`])
    const t = await readAll([`${TOOLS}/trace-cmd-report-t.txt.gz`])
    const us = await readAll([`${TOOLS}/trace-cmd-report.txt.gz`])
    expect(dat.error).toBeUndefined()
    expect(dat.stats.format).toBe('trace.dat v7 zstd')
    // trace-cmd-report-stat.txt: 5767 + 8607 entries; the report shows 14,374 events
    expect(dat.events.length).toBe(14374)
    expect(t.events.length).toBe(dat.events.length)
    expect(firstDiff(dat.events, t.events)).toBe(-1)
    expect(firstDiff(dat.events, us.events, usecs)).toBe(-1)
    expect(dat.diagnostics).toEqual([])
    expect(dat.stats.lostEvents).toBe(0)
    // the per-CPU counts of trace-cmd-report-stat.txt (entries: CPU 0 5767, CPU 1 8607)
    expect(dat.stats.byCpu).toEqual({0: 5767, 1: 8607})
  })

  it('per probe, trace.dat + perf-script.txt = kprobe_profile (bar the 3 pre-trace vmap/vunmap hits)', async () => {
    const dat = await readAll([`${TOOLS}/trace.dat`])
    const perf = await readAll([`${TOOLS}/perf-script.txt.gz`])
    const prof = kprobeProfile()
    expect(Object.keys(prof).length).toBe(14)
    for (const [probe, hits] of Object.entries(prof)) {
      const n = (dat.stats.byProbe[probe] ?? 0) + (perf.stats.byProbe[probe] ?? 0)
      // README: vmap_pages_range / vunmap_range fired 3 times each before tracing began
      const pre = probe === 'vmap_pages_range' || probe === 'vunmap_range' ? 3 : 0
      expect(n + pre, probe).toBe(hits)
    }
    // README's examples
    expect(dat.stats.byProbe.set_memory_ro).toBe(59)
    expect(perf.stats.byProbe.set_memory_ro).toBe(55)
    expect(dat.stats.byProbe.update_range_prot).toBe(4611)
    expect(dat.stats.byProbe.split_pmd).toBe(12)
  })

  it('turns ftrace print events into the same markers as tracefs tracing_mark_write', async () => {
    const dat = await readAll([`${TOOLS}/trace.dat`])
    const markers = dat.events.filter((e) => e.kind === 'marker')
    expect(markers.length).toBe(38)
    expect(markers[0]!.text).toBe('capture: trace-cmd: insmod phase begin')
    expect(markers[0]!.fn).toBe('tracing_mark_write')
    expect(markers.map((m) => m.text)).toContain('capture: trace-cmd: rmmod phase end')
  })
})

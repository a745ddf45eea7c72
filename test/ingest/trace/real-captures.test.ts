/**
 * The readers on the real arm64 captures in samples/ (see samples/README.md).
 *
 * Ground truth: `kprobe_profile` is the kernel's own hit count per probe (column 2; column 3 is
 * the miss count, all 0). A kprobe is shared by every tracing instance that enables its event,
 * so:
 * - trace.txt (top buffer, every probe enabled for the whole capture): the normalized count per
 *   probe equals kprobe_profile for every probe, zero-hit probes included (they never appear).
 * - trace_stacktrace.txt (a second instance, options/stacktrace=1, plus module:module_load/
 *   module_free): on 6.1/6.12 the same probes are enabled, so again every count equals
 *   kprobe_profile. On 6.19 that instance enables the outer probes only: every probe it has
 *   equals kprobe_profile, and the four nested ones (__change_memory_common, update_range_prot,
 *   split_kernel_leaf_mapping_locked, split_kernel_leaf_mapping_ret) are absent.
 * - max-2G-kfence: KFENCE flips guard pages in the background (kfence_protect_page() →
 *   set_memory_valid(addr, 1, …) → one __change_memory_common each, arch/arm64/include/asm/kfence.h)
 *   and kprobe_profile was read after tracing was switched off, so for exactly those two probes
 *   the profile is ahead of both traces by the same N > 0; every other probe is exact.
 * - Every event of the stacktrace instance carries a stack (markers do not: trace_marker
 *   writes are not traced through the stacktrace option), so stacks = events − markers.
 */
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {parseKva} from '../../../src/model/address.js'
import type {TraceEvent} from '../../../src/ingest/events.js'
import {detectFormat, readTrace, type TraceReadOptions} from '../../../src/ingest/trace/index.js'

const CAPTURES = [
  'debian-6.1-qemu/max-2G-default',
  'debian-6.1-qemu/max-2G-rodata-on',
  'debian-6.12-qemu/max-2G-default',
  'debian-6.12-qemu/max-2G-kfence',
  'linux-6.19-bbml2-qemu/max-2G-default',
]

function dir(c: string): string {
  return `samples/${c}`
}

function traceFile(c: string, name: 'trace' | 'trace_stacktrace'): string {
  return c.startsWith('linux-6.19') ? `${dir(c)}/${name}.txt.gz` : `${dir(c)}/${name}.txt`
}

/** kprobe_profile: `  <event>   <hits>   <misses>` per line. */
function kprobeProfile(c: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of readFileSync(`${dir(c)}/kprobe_profile`, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length === 3) {
      out[f[0]!] = Number(f[1])
      expect(Number(f[2])).toBe(0)
    }
  }
  return out
}

type ReadResult = {events: TraceEvent[]; stats: ReturnType<typeof readTrace>['stats']; diagnostics: ReturnType<typeof readTrace>['diagnostics']}

/** Read once per file without options: several tests of this file look at the same events. */
const plainReads = new Map<string, Promise<ReadResult>>()

function readAll(path: string, opts?: TraceReadOptions): Promise<ReadResult> {
  if (opts) return readEvents(path, opts)
  let p = plainReads.get(path)
  if (!p) plainReads.set(path, (p = readEvents(path, {})))
  return p
}

async function readEvents(path: string, opts: TraceReadOptions): Promise<ReadResult> {
  const r = readTrace([path], opts)
  const events: TraceEvent[] = []
  for await (const b of r.batches) for (const e of b) events.push(e)
  return {events, stats: r.stats, diagnostics: r.diagnostics}
}

/** Probes whose kprobe_profile count may exceed the trace (see above), by capture. */
const AFTER_STOP: Record<string, string[]> = {'debian-6.12-qemu/max-2G-kfence': ['set_memory_valid', '__change_memory_common']}

/** Compare the trace's count per probe with kprobe_profile (the late probes: same shortfall N > 0). */
function expectProfile(c: string, profile: Record<string, number>, byProbe: Record<string, number>, absent: string[] = []): void {
  const late = AFTER_STOP[c] ?? []
  const shortfall = new Set<number>()
  for (const [probe, hits] of Object.entries(profile)) {
    if (absent.includes(probe)) expect.soft(byProbe[probe], probe).toBeUndefined()
    else if (late.includes(probe)) shortfall.add(hits - (byProbe[probe] ?? 0))
    else expect.soft(byProbe[probe] ?? 0, probe).toBe(hits)
  }
  if (late.length) {
    expect(shortfall.size).toBe(1)
    expect([...shortfall][0]).toBeGreaterThan(0)
  }
}

const NESTED_619 = ['__change_memory_common', 'update_range_prot', 'split_kernel_leaf_mapping_locked', 'split_kernel_leaf_mapping_ret']

describe.each(CAPTURES)('%s', (c) => {
  const profile = kprobeProfile(c)

  it('trace.txt: the count per probe equals kprobe_profile for every probe; markers found; nothing unrecognized', async () => {
    const {events, stats, diagnostics} = await readAll(traceFile(c, 'trace'))
    expect(stats.format).toBe('tracefs')
    expect(diagnostics).toEqual([])
    expect(stats.unrecognized).toBe(0)
    expectProfile(c, profile, stats.byProbe)
    const markers = events.filter((e) => e.kind === 'marker')
    expect(markers.length).toBe(stats.byProbe.tracing_mark_write)
    expect(markers[0]!.text).toBe('capture: insmod phase begin')
    expect(markers.some((m) => m.text === 'capture: bpf phase begin (test_bpf)')).toBe(true)
    expect(markers.at(-1)!.text).toBe('capture: rmmod phase end')
    // everything else is a probe of the profile
    expect(stats.events - markers.length).toBe(Object.keys(profile).reduce((a, p) => a + (stats.byProbe[p] ?? 0), 0))
    expect(stats.byKind.other).toBeUndefined()
    expect(stats.badArgs).toBe(0)
    // time order, per CPU and globally (tracefs `trace` is merged by timestamp)
    for (let i = 1; i < events.length; i++) if (events[i]!.tsNs < events[i - 1]!.tsNs) throw new Error(`order at ${i}`)
  })

  it('trace_stacktrace.txt: counts equal kprobe_profile for the probes of that instance; every event has its stack', async () => {
    const {events, stats, diagnostics} = await readAll(traceFile(c, 'trace_stacktrace'))
    expect(diagnostics).toEqual([])
    const is619 = c.startsWith('linux-6.19')
    expectProfile(c, profile, stats.byProbe, is619 ? NESTED_619 : [])
    const markers = stats.byKind.marker!
    expect(markers).toBeGreaterThan(40)
    expect(stats.stacks).toBe(stats.events - markers)
    expect(stats.orphanStacks).toBe(0)
    expect(events.filter((e) => e.kind !== 'marker' && !e.stack?.length)).toEqual([])
    // the stack starts at the probed function (the kprobe fires on its first instruction)
    const sm = events.find((e) => e.fn === 'set_memory_ro')!
    expect(sm.stack![0]).toBe('set_memory_ro')
    // module tracepoints: names, not addresses
    const loads = events.filter((e) => e.kind === 'module_load').map((e) => e.text)
    expect(stats.byKind.module_load).toBeGreaterThan(18)
    expect(stats.byKind.module_free).toBeGreaterThan(18)
    expect(loads.every((n) => n !== undefined && /^[a-z0-9_]+$/.test(n))).toBe(true)
    expect(loads).toContain(is619 ? 'crypto_algapi' : 'crc16')
  })
})

describe('format detection on real text', () => {
  it('a headerless excerpt (trace_pipe, grep) of a real trace is still tracefs', () => {
    const lines = readFileSync(traceFile(CAPTURES[0]!, 'trace'), 'utf8').split('\n')
    expect(lines[0]).toBe('# tracer: nop')
    expect(detectFormat(lines.slice(0, 200)).reader?.name).toBe('tracefs')
    const body = lines.filter((l) => !l.startsWith('#')).slice(100, 300)
    const d = detectFormat(body)
    expect(d.reader?.name).toBe('tracefs')
    expect(d.scores['trace-cmd']).toBeLessThan(d.scores.tracefs!)
    expect(d.scores.perf).toBe(0)
  })
})

describe('linux-6.19 set_direct_map_* struct page → linear-map address', () => {
  const c = 'linux-6.19-bbml2-qemu/max-2G-default'
  // VMEMMAP_START as the kernel's own ptdump marks it: the line after `---[ vmemmap start ]---`.
  const dump = readFileSync(`${dir(c)}/kernel_page_tables.before`, 'utf8').split('\n')
  const vmemmapStart = parseKva(dump[dump.indexOf('---[ vmemmap start ]---') + 1]!.slice(0, 18))!
  const pageOffset = parseKva(dump[dump.indexOf('---[ Linear Mapping start ]---') + 1]!.slice(0, 18))!

  it('page=0xfffffdffc0291e40 is 0xffff00000a479000, the start of the update_range_prot that follows, for every event', async () => {
    // VA = PAGE_OFFSET + (page − VMEMMAP_START) / 64 × 4096:
    // 0x291e40 / 64 = 0xa479 pages → 0xa479000 past PAGE_OFFSET.
    expect(vmemmapStart).toBe(parseKva('0xfffffdffc0000000'))
    expect(pageOffset).toBe(parseKva('0xffff000000000000'))
    const {events, stats} = await readAll(traceFile(c, 'trace'), {vmemmapStart, pageOffset})
    expect(stats.directMapPagesWithoutVmemmap).toBe(0)
    const first = events.find((e) => e.kind === 'set_direct_map' && e.addrText === '0xfffffdffc0291e40')!
    expect(first.addr).toBe(parseKva('0xffff00000a479000'))
    // every set_direct_map_* is followed on its pid by update_range_prot(page_address(page), PAGE_SIZE)
    const pendingByPid = new Map<number, TraceEvent>()
    let checked = 0
    for (const e of events) {
      const p = pendingByPid.get(e.pid)
      if (p && e.fn === 'update_range_prot') {
        expect(e.addr).toBe(p.addr)
        expect(e.size).toBe(4096)
        checked++
      }
      pendingByPid.delete(e.pid)
      if (e.kind === 'set_direct_map') pendingByPid.set(e.pid, e)
    }
    expect(checked).toBe(stats.byKind.set_direct_map)
    expect(checked).toBe(2 * 23655)
  })

  it('without the vmemmap base, addr stays undefined and every such event is counted', async () => {
    const {events, stats} = await readAll(traceFile(c, 'trace'))
    expect(stats.directMapPagesWithoutVmemmap).toBe(2 * 23655)
    expect(events.filter((e) => e.kind === 'set_direct_map' && e.addr !== undefined)).toEqual([])
    expect(events.find((e) => e.kind === 'set_direct_map')!.page).toBe(parseKva('0xfffffdffc0237e80'))
  })

  it('kretprobe of split_kernel_leaf_mapping: 71,153 returns, all 0', async () => {
    const {events} = await readAll(traceFile(c, 'trace'))
    const rets = events.filter((e) => e.kind === 'return')
    expect(rets).toHaveLength(71153)
    expect(rets.every((e) => e.fn === 'split_kernel_leaf_mapping' && e.ret === 0n)).toBe(true)
    expect(events.filter((e) => e.kind === 'split_primitive').length).toBe(56 + 6 + 1488)
  })
})

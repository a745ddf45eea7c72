/**
 * The goldens of samples.test.ts are the program's own output: on their own they only say the
 * output did not change, not that it was right. This file checks their key figures against
 * numbers derived here, independently of src/, from the captures themselves:
 *
 * - `events --json`: the count per probe equals a count of the trace's own lines by one regex
 *   (tracefs text: `comm-pid [cpu] flags timestamp: probe:`), the total equals the header's
 *   "entries-in-buffer/entries-written" (the capture's trace_stats.txt reports no overruns), and
 *   each kprobe's count agrees with the kernel's own hit count in kprobe_profile (equal where the
 *   probe fired only while tracing was on; at most the hits for the few probes that also fired
 *   outside it: see onlyWhileTracing()).
 * - README figures: samples/README.md (from the captures' README) gives the 6.19 boot's
 *   split_kernel_leaf_mapping 71,153, split_pmd 56, split_contpmd 6, split_contpte 1,488 over the
 *   whole trace and split_pmd 45, split_contpmd 3, split_contpte 1,417 from "capture: bpf phase
 *   begin"; linux-7.3-debian-qemu/README.md gives the AmpereOne boot's split_kernel_leaf_mapping
 *   4,611 and split_pmd 11. The replay goldens' ground-truth counts must equal them.
 * - `audit --json`: "lines" equals the dump's line count (`wc -l`); each region's PTE and PMD
 *   table pages equal the number of distinct 2 MiB (resp. 1 GiB) blocks of that region that the
 *   dump shows at PTE level (resp. at PMD or PTE level): a PTE table maps exactly one 2 MiB
 *   block and a PMD table one 1 GiB block with the 4K granule every sample uses.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'

/** Where samples.test.ts keeps its goldens. */
const GOLDEN_DIR = 'test/golden/samples'

/** The JSON document of a stored golden ("exit N\n{…}\n--stderr--…"), by path under GOLDEN_DIR. */
function goldenJson<T>(name: string): T {
  const p = join(GOLDEN_DIR, name)
  const text = existsSync(`${p}.txt`) ? readFileSync(`${p}.txt`, 'utf8') : gunzipSync(readFileSync(`${p}.txt.gz`)).toString()
  expect(text.startsWith('exit 0\n'), `${name}: exit status`).toBe(true)
  return JSON.parse(text.slice('exit 0\n'.length, text.indexOf('\n--stderr--\n'))) as T
}

function readText(path: string): string {
  const b = readFileSync(path)
  return (path.endsWith('.gz') ? gunzipSync(b) : b).toString()
}

/** Sample directories (under samples/) holding a file matching `re`, with that file's name. */
function samplesWith(re: RegExp): {dir: string; file: string}[] {
  const found: {dir: string; file: string}[] = []
  for (const top of readdirSync('samples', {withFileTypes: true})) {
    if (!top.isDirectory()) continue
    for (const boot of readdirSync(join('samples', top.name), {withFileTypes: true})) {
      if (!boot.isDirectory()) continue
      const dir = `${top.name}/${boot.name}`
      for (const f of readdirSync(join('samples', dir)).sort()) if (re.test(f)) found.push({dir, file: f})
    }
  }
  return found
}

/** Probe name → count, of a tracefs text trace, by one regex per line (no src/ code). */
function countProbes(text: string): Map<string, number> {
  const re = /^\s*.+-\d+\s+\[\d{3}\]\s+(?:\S+\s+)?\d+\.\d+: ([\w.]+):/
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    const x = re.exec(line)
    if (x) m.set(x[1], (m.get(x[1]) ?? 0) + 1)
  }
  return m
}

interface EventsJson {
  events: number
  byProbe: Record<string, number>
}

/**
 * Whether every kprobe_profile hit of `probe` falls inside the trace. Not so for 7.3's vmalloc
 * probes (vmalloc work goes on after tracing stops: vmap_pages_range 255 hits, 248 traced) nor
 * for set_memory_valid on the KFENCE boot (KFENCE's pool pages keep flipping before tracing is
 * switched on and after it stops: 111 hits, 82 traced; the same 29 calls reach
 * __change_memory_common: 984 hits, 955 traced).
 */
function onlyWhileTracing(dir: string, probe: string): boolean {
  if (dir.startsWith('linux-7.3')) return !/^(vmap_pages_range|vunmap_range|ioremap_page_range|vmalloc_ret|vfree)$/.test(probe)
  if (dir.endsWith('kfence')) return probe !== 'set_memory_valid' && probe !== '__change_memory_common'
  return true
}

const TRACES = samplesWith(/^trace\.txt(\.gz)?$/)

describe('golden figures: events --json against the trace text and kprobe_profile', () => {
  it('finds the tracefs traces of every kernel', () => {
    expect(TRACES.map((t) => t.dir)).toEqual([
      'debian-6.1-qemu/max-2G-default',
      'debian-6.1-qemu/max-2G-rodata-on',
      'debian-6.12-qemu/max-2G-default',
      'debian-6.12-qemu/max-2G-kfence',
      'linux-6.19-bbml2-qemu/max-2G-default',
      'linux-7.3-debian-qemu/ampere1a-2G-default',
      'linux-7.3-debian-qemu/max-2G-default',
    ])
  })

  for (const {dir, file} of TRACES) {
    it(`${dir}/${file}`, () => {
      const golden = goldenJson<EventsJson>(`${dir}/events__json__${file}`)
      const text = readText(join('samples', dir, file))
      // Counted from the trace text.
      const counted = countProbes(text)
      expect(golden.byProbe).toEqual(Object.fromEntries(counted))
      // The header written by the kernel: entries-in-buffer/entries-written: N/N.
      const header = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(text)
      expect(header, 'tracefs header').not.toBeNull()
      expect(header![1]).toBe(header![2])
      expect(golden.events).toBe(Number(header![1]))
      // The kernel's own hit counts (kprobe_profile: name, hits, misses).
      const profile = readFileSync(join('samples', dir, 'kprobe_profile'), 'utf8')
      for (const line of profile.trim().split('\n')) {
        const [name, hits, misses] = line.trim().split(/\s+/)
        expect(misses, `${name}: kprobe misses`).toBe('0')
        const got = golden.byProbe[name] ?? 0
        if (onlyWhileTracing(dir, name)) expect(got, `${name}: trace vs kprobe_profile`).toBe(Number(hits))
        else expect(got, `${name}: trace vs kprobe_profile`).toBeLessThanOrEqual(Number(hits))
      }
    })
  }

  it('7.3: the kernel-side probes fired only while tracing (README: split_kernel_leaf_mapping 4,611)', () => {
    for (const dir of ['linux-7.3-debian-qemu/ampere1a-2G-default', 'linux-7.3-debian-qemu/max-2G-default']) {
      const golden = goldenJson<EventsJson>(`${dir}/events__json__trace.txt.gz`)
      expect(golden.byProbe.split_kernel_leaf_mapping).toBe(4611)
      expect(golden.byProbe.update_range_prot).toBe(4611)
      expect(golden.byProbe.change_memory_common).toBe(152)
    }
  })

  it('6.19: README totals over the whole trace (71,153 / 56 / 6 / 1,488 / split_pud 0)', () => {
    const golden = goldenJson<EventsJson>('linux-6.19-bbml2-qemu/max-2G-default/events__json__trace.txt.gz')
    expect(golden.byProbe.split_kernel_leaf_mapping).toBe(71_153)
    expect(golden.byProbe.split_pmd).toBe(56)
    expect(golden.byProbe.split_contpmd).toBe(6)
    expect(golden.byProbe.split_contpte).toBe(1488)
    expect(golden.byProbe.split_pud).toBeUndefined()
  })
})

interface GroundTruth {
  fn: string
  recorded: number
  predicted: number
}

describe('golden figures: replay split counts against the captures\' README', () => {
  it('6.19 from "capture: bpf phase begin": split_pmd 45, split_contpmd 3, split_contpte 1,417', () => {
    const r = goldenJson<{groundTruth: GroundTruth[]}>('linux-6.19-bbml2-qemu/max-2G-default/replay__json__kernel_page_tables.loaded__trace.txt.gz__from-marker__capture_bpf_phase_begin')
    const by = Object.fromEntries(r.groundTruth.map((g) => [g.fn, g]))
    for (const [fn, n] of [['split_pmd', 45], ['split_contpmd', 3], ['split_contpte', 1417]] as const) {
      expect(by[fn], fn).toEqual({fn, recorded: n, predicted: n})
    }
  })

  it('7.3 AmpereOne (BBML3): split_kernel_leaf_mapping 4,611, split_pmd 11', () => {
    const r = goldenJson<{groundTruth: GroundTruth[]}>('linux-7.3-debian-qemu/ampere1a-2G-default/replay__json__kernel_page_tables.before__trace.txt.gz')
    const by = Object.fromEntries(r.groundTruth.map((g) => [g.fn, g]))
    expect(by.split_kernel_leaf_mapping).toEqual({fn: 'split_kernel_leaf_mapping', recorded: 4611, predicted: 4611})
    expect(by.split_pmd).toEqual({fn: 'split_pmd', recorded: 11, predicted: 11})
  })
})

interface AuditJson {
  lines: number
  geometry: {pageSize: number}
  regions: {name: string; start: string; end: string; tablePages: Record<string, number>}[]
}

/**
 * Distinct 2 MiB and 1 GiB blocks of [start, end) shown at PTE level, and at PMD-or-PTE level,
 * by reading the dump's lines `0xSTART-0xEND  SIZE LEVEL …` (a line may span many blocks:
 * ptdump merges equal neighbours).
 */
function blocksByHand(dump: string, start: bigint, end: bigint): {pte: number; pmd: number} {
  const pte = new Set<bigint>()
  const pmd = new Set<bigint>()
  for (const line of dump.split('\n')) {
    const m = /^0x([0-9a-f]+)-0x([0-9a-f]+)\s+\S+\s+(PTE|PMD)(\s|$)/.exec(line)
    if (!m) continue
    const a = BigInt(`0x${m[1]}`)
    const b = BigInt(`0x${m[2]}`)
    if (b <= start || a >= end) continue
    const lo = a < start ? start : a
    const hi = b > end ? end : b
    if (m[3] === 'PTE') for (let x = lo >> 21n; x <= (hi - 1n) >> 21n; x++) pte.add(x)
    for (let x = lo >> 30n; x <= (hi - 1n) >> 30n; x++) pmd.add(x)
  }
  return {pte: pte.size, pmd: pmd.size}
}

describe('golden figures: audit --json against the dumps read by hand', () => {
  const dumps = samplesWith(/^kernel_page_tables\./)
  it('finds every dump', () => expect(dumps.length).toBe(30))
  for (const {dir, file} of dumps) {
    it(`${dir}/${file}`, () => {
      const audit = goldenJson<AuditJson>(`${dir}/audit__json__${file}`)
      const dump = readFileSync(join('samples', dir, file), 'utf8')
      expect(audit.lines).toBe(dump.split('\n').length - (dump.endsWith('\n') ? 1 : 0))
      expect(audit.geometry.pageSize).toBe(4096)
      for (const r of audit.regions) {
        const hand = blocksByHand(dump, BigInt(r.start), BigInt(r.end))
        expect(r.tablePages.PTE, `${r.name}: PTE tables`).toBe(hand.pte)
        expect(r.tablePages.PMD, `${r.name}: PMD tables`).toBe(hand.pmd)
      }
    })
  }
})

/**
 * `ptreplay diff` on the real captures. Ground truth from the 6.19 BBML2 trace: between
 * `before` and `loaded` the kernel's split_pmd probe fired 11 times (window up to
 * "capture: bpf phase begin") and registering the probes split one more PMD before tracing
 * began (samples/README.md), so the diff must count 12 PMD→PTE splits and 12 new PTE tables;
 * split_contpmd fired 3 times (3 CONT_PMD groups cleared).
 */
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import {afterEach, describe, expect, it, vi} from 'vitest'

import Diff from '../../src/commands/diff.js'
import type {SnapshotDiff} from '../../src/report/diff.js'

const S619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
const S612 = 'samples/debian-6.12-qemu/max-2G-default'
const S61 = 'samples/debian-6.1-qemu/max-2G-default'

const savedExitCode = process.exitCode
afterEach(() => {
  process.exitCode = savedExitCode
})

/** Hits of each probe in the 6.19 trace before "capture: bpf phase begin", by one regex per line. */
function probeHitsBeforeBpf(): Record<string, number> {
  const text = gunzipSync(readFileSync(`${S619}/trace.txt.gz`)).toString('latin1')
  const end = text.indexOf('tracing_mark_write: capture: bpf phase begin')
  const hits: Record<string, number> = {}
  for (const m of text.slice(0, end).matchAll(/^\s*.+-\d+\s+\[\d{3}\]\s.*?\d+\.\d+: (\w+):/gm)) hits[m[1]!] = (hits[m[1]!] ?? 0) + 1
  return hits
}

/** PTE tables of a dump's linear map, by hand: the distinct 2 MiB blocks its PTE lines cover (4K pages). */
function linearPteTables(path: string): number {
  const text = readFileSync(path, 'utf8')
  const lin = text.slice(text.indexOf('---[ Linear Mapping start ]---'), text.indexOf('---[ Linear Mapping end ]---'))
  const blocks = new Set<bigint>()
  for (const m of lin.matchAll(/^0x([0-9a-f]+)-0x([0-9a-f]+)\s+\S+\s+PTE\b/gm)) {
    for (let b = BigInt(`0x${m[1]}`) >> 21n; b <= (BigInt(`0x${m[2]}`) - 1n) >> 21n; b++) blocks.add(b)
  }
  return blocks.size
}

async function diff(argv: string[]): Promise<{result?: SnapshotDiff; stdout: string; exit: number; error?: Error}> {
  let stdout = ''
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
  const w = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  try {
    const result = (await Diff.run(argv, process.cwd())) as SnapshotDiff
    return {result, stdout, exit: 0}
  } catch (e) {
    return {stdout, exit: (e as {oclif?: {exit?: number}}).oclif?.exit ?? -1, error: e as Error}
  } finally {
    process.stdout.write = w
    log.mockRestore()
    process.exitCode = savedExitCode
  }
}

describe('diff command', () => {
  it('6.19 before → loaded: 12 PMD splits (11 traced + the probe registration), 3 cont-PMD groups cleared, read-only alias pages, modules mapped', async () => {
    const o = await diff([`${S619}/kernel_page_tables.before`, `${S619}/kernel_page_tables.loaded`, '--json'])
    expect(o.exit).toBe(0)
    const d = JSON.parse(o.stdout) as SnapshotDiff
    const lin = d.regions.find((r) => r.name === 'linear')!
    // split_pmd and split_contpmd as the trace counts them up to the marker (11 and 3), plus the
    // PMD split by the probe registration before tracing began (samples/README.md)
    const hits = probeHitsBeforeBpf()
    expect([hits.split_pmd, hits.split_contpmd]).toEqual([11, 3])
    expect(lin.splits).toEqual({'PUD→PMD': 0, 'PMD→PTE': hits.split_pmd! + 1, 'CONT_PMD cleared': hits.split_contpmd, 'CONT_PTE cleared': 0})
    expect(lin.collapses).toEqual({'PMD→PUD': 0, 'PTE→PMD': 0, 'CONT_PMD set': 0, 'CONT_PTE set': 0})
    // PTE tables counted from the dumps' own lines
    const [a, b] = [linearPteTables(`${S619}/kernel_page_tables.before`), linearPteTables(`${S619}/kernel_page_tables.loaded`)]
    expect([a, b]).toEqual([0, 12])
    expect(lin.tablePages.PTE).toEqual({a, b, added: b - a, freed: 0})
    expect(lin.permissionChanges.map((p) => p.change)).toEqual(['RW→ro'])
    expect(lin.mappedBytes + lin.unmappedBytes).toBe(0)
    const mods = d.regions.find((r) => r.name === 'modules')!
    expect(mods.mappedRanges).toBeGreaterThan(0)
    expect(mods.tablePages.PMD).toEqual({a: 0, b: 1, added: 1, freed: 0})
    expect(d.same).toBe(false)
    expect(lin.ranges).toHaveLength(4)
    expect(lin.ranges[0]!.a[0]!.line).toBe('0xffff000000c00000-0xffff000000e00000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL-TAGGED')
  })

  it('6.12 before → loaded in text: no splits on a PTE-only map, only read-only pages', async () => {
    const o = await diff([`${S612}/kernel_page_tables.before`, `${S612}/kernel_page_tables.loaded`, '--max-ranges', '1'])
    expect(o.exit).toBe(0)
    expect(o.stdout).toContain('Linear map  55 changed ranges, 2,184 KiB')
    expect(o.stdout).toContain('permissions RW->ro: 2,184 KiB in 55 ranges')
    expect(o.stdout).not.toContain('splits:')
    expect(o.stdout).toContain('Linear map: first 1 of 55 changed ranges')
    expect(o.stdout).toContain('vmemmap     unchanged')
  })

  it('a snapshot against itself is unchanged; different geometries are refused (exit 2)', async () => {
    const same = await diff([`${S61}/kernel_page_tables.after`, `${S61}/kernel_page_tables.after`, '--json'])
    expect((JSON.parse(same.stdout) as SnapshotDiff).same).toBe(true)
    const bad = await diff([`${S61}/kernel_page_tables.after`, `${S612}/kernel_page_tables.after`])
    expect(bad.exit).toBe(2)
    expect(bad.error?.message).toMatch(/snapshots of different geometries cannot be compared/)
  })
})

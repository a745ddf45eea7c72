/**
 * `synth machine --rox-cache N` and `synth workload --kind execmem-rox` on it: the execmem ROX
 * cache of the June 2026 RFC (docs/collapse-proposals.md) as execmem_cache_populate_alloc()
 * leaves it (mm/execmem.c, linux-mm tree): one PMD leaf per huge page, ROX; its PMD-order backing
 * page's linear alias read-only under rodata_full (set_memory_ro walks the alias; set_memory_x
 * does not, so the alias stays PXN).
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {InputError} from '../../src/ingest/source.js'
import {readTrace} from '../../src/ingest/trace/index.js'
import {P_PXN, P_RDONLY, P_VALID} from '../../src/model/prot.js'
import {summarizeMachine} from '../../src/synth/machine-summary.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {type WorkloadOptions, type WorkloadTarget, targetFromMachine, targetFromSnapshot, workloadLines} from '../../src/synth/workload.js'

const G = 2 ** 30
const M = 2 ** 20
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-rox-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const roundTrip = (m: ReturnType<typeof synthMachine>) => parsePtdump([...renderMachine(m)].join('\n') + '\n', 'synth')

const base = synthMachine({memoryBytes: 4 * G, policy: 'bbml2'})
const rox = synthMachine({memoryBytes: 4 * G, policy: 'bbml2', roxCache: 2})

describe('synth machine --rox-cache', () => {
  it('maps N ROX PMD leaves in the module region, each with a read-only PMD-leaf linear alias of exactly PMD_SIZE (bbml2)', () => {
    const cache = rox.roxCache!
    expect(cache.pmdBytes).toBe(2 * M)
    expect(cache.pages.length).toBe(2)
    // Two populate calls, each a 2M area + guard page, PMD-aligned: the second lands 4M after the first.
    expect(cache.pages[1]!.va - cache.pages[0]!.va).toBe(4 * M)
    for (const p of cache.pages) {
      expect(p.va >= rox.layout.modules.start && p.va + 2 * M <= rox.layout.modules.end).toBe(true)
      expect(p.va % (2 * M)).toBe(0)
      const v = [...rox.pt.runs(p.va, p.va + 2 * M)]
      expect(v.length).toBe(1)
      expect(v[0]!.lvl).toBe(1)
      expect(v[0]!.prot & (P_VALID | P_RDONLY | P_PXN)).toBe(P_VALID | P_RDONLY)
      // The alias is a PMD leaf, RDONLY, still PXN, and the read-only island is exactly [alias, alias+2M).
      const a = rox.pt.runAt(p.alias)!
      expect([a.start, a.end, a.lvl, a.cont]).toEqual([p.alias, p.alias + 2 * M, 1, false])
      expect(a.prot & (P_VALID | P_RDONLY | P_PXN)).toBe(P_VALID | P_RDONLY | P_PXN)
      expect(rox.pt.runAt(p.alias - 1)!.prot & P_RDONLY).toBe(0)
      expect(rox.pt.runAt(p.alias + 2 * M)!.prot & P_RDONLY).toBe(0)
      // Backing: PMD-aligned PA, linear VA = PA − memstart_addr + PAGE_OFFSET.
      expect(p.phys % (2 * M)).toBe(0)
      expect(p.alias).toBe(p.phys - rox.memstartAddr + rox.layout.pageOffset)
    }
    expect(() => rox.pt.check()).not.toThrow()
  })

  it('changes nothing else: linear prots equal the plain machine outside the aliases, mapped bytes +N×2M, PMD tables +1 per alias that sat in a PUD block', () => {
    const lin = rox.regions.find((r) => r.name === 'linear')!
    const inAlias = (a: number) => rox.roxCache!.pages.some((p) => a >= p.alias && a < p.alias + 2 * M)
    for (const r of rox.pt.runs(lin.start, lin.end)) {
      if (inAlias(r.start)) continue
      expect(base.pt.runAt(r.start)!.prot).toBe(r.prot)
    }
    const sum = (m: typeof rox) => Object.values(m.pt.totals.mappedBytes).reduce((a, b) => a + b, 0)
    expect(sum(rox) - sum(base)).toBe(2 * 2 * M)
    // split_kernel_leaf_mapping() at a 2M boundary inside a 1G PUD block: split_pud(to_cont) = +1
    // PMD table, then split_contpmd = 0; inside a PMD table already: 0. The vmalloc side: each huge
    // page sits in the module region's existing PMD table (its PTE-level neighbours are elsewhere): 0.
    const pudSplits = rox.roxCache!.pages.filter((p) => base.pt.runAt(p.alias)!.lvl === 2).length
    const tb = summarizeMachine(base).linear.tablePages
    const tr = summarizeMachine(rox).linear.tablePages
    expect(tr.PMD! - tb.PMD!).toBe(pudSplits)
    expect(tr.PTE).toBe(tb.PTE)
  })

  it('records the cache in the summary', () => {
    const s = summarizeMachine(rox)
    expect(s.roxCache!.hugePages).toBe(2)
    expect(s.roxCache!.bytes).toBe(4 * M)
    expect(s.roxCache!.pages[0]!.va).toMatch(/^0xffff8000/)
    expect(summarizeMachine(base).roxCache).toBeUndefined()
  })

  it('--rox-cache 0 is the plain machine (same ptdump text)', () => {
    const zero = synthMachine({memoryBytes: 4 * G, policy: 'bbml2', roxCache: 0})
    expect([...renderMachine(zero)]).toEqual([...renderMachine(base)])
  })

  it('pte-only: the alias is 512 read-only PTEs; noalias (rodata_full off): the alias stays writable', () => {
    const pte = synthMachine({memoryBytes: 4 * G, policy: 'pte-only', roxCache: 1})
    const p = pte.roxCache!.pages[0]!
    const runs = [...pte.pt.runs(p.alias, p.alias + 2 * M)]
    expect(runs.every((r) => r.lvl === 0 && (r.prot & P_RDONLY) !== 0)).toBe(true)
    expect(pte.pt.runAt(p.va)!.lvl).toBe(1)
    const na = synthMachine({memoryBytes: 4 * G, policy: 'noalias', roxCache: 1})
    expect(na.pt.runAt(na.roxCache!.pages[0]!.alias)!.prot & P_RDONLY).toBe(0)
  })

  it('a cache that does not fit the module region is a clean InputError (64K: 512M huge pages)', () => {
    expect(() => synthMachine({memoryBytes: 8 * G, pageSize: 65536, policy: 'bbml2', roxCache: 3})).toThrow(InputError)
    expect(() => synthMachine({memoryBytes: 8 * G, pageSize: 65536, policy: 'bbml2', roxCache: 3})).toThrow(/do not fit/)
  })

  it('the ptdump reads back to the same cache: targetFromSnapshot pairs each ROX PMD with its alias island', () => {
    const fromSnap = targetFromSnapshot(roundTrip(rox)) as WorkloadTarget
    expect(typeof fromSnap).toBe('object')
    expect(fromSnap.roxCache).toEqual(targetFromMachine(rox).roxCache)
    // The aliases are not buddy RAM for the other workloads.
    for (const p of fromSnap.roxCache!) expect(fromSnap.ram.some((r) => p.alias! >= r.start && p.alias! < r.end)).toBe(false)
    // A machine without a cache has none; a noalias one has the VAs with unknown aliases.
    expect((targetFromSnapshot(roundTrip(base)) as WorkloadTarget).roxCache).toBeUndefined()
    const na = targetFromSnapshot(roundTrip(synthMachine({memoryBytes: 4 * G, policy: 'noalias', roxCache: 2}))) as WorkloadTarget
    expect(na.roxCache!.map((p) => p.alias)).toEqual([undefined, undefined])
  })
})

async function readBack(t: WorkloadTarget, opts: WorkloadOptions, name: string): Promise<{events: TraceEvent[]; lines: string[]; diagnostics: number}> {
  const path = join(dir, name)
  const lines = [...workloadLines(t, opts)]
  writeFileSync(path, lines.join('\n') + '\n')
  const read = readTrace([path], {pageSize: t.pageSize, vmemmapStart: t.vmemmapStart, pageOffset: t.pageOffset})
  const events: TraceEvent[] = []
  for await (const ev of read.events) events.push(ev)
  return {events, lines, diagnostics: read.diagnostics.length}
}

describe('synth workload --kind execmem-rox on a ROX cache', () => {
  const target = targetFromSnapshot(roundTrip(rox)) as WorkloadTarget
  const cache = target.roxCache! as {va: number; alias: number}[]
  const pageOf = (a: number) => cache.find((p) => a >= p.va && a < p.va + 2 * M)

  it('every set_memory_* lands in a cache huge page; nx, rw, ro, x per call; alias hits at the paired alias, pages in range only', async () => {
    const {events, diagnostics} = await readBack(target, {kind: 'execmem-rox', events: 3000, seed: 3}, 'rox.txt')
    expect(diagnostics).toBe(0)
    expect(events.length).toBe(3000)
    const ops: string[] = []
    let cur: {addr: number; pages: number; cache: {va: number; alias: number}} | undefined
    let aliasHits = 0
    for (const e of events) {
      if (e.kind === 'set_memory') {
        const p = pageOf(e.addr!)
        expect(p).toBeDefined()
        expect(e.addr! + e.pages! * 4096 <= p!.va + 2 * M).toBe(true)
        cur = {addr: e.addr!, pages: e.pages!, cache: p!}
        ops.push(e.op!)
      } else if (e.fn === '__change_memory_common' && e.addr! < rox.layout.pageEnd) {
        // 6.19: one page of the alias per call, inside [alias + offset, alias + offset + numpages).
        const off = cur!.addr - cur!.cache.va
        expect(e.size).toBe(4096)
        expect(e.addr! >= cur!.cache.alias + off && e.addr! < cur!.cache.alias + off + cur!.pages * 4096).toBe(true)
        expect(['rw', 'ro']).toContain(ops[ops.length - 1])
        aliasHits++
      }
    }
    expect(aliasHits).toBeGreaterThan(100)
    // execmem_force_rw() then execmem_restore_rox(), for loads and frees alike (the trace may end mid-cycle).
    const cycles = ops.join(',').match(/nx,rw,ro,x/g)!.length
    expect(ops.slice(0, cycles * 4).join(',')).toBe(Array(cycles).fill('nx,rw,ro,x').join(','))
    expect(events.some((e) => e.text?.startsWith('capture: rmmod'))).toBe(true)
  })

  it('--no-execmem-force-nx: rw, ro, x only', async () => {
    const {events} = await readBack(target, {kind: 'execmem-rox', events: 1500, seed: 3, execmemForceNx: false}, 'rox-rw.txt')
    const ops = events.filter((e) => e.kind === 'set_memory').map((e) => e.op)
    expect(ops.includes('nx')).toBe(false)
    expect(ops.slice(0, 6)).toEqual(['rw', 'ro', 'x', 'rw', 'ro', 'x'])
  })

  it('deterministic by --seed; the in-memory machine and its ptdump give the same trace', async () => {
    const a = await readBack(target, {kind: 'execmem-rox', events: 800, seed: 5}, 'a.txt')
    const b = await readBack(targetFromMachine(rox), {kind: 'execmem-rox', events: 800, seed: 5}, 'b.txt')
    const c = await readBack(target, {kind: 'execmem-rox', events: 800, seed: 6}, 'c.txt')
    expect(a.lines).toEqual(b.lines)
    expect(a.lines).not.toEqual(c.lines)
  })
})

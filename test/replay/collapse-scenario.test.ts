/**
 * The proposed collapse policies on a synthesized execmem ROX cache (RFC and Ryan
 * Roberts' review, docs/collapse-proposals.md): a 4 GiB BBML2 machine with `--rox-cache 2`, text written
 * into the cache's huge pages as execmem does it, replayed through the tracefs reader under
 * bbml2, collapse-rfc, collapse-both, order-aware and collapse-general.
 *
 * Machine (synth machine --rox-cache): each huge page V is one non-cont PMD leaf ROX; its alias A
 * one non-cont PMD leaf read-only (PXN). Text of k pages at page f of V:
 *   execmem_force_rw():   set_memory_nx(V+f, k), set_memory_rw(V+f, k)  [rw walks A+f..A+f+k−1]
 *   execmem_restore_rox(): set_memory_ro(V+f, k) [walks the alias again], set_memory_x(V+f, k)
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import type {PtdumpSnapshot} from '../../src/ingest/ptdump/index.js'
import type {PolicyName} from '../../src/kernel/policy.js'
import {parseKva} from '../../src/model/address.js'
import type {PageTables} from '../../src/model/pagetable.js'
import {choosePolicy, runReplay} from '../../src/replay/run.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {type Hit, type WorkloadTarget, execmemRoxCallHits, hitToLine, targetFromSnapshot, traceHeader, workloadHits, workloadLines} from '../../src/synth/workload.js'

const G = 2 ** 30
const M = 2 ** 20
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-collapse-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const machine = synthMachine({memoryBytes: 4 * G, policy: 'bbml2', roxCache: 2})
const snap: PtdumpSnapshot = parsePtdump([...renderMachine(machine)].join('\n') + '\n', 'm.txt')
const target = targetFromSnapshot(snap) as WorkloadTarget
const cache = target.roxCache! as {va: number; alias: number}[]
const POLICIES: PolicyName[] = ['bbml2', 'collapse-rfc', 'collapse-both', 'order-aware', 'collapse-general']

function writeTrace(name: string, hits: Hit[]): string {
  const path = join(dir, name)
  writeFileSync(path, [...traceHeader(hits.length, 4), ...hits.map((h) => hitToLine(h))].join('\n') + '\n')
  return path
}

async function replayAll(path: string) {
  const out = {} as Record<PolicyName, Awaited<ReturnType<typeof runReplay>>>
  for (const p of POLICIES) out[p] = await runReplay(snap, [path], choosePolicy(p, {}, snap, {}))
  return out
}

const c = (run: Awaited<ReturnType<typeof runReplay>>, k: string) => run.stats.counters[k] ?? 0
const splits = (run: Awaited<ReturnType<typeof runReplay>>) => c(run, 'split_pud') + c(run, 'split_pmd') + c(run, 'split_contpmd') + c(run, 'split_contpte')
const mapped = (pt: PageTables) => Object.values(pt.totals.mappedBytes).reduce((a, b) => a + b, 0) + pt.totals.invalidBytes

describe('one text write into a cache huge page, counted by hand', () => {
  // f = 20, k = 40: pages [20, 60) of V and of A. CONT_PTE groups are 16 pages: [16,32), [32,48), [48,64).
  //
  // vmalloc side, one range call per op: split_kernel_leaf_mapping(V+20p, V+60p): at 20 the PMD leaf
  //   → split_pmd(to_cont) (+1 PTE table), 20 inside cont group [16,32) → split_contpte; at 60:
  //   group [48,64) → split_contpte. = split_pmd 1, split_contpte 2, on the first op (nx, or rw).
  // alias, 6.19 per-page loop (rw): [20,21): __ffs(20p)=14 > __ffs(21p)=12 → split at 21: split_pmd
  //   (+1) and split_contpte [16,32); pages 21..31 split inside [16,32) (no-op); [32,33): split at
  //   33 → split_contpte [32,48); [48,49): split at 49 → split_contpte [48,64); others no-ops.
  //   = split_pmd 1, split_contpte 3. ro then finds everything split: 0.
  // alias, order-aware (docs/collapse-proposals.md point 4): one call [20,60): split_pmd 1, split_contpte 2 (at 20, 60).
  // Collapse after ro (set_mask == PTE_RDONLY):
  //   alias: all 512 PTEs read-only, PXN, pfn contiguous from a PMD-aligned pfn → collapse_pmd, −1 table
  //     (rfc: pages[0] = A; both/order-aware: every alias PMD in range = A; general: after the last
  //     alias page's __change_memory_common, the first moment the slot is uniform).
  //   vmalloc (both, order-aware only): pages [20,60) are still PXN from set_memory_nx (x comes after
  //     ro), the rest is executable → not uniform → no collapse. Without the nx (rw only) they are
  //     uniform ROX → collapse_pmd, −1 table — and then set_memory_x(V+20p, 40), the second half of
  //     set_memory_rox(), runs update_range_prot() → split_kernel_leaf_mapping() on the fresh PMD
  //     leaf again (it splits before it looks at the prot): split_pmd +1 table, split_contpte 2.
  //     general never collapses vmalloc (PA unknown there).
  // bbml2 (mainline 6.19): change_memory_common() refuses VM_ALLOW_HUGE_VMAP areas (fcf8dda8cc48) →
  //   -EINVAL for each of the 4 calls, nothing changes.
  const f = 20
  const k = 40
  type Expect = {split_pmd: number; split_contpte: number; collapse_pmd: number; alloc: number; freed: number; errors: number}
  const cases: [string, boolean, Record<PolicyName, Expect>][] = [
    [
      'execmem_force_rw (nx + rw)',
      true,
      {
        bbml2: {split_pmd: 0, split_contpte: 0, collapse_pmd: 0, alloc: 0, freed: 0, errors: 4},
        'collapse-rfc': {split_pmd: 2, split_contpte: 5, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
        'collapse-both': {split_pmd: 2, split_contpte: 5, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
        'order-aware': {split_pmd: 2, split_contpte: 4, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
        'collapse-general': {split_pmd: 2, split_contpte: 5, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
      } as Record<PolicyName, Expect>,
    ],
    [
      'rw only (the RFC text: "flip it RW then back to ROX")',
      false,
      {
        bbml2: {split_pmd: 0, split_contpte: 0, collapse_pmd: 0, alloc: 0, freed: 0, errors: 3},
        'collapse-rfc': {split_pmd: 2, split_contpte: 5, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
        'collapse-both': {split_pmd: 3, split_contpte: 7, collapse_pmd: 2, alloc: 3, freed: 2, errors: 0},
        'order-aware': {split_pmd: 3, split_contpte: 6, collapse_pmd: 2, alloc: 3, freed: 2, errors: 0},
        'collapse-general': {split_pmd: 2, split_contpte: 5, collapse_pmd: 1, alloc: 2, freed: 1, errors: 0},
      } as Record<PolicyName, Expect>,
    ],
  ]
  for (const [label, forceNx, want] of cases) {
    it(`${label}: splits, collapses and table pages per policy`, async () => {
      const page = cache[0]!
      const runs = await replayAll(writeTrace(`one-${forceNx}.txt`, execmemRoxCallHits(target, page, f, k, {execmemForceNx: forceNx})))
      for (const p of POLICIES) {
        const r = runs[p]
        const got: Expect = {
          split_pmd: c(r, 'split_pmd'),
          split_contpte: c(r, 'split_contpte'),
          collapse_pmd: c(r, 'collapse_pmd'),
          alloc: r.stats.tablePagesAllocated,
          freed: r.stats.tablePagesFreed,
          errors: r.stats.errors.length,
        }
        expect({policy: p, ...got}).toEqual({policy: p, ...want[p]})
        expect(r.stats.unknownAliasPages).toBe(0)
        expect(c(r, 'split_pud') + c(r, 'split_contpmd')).toBe(0)
        expect(mapped(r.pt)).toBe(mapped(snap.pt))
        // Every collapsing policy restores the alias to the machine's PMD leaf.
        if (p !== 'bbml2') expect(r.pt.runAt(page.alias)).toEqual(snap.pt.runAt(page.alias))
      }
      // The vmalloc PMD ends split under every policy that changed anything: never collapsed (nx),
      // or collapsed at ro and re-split by x (rw only).
      for (const p of POLICIES.slice(1)) expect(runs[p].pt.runAt(page.va)!.lvl).toBe(0)
      expect(runs.bbml2.pt.equals(snap.pt)).toBe(true)
    })
  }

  it('a one-page write: the area is padded from the single alias hit (no unknown alias pages)', async () => {
    // dispatch.ts padAlias() read the page stride from the first two hits and left a one-hit call
    // unpadded, so a 1-page set_memory_* at page f > 0 of a huge page had pages.length = 1 < f + 1.
    const runs = await replayAll(writeTrace('one-page.txt', execmemRoxCallHits(target, cache[1]!, 7, 1, {execmemForceNx: false})))
    for (const p of POLICIES.slice(1)) {
      expect(runs[p].stats.unknownAliasPages).toBe(0)
      expect(runs[p].pt.runAt(cache[1]!.alias)).toEqual(snap.pt.runAt(cache[1]!.alias))
    }
  })
})

describe('a random execmem-rox workload (module loads and frees in the cache)', () => {
  /** Events up to the first load/unload marker at or after `n`: the trace ends between calls. */
  function eventsAtCallBoundary(n: number, seed: number, forceNx: boolean): number {
    const hits = [...workloadHits(target, {kind: 'execmem-rox', events: n + 2000, seed, execmemForceNx: forceNx})]
    const i = hits.findIndex((h, j) => j >= n && h.text !== undefined)
    expect(i).toBeGreaterThan(0)
    return i
  }

  for (const forceNx of [true, false]) {
    it(`${forceNx ? 'nx + rw' : 'rw only'}: the relationships the RFC and review predict`, async () => {
      const events = eventsAtCallBoundary(600, 11, forceNx)
      const path = join(dir, `wl-${forceNx}.txt`)
      writeFileSync(path, [...workloadLines(target, {kind: 'execmem-rox', events, seed: 11, execmemForceNx: forceNx})].join('\n') + '\n')
      const runs = await replayAll(path)
      const roAddrs = [...workloadHits(target, {kind: 'execmem-rox', events, seed: 11, execmemForceNx: forceNx})].filter((h) => h.fn === 'set_memory_ro').map((h) => parseKva(h.args![0]![1])!)
      const touched = cache.filter((p) => roAddrs.some((a) => a >= p.va && a < p.va + 2 * M))
      expect(touched.length).toBeGreaterThan(0)
      const rfc = runs['collapse-rfc']
      const both = runs['collapse-both']
      const oa = runs['order-aware']
      const gen = runs['collapse-general']
      for (const p of POLICIES) {
        expect(runs[p].stats.unknownAliasPages).toBe(0)
        expect(runs[p].stats.callsOnUnknownMemory).toBe(0)
        // Split and collapse never change what is mapped (docs/page-table-model.md#invariants, 4).
        expect(mapped(runs[p].pt)).toBe(mapped(snap.pt))
      }
      // bbml2 (mainline): every set_memory_* on the huge cache is refused; nothing is split or freed.
      expect(runs.bbml2.stats.tablePagesFreed).toBe(0)
      expect(runs.bbml2.stats.tablePagesAllocated).toBe(0)
      expect(runs.bbml2.stats.errors.length).toBe(runs.bbml2.stats.callsApplied)
      // rox-cache (RFC 2/6, no collapse): the same splits as collapse-rfc before its collapses,
      // nothing refused, nothing freed — the baseline the collapse variants improve on.
      const base = await runReplay(snap, [path], choosePolicy('rox-cache', {}, snap, {}))
      expect(base.stats.errors.length).toBe(0)
      expect(base.stats.tablePagesFreed).toBe(0)
      expect(c(base, 'collapse_pmd')).toBe(0)
      expect(base.stats.tablePagesAllocated).toBeGreaterThan(0)
      for (const p of touched) expect(base.pt.runAt(p.alias)!.lvl).toBeLessThan(snap.pt.runAt(p.alias)!.lvl)
      // collapse-rfc: alias PTE tables freed; every call ended with ro, so every alias is a PMD leaf
      // again; the vmalloc side of every touched huge page stays split.
      expect(c(rfc, 'collapse_pmd')).toBeGreaterThan(0)
      for (const p of touched) {
        expect(rfc.pt.runAt(p.alias)).toEqual(snap.pt.runAt(p.alias))
        expect(rfc.pt.runAt(p.va)!.lvl).toBe(0)
      }
      // Alias collapses only: one per ro call that re-split its alias (the first ro of a huge page
      // after any rw). rfc and general collapse the same PMDs (general: linear map only).
      expect(c(gen, 'collapse_pmd')).toBe(c(rfc, 'collapse_pmd'))
      expect(splits(gen)).toBe(splits(rfc))
      // collapse-both: the vmalloc PMD too — only when the range is executable again at ro time
      // (rw only), and set_memory_x re-splits it at once; with execmem_force_rw's nx, never.
      for (const p of touched) expect(both.pt.runAt(p.va)!.lvl).toBe(0)
      if (forceNx) {
        expect(c(both, 'collapse_pmd')).toBe(c(rfc, 'collapse_pmd'))
        expect(both.pt.equals(rfc.pt)).toBe(true)
      } else {
        // Every ro collapses both sides (rfc: the alias only), every x re-splits the vmalloc side.
        expect(c(both, 'collapse_pmd')).toBe(2 * c(rfc, 'collapse_pmd'))
        expect(c(both, 'split_pmd')).toBeGreaterThan(c(rfc, 'split_pmd'))
        expect(both.stats.tablePagesAllocated - both.stats.tablePagesFreed).toBe(rfc.stats.tablePagesAllocated - rfc.stats.tablePagesFreed)
      }
      // order-aware: the same collapses as collapse-both, never more splits (one alias call per
      // contiguous run inside a huge page splits only at its two ends).
      expect(c(oa, 'collapse_pmd')).toBe(c(both, 'collapse_pmd'))
      expect(splits(oa)).toBeLessThan(splits(both))
      // Table pages: every policy ends with what it allocated minus what it freed.
      for (const p of POLICIES) {
        const r = runs[p]
        expect(r.pt.recountTables().reduce((a, b) => a + b, 0) - snap.pt.recountTables().reduce((a, b) => a + b, 0)).toBe(r.stats.tablePagesAllocated - r.stats.tablePagesFreed)
      }
    })
  }
})

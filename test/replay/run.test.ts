/**
 * End-to-end replays of the real captures in samples/ (see samples/README.md for what each boot
 * did). The expected split counts are the kernel's own: the 6.19 capture probed split_pmd,
 * split_contpmd and split_contpte, and samples/README.md states their totals for the window from
 * "capture: bpf phase begin" to the end (45, 3, 1,417). Final linear maps are compared run by run
 * with the real later snapshot.
 */
import {describe, expect, it} from 'vitest'

import {readPtdump} from '../../src/ingest/ptdump/index.js'
import type {PtdumpSnapshot} from '../../src/ingest/ptdump/index.js'
import {audit} from '../../src/report/audit.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy, runReplay} from '../../src/replay/run.js'

const S619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const S61ON = 'samples/debian-6.1-qemu/max-2G-rodata-on'
const S612 = 'samples/debian-6.12-qemu/max-2G-default'

function linearRuns(s: PtdumpSnapshot, pt = s.pt) {
  const lin = s.regions.find((r) => r.name === 'linear')!
  return [...pt.runs(lin.start, lin.end)]
}

async function replayCapture(dir: string, from: string, trace: string, policy = 'auto', fromMarker?: string, untilMarker?: string) {
  const path = `${dir}/kernel_page_tables.${from}`
  const snap = await readPtdump(path)
  const choice = choosePolicy(policy, {}, snap, loadFacts(path).facts)
  const run = await runReplay(snap, [`${dir}/${trace}`], choice, {fromMarker, untilMarker})
  return {snap, run}
}

describe('replay of real captures', () => {
  it('6.19 BBML2 loaded → end of trace predicts the kernel split probes exactly and ends equal to "after"', async () => {
    const {run} = await replayCapture(S619, 'loaded', 'trace.txt.gz', 'auto', 'capture: bpf phase begin')
    expect(run.policy.name).toBe('bbml2')
    expect(run.stats.window.fromFound).toBe(true)
    const c = run.stats.counters
    expect([c['split_pud'] ?? 0, c['split_pmd'], c['split_contpmd'], c['split_contpte']]).toEqual([0, 45, 3, 1417])
    // And the trace's own probes of those helpers agree (they are not replayed, only counted).
    expect(run.stats.truth).toMatchObject({split_pmd: 45, split_contpmd: 3, split_contpte: 1417})
    expect(run.stats.counters['split_kernel_leaf_mapping']).toBe(run.stats.truth['split_kernel_leaf_mapping'])
    // Each split_pmd allocates exactly one PTE table; nothing is freed in mainline.
    expect(run.stats.tablePagesAllocated).toBe(45)
    expect(run.stats.tablePagesFreed).toBe(0)
    const after = await readPtdump(`${S619}/kernel_page_tables.after`)
    expect(linearRuns(after, run.pt)).toEqual(linearRuns(after))
  })

  it('6.19 BBML2 loaded → bpf (until "capture: bpf phase end") ends equal to the ".bpf" snapshot', async () => {
    const {run} = await replayCapture(S619, 'loaded', 'trace.txt.gz', 'bbml2', 'capture: bpf phase begin', 'capture: bpf phase end')
    expect(run.stats.window.untilFound).toBe(true)
    const bpf = await readPtdump(`${S619}/kernel_page_tables.bpf`)
    expect(linearRuns(bpf, run.pt)).toEqual(linearRuns(bpf))
  })

  it('6.1 rodata=full (pte-only) before → after: linear map exact, no table change (PTE-only maps never split)', async () => {
    const {snap, run} = await replayCapture(S61, 'before', 'trace.txt')
    expect(run.policy.name).toBe('pte-only')
    expect(run.stats.tablePagesAllocated).toBe(0)
    const after = await readPtdump(`${S61}/kernel_page_tables.after`)
    expect(linearRuns(after, run.pt)).toEqual(linearRuns(after))
    // The trace's __change_memory_common hits named the alias pages: none unknown.
    expect(run.stats.unknownAliasPages).toBe(0)
    expect(snap.pt.tables).toEqual(run.pt.tables)
  })

  it('6.1 rodata=on (noalias) before → after: linear map exact; the alias is never touched', async () => {
    const {snap, run} = await replayCapture(S61ON, 'before', 'trace.txt')
    expect(run.policy.name).toBe('noalias')
    const after = await readPtdump(`${S61ON}/kernel_page_tables.after`)
    expect(linearRuns(after, run.pt)).toEqual(linearRuns(after))
    expect(linearRuns(snap)).toEqual(linearRuns(after))
  })

  it('6.12 default: loaded → after is exact; before → after differs (the probe registration page, samples/README.md)', async () => {
    const after = await readPtdump(`${S612}/kernel_page_tables.after`)
    const fromLoaded = await replayCapture(S612, 'loaded', 'trace.txt', 'auto', 'capture: bpf phase begin')
    expect(linearRuns(after, fromLoaded.run.pt)).toEqual(linearRuns(after))
    const fromBefore = await replayCapture(S612, 'before', 'trace.txt')
    expect(linearRuns(after, fromBefore.run.pt)).not.toEqual(linearRuns(after))
  })

  it('a PTE-mapped 6.1 snapshot replayed under bbml2 is rebased to blocks first, and says so', async () => {
    const {snap, run} = await replayCapture(S61, 'before', 'trace.txt', 'bbml2')
    expect(run.rebase).toBeDefined()
    expect(run.rebase!.from).toBe('pte-only')
    expect(run.rebase!.to).toBe('blocks')
    const lin = snap.regions.find((r) => r.name === 'linear')!
    const before = audit(snap.pt, [lin]).regions[0]!
    const rebased = audit(run.pt, [lin]).regions[0]!
    // 2 GiB PTE-mapped: 1,014 PTE tables (the kernel alias keeps 10 PMD blocks: map_mem(), arch/arm64/mm/mmu.c).
    expect(before.tablePages.PTE).toBe(1014)
    // Under BBML2 the same memory is mostly blocks: a few dozen PTE tables at most after the workload.
    expect(rebased.tablePages.PTE!).toBeLessThan(64)
    expect(rebased.totalMappedBytes).toBe(before.totalMappedBytes)
  })
})

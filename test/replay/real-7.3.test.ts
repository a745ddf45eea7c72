/**
 * The unmodified Debian 7.3.4 captures (samples/linux-7.3-debian-qemu, see its README): from
 * `kernel_page_tables.probed` (dumped right after the probes were registered, the first state
 * the trace fully covers) to the end of trace.txt.gz, the replay must predict the kernel's own
 * probe counts, as the kernel's kprobe_profile states them for the same boot (ampere1a:
 * split_kernel_leaf_mapping 4,611, split_kernel_leaf_mapping_locked 4,687, split_pmd 11). The
 * split probes are counted as ground truth, never replayed.
 */
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {choosePolicy, loadFacts, runReplay} from '../../src/replay/run.js'
import {runVerify} from '../../src/replay/verify.js'

const S73 = 'samples/linux-7.3-debian-qemu'

/** kprobe_profile: `  name   hits   misses` per line. */
function kprobeProfile(dir: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of readFileSync(`${dir}/kprobe_profile`, 'utf8').split('\n')) {
    const m = /^\s*(\S+)\s+(\d+)\s+(\d+)\s*$/.exec(l)
    if (m) out[m[1]!] = Number(m[2])
  }
  return out
}

async function replayFrom(dir: string, from: string, policy: string) {
  const path = `${dir}/kernel_page_tables.${from}`
  const snap = await readPtdump(path)
  const choice = choosePolicy(policy, {}, snap, loadFacts(path).facts)
  return runReplay(snap, [`${dir}/trace.txt.gz`], choice)
}

describe('replay of the Debian 7.3.4 captures', () => {
  it('ampere1a (BBM Level 3) probed → end: split_kernel_leaf_mapping, _locked and split_pmd exactly as the kernel counted them', async () => {
    const dir = `${S73}/ampere1a-2G-default`
    const profile = kprobeProfile(dir)
    expect(profile).toMatchObject({split_kernel_leaf_mapping: 4611, split_kernel_leaf_mapping_locked: 4687, split_pmd: 11, change_memory_common: 152})
    const run = await replayFrom(dir, 'probed', 'auto')
    expect(run.policy.name).toBe('bbml3')
    const c = run.stats.counters
    expect({
      split_kernel_leaf_mapping: c['split_kernel_leaf_mapping'],
      split_kernel_leaf_mapping_locked: c['split_kernel_leaf_mapping_locked'],
      split_pmd: c['split_pmd'],
      update_range_prot: c['update_range_prot'],
      change_memory_common: c['change_memory_common'],
    }).toEqual({
      split_kernel_leaf_mapping: profile.split_kernel_leaf_mapping,
      split_kernel_leaf_mapping_locked: profile.split_kernel_leaf_mapping_locked,
      split_pmd: profile.split_pmd,
      update_range_prot: profile.update_range_prot,
      change_memory_common: profile.change_memory_common,
    })
  })

  // The windows of the capture README ("Markers for windows"). The vm areas are replayed from the
  // trace's own vmap/vunmap/alloc/free events. What remains in vmalloc are 16K areas (THREAD_SIZE:
  // the vmalloc'd kernel stacks of the processes the capture script forks to dump the snapshot)
  // mapped or unmapped at a point of the trace the snapshot cannot be pinned to.
  const WINDOWS: [string, string, {fromMarker?: string; untilMarker?: string}][] = [
    ['probed', 'loaded', {untilMarker: 'capture: bpf phase begin'}],
    ['loaded', 'bpf', {fromMarker: 'capture: bpf phase begin', untilMarker: 'capture: bpf phase end'}],
    ['bpf', 'after', {fromMarker: 'capture: bpf phase end'}],
    ['probed', 'after', {}],
  ]
  for (const [boot, policy] of [
    ['ampere1a-2G-default', 'bbml3'],
    ['max-2G-default', 'pte-only'],
  ] as const) {
    it(`${boot}: probed → end, the replay's table pages (linear-map splits and vmalloc growth) equal the "after" snapshot's`, async () => {
      const dir = `${S73}/${boot}`
      const run = await replayFrom(dir, 'probed', 'auto')
      expect(run.policy.name).toBe(policy)
      const after = await readPtdump(`${dir}/kernel_page_tables.after`)
      // Both counted by the same rule (tables per level); after.pt.tables was checked against an
      // independent recount in test/ingest/ptdump/golden.test.ts.
      expect(run.pt.tables).toEqual(after.pt.tables)
      expect(run.pt.recountTables()).toEqual(run.pt.tables)
    })

    it(`${boot}: linear map and modules match on every window; vmalloc verifiable, only 16K stack areas differ`, async () => {
      const dir = `${S73}/${boot}`
      for (const [from, to, win] of WINDOWS) {
        const before = await readPtdump(`${dir}/kernel_page_tables.${from}`)
        const after = await readPtdump(`${dir}/kernel_page_tables.${to}`)
        const choice = choosePolicy(policy, {}, before, loadFacts(`${dir}/kernel_page_tables.${from}`).facts)
        const v = await runVerify({before, after, traces: [`${dir}/trace.txt.gz`], choice, replay: win})
        const st = Object.fromEntries(v.regions.map((r) => [r.name, r.status]))
        expect([from, to, st['linear'], st['modules']]).toEqual([from, to, 'match', 'match'])
        const vm = v.regions.find((r) => r.name === 'vmalloc')!
        expect(vm.status).not.toBe('not-verifiable')
        expect(vm.callsOnUnknownMemory).toBe(0)
        for (const d of vm.differences) expect([from, to, d.bytes]).toEqual([from, to, 16 * 1024])
      }
    })
  }
})

/**
 * The unmodified Debian 7.3.4 captures (samples/linux-7.3-debian-qemu, see its README): from
 * `kernel_page_tables.probed` (dumped right after the probes were registered, the first state
 * the trace fully covers) to the end of trace.txt.gz, the replay must predict the kernel's own
 * probe counts, as the kernel's kprobe_profile states them for the same boot (ampere1a:
 * split_kernel_leaf_mapping 4,611, split_kernel_leaf_mapping_locked 4,687, split_pmd 11). The
 * split probes are counted as ground truth, never replayed.
 */
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy, runReplay} from '../../src/replay/run.js'
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

  // Each window is cut at the snapshots' dumps, placed in trace time by the bundle's steps.log
  // (src/replay/snapshot-clock.ts); the vm areas are replayed from the trace's own
  // vmap/vunmap/alloc/free events.
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

    it(`${boot}: cut at the dumps (steps.log), every window verifies: linear map, modules and vmalloc match, exit 0`, async () => {
      const dir = `${S73}/${boot}`
      for (const [from, to] of [['probed', 'loaded'], ['loaded', 'bpf'], ['bpf', 'after'], ['probed', 'after']] as const) {
        const before = await readPtdump(`${dir}/kernel_page_tables.${from}`)
        const after = await readPtdump(`${dir}/kernel_page_tables.${to}`)
        const choice = choosePolicy(policy, {}, before, loadFacts(`${dir}/kernel_page_tables.${from}`).facts)
        const v = await runVerify({before, after, traces: [`${dir}/trace.txt.gz`], choice})
        expect(v.window.dumps?.placed).toBe(true)
        // The capture logs 40 marks to both trace_marker and steps.log (init.sh's mark()).
        expect(v.window.dumps?.marksAligned).toBe(40)
        const st = Object.fromEntries(v.regions.map((r) => [r.name, r.status]))
        expect([from, to, st['linear'], st['modules'], st['vmalloc'], v.exitCode]).toEqual([from, to, 'match', 'match', 'match', 0])
        // What the dump times explain is never more than a task's kernel stack: THREAD_SIZE 16 KiB
        // (arch/arm64/include/asm/memory.h, 4K pages, no KASAN) at THREAD_ALIGN 32 KiB.
        for (const r of v.regions) {
          for (const d of r.differences) {
            expect([from, to, r.name, d.bytes, BigInt(d.start) % 32768n]).toEqual([from, to, 'vmalloc', 16384, 0n])
            expect(['dump-time', 'after-trace']).toContain(d.cause)
          }
        }
      }
    })
  }

  it('a dump time placed 3 s late takes in the calls after the dump: vmalloc differs, exit 1', async () => {
    // ampere1a: "kernel_page_tables.loaded: 527 lines" at uptime 495.13 (steps.log:23). Logged as
    // 498.13, the cut falls after the test_bpf phase began (trace 496.004134): the BPF JIT's and
    // the forks' vmaps come in, and no dump time within the tolerance explains them.
    const src = `${S73}/ampere1a-2G-default`
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-steps-'))
    try {
      for (const f of ['kernel_page_tables.probed', 'kernel_page_tables.loaded', 'cpuinfo', 'cmdline', 'version.txt', 'dmesg.boot.txt', 'config-7.3.4+deb13-arm64']) {
        if (existsSync(`${src}/${f}`)) copyFileSync(`${src}/${f}`, `${dir}/${f}`)
        else if (existsSync(`${S73}/${f}`)) copyFileSync(`${S73}/${f}`, `${dir}/${f}`)
      }
      const steps = readFileSync(`${src}/steps.log`, 'utf8')
      expect(steps).toContain('495.13 kernel_page_tables.loaded: 527 lines')
      writeFileSync(`${dir}/steps.log`, steps.replace('495.13 kernel_page_tables.loaded', '498.13 kernel_page_tables.loaded'))
      const before = await readPtdump(`${dir}/kernel_page_tables.probed`)
      const after = await readPtdump(`${dir}/kernel_page_tables.loaded`)
      const choice = choosePolicy('bbml3', {}, before, loadFacts(`${dir}/kernel_page_tables.probed`).facts)
      const v = await runVerify({before, after, traces: [`${src}/trace.txt.gz`], choice})
      expect(v.window.dumps?.placed).toBe(true)
      expect(v.regions.find((r) => r.name === 'vmalloc')?.status).toBe('differs')
      expect(v.exitCode).toBe(1)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

/**
 * synth fleet: deterministic, varied hosts whose boot map follows the --policy auto inference on
 * their own facts, and whose fragmentation is the kernel's (split on demand only where it can).
 */
import {describe, expect, it} from 'vitest'

import {inferPolicy} from '../../src/kernel/infer-policy.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {audit} from '../../src/report/audit.js'
import {BootMachineCache, FLEET_CPUS, FLEET_KERNELS, fleetHostDump, fleetHostFacts, fleetHostMachine, fleetHostSpec} from '../../src/synth/fleet.js'

describe('synth fleet hosts', () => {
  it('are deterministic per (seed, index) and varied over the fleet', () => {
    expect(fleetHostSpec(5, 17)).toEqual(fleetHostSpec(5, 17))
    const specs = Array.from({length: 300}, (_, i) => fleetHostSpec(1, i + 1))
    expect(new Set(specs.map((s) => s.cpu.name)).size).toBe(FLEET_CPUS.length)
    expect(new Set(specs.map((s) => s.kernel)).size).toBe(FLEET_KERNELS.length)
    const rams = specs.map((s) => s.ramBytes)
    expect(Math.min(...rams)).toBe(16 * 2 ** 30)
    expect(Math.max(...rams)).toBe(4096 * 2 ** 30)
    expect(new Set(specs.map((s) => s.policy))).toEqual(new Set(['pte-only', 'noalias', 'bbml2', 'bbml3']))
  })

  it("boot policy is inferPolicy() of the host's own facts: Neoverse-N1 stays PTE-only on 7.3, AmpereOne gets BBML3", () => {
    for (let i = 1; i <= 200; i++) {
      const s = fleetHostSpec(2, i)
      const f = fleetHostFacts(s)
      expect(s.policy).toBe(inferPolicy({version: f['version.txt'], cmdline: f.cmdline, cpuinfo: f.cpuinfo}).policy.name)
      if (s.kernel.startsWith('7.3') && !s.cmdline.includes('rodata=')) {
        if (s.cpu.part === 0xd0c) expect(s.policy).toBe('pte-only')
        if (s.cpu.part === 0xac4) expect(s.policy).toBe('bbml3')
      }
    }
  })

  it('fragmentation splits a BBML3 map on demand and only adds attribute runs to a PTE-only one', () => {
    const cache = new BootMachineCache()
    const base = {index: 1, hostname: 'h', cpus: 4, cmdline: '', fragments: 300, cpu: FLEET_CPUS[5], kernel: FLEET_KERNELS[5]}
    const bbml3 = {...base, ramBytes: 64 * 2 ** 30, policy: 'bbml3' as const}
    const boot3 = audit(cache.get(bbml3.ramBytes, 'bbml3').pt, cache.get(bbml3.ramBytes, 'bbml3').regions).regions.find((r) => r.name === 'linear')!
    const m3 = fleetHostMachine(bbml3, cache, 1)
    const frag3 = audit(m3.pt, m3.regions).regions.find((r) => r.name === 'linear')!
    expect(frag3.tableBytes).toBeGreaterThan(boot3.tableBytes)
    expect(frag3.mappedBytes.PTE).toBeGreaterThan(0)
    // The boot machine in the cache is not modified.
    expect(audit(cache.get(bbml3.ramBytes, 'bbml3').pt, m3.regions).regions.find((r) => r.name === 'linear')!.tableBytes).toBe(boot3.tableBytes)

    const pte = {...base, ramBytes: 64 * 2 ** 30, policy: 'pte-only' as const}
    const boot = audit(cache.get(pte.ramBytes, 'pte-only').pt, m3.regions).regions.find((r) => r.name === 'linear')!
    const mp = fleetHostMachine(pte, cache, 1)
    const frag = audit(mp.pt, mp.regions).regions.find((r) => r.name === 'linear')!
    expect(frag.tableBytes).toBe(boot.tableBytes)
    expect(frag.runs).toBeGreaterThan(boot.runs)
    // What is written reads back to the same tables.
    const snap = parsePtdump([...fleetHostDump(pte, cache, 1)].join('\n') + '\n', 'h.txt')
    expect(audit(snap.pt, snap.regions).regions.find((r) => r.name === 'linear')!.tableBytes).toBe(frag.tableBytes)
  })
})

/**
 * A synthetic fleet: N capture bundles (the samples/ layout) of varied arm64 hosts, each with the
 * facts a fleet audit reads (uname.txt, version.txt, cmdline, cpuinfo) and its page tables at
 * boot plus a fragmented linear map (kernel_page_tables.after).
 *
 * Per host, from (seed, index): RAM from 16 GiB to 4 TiB (log-uniform over the sizes servers
 * ship), a CPU model (real MIDR_EL1 values: Neoverse N1/V1/N2/V2 — Graviton 2–4, Altra, Grace —,
 * AmpereOne, Neoverse V3), a kernel release, and rodata=on on a tenth of them. The boot policy is
 * what the kernel would do with those facts: `inferPolicy()` (src/kernel/infer-policy.ts) decides
 * PTE-only, noalias, BBML2 or BBML3, and `synthMachine()` maps the linear map with `map_mem()`
 * under it. Fragmentation: on a third of the hosts with rodata_full, up to 500 random linear-map
 * pages are made read-only through `__change_memory_common()` as a set_memory_ro() on their vmalloc
 * alias would (split on demand under BBML2/BBML3, attribute runs under PTE-only).
 *
 * Boot machines are cached per (RAM, policy): map_mem() of a 4 TiB PTE-only map costs ~0.2 s,
 * a clone of its runs almost nothing.
 */
import {__changeMemoryCommon} from '../kernel/pageattr.js'
import {makeContext} from '../kernel/dispatch.js'
import {inferPolicy} from '../kernel/infer-policy.js'
import type {PolicyName} from '../kernel/policy.js'
import {HW} from '../model/prot.js'
import {type SynthMachine, renderMachine, synthMachine} from './machine.js'
import {Rng} from './rng.js'

const G = 2 ** 30

/** RAM sizes servers ship with, GiB. */
export const FLEET_RAM_GIB = [16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096] as const

/** CPU models of arm64 server fleets, as /proc/cpuinfo shows them (MIDR fields, asm/cputype.h part numbers). */
export const FLEET_CPUS = [
  {name: 'Neoverse-N1 (Graviton2, Altra)', implementer: 0x41, variant: 3, part: 0xd0c, revision: 1},
  {name: 'Neoverse-V1 (Graviton3)', implementer: 0x41, variant: 1, part: 0xd40, revision: 1},
  {name: 'Neoverse-N2', implementer: 0x41, variant: 0, part: 0xd49, revision: 3},
  {name: 'Neoverse-V2 (Graviton4, Grace)', implementer: 0x41, variant: 0, part: 0xd4f, revision: 1},
  {name: 'AmpereOne (AMPERE1)', implementer: 0xc0, variant: 0, part: 0xac3, revision: 0},
  {name: 'AmpereOne (AMPERE1A)', implementer: 0xc0, variant: 0, part: 0xac4, revision: 0},
  {name: 'Neoverse-V3', implementer: 0x41, variant: 0, part: 0xd84, revision: 2},
] as const

/** Kernel releases (uname -r) of a mixed fleet. */
export const FLEET_KERNELS = ['6.1.0-41-arm64', '6.6.87-cloud-arm64', '6.12.48+deb13-arm64', '6.18.3-arm64', '7.1.2-arm64', '7.3.4+deb13-arm64'] as const

export interface FleetHostSpec {
  index: number
  hostname: string
  ramBytes: number
  cpu: (typeof FLEET_CPUS)[number]
  cpus: number
  kernel: string
  cmdline: string
  /** What inferPolicy() made of the facts. */
  policy: PolicyName
  /** Linear-map pages made read-only after boot (0: unfragmented). */
  fragments: number
}

function cpuinfoText(spec: FleetHostSpec): string {
  const c = spec.cpu
  const one = (i: number) =>
    [
      `processor\t: ${i}`,
      'BogoMIPS\t: 50.00',
      'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp',
      `CPU implementer\t: 0x${c.implementer.toString(16).padStart(2, '0')}`,
      'CPU architecture: 8',
      `CPU variant\t: 0x${c.variant.toString(16)}`,
      `CPU part\t: 0x${c.part.toString(16).padStart(3, '0')}`,
      `CPU revision\t: ${c.revision}`,
      '',
    ].join('\n')
  return Array.from({length: spec.cpus}, (_, i) => one(i)).join('\n') + '\n'
}

function versionText(spec: FleetHostSpec): string {
  return `Linux version ${spec.kernel} (builder@fleet) (gcc (GCC) 14.2.0, GNU ld 2.44) #1 SMP PREEMPT\n`
}

/** The facts files of a host's bundle, by name. */
export function fleetHostFacts(spec: FleetHostSpec): Record<string, string> {
  return {
    'uname.txt': `Linux ${spec.hostname} ${spec.kernel} #1 SMP PREEMPT aarch64 GNU/Linux\n`,
    'version.txt': versionText(spec),
    cmdline: spec.cmdline + '\n',
    cpuinfo: cpuinfoText(spec),
  }
}

/** Host `index` of the fleet `seed`: deterministic. */
export function fleetHostSpec(seed: number, index: number): FleetHostSpec {
  const rng = new Rng((seed * 0x9e3779b1) ^ (index * 0x85ebca6b))
  const ram = FLEET_RAM_GIB[rng.int(FLEET_RAM_GIB.length)]! * G
  const cpu = rng.pick(FLEET_CPUS)
  const kernel = rng.pick(FLEET_KERNELS)
  const rodataOn = rng.int(10) === 0
  const cmdline = `BOOT_IMAGE=/vmlinuz-${kernel} root=/dev/nvme0n1p1 ro console=ttyS0,115200n8${rodataOn ? (kernel.startsWith('6.1.') || kernel.startsWith('6.6.') || kernel.startsWith('6.12.') ? ' rodata=on' : ' rodata=noalias') : ''}`
  const spec: FleetHostSpec = {index, hostname: `host-${String(index).padStart(5, '0')}`, ramBytes: ram, cpu, cpus: 4, kernel, cmdline, policy: 'pte-only', fragments: 0}
  const facts = fleetHostFacts(spec)
  spec.policy = inferPolicy({version: facts['version.txt'], cmdline: facts.cmdline, cpuinfo: facts.cpuinfo}).policy.name
  spec.fragments = rng.int(3) === 0 ? 1 + rng.int(500) : 0
  return spec
}

/** Boot machines by (RAM, policy), shared by the hosts that have them. */
export class BootMachineCache {
  private readonly machines = new Map<string, SynthMachine>()

  get(ramBytes: number, policy: PolicyName): SynthMachine {
    const key = `${ramBytes}/${policy}`
    let m = this.machines.get(key)
    if (!m) {
      m = synthMachine({memoryBytes: ramBytes, policy, seed: 1})
      this.machines.set(key, m)
    }
    return m
  }
}

/**
 * The host's page tables now: its boot machine, then `fragments` random RAM pages of the linear
 * map made read-only through __change_memory_common() (the linear-alias half of set_memory_ro()
 * on a vmalloc area under rodata_full; pageattr.c). Without rodata_full nothing changes the alias.
 */
export function fleetHostMachine(spec: FleetHostSpec, cache: BootMachineCache, seed: number): SynthMachine {
  const boot = cache.get(spec.ramBytes, spec.policy)
  if (!spec.fragments || !boot.policy.cfg.rodataFull) return boot
  const pt = boot.pt.clone()
  const lin = boot.regions.find((r) => r.name === 'linear')!
  const ctx = makeContext(pt, boot.policy.cfg, {linear: {start: lin.start, end: lin.end}})
  const rng = new Rng(seed ^ (spec.index * 0x27d4eb2d) ^ 0xf1ee7)
  const P = boot.geo.pageSize
  const ramPages = boot.ram.reduce((a, r) => a + (r.end - r.start) / P, 0)
  for (let i = 0; i < spec.fragments; i++) {
    let k = rng.int(ramPages)
    for (const r of boot.ram) {
      const n = (r.end - r.start) / P
      if (k < n) {
        __changeMemoryCommon(ctx, r.start + k * P, P, HW.PTE_RDONLY, HW.PTE_WRITE)
        break
      }
      k -= n
    }
  }
  return {...boot, pt}
}

/** The ptdump lines of a host. */
export function fleetHostDump(spec: FleetHostSpec, cache: BootMachineCache, seed: number): Generator<string> {
  return renderMachine(fleetHostMachine(spec, cache, seed))
}

/**
 * Whether a CPU may split live block mappings without break-before-make: the MIDR allow-lists of
 * arch/arm64/kernel/cpufeature.c per version, the ID register test of 7.2+, and the dmesg line
 * each version prints when the capability is detected.
 *
 * MIDR ranges follow arch/arm64/include/asm/cputype.h exactly: MIDR_RANGE(m, v_min, r_min, v_max,
 * r_max) compares `midr & (MIDR_VARIANT_MASK | MIDR_REVISION_MASK)` against
 * MIDR_CPU_VAR_REV(v_min, r_min) .. MIDR_CPU_VAR_REV(v_max, r_max) (midr_is_cpu_model_range()),
 * i.e. (variant, revision) ordered lexicographically; MIDR_REV_RANGE(m, v, r_min, r_max) is
 * variant v, revisions r_min..r_max; MIDR_ALL_VERSIONS(m) is r0p0..r15p15.
 */
import type {KernelVersion} from './version.js'
import {versionHas} from './version.js'

export interface Midr {
  implementer: number
  part: number
  variant: number
  revision: number
}

/** One `struct midr_range`: the model (implementer, part) and the inclusive [variant, revision] bounds. */
export interface MidrRange {
  name: string
  implementer: number
  part: number
  min: readonly [variant: number, revision: number]
  max: readonly [variant: number, revision: number]
}

const IMP_ARM = 0x41
const IMP_NVIDIA = 0x4e
const IMP_AMPERE = 0xc0
const allVersions = (name: string, implementer: number, part: number): MidrRange => ({name, implementer, part, min: [0, 0], max: [0xf, 0xf]})
const revRange = (name: string, implementer: number, part: number, v: number, rMin: number, rMax: number): MidrRange => ({name, implementer, part, min: [v, rMin], max: [v, rMax]})

/** supports_bbml2_noabort_list[] in cpu_supports_bbml2_noabort() (cpufeature.c, v6.19.9; 6.18–7.1). Part numbers: asm/cputype.h. */
export const SUPPORTS_BBML2_NOABORT_LIST: readonly MidrRange[] = [
  revRange('Cortex-X4', IMP_ARM, 0xd82, 0, 3, 0xf),
  revRange('Neoverse-V3', IMP_ARM, 0xd84, 0, 2, 0xf),
  revRange('Neoverse-V3AE', IMP_ARM, 0xd83, 0, 2, 0xf),
  allVersions('NVIDIA Olympus', IMP_NVIDIA, 0x010),
  allVersions('AmpereOne (AMPERE1)', IMP_AMPERE, 0xac3),
  allVersions('AmpereOne (AMPERE1A)', IMP_AMPERE, 0xac4),
]

/** supports_bbml3_list[] in cpu_supports_bbml3() (cpufeature.c, v7.3.4; 7.2+). Part numbers: v7.3.4 asm/cputype.h. */
export const SUPPORTS_BBML3_LIST: readonly MidrRange[] = [
  ...SUPPORTS_BBML2_NOABORT_LIST,
  allVersions('Cortex-A520AE', IMP_ARM, 0xd88),
  allVersions('Cortex-A715', IMP_ARM, 0xd4d),
  allVersions('Cortex-A720AE', IMP_ARM, 0xd89),
  allVersions('Cortex-A725', IMP_ARM, 0xd87),
  allVersions('Neoverse-N3', IMP_ARM, 0xd8e),
  allVersions('C1-Nano', IMP_ARM, 0xd8a),
  allVersions('C1-Pro', IMP_ARM, 0xd8b),
  // MIDR_RANGE(MIDR_C1_ULTRA, 1, 1, 0xf, 0xf): "Erratum 3683289 fixed in r1p1".
  {name: 'C1-Ultra', implementer: IMP_ARM, part: 0xd8c, min: [1, 1], max: [0xf, 0xf]},
  {name: 'C1-Premium', implementer: IMP_ARM, part: 0xd90, min: [1, 1], max: [0xf, 0xf]},
]

/** The allow-list kernel `v` uses (none before 6.18). */
export function bbmAllowList(v: KernelVersion): readonly MidrRange[] {
  if (versionHas(v, 'bbml3')) return SUPPORTS_BBML3_LIST
  if (versionHas(v, 'leafSplit')) return SUPPORTS_BBML2_NOABORT_LIST
  return []
}

/** The kernel's name for the capability and its allow-list, for reasons and reports. */
export function bbmCapName(v: KernelVersion): {cap: string; list: string; dmesg: string} {
  return versionHas(v, 'bbml3')
    ? {cap: 'BBM Level 3', list: 'supports_bbml3_list[] (cpu_supports_bbml3(), cpufeature.c v7.3.4)', dmesg: 'CPU features: detected: BBM Level 3'}
    : {
        cap: 'BBML2_NOABORT',
        list: 'supports_bbml2_noabort_list[] (cpu_supports_bbml2_noabort(), cpufeature.c v6.19.9)',
        dmesg: 'CPU features: detected: BBM Level 2 without TLB conflict abort',
      }
}

/** midr_is_cpu_model_range(): same model, (variant, revision) within [min, max]. */
export function midrInRange(m: Midr, r: MidrRange): boolean {
  if (m.implementer !== r.implementer || m.part !== r.part) return false
  const rv = (m.variant << 4) | m.revision
  return rv >= ((r.min[0] << 4) | r.min[1]) && rv <= ((r.max[0] << 4) | r.max[1])
}

/** is_midr_in_range_list(): the first matching entry's name, or undefined. */
export function midrInRangeList(m: Midr, list: readonly MidrRange[]): string | undefined {
  return list.find((r) => midrInRange(m, r))?.name
}

/** The 6.19.9 test: a MIDR on supports_bbml2_noabort_list[] (the ID register is ignored there). */
export function midrSupportsBbml2Noabort(m: Midr): string | undefined {
  return midrInRangeList(m, SUPPORTS_BBML2_NOABORT_LIST)
}

/** ID_AA64MMFR2_EL1.BBM, bits [55:52]; ID_AA64MMFR2_EL1_BBM_3 = 3 (arch/arm64/tools/sysreg). */
export function idAa64mmfr2Bbm(reg: bigint): number {
  return Number((reg >> 52n) & 0xfn)
}

/**
 * cpu_supports_bbml2_noabort() (6.18–7.1: the MIDR list only) / cpu_supports_bbml3() (7.2+:
 * ID_AA64MMFR2_EL1.BBM >= 3, else the MIDR list) for one CPU. Returns why, or undefined.
 */
export function cpuSupportsBbm(v: KernelVersion, m: Midr, idAa64mmfr2?: bigint): string | undefined {
  if (versionHas(v, 'bbml3') && idAa64mmfr2 !== undefined && idAa64mmfr2Bbm(idAa64mmfr2) >= 3) return 'ID_AA64MMFR2_EL1.BBM >= 3'
  return midrInRangeList(m, bbmAllowList(v))
}

/** Every CPU's MIDR fields from /proc/cpuinfo. */
export function parseCpuinfoMidrs(text: string): Midr[] {
  const out: Midr[] = []
  let cur: Partial<Midr> = {}
  const flush = () => {
    if (cur.implementer !== undefined && cur.part !== undefined) {
      out.push({implementer: cur.implementer, part: cur.part, variant: cur.variant ?? 0, revision: cur.revision ?? 0})
    }
    cur = {}
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(CPU implementer|CPU variant|CPU part|CPU revision|processor)\s*:\s*(\S+)/.exec(line)
    if (!m) continue
    const v = Number(m[2])
    if (m[1] === 'processor') flush()
    else if (m[1] === 'CPU implementer') cur.implementer = v
    else if (m[1] === 'CPU part') cur.part = v
    else if (m[1] === 'CPU variant') cur.variant = v
    else cur.revision = v
  }
  flush()
  return out
}

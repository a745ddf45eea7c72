import {describe, expect, it} from 'vitest'

import {SUPPORTS_BBML2_NOABORT_LIST, SUPPORTS_BBML3_LIST, bbmAllowList, cpuSupportsBbm, midrInRangeList} from '../../src/kernel/cpufeature.js'

const midr = (implementer: number, part: number, variant: number, revision: number) => ({implementer, part, variant, revision})

// Expectations derived by hand from arch/arm64/include/asm/cputype.h (v7.3.4): MIDR_RANGE(m, v_min,
// r_min, v_max, r_max) compares (variant << 20 | revision) against the two bounds, so it is a
// lexicographic (variant, revision) range; MIDR_REV_RANGE(m, v, r_min, r_max) = MIDR_RANGE(m, v,
// r_min, v, r_max); MIDR_ALL_VERSIONS(m) = MIDR_RANGE(m, 0, 0, 0xf, 0xf).
describe('MIDR ranges as cputype.h defines them', () => {
  it('MIDR_REV_RANGE(MIDR_CORTEX_X4, 0, 3, 0xf) is r0p3..r0p15 only', () => {
    expect(midrInRangeList(midr(0x41, 0xd82, 0, 3), SUPPORTS_BBML3_LIST)).toBe('Cortex-X4')
    expect(midrInRangeList(midr(0x41, 0xd82, 0, 15), SUPPORTS_BBML3_LIST)).toBe('Cortex-X4')
    expect(midrInRangeList(midr(0x41, 0xd82, 0, 2), SUPPORTS_BBML3_LIST)).toBeUndefined()
    expect(midrInRangeList(midr(0x41, 0xd82, 1, 0), SUPPORTS_BBML3_LIST)).toBeUndefined()
  })
  it('MIDR_RANGE(MIDR_C1_ULTRA, 1, 1, 0xf, 0xf) is r1p1 and every later variant, r0p15 and r1p0 excluded', () => {
    expect(midrInRangeList(midr(0x41, 0xd8c, 1, 1), SUPPORTS_BBML3_LIST)).toBe('C1-Ultra')
    expect(midrInRangeList(midr(0x41, 0xd8c, 2, 0), SUPPORTS_BBML3_LIST)).toBe('C1-Ultra')
    expect(midrInRangeList(midr(0x41, 0xd8c, 1, 0), SUPPORTS_BBML3_LIST)).toBeUndefined()
    expect(midrInRangeList(midr(0x41, 0xd8c, 0, 15), SUPPORTS_BBML3_LIST)).toBeUndefined()
    expect(midrInRangeList(midr(0x41, 0xd90, 1, 1), SUPPORTS_BBML3_LIST)).toBe('C1-Premium')
  })
  it('7.3 supports_bbml3_list[] has the 15 entries of cpu_supports_bbml3(); 6.19 the 6 of cpu_supports_bbml2_noabort()', () => {
    expect(SUPPORTS_BBML3_LIST).toHaveLength(15)
    expect(SUPPORTS_BBML2_NOABORT_LIST).toHaveLength(6)
    expect(bbmAllowList([7, 3])).toBe(SUPPORTS_BBML3_LIST)
    expect(bbmAllowList([7, 1])).toBe(SUPPORTS_BBML2_NOABORT_LIST)
    expect(bbmAllowList([6, 17])).toHaveLength(0)
  })
  it('Cortex-A715 (0xd4d) is on 7.3’s list, not 6.19’s; AmpereOne AMPERE1A (0xc0/0xac4, the 7.3 capture’s MIDR) on both', () => {
    expect(cpuSupportsBbm([7, 3], midr(0x41, 0xd4d, 1, 2))).toBe('Cortex-A715')
    expect(cpuSupportsBbm([6, 19], midr(0x41, 0xd4d, 1, 2))).toBeUndefined()
    expect(cpuSupportsBbm([7, 3], midr(0xc0, 0xac4, 0, 0))).toBe('AmpereOne (AMPERE1A)')
    expect(cpuSupportsBbm([6, 19], midr(0xc0, 0xac4, 0, 0))).toBe('AmpereOne (AMPERE1A)')
    // QEMU max (0x00/0x051): on neither.
    expect(cpuSupportsBbm([7, 3], midr(0x00, 0x051, 0, 0))).toBeUndefined()
  })
  it('ID_AA64MMFR2_EL1.BBM (bits 55:52) >= 3 suffices from 7.2; 6.19 ignores the register', () => {
    const bbm3 = 3n << 52n
    const bbm2 = 2n << 52n
    expect(cpuSupportsBbm([7, 3], midr(0x00, 0x051, 0, 0), bbm3)).toBe('ID_AA64MMFR2_EL1.BBM >= 3')
    expect(cpuSupportsBbm([7, 3], midr(0x00, 0x051, 0, 0), bbm2)).toBeUndefined()
    expect(cpuSupportsBbm([6, 19], midr(0x00, 0x051, 0, 0), bbm3)).toBeUndefined()
  })
})

import {describe, expect, it} from 'vitest'

import {VERSION_GATES, parseKernelVersion, versionCode, versionHas} from '../../src/kernel/version.js'

describe('the one kernel-version parser', () => {
  it('reads every form the captures and users give', () => {
    expect(parseKernelVersion('6.19')).toEqual([6, 19])
    expect(parseKernelVersion('7.3.4+deb13-arm64')).toEqual([7, 3])
    expect(parseKernelVersion('6.1.0-56-arm64')).toEqual([6, 1])
    expect(parseKernelVersion('Linux version 7.3.4+deb13-arm64 (debian-kernel@lists.debian.org) (aarch64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0)')).toEqual([7, 3])
    expect(parseKernelVersion('Linux version 6.12.117+deb12-arm64 #1 SMP')).toEqual([6, 12])
    expect(parseKernelVersion('latest')).toBeUndefined()
    expect(versionCode([7, 3])).toBe(703)
  })
  it('every gate cites a commit or the trees read, and the table is in version order', () => {
    const gates = Object.values(VERSION_GATES)
    for (const g of gates) expect(g.cite).toMatch(/commit [0-9a-f]{12} \("[^"]+"\) \(in v\d+\.\d+|read/)
    const codes = gates.map((g) => versionCode(g.since))
    expect([...codes].sort((a, b) => a - b)).toEqual(codes)
  })
  it('gates fall where the kernel trees put them', () => {
    expect(versionHas([6, 17], 'leafSplit')).toBe(false)
    expect(versionHas([6, 18], 'leafSplit')).toBe(true)
    expect(versionHas([6, 17], 'rodataNoalias')).toBe(false)
    expect(versionHas([6, 18], 'rodataNoalias')).toBe(true)
    expect(versionHas([6, 15], 'hugeVmapBailout')).toBe(false)
    expect(versionHas([6, 16], 'hugeVmapBailout')).toBe(true)
    expect(versionHas([6, 18], 'aliasLoopInRange')).toBe(false)
    expect(versionHas([6, 19], 'aliasLoopInRange')).toBe(true)
    expect(versionHas([7, 1], 'bbml3')).toBe(false)
    expect(versionHas([7, 3], 'bbml3')).toBe(true)
  })
})

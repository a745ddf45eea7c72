import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {canSetDirectMap, forcePteMapping, linearMapPteForced} from '../../src/kernel/context.js'
import {midrSupportsBbml2Noabort, parseCpuinfoMidrs} from '../../src/kernel/cpufeature.js'
import {inferPolicy} from '../../src/kernel/infer-policy.js'
import {POLICIES, makePolicy, rodataFullFor} from '../../src/kernel/policy.js'
import {parseKernelVersion} from '../../src/kernel/version.js'

const S = 'samples'
const read = (p: string) => readFileSync(`${S}/${p}`, 'utf8')

/** Facts of one capture folder, as the CLI would gather them. */
function facts(dir: string, config: string, linearMapPteOnly: boolean, dmesg = false) {
  return {
    version: read(`${dir}/version.txt`),
    cmdline: read(`${dir}/cmdline`),
    cpuinfo: read(`${dir}/cpuinfo`),
    config: read(config),
    dmesg: dmesg ? read(`${dir}/dmesg.txt`) : undefined,
    linearMapPteOnly,
  }
}

describe('presets', () => {
  it('each preset says what it follows and sets the predicates the kernel would', () => {
    // Each description names what it follows so a reader can check it: a kernel version or a
    // lore link, and a kernel function, source file, commit or lore link.
    for (const [name, p] of Object.entries(POLICIES)) {
      expect(p.description, name).toMatch(/\bv?\d\.\d+\b|https:\/\/lore\.kernel\.org\/|\blore \S+@/)
      expect(p.description, name).toMatch(/\b\w+\(\)|\b[\w/-]+\.c\b|\b[0-9a-f]{12}\b|https:\/\/lore\.kernel\.org\/|\blore \S+@/)
    }
    const pte = POLICIES['pte-only'].cfg
    expect([linearMapPteForced(pte), canSetDirectMap(pte)]).toEqual([true, true])
    const na = POLICIES.noalias.cfg
    expect([linearMapPteForced(na), canSetDirectMap(na)]).toEqual([false, false])
    const bb = POLICIES.bbml2.cfg
    expect([linearMapPteForced(bb), forcePteMapping(bb), canSetDirectMap(bb)]).toEqual([false, false, true])
    const rp = POLICIES['bbml2-repaint'].cfg
    // map_mem() sees the boot CPU's BBML2 (blocks); at runtime the system cap is missing.
    expect([linearMapPteForced(rp), forcePteMapping(rp)]).toEqual([false, true])
  })

  it('knobs override a preset; rodata= is parsed per version', () => {
    expect(makePolicy('bbml2', {collapse: 'rfc', kfence: 'late'}).cfg).toMatchObject({collapse: 'rfc', kfence: 'late', bbml2: true})
    expect(makePolicy('pte-only', {rodata: 'on'}).cfg.rodataFull).toBe(false) // 6.12: on = no alias
    expect(makePolicy('bbml2', {rodata: 'on'}).cfg.rodataFull).toBe(true) // 6.19: on = old full
    expect(makePolicy('bbml2', {rodata: 'noalias'}).cfg.rodataFull).toBe(false)
    expect(rodataFullFor([6, 19], 'full')).toBeUndefined() // rejected by 6.19, default stays
    expect(rodataFullFor([6, 12], 'noalias')).toBeUndefined()
  })
})

describe('BBML2 allow-list and fact parsers', () => {
  it('MIDR_REV_RANGE(MIDR_CORTEX_X4, 0, 3, 0xf) means r0p3..r0p15', () => {
    expect(midrSupportsBbml2Noabort({implementer: 0x41, part: 0xd82, variant: 0, revision: 3})).toBe('Cortex-X4')
    expect(midrSupportsBbml2Noabort({implementer: 0x41, part: 0xd82, variant: 0, revision: 2})).toBeUndefined()
    expect(midrSupportsBbml2Noabort({implementer: 0x41, part: 0xd82, variant: 1, revision: 3})).toBeUndefined()
    expect(midrSupportsBbml2Noabort({implementer: 0xc0, part: 0xac4, variant: 3, revision: 7})).toBe('AmpereOne (AMPERE1A)')
    expect(midrSupportsBbml2Noabort({implementer: 0x00, part: 0x051, variant: 0, revision: 0})).toBeUndefined()
  })

  it('reads cpuinfo and version strings of the captures', () => {
    expect(parseCpuinfoMidrs(read('linux-6.19-bbml2-qemu/max-2G-default/cpuinfo'))).toEqual([
      {implementer: 0, part: 0x51, variant: 0, revision: 0},
      {implementer: 0, part: 0x51, variant: 0, revision: 0},
    ])
    expect(parseKernelVersion(read('debian-6.12-qemu/max-2G-default/version.txt'))).toEqual([6, 12])
    expect(parseKernelVersion('6.19.0')).toEqual([6, 19])
  })
})

describe('inferPolicy on the facts of each capture in samples/', () => {
  it('debian 6.1 default: rodata_full from CONFIG_RODATA_FULL_DEFAULT_ENABLED → pte-only', () => {
    const r = inferPolicy(facts('debian-6.1-qemu/max-2G-default', 'debian-6.1-qemu/max-2G-default/config.excerpt', true))
    expect(r.policy.name).toBe('pte-only')
    expect(r.policy.cfg).toMatchObject({version: [6, 1], rodataFull: true, bbml2: false})
    expect(r.reasons.join('\n')).toMatch(/as predicted/)
  })

  it('debian 6.1 rodata=on (full config: KFENCE not set) → noalias', () => {
    const r = inferPolicy(facts('debian-6.1-qemu/max-2G-rodata-on', 'debian-6.1-qemu/config-6.1.0-56-arm64', false))
    expect(r.policy.name).toBe('noalias')
    expect(r.policy.cfg).toMatchObject({rodataFull: false, kfence: 'off'})
    expect(r.reasons.join('\n')).toMatch(/CONFIG_KFENCE is not set/)
  })

  it('debian 6.12 default: CONFIG_KFENCE_SAMPLE_INTERVAL=0 → late KFENCE, pte-only', () => {
    const r = inferPolicy(facts('debian-6.12-qemu/max-2G-default', 'debian-6.12-qemu/max-2G-default/config.excerpt', true))
    expect(r.policy.name).toBe('pte-only')
    expect(r.policy.cfg).toMatchObject({version: [6, 12], kfence: 'late', rodataFull: true})
  })

  it('debian 6.12 kfence.sample_interval=100 → early pool, pte-only', () => {
    const r = inferPolicy(facts('debian-6.12-qemu/max-2G-kfence', 'debian-6.12-qemu/max-2G-kfence/config.excerpt', true))
    expect(r.policy.cfg.kfence).toBe('early')
    expect(r.policy.name).toBe('pte-only')
  })

  it('6.19 BBML2 capture: the MIDR is not on the mainline list, dmesg and the block-mapped snapshot say BBML2', () => {
    const withDmesg = inferPolicy(facts('linux-6.19-bbml2-qemu/max-2G-default', 'linux-6.19-bbml2-qemu/config-6.19-bbml2', false, true))
    expect(withDmesg.policy.name).toBe('bbml2')
    const snapshotOnly = inferPolicy(facts('linux-6.19-bbml2-qemu/max-2G-default', 'linux-6.19-bbml2-qemu/config-6.19-bbml2', false))
    expect(snapshotOnly.policy.name).toBe('bbml2')
    expect(snapshotOnly.reasons.join('\n')).toMatch(/not on supports_bbml2_noabort_list\[\][\s\S]*force_pte_mapping\(\) was false/)
    const noFacts = inferPolicy({version: '6.19.0', cpuinfo: read('linux-6.19-bbml2-qemu/max-2G-default/cpuinfo')})
    expect(noFacts.policy.name).toBe('pte-only')
  })

  it('6.12 rodata=on with KFENCE built in, sample_interval=0: PTE-mapped linear map, set_direct_map_* live, no alias loop', () => {
    const r = inferPolicy({
      version: 'Linux version 6.12.117+deb12-arm64',
      cmdline: 'console=ttyAMA0 rodata=on',
      config: read('debian-6.12-qemu/max-2G-default/config.excerpt'),
      linearMapPteOnly: true,
    })
    expect(r.policy.name).toBe('noalias')
    expect(r.policy.cfg).toMatchObject({rodataFull: false, kfence: 'late'})
    expect(linearMapPteForced(r.policy.cfg)).toBe(true)
    expect(canSetDirectMap(r.policy.cfg)).toBe(true)
    expect(r.reasons.at(-1)).toMatch(/PTE-only; set_direct_map_\* live; set_memory_ro\/rw leave the linear alias alone/)
  })
})

describe('inferPolicy on the Debian 7.3.4 captures (facts loaded as the CLI loads them)', () => {
  const D = 'samples/linux-7.3-debian-qemu'
  it('ampere1a-2G-default: bbml3, naming the dmesg line, the MIDR list and KFENCE’s config', async () => {
    const {loadFacts} = await import('../../src/capture/facts.js')
    const {facts: f, files} = loadFacts(`${D}/ampere1a-2G-default/kernel_page_tables.probed`)
    expect(files.some((p) => p.endsWith('config-7.3.4+deb13-arm64'))).toBe(true)
    const r = inferPolicy({...f, linearMapPteOnly: false})
    expect(r.policy.name).toBe('bbml3')
    expect(r.policy.cfg.version).toEqual([7, 3])
    expect(r.policy.cfg.kfence).toBe('late')
    const text = r.reasons.join('\n')
    expect(text).toContain('dmesg: "CPU features: detected: BBM Level 3"')
    expect(text).toMatch(/every CPU on supports_bbml3_list\[\].*15 entries \(AmpereOne \(AMPERE1A\)\)/)
    expect(text).toContain('config: CONFIG_KFENCE=y, sample_interval=0 (CONFIG_KFENCE_SAMPLE_INTERVAL)')
    expect(text).toContain('snapshot: linear map block-mapped, as predicted')
  })
  it('max-2G-default: pte-only (QEMU max MIDR not on the list, no BBM Level 3 in dmesg)', async () => {
    const {loadFacts} = await import('../../src/capture/facts.js')
    const {facts: f} = loadFacts(`${D}/max-2G-default/kernel_page_tables.probed`)
    const r = inferPolicy({...f, linearMapPteOnly: true})
    expect(r.policy.name).toBe('pte-only')
    const text = r.reasons.join('\n')
    expect(text).toMatch(/part 0x051 r0p0 \(2 CPUs\): not on supports_bbml3_list\[\]/)
    expect(text).toContain('dmesg lists CPU features but not "CPU features: detected: BBM Level 3"')
    expect(text).toContain('config: CONFIG_KFENCE=y, sample_interval=0')
    expect(text).toContain('snapshot: linear map PTE-only, as predicted')
  })
  it('debug_pagealloc= is kstrtobool(): 1, y, true and on enable it; 0 and off do not', () => {
    for (const on of ['1', 'y', 'true', 'on', 'Y']) expect(inferPolicy({version: '7.3.4', cmdline: `debug_pagealloc=${on}`}).policy.cfg.debugPagealloc).toBe(true)
    for (const off of ['0', 'n', 'off', 'false', '']) expect(inferPolicy({version: '7.3.4', cmdline: `debug_pagealloc=${off}`}).policy.cfg.debugPagealloc).toBe(false)
  })
  it('PTE_MAYBE_GP needs CONFIG_ARM64_BTI_KERNEL and a BTI CPU (system_supports_bti_kernel())', () => {
    const cpu = 'processor\t: 0\nFeatures\t: fp asimd bti\nCPU implementer\t: 0x41\nCPU part\t: 0xd82\n'
    const noBti = 'processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd82\n'
    expect(inferPolicy({version: '6.19', config: 'CONFIG_ARM64_BTI_KERNEL=y', cpuinfo: cpu}).policy.cfg.bti).toBe(true)
    expect(inferPolicy({version: '6.19', config: 'CONFIG_ARM64_BTI_KERNEL=y', cpuinfo: noBti}).policy.cfg.bti).toBe(false)
    expect(inferPolicy({version: '6.19', config: '# CONFIG_ARM64_BTI_KERNEL is not set', cpuinfo: cpu}).policy.cfg.bti).toBe(false)
  })
})

/**
 * Eligibility on the real capture bundles (what their kernels did is known: samples/README.md),
 * and the BBML3 forecast against map_mem() itself and against a real BBML3 capture.
 */
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import Audit, {type AuditResult} from '../../src/commands/audit.js'
import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {audit} from '../../src/report/audit.js'
import {bbml3Forecast, eligibility} from '../../src/report/eligibility.js'
import {loadFacts} from '../../src/capture/facts.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {runCommand} from '../helpers/run-command.js'

async function eligibilityOf(bundle: string, dump = 'kernel_page_tables.after') {
  const path = join('samples', bundle, dump)
  const snap = await readPtdump(path)
  return {e: eligibility(loadFacts(path).facts, snap), snap}
}

describe('eligibility of the real captures', () => {
  it('6.1 rodata=full: PTE-only, blocked by the kernel (no BBML2 before 6.18); rodata=on: block-mapped', async () => {
    const a = await eligibilityOf('debian-6.1-qemu/max-2G-default')
    expect(a.e).toMatchObject({status: 'blocked:kernel', eligible: false, policy: 'pte-only', observedPteOnly: true, cpuListedForBbml3: false})
    const b = await eligibilityOf('debian-6.1-qemu/max-2G-rodata-on')
    expect(b.e).toMatchObject({status: 'eligible', eligible: true, mechanism: 'rodata_full off', policy: 'noalias', observedPteOnly: false})
  })

  it('6.19 with BBML2_NOABORT (dmesg of the patched allow-list): eligible', async () => {
    const {e} = await eligibilityOf('linux-6.19-bbml2-qemu/max-2G-default')
    expect(e).toMatchObject({status: 'eligible', mechanism: 'BBML2_NOABORT', policy: 'bbml2', observedPteOnly: false})
  })

  it('7.3 on AmpereOne (MIDR 0xc00fac40, on the BBML3 list): eligible; on QEMU max: blocked by the CPU', async () => {
    const a = await eligibilityOf('linux-7.3-debian-qemu/ampere1a-2G-default')
    expect(a.e).toMatchObject({status: 'eligible', mechanism: 'BBML3', policy: 'bbml3', cpuListedForBbml3: true, observedPteOnly: false})
    const m = await eligibilityOf('linux-7.3-debian-qemu/max-2G-default')
    expect(m.e).toMatchObject({status: 'blocked:cpu', eligible: false, policy: 'pte-only', cpuListedForBbml3: false, observedPteOnly: true})
    expect(m.e.reason).toContain('BBML3')
  })

  it('debug_pagealloc=on blocks whatever the CPU; no version: unknown', () => {
    const cpuinfo = 'processor\t: 0\nCPU implementer\t: 0xc0\nCPU variant\t: 0x0\nCPU part\t: 0xac4\nCPU revision\t: 0\n'
    expect(eligibility({version: 'Linux version 7.3.4', cmdline: 'debug_pagealloc=on', cpuinfo}).status).toBe('blocked:debug_pagealloc')
    expect(eligibility({version: 'Linux version 7.3.4', cmdline: '', cpuinfo}).status).toBe('eligible')
    expect(eligibility({cpuinfo}).status).toBe('unknown')
  })
})

describe('BBML3 forecast', () => {
  it("on a synthetic 256 GiB PTE-only machine equals map_mem()'s own BBML3 map of the same memory", () => {
    const pte = synthMachine({memoryBytes: 256 * 2 ** 30, policy: 'pte-only'})
    const b3 = synthMachine({memoryBytes: 256 * 2 ** 30, policy: 'bbml3'})
    // Through the text, as a fleet reads it.
    const snap = parsePtdump([...renderMachine(pte)].join('\n') + '\n', 'm256.txt')
    const current = audit(snap.pt, snap.regions)
    const f = bbml3Forecast(snap, current, {version: 'Linux version 7.3.4'})!
    const want = audit(b3.pt, b3.regions)
    const lin = (r: typeof want) => r.regions.find((x) => x.name === 'linear')!
    expect(f.linearTableBytes).toBe(lin(want).tableBytes)
    expect(f.linearTlbEntries).toBe(lin(want).tlbEntries)
    // README: PTE-only costs 131,310 table pages (512.9 MiB) on this machine; BBML3 like BBML2 a few.
    expect(lin(current).tableBytes).toBe(131_310 * 4096)
    expect(f.savedLinearTableBytes).toBe(lin(current).tableBytes - lin(want).tableBytes)
  })

  it('on a real BBML3 capture (7.3, AmpereOne) reproduces the capture: nothing saved', async () => {
    const {snap} = await eligibilityOf('linux-7.3-debian-qemu/ampere1a-2G-default', 'kernel_page_tables.before')
    const f = bbml3Forecast(snap, audit(snap.pt, snap.regions), {version: 'Linux version 7.3.4'})!
    expect(f.savedTableBytes).toBe(0)
    expect(f.savedTlbEntries).toBe(0)
  })

  it('audit --json carries it; on the 7.3 PTE-only capture it saves most of the 4 MiB of linear PTE tables', async () => {
    const r = await runCommand<AuditResult>(Audit, ['samples/linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.before', '--json'])
    const e = r.result!.eligibility
    const lin = r.result!.regions.find((x) => x.name === 'linear')!
    expect(e.status).toBe('blocked:cpu')
    expect(e.reasons.length).toBeGreaterThan(2)
    expect(e.forecast!.savedLinearTableBytes).toBeGreaterThan(0.99 * lin.tableBytes)
    expect(e.forecast!.linearTlbEntries).toBeLessThan(lin.tlbEntries / 100)
    const text = await runCommand(Audit, ['samples/linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.before'])
    expect(text.stdout).toContain('Block-mapped linear map: no (blocked:cpu')
    expect(text.stdout).toContain('BBML3 forecast')
    // Piped: wrapped to 80 columns, ASCII.
    const tail = text.stdout.slice(text.stdout.indexOf('Block-mapped linear map')).split('\n')
    for (const l of tail) expect(l.length, l).toBeLessThanOrEqual(80)
  })
})

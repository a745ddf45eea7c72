/**
 * Issue 12 item 15 (leftover): `--va-bits 40` said "no arm64 configuration fits the lines ()".
 * A VA size no granule allows is a usage error naming the valid values per granule, taken from the
 * model's geometry table (SUPPORTED, which follows arch/arm64/Kconfig's ARM64_VA_BITS choices).
 */
import {describe, expect, it} from 'vitest'

import Audit from '../../src/commands/audit.js'
import SynthMachine from '../../src/commands/synth/machine.js'
import {parseVaBits} from '../../src/cli/flags.js'
import {detectGeometry} from '../../src/ingest/ptdump/geometry-detect.js'
import {SUPPORTED, allVaBits, makeGeometry, vaBitsPerGranule} from '../../src/model/geometry.js'
import {runCommand} from '../helpers/run-command.js'

const SNAP = 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after'
// arch/arm64/Kconfig: 4K: ARM64_VA_BITS_39/48/52; 16K: 36/47/48/52; 64K: 42/48/52.
const VALID = '4K: 39, 48, 52; 16K: 36, 47, 48, 52; 64K: 42, 48, 52'

describe('--va-bits values', () => {
  it('the list of valid values comes from the geometry table, per granule', () => {
    expect(vaBitsPerGranule()).toBe(VALID)
    expect(allVaBits()).toEqual([36, 39, 42, 47, 48, 52])
    for (const va of allVaBits()) expect(Object.values(SUPPORTED).some((g) => g[va] !== undefined)).toBe(true)
  })

  it('parseVaBits takes a valid value and refuses 40, 0x30 and text', () => {
    expect(parseVaBits('48')).toBe(48)
    for (const bad of ['40', '0x30', 'forty', '', '48.5']) expect(() => parseVaBits(bad)).toThrow(/is not a valid VA_BITS; arm64 allows, by granule, 4K: 39, 48, 52; 16K/)
  })

  it('audit --va-bits 40: a usage error (exit 2) saying 40 is not valid and listing the valid ones', async () => {
    const o = await runCommand(Audit, [SNAP, '--va-bits', '40'])
    expect(o.exit).toBe(2)
    expect(o.stderr.trim()).toBe(`Error: --va-bits: 40 is not a valid VA_BITS; arm64 allows, by granule, ${VALID}`)
    expect(o.stderr).not.toMatch(/fits the lines \(\)/)
    const j = await runCommand(Audit, [SNAP, '--va-bits', '40', '--json'])
    expect(j.exit).toBe(2)
    expect(JSON.parse(j.stdout)).toEqual({error: {code: 'usage', message: `--va-bits: 40 is not a valid VA_BITS; arm64 allows, by granule, ${VALID}`, file: null, line: null}})
  })

  it('a value valid for another granule only: named with the granule given', async () => {
    const o = await runCommand(Audit, [SNAP, '--va-bits', '42', '--granule', '4k'])
    expect(o.exit).toBe(2)
    expect(o.stderr).toMatch(/42 is not a valid VA_BITS with 4K pages; arm64 allows, by granule, 4K: 39, 48, 52;/)
  })

  it('synth machine --va-bits 40 is refused the same way', async () => {
    const o = await runCommand(SynthMachine, ['--memory', '2G', '--va-bits', '40', '--json'])
    expect(o.exit).toBe(2)
    expect((JSON.parse(o.stdout) as {error: {message: string}}).error.message).toBe(`--va-bits: 40 is not a valid VA_BITS; arm64 allows, by granule, ${VALID}`)
  })

  it('detectGeometry / makeGeometry (no CLI in between) give the same message, never an empty list', () => {
    expect(() => detectGeometry({count: {}, align: {}} as never, {vaBits: 40}, () => {})).toThrow(`40 is not a valid VA_BITS; arm64 allows, by granule, ${VALID}`)
    expect(() => makeGeometry(65536, 39)).toThrow(`39 is not a valid VA_BITS with 64K pages; arm64 allows, by granule, ${VALID}`)
  })
})

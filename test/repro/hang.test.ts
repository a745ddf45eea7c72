/**
 * Reproducers R01 and R03 (test/data/repro/README.md): a five-line ptdump whose linear-map marker
 * starts nothing and whose vmemmap lies beyond what PAGE_OFFSET can address made the pageattr walk
 * spin at 2^64 (replay and verify never returned); the same dump with an empty trace under a
 * block-mapping policy let an internal ModelError escape as `Error: empty or reversed run`, exit 1.
 */
import {writeFileSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'
import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'

const D = 'test/data/repro'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-hang-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const empty = join(tmp, 'empty.txt')
writeFileSync(empty, '')

describe('R01: the replay ends', () => {
  for (const policy of ['auto', 'pte-only', 'bbml2', 'bbml2-repaint', 'x86-cpa']) {
    it(`replay --policy ${policy}`, async () => {
      const r = await runCommand(Replay, [`${D}/R01-ptdump.txt`, `${D}/R01-trace.txt`, '--policy', policy, '--json'])
      expect(r.error?.message).toBeUndefined()
      expect(r.exit).toBe(0)
    })
  }
  it('verify', async () => {
    const r = await runCommand(Verify, [`${D}/R01-ptdump.txt`, `${D}/R01-trace.txt`, `${D}/R01-ptdump.txt`, '--json'])
    expect(r.exit === 0 || r.exit === 1).toBe(true)
  })
})

describe('R03: no internal error escapes', () => {
  for (const policy of ['bbml2', 'noalias', 'x86-cpa', 'rox-cache', 'collapse-general']) {
    it(`empty trace, --policy ${policy}`, async () => {
      const r = await runCommand(Replay, [`${D}/R01-ptdump.txt`, empty, '--policy', policy])
      expect(r.stderr + (r.error?.message ?? '')).not.toMatch(/empty or reversed run/)
      expect([0, 2]).toContain(r.exit)
    })
  }
})

describe('R03: a ModelError is bad input', () => {
  it('asCliError maps it to a one-line error with exit 2', async () => {
    const {asCliError} = await import('../../src/cli/flags.js')
    const {ModelError} = await import('../../src/model/model-error.js')
    let thrown: (Error & {oclif?: {exit?: number}}) | undefined
    try {
      asCliError(new ModelError('run 0x0 overlaps'))
    } catch (e) {
      thrown = e as Error & {oclif?: {exit?: number}}
    }
    expect(thrown?.oclif?.exit).toBe(2)
  })
})

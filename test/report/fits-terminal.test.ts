/**
 * Issue 12 item 12 for the commands human-output.test.ts does not cover: compare (116 columns and
 * "Δ" when piped, two columns named "Δ"), diff (156), verify (372, counts without separators) and
 * events (81) now fit 80 columns when stdout is not a terminal, in ASCII. Quoted ptdump lines
 * (diff's -/+ lines, verify's predicted/actual) keep their columns: they are the kernel's format.
 * Commands run in-process, where stdout is not a TTY: what `ptreplay … | less` gets.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import Compare from '../../src/commands/compare.js'
import Diff from '../../src/commands/diff.js'
import Events from '../../src/commands/events.js'
import Verify from '../../src/commands/verify.js'
import {type Cmd, runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const PTDUMP_LINE = /0x[0-9a-f]+-0x[0-9a-f]+ +\d+(?:\.\d+)?[KMGTP]? +[A-Z]/

beforeAll(() => {
  delete process.env.COLUMNS
  delete process.env.NO_COLOR
})

async function piped(cmd: Cmd, argv: string[]): Promise<string[]> {
  const o = await runCommand(cmd, argv)
  expect(o.exit, o.stderr).toBeLessThanOrEqual(1)
  const lines = o.stdout.split('\n')
  for (const l of lines) {
    expect(l, l).toMatch(/^[\x20-\x7e]*$/)
    if (!PTDUMP_LINE.test(l)) expect(l.length, l).toBeLessThanOrEqual(80)
  }
  return lines
}

describe('piped output fits 80 columns, in ASCII', () => {
  it('compare: the table drops optional columns (named), unique column names, notes wrapped', async () => {
    const lines = await piped(Compare, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policies', 'pte-only,bbml2'])
    const hdr = lines.findIndex((l) => l.startsWith('policy '))
    expect(lines.join('\n')).not.toMatch(/Δ/)
    expect(lines[hdr]).toMatch(/^policy +table bytes +bytes change +TLB entries +TLB change +splits/)
    expect(lines.join(' ').replace(/ +/g, ' ')).toMatch(/left out to fit 80 columns; --json has every column\)/)
    expect(lines.join('\n')).toMatch(/bbml2 +\d+ KiB +-3\.91 MiB/)
  })

  it('diff: prose wrapped; the quoted ptdump lines whole', async () => {
    const lines = await piped(Diff, [`${S61}/kernel_page_tables.before`, `${S61}/kernel_page_tables.after`])
    expect(lines[0]).toMatch(/^diff: /)
    expect(lines.some((l) => PTDUMP_LINE.test(l) && l.length > 80)).toBe(true)
  })

  it('verify: prose wrapped, counts with separators', async () => {
    const lines = await piped(Verify, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, `${S61}/kernel_page_tables.after`])
    expect(lines.join(' ').replace(/ +/g, ' ')).toMatch(/2,606 calls replayed from [\d,]+ of [\d,]+ events; 420 on memory/)
  })

  it('events: the input line wrapped', async () => {
    await piped(Events, [`${S61}/trace.txt`])
  })
})

/**
 * Issue 12 items 9–13: human output a person reads. A headline first; tables within the output
 * width (80 when stdout is not a terminal) and plain ASCII when piped (no U+2212, no box
 * characters); one unit style; unique column names; a rebased replay shows the re-derived boot
 * map as its "before" and the capture as a reference; the chart's x axis counts kernel calls.
 * Commands run in-process, where stdout is not a TTY: exactly what `ptreplay … | less` gets.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import Audit from '../../src/commands/audit.js'
import Replay from '../../src/commands/replay.js'
import {setOutputStyle} from '../../src/report/output-style.js'
import {fmtBytesExact, plural, renderTable} from '../../src/report/table.js'
import {runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'

beforeAll(() => {
  delete process.env.COLUMNS
  delete process.env.NO_COLOR
})

/** Header lines of the tables in `text` (a line followed by a rule of dashes). */
function tableHeaders(lines: string[]): string[][] {
  const out: string[][] = []
  for (let i = 1; i < lines.length; i++) if (/^-+( +-+)+$/.test(lines[i]!)) out.push(lines[i - 1]!.trim().split(/ {2,}/))
  return out
}

function expectFitsAndAscii(text: string): string[] {
  const lines = text.split('\n')
  for (const l of lines) {
    expect(l.length, l).toBeLessThanOrEqual(80)
    expect(l, l).toMatch(/^[\x20-\x7e]*$/)
  }
  expect(text).not.toMatch(/range\(s\)|\(es\)|bank\(s\)/)
  return lines
}

describe('audit, piped', () => {
  it('headline first, ≤ 80 columns, ASCII, unique column names, a legend', async () => {
    const o = await runCommand(Audit, [`${S61}/kernel_page_tables.after`])
    expect(o.exit).toBe(0)
    const lines = expectFitsAndAscii(o.stdout)
    // The linear map of the 6.1 rodata=full capture: 2 GiB, 20 MiB of it PMD blocks (10 × 2M, the
    // kernel image alias), the rest 4K pages: 99 % PTE-mapped. Its tables: PUD 1 + PMD 2 + PTE 1,014
    // = 1,017 pages = 3.97 MiB; the ideal map of 2 GiB with these attribute boundaries fits in 8 pages.
    expect(lines.slice(0, 2).join(' ')).toBe('Linear map 99 % PTE-mapped: 3.97 MiB of tables where 32 KiB would do; 519,178   TLB entries where 369 would do')
    expect(o.stdout).not.toContain('⇒')
    expect(o.stdout).not.toContain('PTE lines on 4K boundaries') // the geometry reasoning is --verbose
    for (const h of tableHeaders(lines)) expect(new Set(h).size, h.join('|')).toBe(h.length)
    expect(o.stdout).toMatch(/runs: stretches of consecutive entries/)
    expect(o.stdout).toMatch(/PTE-only: the same memory/)
    const v = await runCommand(Audit, [`${S61}/kernel_page_tables.after`, '--verbose'])
    expect(v.stdout).toContain('PTE lines on 4K boundaries')
    expectFitsAndAscii(v.stdout)
  })
})

describe('replay, piped', () => {
  it('bbml2 on the PTE-mapped 6.1 capture: rebased boot map as "before", capture as reference; x axis in calls', async () => {
    const o = await runCommand(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policy', 'bbml2'])
    expect(o.exit).toBe(0)
    const lines = expectFitsAndAscii(o.stdout)
    expect(lines.some((l) => /^Under bbml2: page tables /.test(l))).toBe(true)
    const j = await runCommand(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policy', 'bbml2', '--json'])
    const r = JSON.parse(j.stdout) as {capture?: {total: {tableBytes: number}}; before: {total: {tableBytes: number}}; tableBytesBefore: number; events: {calls: number}; series: {tableBytes: number}[]}
    // The capture is PTE-mapped (1,039 table pages, README); bbml2 boots the same memory with blocks.
    expect(r.capture!.total.tableBytes).toBe(1039 * 4096)
    expect(r.before.total.tableBytes).toBe(r.tableBytesBefore)
    expect(r.tableBytesBefore).toBeLessThan(r.capture!.total.tableBytes / 10)
    const hdr = lines.findIndex((l) => /^ +captured +rebased +after +change$/.test(l))
    expect(hdr).toBeGreaterThan(0)
    // The change is measured from the rebased map, not from the capture.
    const tb = lines[hdr + 2]!.split(/ {2,}/)
    expect(tb[0]).toBe('table bytes')
    expect(tb.at(-1)).toMatch(/^\+/)
    // The chart's last x label is the calls replayed, not the sample count.
    expect(o.stdout).toContain(`... ${r.events.calls.toLocaleString('en-US')} kernel calls`)
  })
})

describe('table fitting and units', () => {
  it('compact forms first, then optional columns left out with a note', () => {
    setOutputStyle({ascii: true, width: 25})
    try {
      const t = renderTable(
        [{header: 'region', align: 'left'}, {header: 'PMD', compact: (c) => c.replace(/ \(.*\)$/, '')}, {header: 'runs', optional: true}, {header: 'invalid', optional: true}],
        [['Linear map', '20 MiB (0.98%)', '19', '0']],
      )
      expect(t[0]).toBe('region        PMD runs')
      expect(t[2]).toBe('Linear map 20 MiB   19')
      // The note is wrapped to the width too.
      expect(t.slice(3).join(' ').replace(/ +/g, ' ')).toMatch(/^\(invalid left out to fit 25 columns; --json has every column\)$/)
      for (const l of t.slice(3)) expect(l.length).toBeLessThanOrEqual(25)
      expect(t[1]).toMatch(/^-+ -+ -+$/)
    } finally {
      setOutputStyle({ascii: false, width: Infinity})
    }
  })
  it('exact sizes in binary units with separators; plural without (s)', () => {
    expect(fmtBytesExact(4660 * 1024)).toBe('4,660 KiB')
    expect(fmtBytesExact(2 ** 21)).toBe('2 MiB')
    expect(plural(1, 'range')).toBe('1 range')
    expect(plural(55, 'changed range')).toBe('55 changed ranges')
  })
})

describe('a trace that does not belong to the snapshot (issue 12 item 7)', () => {
  it('a 48-bit 6.1 trace on a 52-bit 6.12 dump: warned, with the snapshot geometry', async () => {
    const o = await runCommand(Replay, ['samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.before', `${S61}/trace.txt`, '--policy', 'pte-only', '--json'])
    expect(o.exit).toBe(0)
    const r = JSON.parse(o.stdout) as {warnings: string[]; callsOnUnknownMemory: number; events: {calls: number}}
    expect(r.callsOnUnknownMemory * 2).toBeGreaterThan(r.events.calls)
    expect(r.warnings).toHaveLength(1)
    expect(r.warnings[0]).toMatch(/calls are on memory this snapshot does not describe.*4K\/52/)
  })
  it('no warning when the trace belongs to the snapshot', async () => {
    const o = await runCommand(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policy', 'pte-only', '--json'])
    expect((JSON.parse(o.stdout) as {warnings: string[]}).warnings).toEqual([])
  })
})

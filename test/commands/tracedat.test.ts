/**
 * The commands on trace.dat give what they give on the text the same tools printed of the same
 * recording (samples/linux-7.3-debian-qemu/ampere1a-2G-tools): `replay` and `verify` (probed →
 * after-trace-cmd) from trace.dat equal those from trace-cmd-report.txt; `verify` (after-trace-cmd
 * → after-perf) from perf-script.txt equals that from perf-script-F.txt. Only the trace's own name
 * (and the event positions, file:line against file:offset) differ. The linear map verifies exactly
 * in both windows; vmalloc is not verifiable here (the vm areas are issue 14's work).
 */
import {describe, expect, it} from 'vitest'

import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'
import {runCommand} from '../helpers/run-command.js'

const D = 'samples/linux-7.3-debian-qemu/ampere1a-2G-tools'

/** The JSON result with the trace's name and positions in it made neutral. */
function neutral(v: unknown, names: string[]): string {
  let s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
  for (const n of names) s = s.split(`${D}/${n}`).join('TRACE')
  return s.replace(/TRACE:\d+/g, 'TRACE:N')
}

async function json(cmd: typeof Replay | typeof Verify, argv: string[]) {
  const r = await runCommand<Record<string, unknown>>(cmd, [...argv, '--json'])
  // verify prints its --json document and then exits 1 when a region differs: read it from stdout
  return r.result === undefined && r.stdout.trim() ? {...r, result: JSON.parse(r.stdout) as Record<string, unknown>} : r
}

describe('commands on trace.dat and on the report text of it', () => {
  it('replay probed + trace.dat = replay probed + trace-cmd-report.txt', async () => {
    const a = await json(Replay, [`${D}/kernel_page_tables.probed`, `${D}/trace.dat`])
    const b = await json(Replay, [`${D}/kernel_page_tables.probed`, `${D}/trace-cmd-report-t.txt.gz`])
    expect(a.exit).toBe(0)
    expect(b.exit).toBe(0)
    expect(neutral(a.result, ['trace.dat']) === neutral(b.result, ['trace-cmd-report-t.txt.gz'])).toBe(true)
  })

  it('verify probed → after-trace-cmd: the same verdict from trace.dat and from the report; the linear map matches', async () => {
    const a = await json(Verify, [`${D}/kernel_page_tables.probed`, `${D}/trace.dat`, `${D}/kernel_page_tables.after-trace-cmd`])
    const b = await json(Verify, [`${D}/kernel_page_tables.probed`, `${D}/trace-cmd-report-t.txt.gz`, `${D}/kernel_page_tables.after-trace-cmd`])
    expect(a.exit).toBe(b.exit)
    expect(neutral(a.result, ['trace.dat'])).toBe(neutral(b.result, ['trace-cmd-report-t.txt.gz']))
    const regions = (a.result as {regions: {name: string; status: string}[]}).regions
    expect(regions.find((r) => r.name === 'linear')!.status).toBe('match')
    // the kernel's own split_pmd count over the window (12 in trace.dat) is predicted
    expect((a.result as {groundTruth: unknown}).groundTruth).toEqual([{fn: 'split_pmd', kernel: 12, replay: 12}])
  })

  it('verify after-trace-cmd → after-perf: the same from perf script and perf script -F', async () => {
    const a = await json(Verify, [`${D}/kernel_page_tables.after-trace-cmd`, `${D}/perf-script.txt.gz`, `${D}/kernel_page_tables.after-perf`])
    const b = await json(Verify, [`${D}/kernel_page_tables.after-trace-cmd`, `${D}/perf-script-F.txt.gz`, `${D}/kernel_page_tables.after-perf`])
    expect(a.exit).toBe(b.exit)
    expect(neutral(a.result, ['perf-script.txt.gz']) === neutral(b.result, ['perf-script-F.txt.gz'])).toBe(true)
    const regions = (a.result as {regions: {name: string; status: string}[]}).regions
    expect(regions.find((r) => r.name === 'linear')!.status).toBe('match')
    expect((a.result as {groundTruth: unknown}).groundTruth).toEqual([{fn: 'split_pmd', kernel: 5, replay: 5}])
  })

  it('--from-marker/--until-marker find trace-cmd print markers in trace.dat as in the report', async () => {
    const m = ['--from-marker', 'capture: trace-cmd: rmmod phase begin', '--until-marker', 'capture: trace-cmd: rmmod phase end']
    const a = await json(Replay, [`${D}/kernel_page_tables.probed`, `${D}/trace.dat`, ...m])
    // report -t: the series carry event times, ns in trace.dat as in -t (report rounds to µs)
    const b = await json(Replay, [`${D}/kernel_page_tables.probed`, `${D}/trace-cmd-report-t.txt.gz`, ...m])
    expect(a.exit).toBe(0)
    const w = (a.result as {window: {fromFound: boolean; untilFound: boolean}}).window
    expect(w.fromFound && w.untilFound).toBe(true)
    expect(neutral(a.result, ['trace.dat']) === neutral(b.result, ['trace-cmd-report-t.txt.gz'])).toBe(true)
  })

  it('a truncated trace.dat: one line naming file:offset, exit 2, no stack trace', async () => {
    const {mkdtempSync, readFileSync, writeFileSync, rmSync} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-dat-'))
    try {
      const cut = join(dir, 'cut.dat')
      writeFileSync(cut, readFileSync(`${D}/trace.dat`).subarray(0, 2_050_000))
      const r = await runCommand(Replay, [`${D}/kernel_page_tables.probed`, cut])
      expect(r.exit).toBe(2)
      expect(r.stderr + (r.error?.message ?? '')).toMatch(/cut\.dat:\d+: expected .*truncated/)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

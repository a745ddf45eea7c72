/**
 * Reproducers of test/data/repro/README.md not covered beside it (hang.test.ts: R01, R03;
 * input.test.ts: R02, R05, R08–R13, R19 zero-byte; compressed.test.ts: R06, R19;
 * test/report/atomic-file.test.ts: R14, R15, R17, R18): R04, the three R07 files, R11 in the replay
 * tables, R13's endless stream of zeros, R18's link to /proc/self/fd/1, R20. Each failed before its fix.
 */
import {lstatSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'
import Audit from '../../src/commands/audit.js'
import Compare from '../../src/commands/compare.js'
import Diff from '../../src/commands/diff.js'
import Events from '../../src/commands/events.js'
import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'
import {InputError, openSource} from '../../src/ingest/source.js'

const D = 'test/data/repro'
const B = 'samples/debian-6.1-qemu/max-2G-default'
const G = 'test/golden/five-formats/capture.tracefs.txt'

type WithDiagnostics = {diagnostics: {byCode: Record<string, number>}}

describe('R04: --json bad input exits 2, as text mode does', () => {
  it('audit /nonexistent --json', async () => {
    const r = await runCommand(Audit, ['/nonexistent', '--json'])
    expect(r.exit).toBe(2)
  })
  it('verify before /nonexistent after --json (1 would mean "differs")', async () => {
    const r = await runCommand(Verify, [`${B}/kernel_page_tables.before`, '/nonexistent', `${B}/kernel_page_tables.after`, '--json'])
    expect(r.exit).toBe(2)
  })
})

describe('R07: every command that reads the reproducers reports their diagnostics', () => {
  const PT = `${D}/R07-ptdump-out-of-order.txt`
  const BAD_ARG = `${D}/R07-trace-bad-arg.txt`
  const TWICE = `${D}/R07-trace-concat-twice.txt`
  it('the out-of-order ptdump: audit, diff, replay, verify, compare', async () => {
    for (const [cmd, argv] of [
      [Audit, [PT]],
      [Diff, [PT, `${B}/kernel_page_tables.after`]],
      [Replay, [PT, G]],
      [Verify, [PT, G, `${B}/kernel_page_tables.after`]],
      [Compare, [PT, G]],
    ] as const) {
      const r = await runCommand(cmd, [...argv, '--json'])
      // the --json document as printed (verify's in-process result is its exit verdict)
      const doc = JSON.parse(r.stdout) as WithDiagnostics
      expect(doc.diagnostics.byCode['out-of-order'], argv.join(' ')).toBe(1)
    }
  })
  it('the trace with a bad argument and the trace pasted twice: events, replay, compare', async () => {
    for (const [trace, code] of [
      [BAD_ARG, 'bad-arg'],
      [TWICE, 'duplicate'],
    ] as const) {
      for (const [cmd, argv] of [
        [Events, [trace]],
        [Replay, [`${B}/kernel_page_tables.before`, trace]],
        [Compare, [`${B}/kernel_page_tables.before`, trace]],
      ] as const) {
        const r = await runCommand(cmd, [...argv, '--json'])
        expect((JSON.parse(r.stdout) as WithDiagnostics).diagnostics.byCode[code], `${cmd.name} ${trace}`).toBe(1)
      }
    }
  })
})

describe('R11: the replay offenders table shows comm and stack frames escaped', () => {
  it('replay --policy bbml2 (a split, so offenders are listed)', async () => {
    const r = await runCommand(Replay, [`${B}/kernel_page_tables.before`, `${D}/R11-trace-esc-comm.txt`, '--policy', 'bbml2', '--no-chart'])
    expect(r.stdout).toContain('Top offenders')
    expect(r.stdout + r.stderr).not.toMatch(/\u001b|\u0007/)
    expect(r.stdout).toContain('\\x1b]0;PWNED\\x07\\x1b[2J')
  })
})

describe('R13: `cat /dev/zero | ptreplay events -` ends', () => {
  it('an endless stream of zero bytes on stdin: one error after the line cap, not a hang', async () => {
    const zeros = Buffer.alloc(1 << 16)
    let sent = 0
    const endless = new Readable({
      read() {
        sent += zeros.length
        this.push(zeros)
      },
    })
    let error: unknown
    try {
      const src = await openSource('-', endless)
      for await (const b of src.batches) void b
    } catch (e) {
      error = e
    }
    endless.destroy()
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(/^<stdin>:1: binary data \(NUL bytes, no newline in 1,048,576 bytes\)/)
    expect(sent).toBeLessThan(4 << 20)
  })
})

describe('R18: --output to a link to /proc/self/fd/1 (as /dev/stdout is) is refused, never replaced', () => {
  // Not /dev/stdout itself: run as root against a regressed writer, the test would rename a file
  // over the machine's /dev/stdout (it did, once, on the code before the fix).
  it('events --output LINK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-r18-'))
    try {
      const link = join(dir, 'stdout')
      symlinkSync('/proc/self/fd/1', link)
      const r = await runCommand(Events, [G, '--output', link])
      expect(r.exit).toBe(2)
      expect(r.error!.message).toBe(`${link}: cannot write (it is a symbolic link; not replaced)`)
      expect(lstatSync(link).isSymbolicLink()).toBe(true)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('R20: the bpftrace hint says "expected" once', () => {
  it('events --format bpftrace --strict on a tracefs file', async () => {
    const r = await runCommand(Events, [G, '--format', 'bpftrace', '--strict'])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/: expected a bpftrace record "PGP /)
    expect(r.error!.message).not.toMatch(/expected expected/)
  })
})

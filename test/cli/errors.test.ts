/**
 * Issue 12 item 3: every command ends an error the same way. Under --json: exit 2 for bad input
 * and usage, the error as {"error": {code, message, file, line}} on stdout, one line on stderr,
 * nothing of oclif's parser context (it used to dump ~157 KB of config for an unknown flag and
 * the whole USAGE for a missing argument, and exit 1 for everything).
 * Item 6: `verify A trace A` takes the roles from the order typed (oclif's non-strict parser
 * sorted the repeated A next to its first occurrence and blamed the trace for not being a ptdump).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import Audit from '../../src/commands/audit.js'
import CaptureScript from '../../src/commands/capture-script.js'
import Compare from '../../src/commands/compare.js'
import Diff from '../../src/commands/diff.js'
import Events from '../../src/commands/events.js'
import Fleet from '../../src/commands/fleet.js'
import Replay from '../../src/commands/replay.js'
import SynthFleet from '../../src/commands/synth/fleet.js'
import SynthMachine from '../../src/commands/synth/machine.js'
import SynthWorkload from '../../src/commands/synth/workload.js'
import Verify from '../../src/commands/verify.js'
import {type Cmd, runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const SNAP = `${S61}/kernel_page_tables.after`
const TRACE = `${S61}/trace.txt`
const MISSING = '/nonexistent/ptreplay-test.txt'

function expectOneJsonError(o: {exit: number; stdout: string; stderr: string}, code: string, exit = 2): {code: string; message: string; file: string | null; line: number | null} {
  expect(o.exit).toBe(exit)
  const lines = o.stdout.trim().split('\n')
  expect(lines).toHaveLength(1)
  const doc = JSON.parse(lines[0]!) as {error: {code: string; message: string; file: string | null; line: number | null}}
  expect(Object.keys(doc)).toEqual(['error'])
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'file', 'line', 'message'])
  expect(doc.error.code).toBe(code)
  expect(doc.error.message).not.toMatch(/\n/)
  expect(o.stdout.length).toBeLessThan(600)
  // stderr: exactly one line, the same message; no oclif internals, no help, no ` › ` wrapping.
  expect(o.stderr.trimEnd().split('\n')).toEqual([`Error: ${doc.error.message}`])
  expect(o.stdout + o.stderr).not.toMatch(/cacheDir|USAGE|pjson|›/)
  return doc.error
}

// [command, argv for an unknown flag, argv with a missing argument (if it has one), argv with bad input]
const CASES: [string, Cmd, string[] | undefined, string[] | undefined][] = [
  ['audit', Audit, [], [MISSING]],
  ['diff', Diff, [SNAP], [SNAP, MISSING]],
  ['replay', Replay, [SNAP], [MISSING, TRACE]],
  ['compare', Compare, [SNAP], [SNAP, MISSING]],
  ['verify', Verify, [SNAP, TRACE], [SNAP, TRACE, MISSING]],
  ['events', Events, [], [MISSING]],
  // fleet counts a host that fails among its results (exit 1), it is not an error of the command
  ['fleet', Fleet, [], undefined],
  ['capture-script', CaptureScript, undefined, ['--kernel', 'banana']],
  ['synth machine', SynthMachine, undefined, ['--memory', '3X']],
  ['synth workload', SynthWorkload, ['--events', '10'], ['--kind', 'bpf-jit', '--events', '10', '--machine', MISSING, '-o', '/tmp/ptreplay-errors-test-w.txt']],
  ['synth fleet', SynthFleet, ['--output-dir', '/tmp/ptreplay-errors-test-fleet'], ['--hosts', 'many', '--output-dir', '/tmp/ptreplay-errors-test-fleet']],
]

describe('--json errors of every command', () => {
  for (const [name, cmd, missing, bad] of CASES) {
    it(`${name}: unknown flag → usage, exit 2, no parser context`, async () => {
      const o = await runCommand(cmd, [...(missing ?? []), '--no-such-flag', '--json'])
      const e = expectOneJsonError(o, 'usage')
      expect(e.message).toContain('--no-such-flag')
      expect(e.message).toContain(`ptreplay ${name} --help`)
    })
    if (missing) {
      it(`${name}: missing argument → usage, exit 2, one line instead of the USAGE`, async () => {
        const o = await runCommand(cmd, [...missing, '--json'])
        const e = expectOneJsonError(o, 'usage')
        expect(e.message).toMatch(/missing|expected/)
      })
    }
    if (bad) it(`${name}: bad input → bad-input, exit 2${bad.includes(MISSING) ? ', naming the file' : ''}`, async () => {
      const o = await runCommand(cmd, [...bad, '--json'])
      const e = expectOneJsonError(o, 'bad-input')
      if (bad.includes(MISSING)) {
        if (name !== 'synth workload') expect(e.file).toBe(MISSING)
        expect(e.message).toContain(MISSING)
      }
    })
  }

  it('a file:line error carries file and line', async () => {
    const o = await runCommand(Events, ['test/cli/fixtures/bad-line.csv', '--strict', '--json'])
    const e = expectOneJsonError(o, 'bad-input')
    expect(e.file).toBe('test/cli/fixtures/bad-line.csv')
    expect(e.line).toBe(3)
  })

  it('text mode: one line on stderr, however long the message (no ` › ` wrapping)', async () => {
    const long = `/nonexistent/${'x'.repeat(300)}/dump.txt`
    const o = await runCommand(Audit, [long])
    expect(o.exit).toBe(2)
    expect(o.stdout).toBe('')
    expect(o.stderr.trimEnd().split('\n')).toEqual([`Error: ${long}: cannot read: no such file`])
  })
})

// A bad input line: the real 6.1 dump with a line that is no ptdump line at line 10, and a CSV
// trace whose third line has an address that is not one. Without --strict the line is counted
// and skipped (test/ingest/diagnostics-matrix.test.ts); with --strict it is the error, naming
// file and line.
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-errors-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const BAD_PT = join(tmp, 'bad.ptdump')
const ptLines = readFileSync(SNAP, 'utf8').split('\n')
writeFileSync(BAD_PT, [...ptLines.slice(0, 9), '0xffff000000000000-0xZZZ garbage here', ...ptLines.slice(9)].join('\n'))
const BAD_TRACE = 'test/cli/fixtures/bad-line.csv'
const AFTER = join(tmp, 'after.ptdump')
writeFileSync(AFTER, ptLines.join('\n'))

// [command, argv, the file and line the error must name]
const BAD_LINES: [string, Cmd, string[], string, number][] = [
  ['audit', Audit, [BAD_PT], BAD_PT, 10],
  ['diff', Diff, [SNAP, BAD_PT], BAD_PT, 10],
  ['replay (snapshot)', Replay, [BAD_PT, TRACE], BAD_PT, 10],
  ['replay (trace)', Replay, [SNAP, BAD_TRACE], BAD_TRACE, 3],
  ['compare', Compare, [SNAP, BAD_TRACE, '--policies', 'pte-only,bbml2'], BAD_TRACE, 3],
  ['verify (trace)', Verify, [SNAP, BAD_TRACE, AFTER], BAD_TRACE, 3],
  ['verify (after)', Verify, [SNAP, TRACE, BAD_PT], BAD_PT, 10],
  ['events', Events, [BAD_TRACE], BAD_TRACE, 3],
]

describe('--json: a bad input line under --strict, every command that reads input', () => {
  for (const [name, cmd, argv, file, line] of BAD_LINES) {
    it(`${name}: bad-input, exit 2, ${file === BAD_PT ? 'bad.ptdump' : 'bad-line.csv'}:${line}`, async () => {
      const o = await runCommand(cmd, [...argv, '--strict', '--json'])
      const e = expectOneJsonError(o, 'bad-input')
      expect([e.file, e.line]).toEqual([file, line])
      expect(e.message.startsWith(`${file}:${line}: expected`) || e.message.startsWith(`${file}:${line}: set_memory_ro: expected`)).toBe(true)
    })
  }
})

describe("README's error object", () => {
  it('is what events --strict --json prints for the trace.csv it quotes', async () => {
    const csv = join(tmp, 'trace.csv')
    writeFileSync(csv, readFileSync(BAD_TRACE))
    const o = await runCommand(Events, [csv, '--strict', '--json'])
    expect(o.exit).toBe(2)
    const block = /```json\n(\{"error".*\})\n```/.exec(readFileSync('README.md', 'utf8'))
    expect(block, 'the README shows an error object').not.toBeNull()
    expect(JSON.parse(o.stdout.replaceAll(`${tmp}/`, ''))).toEqual(JSON.parse(block![1]!))
  })
})

// Outputs that cannot be written (a path under a regular file): the commands that only write.
const UNWRITABLE = 'README.md/out'
describe('--json: an output that cannot be written, the commands without an input file', () => {
  const cases: [string, Cmd, string[]][] = [
    ['capture-script', CaptureScript, ['--kernel', '6.19', '-o', `${UNWRITABLE}/capture.sh`]],
    ['synth machine', SynthMachine, ['--memory', '4G', '-o', `${UNWRITABLE}/m.txt`]],
    ['synth fleet', SynthFleet, ['--hosts', '2', '--output-dir', `${UNWRITABLE}/fleet`]],
  ]
  for (const [name, cmd, argv] of cases) {
    it(`${name}: bad-input, exit 2, naming the path`, async () => {
      const o = await runCommand(cmd, [...argv, '--json'])
      const e = expectOneJsonError(o, 'bad-input')
      expect(e.message).toContain(UNWRITABLE)
    })
  }
})

describe('fleet: a host that cannot be read is a result, not an error of the command', () => {
  it('missing dump: exit 1, the summary counts it, one line on stderr', async () => {
    const o = await runCommand(Fleet, [MISSING, '--json'])
    expect(o.exit).toBe(1)
    const doc = JSON.parse(o.stdout) as {hosts: number; errors: number}
    expect([doc.hosts, doc.errors]).toEqual([0, 1])
    expect(o.stderr.trimEnd().split('\n')).toEqual([`host failed: ${MISSING}: cannot read: no such file`])
  })
  it('bad line under --strict: exit 1, file:line on stderr', async () => {
    const o = await runCommand(Fleet, [BAD_PT, '--strict', '--json'])
    expect(o.exit).toBe(1)
    expect((JSON.parse(o.stdout) as {errors: number}).errors).toBe(1)
    expect(o.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^host failed: ${BAD_PT}:10: expected `)) as string])
  })
})

describe('verify: positional roles in the order typed', () => {
  it('verify A trace A: A is before and after, the trace is the trace', async () => {
    const o = await runCommand<{verdict: string; before: string; after: string; traces: string[]}>(Verify, [SNAP, TRACE, SNAP, '--json'])
    expect(o.stderr).not.toMatch(/not a ptdump/)
    const doc = JSON.parse(o.stdout) as {before: string; after: string; traces: string[]}
    expect(doc.traces).toEqual([TRACE])
    expect(doc.before).toBe(SNAP)
    expect(doc.after).toBe(SNAP)
  })
})

// The installed binary: what a shell sees (exit status of the process, stdout, stderr).
const BIN = 'bin/run.js'
describe.skipIf(!existsSync('dist/src/commands/audit.js'))('the binary', () => {
  it('exit 2 and the JSON error for an unknown flag', () => {
    const r = spawnSync(process.execPath, [BIN, 'audit', SNAP, '--bogus', '--json'], {encoding: 'utf8'})
    expect(r.status).toBe(2)
    expect(JSON.parse(r.stdout)).toEqual({error: {code: 'usage', message: 'unknown flag --bogus; see ptreplay audit --help', file: null, line: null}})
    expect(r.stderr).toBe('Error: unknown flag --bogus; see ptreplay audit --help\n')
  })
  it('verify: exit 1 with one JSON document when the tables differ', () => {
    const r = spawnSync(process.execPath, [BIN, 'verify', `${S61}/kernel_page_tables.before`, TRACE, `${S61}/kernel_page_tables.before`, '--json'], {encoding: 'utf8'})
    expect(r.status).toBe(1)
    const doc = JSON.parse(r.stdout) as {verdict: string; exitCode: number}
    expect(doc.exitCode).toBe(1)
  })
})

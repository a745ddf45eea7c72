/**
 * Reproducers of test/data/repro/README.md about reading input (R05, R07–R13) and issue 12's
 * input items (1 zstd/xz everywhere, 2 bundle directories, 4 one bundle reader, 21 --strict): each
 * failed before the shared input layer (src/ingest/input.ts, diagnostics.ts, text.ts).
 */
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'
import Audit, {type AuditResult} from '../../src/commands/audit.js'
import Events, {type EventsResult} from '../../src/commands/events.js'
import Replay, {type ReplayResult} from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'
import {readTrace} from '../../src/ingest/trace/index.js'
import {MAX_LINE_BYTES} from '../../src/ingest/source.js'

const D = 'test/data/repro'
const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const G = 'test/golden/five-formats/capture.tracefs.txt'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-input-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)

describe('R05 / 12.1: zstd and xz ptdumps in every command', () => {
  for (const f of ['R05-ptdump.zst', 'R05-ptdump.xz']) {
    it(`audit ${f}`, async () => {
      const r = await runCommand<AuditResult>(Audit, [`${D}/${f}`, '--json'])
      expect(r.exit).toBe(0)
      expect(r.result!.total.totalMappedBytes).toBeGreaterThan(0)
    })
  }
})

describe('R08, R09, R10, R12: values that lie', () => {
  it('R08: a decimal mask beyond 64 bits is a bad argument, not a wrapped value', async () => {
    const r = await runCommand<EventsResult>(Events, [`${D}/R08-trace-u64-overflow.txt`, '--json'])
    expect(r.result!.diagnostics.byCode['bad-arg']).toBeGreaterThan(0)
  })
  it('R09: a junk line after a marker is reported', async () => {
    const r = await runCommand<EventsResult>(Events, [`${D}/R09-trace-garbage-after-marker.txt`, '--json'])
    expect(r.result!.diagnostics.byCode['marker-continuation']).toBe(1)
    expect(r.result!.diagnostics.first[0]).toMatch(/R09-trace-garbage-after-marker\.txt:15: .*junk junk junk/)
  })
  it('R10: a repeated trace argument is reported and the first value kept', async () => {
    const read = readTrace([`${D}/R10-trace-duplicate-addr.txt`])
    const addrs: (string | undefined)[] = []
    for await (const b of read.batches) for (const e of b) if (e.probe === 'set_memory_ro') addrs.push(e.addrText)
    expect(read.stats.diagnosticsByCode['repeated-arg']).toBe(1)
    expect(addrs).not.toContain('0xffff000000001000')
  })
  it('R10: an attribute after the memory type is a diagnostic, fatal under --strict', async () => {
    const r = await runCommand<AuditResult>(Audit, [`${D}/R10-ptdump-trailing-RW.txt`, '--json'])
    expect(r.result!.diagnostics.byCode['trailing-token']).toBeGreaterThan(0)
    const s = await runCommand(Audit, [`${D}/R10-ptdump-trailing-RW.txt`, '--strict'])
    expect(s.exit).toBe(2)
  })
  for (const f of ['R12-trace-proto-comm.txt', 'R12-trace-proto-probe.txt']) {
    it(`R12: __proto__ is a key like any other (${f})`, async () => {
      const r = await runCommand<EventsResult>(Events, [`${D}/${f}`, '--json'])
      expect(sum(r.result!.byComm)).toBe(r.result!.events)
      expect(sum(r.result!.byProbe)).toBe(r.result!.events)
    })
  }
})

describe('R11 / 12.15: terminal output is data', () => {
  it('a comm with escape sequences is shown escaped in the events table', async () => {
    const r = await runCommand(Events, [`${D}/R11-trace-esc-comm.txt`])
    expect(r.stdout).not.toMatch(/\u001b/)
    expect(r.stdout).toContain('\\x1b]0;PWNED\\x07')
  })
  it('a marker with escape sequences is shown escaped in audit diagnostics', async () => {
    const r = await runCommand(Audit, [`${D}/R11-ptdump-esc-marker.txt`])
    expect(r.stdout + r.stderr).not.toMatch(/\u001b/)
  })
  it('binary garbage is quoted escaped in the error', async () => {
    const f = join(tmp, 'garbage.bin')
    writeFileSync(f, Buffer.from([0x00, 0x0d, 0x0e, 0x0f, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x41, 0x0a]))
    const r = await runCommand(Events, [f])
    expect(r.exit).toBe(2)
    expect(r.error!.message).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
  })
})

describe('R02 / R13: long lines', () => {
  it('R02: a 40 KB marker is quoted clipped, with its length', async () => {
    const r = await runCommand<AuditResult>(Audit, [`${D}/R02-marker-esc20000.txt`])
    expect(r.exit).toBe(2)
    expect(r.error!.message.length).toBeLessThan(2000)
    expect(r.error!.message).toContain('(40,000 characters)')
  })
  it('R13: a line over the cap is one diagnostic and skipped; the rest is read', async () => {
    const f = join(tmp, 'long.txt')
    const lines = readFileSync(G, 'utf8')
    writeFileSync(f, lines.replace('\n', '\n' + 'A'.repeat(MAX_LINE_BYTES + 10) + '\n'))
    const r = await runCommand<EventsResult>(Events, [f, '--json'])
    expect(r.result!.diagnostics.byCode['line-too-long']).toBe(1)
    expect(r.result!.events).toBe(30)
  })
})

describe('12.2 / 12.4: bundle directories wherever a snapshot or trace is expected', () => {
  it('replay DIR/ DIR/: the before snapshot and trace.txt, and says so', async () => {
    const r = await runCommand<ReplayResult>(Replay, [`${S61}/`, `${S61}/`, '--json'])
    expect(r.exit).toBe(0)
    expect(r.result!.source.snapshot).toMatch(/kernel_page_tables\.before$/)
    expect(r.result!.source.traces[0]).toMatch(/trace\.txt$/)
    const t = await runCommand(Replay, [S61, S61, '--snapshot', 'after', '--no-chart'])
    expect(t.stderr).toMatch(/: read .*kernel_page_tables\.after/)
  })
  it('verify DIR trace DIR: before and after from the bundle', async () => {
    const r = await runCommand(Verify, [S61, `${S61}/trace.txt`, `${S61}/`, '--json'])
    expect([0, 1]).toContain(r.exit)
  })
  it('a bundle without the snapshot named says which it has', async () => {
    const r = await runCommand(Audit, [S61, '--snapshot', 'nope'])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/without kernel_page_tables\.nope \(it has: before, loaded, after/)
  })
  it('audit --html of a bundle snapshot names the kernel from version.txt', async () => {
    const html = join(tmp, 'a.html')
    const r = await runCommand(Audit, [`${S61}/kernel_page_tables.after`, '--html', html])
    expect(r.exit).toBe(0)
    expect(readFileSync(html, 'utf8')).not.toContain('not recorded in a ptdump')
  })
})

describe('12.21 / 12.22: --strict stops at the first diagnostic of any kind; - twice is refused', () => {
  it('a bad argument on line 5 stops before a junk line later', async () => {
    const lines = readFileSync(G, 'utf8').split('\n')
    const i = lines.findIndex((l) => /set_memory_ro: .*addr=0x/.test(l))
    lines[i] = lines[i]!.replace(/addr=0x[0-9a-f]+/, 'addr=0xZZZ')
    lines.splice(lines.length - 3, 0, 'junk line')
    const f = join(tmp, 'strict.txt')
    writeFileSync(f, lines.join('\n'))
    const r = await runCommand(Events, [f, '--strict'])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toContain(`strict.txt:${i + 1}:`)
  })
  it('- given twice', async () => {
    const read = readTrace(['-', '-'])
    await expect(async () => {
      for await (const _ of read.batches) void _
    }).rejects.toThrow(/given twice/)
  })
})

describe('bundle tarball', () => {
  it('events and replay read a bundle directory copy', async () => {
    const dir = join(tmp, 'bundle')
    mkdirSync(dir)
    cpSync(`${S61}/kernel_page_tables.before`, join(dir, 'kernel_page_tables.before'))
    cpSync(G, join(dir, 'trace.txt'))
    const r = await runCommand<ReplayResult>(Replay, [dir, dir, '--json'])
    expect(r.exit).toBe(0)
    expect(r.result!.events.seen).toBe(30)
  })
})

describe('12.22: the same events in two inputs', () => {
  it('trace.txt + trace_stacktrace.txt (two buffers of the same calls): de-duplicated with a note', async () => {
    const one = await runCommand<EventsResult>(Events, [`${S61}/trace_stacktrace.txt`, '--json'])
    const two = await runCommand<EventsResult>(Events, [`${S61}/trace.txt`, `${S61}/trace_stacktrace.txt`, '--json'])
    expect(two.result!.diagnostics.byCode['duplicate-input']).toBeGreaterThan(13_000)
    expect(two.result!.events).toBe(one.result!.events)
  })
  it('the same file twice is refused', async () => {
    const r = await runCommand(Events, [G, `./${G}`.replace('./', ''), '--json'])
    expect(r.exit).toBe(2)
  })
})

describe('R19: compressed inputs that fail', () => {
  for (const ext of ['gz', 'zst', 'xz']) {
    it(`a zero-byte .${ext} is an error, not an empty trace`, async () => {
      const f = join(tmp, `empty.txt.${ext}`)
      writeFileSync(f, '')
      const r = await runCommand(Events, [f])
      expect(r.exit).toBe(2)
      expect(r.error!.message).toMatch(/empty file \(0 bytes\)/)
    })
  }
})

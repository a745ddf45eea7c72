/**
 * The same input gives the same diagnostics in every command (issue 13 §2, repro R07): each
 * mutation class of a real ptdump (the 6.1 capture's `before`) and of a real trace (the golden
 * five-formats tracefs excerpt of the same capture) is read by every command that reads that kind
 * of input, and the `diagnostics.byCode` of each command's --json must be the same, non-empty and
 * hold the expected code. Both base files have no diagnostic of their own (checked first).
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand, type Cmd} from '../helpers/run-command.js'
import Audit from '../../src/commands/audit.js'
import Compare from '../../src/commands/compare.js'
import Diff from '../../src/commands/diff.js'
import Events from '../../src/commands/events.js'
import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'

const PTDUMP = 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before'
const TRACE = 'test/golden/five-formats/capture.tracefs.txt'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-matrix-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const ptLines = readFileSync(PTDUMP, 'utf8').split('\n')
// verify's <after>: a copy, so no argument repeats (oclif reorders repeated positional values)
const AFTER = join(tmp, 'after.txt')
writeFileSync(AFTER, ptLines.join('\n'))
const trLines = readFileSync(TRACE, 'utf8').split('\n')
const rangeIdx = ptLines.map((l, i) => (l.startsWith('0x') ? i : -1)).filter((i) => i >= 0)
const eventIdx = trLines.map((l, i) => (/^\s+\S.*\[\d{3}\].*: set_memory_\w+: /.test(l) ? i : -1)).filter((i) => i >= 0)
const markerIdx = trLines.findIndex((l) => l.includes('tracing_mark_write: '))

function insertAt(lines: string[], i: number, ...add: string[]): string[] {
  return [...lines.slice(0, i), ...add, ...lines.slice(i)]
}

/** ptdump mutation classes → [mutated text, a code it must raise]. */
const PTDUMP_MUTATIONS: Record<string, [() => string[], string]> = {
  garbage: [() => insertAt(ptLines, rangeIdx[20]!, 'this is not a ptdump line'), 'unrecognized'],
  'out-of-order': [
    () => {
      const l = [...ptLines]
      const a = rangeIdx[30]!
      const b = rangeIdx[31]!
      ;[l[a], l[b]] = [l[b]!, l[a]!]
      return l
    },
    'out-of-order',
  ],
  overlap: [() => insertAt(ptLines, rangeIdx[31]!, ptLines[rangeIdx[30]!]!), 'overlap'],
  'size-mismatch': [
    () => {
      const l = [...ptLines]
      const i = rangeIdx.find((j) => /\s4K PTE/.test(l[j]!))!
      l[i] = l[i]!.replace(/\s4K PTE/, '   8K PTE')
      return l
    },
    'size-mismatch',
  ],
  'nul-line': [() => insertAt(ptLines, rangeIdx[20]!, '\0\0\0\0'), 'nul-bytes'],
  'unknown-token': [
    () => {
      const l = [...ptLines]
      const i = rangeIdx.find((j) => / NX /.test(l[j]!))!
      l[i] = l[i]!.replace(/ NX /, ' QQ ')
      return l
    },
    'unknown-token',
  ],
  'appended-twice': [() => [...ptLines.filter((x) => x !== ''), ...ptLines], 'duplicate-marker'],
}

const TRACE_MUTATIONS: Record<string, [() => string[], string]> = {
  garbage: [() => insertAt(trLines, eventIdx[5]!, 'this is not a trace line'), 'unrecognized'],
  'bad-arg': [
    () => {
      const l = [...trLines]
      l[eventIdx[3]!] = l[eventIdx[3]!]!.replace(/addr=0x[0-9a-f]+/, 'addr=0xZZZ')
      return l
    },
    'bad-arg',
  ],
  'clock-backwards': [
    () => {
      const l = [...trLines]
      const i = eventIdx[eventIdx.length - 1]!
      l[i] = l[i]!.replace(/\s\d+\.\d{6}:/, ' 1.000000:')
      return l
    },
    'clock',
  ],
  'concatenated-twice': [() => [...trLines.filter((x) => x !== ''), ...trLines], 'duplicate'],
  'garbage-after-marker': [() => insertAt(trLines, markerIdx + 1, 'junk junk junk'), 'marker-continuation'],
  'nul-line': [() => insertAt(trLines, eventIdx[5]!, '\0\0\0'), 'nul-bytes'],
  'mask-overflow': [
    () => {
      const i = trLines.findIndex((x) => /set_mask=0x[0-9a-f]+/.test(x))
      const l = [...trLines]
      l[i] = l[i]!.replace(/set_mask=0x[0-9a-f]+/, 'set_mask=18446744073709551744')
      return l
    },
    'bad-arg',
  ],
}

async function codes(cmd: Cmd, argv: string[]): Promise<string[]> {
  const r = await runCommand<{diagnostics?: {byCode: Record<string, number>}}>(cmd, [...argv, '--json'])
  // verify exits 1 for "differs" and still returns the result
  const result = r.result ?? (r.stdout.trim().startsWith('{') ? JSON.parse(r.stdout) : undefined)
  if (!result?.diagnostics) throw new Error(`${argv.join(' ')}: no diagnostics (exit ${r.exit}: ${r.error?.message ?? r.stderr.slice(0, 300)})`)
  return Object.keys(result.diagnostics.byCode).sort()
}

describe('diagnostics matrix: same codes in every command', () => {
  it('the base inputs have none', async () => {
    expect(await codes(Audit, [PTDUMP])).toEqual([])
    expect(await codes(Events, [TRACE])).toEqual([])
  })

  for (const [name, [mutate, code]] of Object.entries(PTDUMP_MUTATIONS)) {
    it(`ptdump ${name} → ${code} in audit, diff, replay, verify, compare`, async () => {
      const f = join(tmp, `pt-${name}.txt`)
      writeFileSync(f, mutate().join('\n'))
      const seen = {
        audit: await codes(Audit, [f]),
        diff: await codes(Diff, [f, PTDUMP]),
        replay: await codes(Replay, [f, TRACE, '--policy', 'pte-only']),
        verify: await codes(Verify, [f, TRACE, PTDUMP, '--policy', 'pte-only']),
        compare: await codes(Compare, [f, TRACE, '--policies', 'pte-only']),
      }
      expect(seen.audit).toContain(code)
      for (const c of Object.values(seen)) expect(c).toEqual(seen.audit)
    })
  }

  for (const [name, [mutate, code]] of Object.entries(TRACE_MUTATIONS)) {
    it(`trace ${name} → ${code} in events, replay, verify, compare`, async () => {
      const f = join(tmp, `tr-${name}.txt`)
      writeFileSync(f, mutate().join('\n'))
      const seen = {
        events: await codes(Events, [f]),
        replay: await codes(Replay, [PTDUMP, f, '--policy', 'pte-only']),
        verify: await codes(Verify, [PTDUMP, f, AFTER, '--policy', 'pte-only']),
        compare: await codes(Compare, [PTDUMP, f, '--policies', 'pte-only']),
      }
      expect(seen.events).toContain(code)
      for (const c of Object.values(seen)) expect(c).toEqual(seen.events)
    })
  }
})

/**
 * `ptreplay replay` and `ptreplay compare` through the command layer, in-process, on the real
 * 6.1 rodata=full capture (small and fast): the JSON report's shape and figures, the HTML file,
 * and one-line errors with exit 2 for bad input.
 */
import {emptyCounters} from '../../src/kernel/context.js'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'

import Compare, {type CompareResult} from '../../src/commands/compare.js'
import Replay, {type ReplayResult} from '../../src/commands/replay.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-cmd-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

const run = runCommand

describe('replay command', () => {
  it('--json: policy inferred with reasons, kernel counters, audits before/after, bounded series', async () => {
    const {result, exit, error} = await run<ReplayResult>(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--json'])
    expect(error).toBeUndefined()
    expect(exit).toBe(0)
    const r = result!
    expect(r.policy.name).toBe('pte-only')
    expect(r.policy.reasons.some((x) => x.includes('6.1'))).toBe(true)
    // kprobe_profile of this capture: set_memory_ro 273, __change_memory_common 10,203 hits, all
    // replayed inside their outer calls (the kernel model counts what it re-executes).
    expect(r.counters['set_memory_ro']).toBe(273)
    expect(r.counters['set_direct_map_invalid_noflush']).toBe(1050)
    expect(r.counters['split_pmd']).toBe(0)
    // Every counter key, 0 when not hit, in the declared order (stable --json).
    expect(Object.keys(r.counters).slice(0, Object.keys(emptyCounters()).length)).toEqual(Object.keys(emptyCounters()))
    expect(r.tablePagesAllocated).toBe(0)
    expect(r.before.total.tableBytes).toBe(r.after.total.tableBytes)
    expect(r.series.length).toBeGreaterThan(1)
    expect(r.series.length).toBeLessThanOrEqual(512)
    expect(r.source.facts.some((f) => f.endsWith('cmdline'))).toBe(true)
  })

  it('--html writes one self-contained file', async () => {
    const html = join(tmp, 'replay.html')
    const {exit, error} = await run<ReplayResult>(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--json', '--html', html, '--policy', 'bbml2'])
    expect(error).toBeUndefined()
    expect(exit).toBe(0)
    const text = readFileSync(html, 'utf8')
    expect(text).toContain('<svg')
    expect(text).not.toMatch(/https?:\/\//)
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  it('bad input: a missing trace, an unknown policy and a non-ptdump are one-line errors with exit 2', async () => {
    const missing = await run(Replay, [`${S61}/kernel_page_tables.before`, join(tmp, 'nope.txt')])
    expect(missing.exit).toBe(2)
    expect(missing.error!.message).toMatch(/nope\.txt.*no such file/)
    const policy = await run(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policy', 'magic'])
    expect(policy.exit).toBe(2)
    expect(policy.error!.message).toMatch(/unknown policy "magic"/)
    const notDump = await run(Replay, [`${S61}/cmdline`, `${S61}/trace.txt`])
    expect(notDump.exit).toBe(2)
    expect(existsSync(join(tmp, 'nope.txt'))).toBe(false)
  })
})

describe('compare command', () => {
  it('pte-only vs bbml2 on the 6.1 capture: deltas against the first policy', async () => {
    const {result, error} = await run<CompareResult>(Compare, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policies', 'pte-only,bbml2', '--json'])
    expect(error).toBeUndefined()
    const [pte, bb] = result!.policies
    expect(pte!.label).toBe('pte-only')
    expect(pte!.delta.tableBytes).toBe(0)
    // bbml2 re-derives the 2 GiB linear map with blocks: ~1,000 fewer PTE tables (4 MiB) even after the splits.
    expect(bb!.rebased).toMatch(/re-derived with map_mem/)
    expect(bb!.tableBytes).toBeLessThan(pte!.tableBytes - 3 * 2 ** 20)
    expect(bb!.delta.tableBytes).toBe(bb!.tableBytes - pte!.tableBytes)
    expect(bb!.splits).toBeGreaterThan(0)
  })

  it('rejects an unknown policy before reading anything', async () => {
    const o = await run(Compare, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policies', 'bbml2,nope'])
    expect(o.exit).toBe(2)
    expect(o.error!.message).toMatch(/unknown policy "nope"/)
  })
})

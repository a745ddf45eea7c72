import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import SynthMachine, {type SynthMachineResult} from '../../src/commands/synth/machine.js'
import SynthWorkload, {type SynthWorkloadResult} from '../../src/commands/synth/workload.js'
import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {readTrace} from '../../src/ingest/trace/index.js'
import {audit} from '../../src/report/audit.js'
import {runCommand} from '../helpers/run-command.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-synth-cmd-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const run = runCommand

describe('synth machine command', () => {
  it('256G pte-only → file that audits to 131053 linear PTE tables; --json summary', async () => {
    const file = join(dir, 'm256.txt')
    const r = await run<SynthMachineResult>(SynthMachine, ['--memory', '256G', '--policy', 'pte-only', '--output', file, '--json'])
    expect(r.error).toBeUndefined()
    // 131072 2M slots − 19 kernel-alias PMD blocks (machine.test.ts derives it).
    expect(r.result!.linear.tablePages).toEqual({PTE: 131053, PMD: 256, PUD: 1})
    const snap = await readPtdump(file)
    expect(snap.lineCount).toBe(r.result!.lines)
    const lin = audit(snap.pt, snap.regions).regions.find((x) => x.name === 'linear')!
    expect(lin.tablePages).toMatchObject({PTE: 131053, PMD: 256, PUD: 1})
    // Atomic write: no temp file left behind.
    expect(readdirSync(dir).filter((f) => f.includes('tmp'))).toEqual([])
  })

  it('writes the dump to stdout without --output', async () => {
    const r = await run<SynthMachineResult>(SynthMachine, ['--memory', '2G', '--policy', 'bbml2'])
    expect(r.error).toBeUndefined()
    expect(r.stdout.startsWith('---[ Linear Mapping start ]---\n')).toBe(true)
    expect(r.stdout.trimEnd().split('\n').length).toBe(r.result!.lines)
  })

  it('bad input: one-line errors, exit 2, nothing written', async () => {
    const file = join(dir, 'bad.txt')
    for (const argv of [
      ['--memory', 'lots', '-o', file],
      ['--banks', '0x80000000', '-o', file],
      ['--memory', '2G', '--kernel', '6.1', '-o', file],
      ['--memory', '2G', '--granule', '4k', '--va-bits', '47', '-o', file],
      ['-o', file],
    ]) {
      const r = await run<SynthMachineResult>(SynthMachine, argv)
      expect(r.error?.oclif?.exit).toBe(2)
      expect(r.error!.message.split('\n').length).toBe(1)
    }
    expect(existsSync(file)).toBe(false)
  })
})

describe('synth workload command', () => {
  it('--machine FILE: N events that read back with the machine vmemmap base', async () => {
    const machine = join(dir, 'm8.txt')
    await run(SynthMachine, ['--memory', '8G', '--policy', 'bbml2', '-o', machine])
    const out = join(dir, 'churn.txt')
    const r = await run<SynthWorkloadResult>(SynthWorkload, ['--kind', 'module-churn', '--events', '5000', '--machine', machine, '-o', out, '--json'])
    expect(r.error).toBeUndefined()
    expect(r.result!.events).toBe(5000)
    const snap = await readPtdump(machine)
    const vmemmap = snap.regions.find((x) => x.name === 'vmemmap')!
    const linear = snap.regions.find((x) => x.name === 'linear')!
    const read = readTrace([out], {vmemmapStart: vmemmap.start, pageOffset: linear.start})
    let n = 0
    for await (const ev of read.events) {
      n++
      if (ev.kind === 'set_direct_map') expect(ev.addr).toBeDefined()
    }
    expect(n).toBe(5000)
    expect(read.stats.directMapPagesWithoutVmemmap).toBe(0)
  })

  it('without --machine: a synthesized default machine; bad --machine is a one-line error', async () => {
    const r = await run<SynthWorkloadResult>(SynthWorkload, ['--kind', 'kfence', '--events', '100'])
    expect(r.error).toBeUndefined()
    expect(r.stdout.split('\n').filter((l) => l.includes('set_memory_valid')).length).toBeGreaterThan(10)
    const bad = await run<SynthWorkloadResult>(SynthWorkload, ['--kind', 'kfence', '--events', '100', '--machine', join(dir, 'missing.txt')])
    expect(bad.error?.oclif?.exit).toBe(2)
  })
})

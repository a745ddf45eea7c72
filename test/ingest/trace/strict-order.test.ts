/**
 * Issue 12 item 21, as the issue reproduces it: the real 6.1 trace with a bad address value near
 * line 500 and a junk line at 901. `--strict` must stop at the bad value (the first diagnostic
 * in input order), but stopped at :901: the record holding the bad value was still held back
 * by the record assembler (a stack could still come for it: it is released only by the next
 * record on the same CPU), so its diagnostic was found after the junk line's. --strict now
 * waits for the records held before a pending diagnostic.
 */
import {readFileSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import Events from '../../../src/commands/events.js'
import {runCommand} from '../../helpers/run-command.js'

const TRACE = 'samples/debian-6.1-qemu/max-2G-default/trace.txt'

describe('--strict on the real 6.1 trace: the first diagnostic in input order', () => {
  it('a bad start= near line 500 stops before the junk line at 901', async () => {
    const lines = readFileSync(TRACE, 'utf8').split('\n')
    const bad = lines.findIndex((l, i) => i >= 499 && /(addr|start)=0x[0-9a-f]+/.test(l))
    expect(bad).toBeGreaterThan(0)
    expect(bad).toBeLessThan(900)
    lines[bad] = lines[bad]!.replace(/(addr|start)=0x[0-9a-f]+/, '$1=0xZZZ')
    lines[900] = 'junk line here'
    const f = join(mkdtempSync(join(tmpdir(), 'ptreplay-strict-')), 'trace.txt')
    writeFileSync(f, lines.join('\n'))
    const o = await runCommand(Events, [f, '--strict'])
    expect(o.exit).toBe(2)
    expect(o.stderr).toMatch(new RegExp(`^Error: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${bad + 1}: .*expected a kernel address value, got '0xZZZ'`))
    // Without --strict both are reported, the junk line skipped and counted.
    const all = await runCommand(Events, [f])
    expect(all.exit).toBe(0)
    expect(all.stderr).toContain(`${f}:901:`)
    expect(all.stderr).toContain(`${f}:${bad + 1}:`)
  })
})

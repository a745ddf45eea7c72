/**
 * Issue 12 item 20, second half: when an output fails only at the end (after the output paths
 * were checked), the text report is still printed, then the one-line error (exit 2). The late
 * failure is forced by planting a file at every temp name the writer draws (tempNames.next is
 * the seam atomic-file.ts offers tests): createTemp() gives up after its retries.
 */
import {mkdtempSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import Replay from '../../src/commands/replay.js'
import {tempNames} from '../../src/report/atomic-file.js'
import {runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const next = tempNames.next

afterEach(() => {
  tempNames.next = next
})

describe('a late write failure keeps the report', () => {
  it('replay --html: the report on stdout, then the error naming the file, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-late-'))
    const html = join(dir, 'r.html')
    tempNames.next = () => 'planted'
    writeFileSync(join(dir, '.r.html.planted.tmp'), 'not ours')
    const o = await runCommand(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--html', html, '--no-chart'])
    expect(o.exit).toBe(2)
    expect(o.stdout).toMatch(/^Under pte-only: /m)
    expect(o.stdout).toContain('Kernel counters')
    expect(o.stderr).toContain(`${html}: cannot write the HTML report`)
    expect(existsSync(html)).toBe(false)
  })
})

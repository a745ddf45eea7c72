/**
 * `--html -` on every command that writes a page: stdout holds the page and nothing else (the
 * text report goes to stderr), so `ptreplay X … --html - > page.html` is a valid page; under
 * --json, where stdout is the JSON document, it is a usage error (exit 2).
 */
import {afterEach, describe, expect, it, vi} from 'vitest'

import Audit from '../../../src/commands/audit.js'
import Compare from '../../../src/commands/compare.js'
import Replay from '../../../src/commands/replay.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const savedExitCode = process.exitCode
afterEach(() => {
  process.exitCode = savedExitCode
})

async function run(cmd: {run: (argv: string[], root: string) => Promise<unknown>}, argv: string[]): Promise<{exit: number; stdout: string; stderr: string}> {
  let stdout = ''
  let stderr = ''
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += a.join(' ') + '\n'))
  const w = process.stdout.write.bind(process.stdout)
  const we = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write
  try {
    await cmd.run(argv, process.cwd())
    return {exit: typeof process.exitCode === 'number' ? process.exitCode : 0, stdout, stderr}
  } catch (e) {
    return {exit: (e as {oclif?: {exit?: number}}).oclif?.exit ?? -1, stdout, stderr}
  } finally {
    process.stdout.write = w
    process.stderr.write = we
    log.mockRestore()
    err.mockRestore()
    process.exitCode = savedExitCode
  }
}

function onlyAPage(stdout: string): void {
  expect(stdout.startsWith('<!DOCTYPE html>')).toBe(true)
  expect(stdout.trimEnd().endsWith('</html>')).toBe(true)
  expect(stdout.match(/<!DOCTYPE html>/g)).toHaveLength(1)
}

describe('--html - is stdout, the text goes to stderr', () => {
  it('audit', async () => {
    const o = await run(Audit, [`${S61}/kernel_page_tables.after`, '--html', '-'])
    expect(o.exit).toBe(0)
    onlyAPage(o.stdout)
    expect(o.stderr).toContain('Linear map')
    expect((await run(Audit, [`${S61}/kernel_page_tables.after`, '--html', '-', '--json'])).exit).toBe(2)
  })

  it('replay and compare', async () => {
    const r = await run(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--html', '-'])
    expect(r.exit).toBe(0)
    onlyAPage(r.stdout)
    expect(r.stderr).toContain('Under pte-only: page tables stay 4.06 MiB')
    const c = await run(Compare, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--policies', 'pte-only', '--html', '-'])
    expect(c.exit).toBe(0)
    onlyAPage(c.stdout)
    expect((await run(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--html', '-', '--json'])).exit).toBe(2)
  })
})

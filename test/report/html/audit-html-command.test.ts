import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it, vi} from 'vitest'

import Audit, {type AuditResult} from '../../../src/commands/audit.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-audit-html-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

async function run(argv: string[]): Promise<{result?: AuditResult; error?: Error & {oclif?: {exit?: number}}; stdout: string}> {
  let stdout = ''
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
  try {
    return {result: (await Audit.run(argv, process.cwd())) as AuditResult, stdout}
  } catch (e) {
    return {error: e as Error, stdout}
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

describe('audit --html and the terminal strip', () => {
  const dump = 'samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded'

  it('writes the HTML report and prints one ASCII strip per region under the tables', async () => {
    const file = join(dir, 'audit.html')
    const {result, stdout} = await run([dump, '--html', file])
    expect(result!.htmlFile).toBe(file)
    const html = readFileSync(file, 'utf8')
    expect(html).toContain('<dt>granule</dt><dd>4K</dd>')
    expect(html).toContain('data-region="linear"')
    expect(html).toContain('Mapped memory by leaf size')
    expect(readdirSync(dir)).toEqual(['audit.html'])
    // Not a TTY here: ASCII only. The 6.19 BBML2 loaded linear map is mostly 1G PUD blocks.
    expect(stdout).not.toMatch(/\x1b\[/)
    const linear = stdout.split('\n').find((l) => l.startsWith('Linear map   |'))!
    expect(linear).toMatch(/\|[+=#:._ ]+\| 2 GiB @ 0xffff000000000000$/)
    expect((linear.match(/#/g) ?? []).length).toBeGreaterThan(16)
    expect(stdout).toContain('# PUD 1GiB')
  })

  it('an unwritable --html path is a one-line error with exit 2 and leaves nothing behind', async () => {
    const {error} = await run([dump, '--html', join(dir, 'missing', 'a.html')])
    expect(error?.oclif?.exit).toBe(2)
    expect(error!.message).toMatch(/cannot write/)
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })
})

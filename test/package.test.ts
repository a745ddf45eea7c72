/**
 * Issue 12 item 18: `npm pack` ships what a user needs (the built commands, the README's docs/
 * and image, a LICENSE with the GPL-2.0 text, the real captures' dumps and traces) and not what
 * they don't (source maps without sources, benchmarks, tests, consoles and logs): it was 23 MB.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

describe('npm pack', () => {
  it('ships the commands, docs, LICENSE and the captures, nothing else', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
    const [pack] = JSON.parse(out) as {size: number; files: {path: string}[]}[]
    const files = pack!.files.map((f) => f.path)
    expect(pack!.size).toBeLessThan(5 * 2 ** 20)
    for (const f of files) {
      expect(f, f).not.toMatch(/\.map$|^dist\/(bench|test)\/|^test\/|^bench\/|^samples\/.*(console\.log|udhcpc|kallsyms|trace_stacktrace)/)
    }
    expect(files).toContain('LICENSE')
    expect(readFileSync('LICENSE', 'utf8')).toMatch(/GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/)
    expect(files).toContain('dist/src/commands/audit.js')
    expect(files).toContain('samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after')
    // every docs/ file the README links to or shows
    const readme = readFileSync('README.md', 'utf8')
    for (const m of readme.matchAll(/\]\((docs\/[^)#\s]+)/g)) expect(files, m[1]).toContain(m[1])
  })
})

/**
 * Issue 12, "Done means": the transcript of a newcomer's session in docs/newcomer-session.md —
 * quick start, one error of each kind (missing file, bad line, unknown flag, marker that matches
 * nothing), a bundle directory read back, compressed dumps — is re-run here command by command
 * through the built binary, and must print exactly what the page shows (test/helpers/newcomer.ts
 * normalises only the scratch directory and fixes NO_COLOR and the width). When the output
 * changes on purpose: `npm run transcript` rewrites the page; read the diff before committing.
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {STEPS, missingPrograms, renderSession} from '../helpers/newcomer.js'

const PAGE = 'docs/newcomer-session.md'
const built = existsSync('dist/src/commands/audit.js')
const missing = missingPrograms()
const scratch = mkdtempSync(join(tmpdir(), 'ptreplay-newcomer-'))
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

describe.skipIf(!built || missing.length > 0)(`${PAGE}${missing.length ? ` (skipped: ${missing.join(', ')} not installed)` : ''}`, () => {
  it('every command prints what the page shows', {timeout: 120_000}, () => {
    const now = renderSession(scratch)
    if (process.env.PTREPLAY_WRITE_TRANSCRIPT === '1') writeFileSync(PAGE, now)
    const page = readFileSync(PAGE, 'utf8')
    // Step by step, so a failure names the step whose output changed.
    const sections = (s: string) => s.split(/^(?=## )/m)
    const [a, b] = [sections(page), sections(now)]
    expect(a.length).toBe(STEPS.length + 1)
    for (let i = 0; i < b.length; i++) expect(a[i], `${PAGE}, section ${i}: the output changed (if on purpose: npm run transcript, and read the diff)`).toBe(b[i])
  })

  it('shows each kind of error with its exit status', () => {
    const page = readFileSync(PAGE, 'utf8')
    expect(page).toMatch(/cannot read: no such file\n\[exit 2\]/)
    expect(page).toMatch(/bad\.txt:10: expected a range line .*\n\[exit 2\]/)
    expect(page).toMatch(/\{"error":\{"code":"bad-input",.*"line":10\}\}/)
    expect(page).toMatch(/unknown flag --jsn; see ptreplay audit --help\n\[exit 2\]/)
    expect(page).toMatch(/--from-marker "bpf phase begn": no trace_marker write contains it; .*closest first: "capture: bpf phase begin \(test_bpf\)"/)
    expect(page).toMatch(/: read samples\/linux-7\.3-debian-qemu\/ampere1a-2G-default\/kernel_page_tables\.probed/)
  })
})

/**
 * Issue 12: `verify --json` used to print its document and then throw oclif's exit error when the
 * tables differ, so an in-process caller (test/helpers/run-command.ts, or anything driving the
 * command class) got no result. "differs" is a result: the document is returned and printed
 * whatever the verdict, and the exit status is its exitCode (0 match, 1 differs).
 *
 * The 6.1 capture's trace replayed from `before` and compared with `before` itself must differ:
 * the trace makes pages read-only (set_memory_ro on module text: its linear alias, rodata=full),
 * which `before` does not show. `before` → `after` matches (test/commands/verify.test.ts).
 */
import {describe, expect, it} from 'vitest'

import Verify from '../../src/commands/verify.js'
import type {VerifyResult} from '../../src/report/verify.js'
import {runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const BEFORE = `${S61}/kernel_page_tables.before`
const TRACE = `${S61}/trace.txt`

describe('verify: the result whatever the verdict', () => {
  it('--json, tables differ: exit 1, the result in-process and the same one document on stdout', async () => {
    const o = await runCommand<VerifyResult>(Verify, [BEFORE, TRACE, BEFORE, '--json'])
    expect(o.error).toBeUndefined()
    expect(o.exit).toBe(1)
    expect(o.result).toBeDefined()
    expect(o.result!.verdict).toBe('differs')
    expect(o.result!.exitCode).toBe(1)
    expect(JSON.parse(o.stdout)).toEqual(JSON.parse(JSON.stringify(o.result)))
    expect(Object.keys(JSON.parse(o.stdout) as object)).not.toContain('error')
  })

  it('text, tables differ: exit 1, the report printed, the result in-process', async () => {
    const o = await runCommand<VerifyResult>(Verify, [BEFORE, TRACE, BEFORE])
    expect(o.exit).toBe(1)
    expect(o.result?.verdict).toBe('differs')
    expect(o.stdout).toMatch(/differ/)
  })

  it('--json, tables match: exit 0, exitCode 0', async () => {
    const o = await runCommand<VerifyResult>(Verify, [BEFORE, TRACE, `${S61}/kernel_page_tables.after`, '--json'])
    expect(o.exit).toBe(0)
    expect(o.result!.exitCode).toBe(0)
    expect((JSON.parse(o.stdout) as VerifyResult).verdict).toBe('match')
  })
})

/**
 * Issue 12 item 4, README in sync with the output: the `audit --json` schema the README prints
 * names exactly the keys `ptreplay audit --json --html` writes (top level, a region, total,
 * geometry, diagnostics, pteOnly/ideal, eligibility and its forecast), on a real bundle.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, expect, it} from 'vitest'

import Audit from '../../src/commands/audit.js'
import {runCommand} from '../helpers/run-command.js'

const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-schema-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

/** Every key an object (and the objects in it, not the maps keyed by level or code) carries. */
function keys(o: unknown, out = new Set<string>(), maps = new Set(['mappedBytes', 'mappedPercent', 'tablePages', 'byCode', 'bySeverity'])): Set<string> {
  if (Array.isArray(o)) for (const x of o) keys(x, out, maps)
  else if (o && typeof o === 'object')
    for (const [k, v] of Object.entries(o)) {
      out.add(k)
      if (!maps.has(k)) keys(v, out, maps)
    }
  return out
}

it("README's audit --json schema names the keys audit writes", async () => {
  const readme = readFileSync('README.md', 'utf8')
  const block = /#### `audit --json` schema\n\n```jsonc\n([\s\S]*?)\n```/.exec(readme)
  expect(block).not.toBeNull()
  const documented = new Set([...block![1]!.replace(/\/\/.*$/gm, '').matchAll(/"([\w-]+)":/g)].map((m) => m[1]!))
  const o = await runCommand(Audit, ['samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after', '--json', '--html', join(tmp, 'a.html')])
  expect(o.exit).toBe(0)
  const written = keys(JSON.parse(o.stdout))
  // the level and severity names inside the documented maps are examples of their keys
  for (const k of ['PUD', 'CONT_PMD', 'PMD', 'CONT_PTE', 'PTE', 'info', 'data-loss', 'error']) documented.delete(k)
  expect([...written].filter((k) => !documented.has(k)), 'written, not in the README').toEqual([])
  expect([...documented].filter((k) => !written.has(k)), 'in the README, not written').toEqual([])
})

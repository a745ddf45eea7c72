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

it("README's forecast figures: the 7.3 QEMU dump off the BBML3 list, and the real BBML3 capture", async () => {
  // README: "it saves 4.0 MiB of page tables and 522 K TLB entries out of 4.1 MiB / 526 K (the
  // linear map's 4.0 MiB / 522 K); on the real BBML3 capture (AmpereOne MIDR) it saves exactly nothing".
  const readme = readFileSync('README.md', 'utf8').replace(/\s+/g, ' ')
  expect(readme).toContain("it saves 4.0 MiB of page tables and 522 K TLB entries out of 4.1 MiB / 526 K (the linear map's 4.0 MiB / 522 K); on the real BBML3 capture (AmpereOne MIDR) it saves exactly nothing")
  type Doc = {total: {tableBytes: number; tlbEntries: number}; regions: {name: string; tableBytes: number; tlbEntries: number}[]; eligibility: {forecast: {savedTableBytes: number; savedTlbEntries: number}}}
  const audit = async (dump: string) => JSON.parse((await runCommand(Audit, [dump, '--json'])).stdout) as Doc
  const off = await audit('samples/linux-7.3-debian-qemu/max-2G-default/kernel_page_tables.after')
  expect((off.eligibility.forecast.savedTableBytes / 2 ** 20).toFixed(1)).toBe('4.0')
  expect(Math.round(off.eligibility.forecast.savedTlbEntries / 1000)).toBe(522)
  expect((off.total.tableBytes / 2 ** 20).toFixed(1)).toBe('4.1')
  expect(Math.round(off.total.tlbEntries / 1000)).toBe(526)
  const lin = off.regions.find((r) => r.name === 'linear')!
  expect([(lin.tableBytes / 2 ** 20).toFixed(1), Math.round(lin.tlbEntries / 1000)]).toEqual(['4.0', 522])
  const on = await audit('samples/linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.after')
  expect([on.eligibility.forecast.savedTableBytes, on.eligibility.forecast.savedTlbEntries]).toEqual([0, 0])
})

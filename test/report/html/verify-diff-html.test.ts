/**
 * verify --html and diff --html on the real captures: the page says what the text says (verdict
 * or what changed first, the per-region verdicts, the differing ranges with the same ptdump lines),
 * draws both maps, and follows the output rules of every writer: the path is checked before any
 * work, `-` is stdout (the text then goes to stderr), nothing half-written.
 *
 * Captures: samples/debian-6.12-qemu/max-2G-kfence before → loaded (differs: KFENCE pool pages
 * whose valid bit flipped and one read-only page, none explained by the trace; test/commands/
 * verify.test.ts has the story) and samples/linux-6.19-bbml2-qemu/max-2G-default before → loaded
 * (12 PMD splits, 3 cont-PMD groups cleared; test/commands/diff.test.ts).
 */
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it, vi} from 'vitest'

import Diff, {type DiffResult} from '../../../src/commands/diff.js'
import Verify from '../../../src/commands/verify.js'
import {readPtdump} from '../../../src/ingest/ptdump/index.js'
import {audit} from '../../../src/report/audit.js'
import {toAscii} from '../../../src/report/output-style.js'
import {fmtBytes, fmtInt} from '../../../src/report/table.js'
import type {VerifyResult} from '../../../src/report/verify.js'

const S612K = 'samples/debian-6.12-qemu/max-2G-kfence'
const S619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-verify-diff-html-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const savedExitCode = process.exitCode
afterEach(() => {
  process.exitCode = savedExitCode
})

interface Outcome<R> {
  result?: R
  exit: number
  stdout: string
  stderr: string
  error?: Error
}

async function run<R>(cmd: {run: (argv: string[], root: string) => Promise<unknown>}, argv: string[]): Promise<Outcome<R>> {
  let stdout = ''
  let stderr = ''
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += a.join(' ') + '\n'))
  const w = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  try {
    const result = (await cmd.run(argv, process.cwd())) as R
    return {result, exit: typeof process.exitCode === 'number' ? process.exitCode : 0, stdout, stderr}
  } catch (e) {
    return {exit: (e as {oclif?: {exit?: number}}).oclif?.exit ?? -1, stdout, stderr, error: e as Error}
  } finally {
    process.stdout.write = w
    log.mockRestore()
    err.mockRestore()
    process.exitCode = savedExitCode
  }
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')

function section(html: string, title: string): string {
  const start = html.indexOf(`<h2>${title}</h2>`)
  expect(start, title).toBeGreaterThan(0)
  return html.slice(start, html.indexOf('</section>', start))
}

function tableRows(html: string): string[][] {
  const t = html.slice(html.indexOf('<table'), html.indexOf('</table>'))
  return [...t.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((r) => [...r[1]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => unescape(m[1]!)))
}

function headline(html: string): string {
  return unescape(/<div class="headline"><p>([^<]*)<\/p>/.exec(html)![1]!)
}

/** The range items of a section: head, why, the ptdump lines, the notes. */
function rangeItems(sec: string): {head: string; why: string; lines: string[]; notes: string[]}[] {
  return sec
    .split('<div class="range-item">')
    .slice(1)
    .map((item) => ({
      head: unescape(/<div class="range-head">([^<]*)</.exec(item)![1]!),
      why: unescape(/<div class="range-why">([^<]*)</.exec(item)?.[1] ?? ''),
      lines: unescape(/<pre class="runs">([^<]*)<\/pre>/.exec(item)?.[1] ?? '').split('\n'),
      notes: [...item.matchAll(/<li>([^<]*)<\/li>/g)].map((x) => unescape(x[1]!)),
    }))
}

/** The title a range section has: "first N of M …" only when some were left out. */
function rangesTitle(label: string, shown: number, total: number, what: string): string {
  return `${label}: ${total > shown ? `first ${fmtInt(shown)} of ` : ''}${fmtInt(total)} ${what}${total === 1 ? '' : 's'}`
}

function mapLabels(html: string): string[] {
  return [...new Set([...html.matchAll(/<h3 class="map-col-label"[^>]*>([^<]*)<\/h3>/g)].map((m) => unescape(m[1]!)))]
}

describe('verify --html', () => {
  const args = [`${S612K}/kernel_page_tables.before`, `${S612K}/trace.txt`, `${S612K}/kernel_page_tables.loaded`]

  it('6.12 KFENCE before → loaded: the verdict first, the regions and differing ranges as the text says, both maps', async () => {
    const file = join(dir, 'verify.html')
    const o = await run<VerifyResult & {htmlFile?: string}>(Verify, [...args, '--html', file])
    expect(o.error, o.stderr).toBeUndefined()
    expect(o.exit).toBe(1)
    expect(o.result!.htmlFile).toBe(file)
    expect(readdirSync(dir)).toEqual(['verify.html'])
    const html = readFileSync(file, 'utf8')
    const text = o.stdout.split('\n')
    // The headline is the text's verdict line.
    const verdict = text.find((l) => l.startsWith('DIFFERS: '))!
    expect(headline(html)).toBe(verdict)
    expect(html.indexOf('<div class="headline">')).toBeLessThan(html.indexOf('<section'))
    // One row per region, with the text's verdict words.
    const rows = tableRows(section(html, 'Regions'))
    const v = o.result!
    expect(rows.map((r) => r[0])).toEqual(v.regions.map((r) => r.label))
    for (const r of v.regions) {
      const line = text.find((l) => l.trimStart().startsWith(r.label + ' '))!
      expect(line.trim().slice(r.label.length).trim()).toBe(rows.find((x) => x[0] === r.label)![1])
    }
    const linear = v.regions.find((r) => r.name === 'linear')!
    expect(linear.status).toBe('differs')
    // The differing ranges: the same ranges, the same predicted/actual ptdump lines as the text.
    const items = rangeItems(section(html, rangesTitle('Linear map', linear.differences.length, linear.differingRanges, 'differing range')))
    expect(items).toHaveLength(linear.differences.length)
    linear.differences.forEach((d, i) => {
      expect(items[i]!.head.startsWith(`${d.start}-${d.end}`)).toBe(true)
      expect(items[i]!.why).toBe(d.note)
      const at = text.findIndex((l) => l.startsWith(`  ${d.start}-${d.end} `))
      const textLines = text.slice(at + 1).filter((l) => /^ {4}(predicted|actual) /.test(l)).slice(0, d.predicted.length + d.actual.length)
      expect(items[i]!.lines).toEqual(textLines.map((l) => l.trim()))
      expect(items[i]!.notes.some((n) => n.startsWith('nearest below: ') || n.startsWith('last call on it'))).toBe(true)
    })
    // Predicted and actual maps side by side; a differing range is named on their hover.
    expect(mapLabels(html)).toEqual(['predicted (replay)', 'actual (snapshot)'])
    expect(html).toContain('differs (untraced): not explained by the trace')
    expect(html).toContain('<dt>kernel</dt><dd>Linux version 6.12')
  })

  it('--html - writes the page to stdout and the text to stderr; the verdict is still the exit status', async () => {
    const o = await run<VerifyResult>(Verify, [...args, '--html', '-'])
    expect(o.error, o.stderr).toBeUndefined()
    expect(o.exit).toBe(1)
    expect(o.stdout.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(o.stdout.trimEnd().endsWith('</html>')).toBe(true)
    expect(o.stderr).toMatch(/^DIFFERS: /m)
    const j = await run<VerifyResult>(Verify, [...args, '--html', '-', '--json'])
    expect(j.exit).toBe(2)
  })

  it('an unwritable --html path stops before any work (the missing trace is never read), exit 2, nothing left', async () => {
    const bad = join(dir, 'missing', 'v.html')
    const o = await run<VerifyResult>(Verify, [`${S612K}/kernel_page_tables.before`, join(dir, 'no-such-trace.txt'), `${S612K}/kernel_page_tables.loaded`, '--html', bad])
    expect(o.exit).toBe(2)
    expect(o.error!.message).toContain(bad)
    expect(o.error!.message).toMatch(/cannot write/)
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })
})

describe('diff --html', () => {
  const args = [`${S619}/kernel_page_tables.before`, `${S619}/kernel_page_tables.loaded`]

  it('6.19 before → loaded: what changed first, a row per region, the cost, the changed ranges as ptdump lines, both maps', async () => {
    const file = join(dir, 'diff.html')
    const o = await run<DiffResult>(Diff, [...args, '--html', file])
    expect(o.error).toBeUndefined()
    expect(o.exit).toBe(0)
    expect(o.result!.htmlFile).toBe(file)
    const d = o.result!
    const html = readFileSync(file, 'utf8')
    // 12 PMD→PTE splits and 3 cont-PMD groups cleared in the linear map (diff.test.ts), 12 PTE tables added there.
    const lin = d.regions.find((r) => r.name === 'linear')!
    const splits = d.regions.reduce((s, r) => s + Object.values(r.splits).reduce((a, b) => a + b, 0), 0)
    expect(splits).toBeGreaterThanOrEqual(15)
    const ranges = d.regions.reduce((s, r) => s + r.changedRanges, 0)
    expect(headline(html)).toMatch(new RegExp(`^${fmtInt(ranges)} changed ranges \\(.+\\) in Linear map, .*: ${fmtInt(splits)} splits, 0 collapses, permissions changed on `))
    const rows = tableRows(section(html, 'Regions'))
    const linRow = rows.find((r) => r[0] === 'Linear map')!
    expect(linRow[1]).toBe(fmtInt(lin.changedRanges))
    expect(linRow[3]).toBe('PMD→PTE 12, CONT_PMD cleared 3')
    expect(linRow[8]).toContain('PTE 0 → 12 (+12 −0)')
    // The cost of each snapshot, from its audit.
    const [a, b] = await Promise.all(args.map((p) => readPtdump(p)))
    const cost = tableRows(section(html, 'What it cost'))
    const total = cost.at(-1)!
    expect(total.slice(1, 3)).toEqual([fmtBytes(audit(a!.pt, a!.regions).total.tableBytes), fmtBytes(audit(b!.pt, b!.regions).total.tableBytes)])
    expect(total[5]).toBe(fmtInt(audit(b!.pt, b!.regions).total.tlbEntries))
    // Changed ranges: the JSON's ranges, their "-"/"+" ptdump lines as the text prints them.
    const items = rangeItems(section(html, rangesTitle('Linear map', lin.ranges.length, lin.changedRanges, 'changed range')))
    expect(items).toHaveLength(lin.ranges.length)
    lin.ranges.forEach((c, i) => {
      expect(items[i]!.head.startsWith(`${c.start}-${c.end}`)).toBe(true)
      expect(items[i]!.why).toBe(c.kinds.join(', '))
      expect(items[i]!.lines.filter((l) => l.startsWith('+ ')).slice(0, c.b.length)).toEqual(c.b.map((x) => `+ ${x.line}`))
      // The same lines as the text (which is ASCII when piped: "…" is "..." there).
      for (const l of items[i]!.lines) expect(o.stdout).toContain(`    ${toAscii(l)}`)
    })
    expect(mapLabels(html)).toEqual(['first snapshot', 'second snapshot'])
    expect(html).toContain('changed: split')
  })

  it('--html - writes the page to stdout and the text to stderr; a bad path fails before reading', async () => {
    const o = await run<DiffResult>(Diff, [...args, '--html', '-'])
    expect(o.error).toBeUndefined()
    expect(o.stdout.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(o.stderr).toContain('diff: ')
    const bad = await run<DiffResult>(Diff, [join(dir, 'no-such-a.txt'), join(dir, 'no-such-b.txt'), '--html', join(dir, 'missing', 'd.html')])
    expect(bad.exit).toBe(2)
    expect(bad.error!.message).toMatch(/missing\/d\.html.*cannot write/)
  })
})

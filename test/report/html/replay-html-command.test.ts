/**
 * replay --html on the real 6.19 BBML2 capture (samples/linux-6.19-bbml2-qemu/max-2G-default,
 * from kernel_page_tables.loaded over the BPF phase): the chart starts at the page tables the
 * text report calls "before" (120 KiB, 3,088 TLB entries; the engine's first kept sample is 128
 * calls in, at 124 KiB), its x axis is the trace's time in seconds, the phase markers are drawn
 * with their text, and every number in a table has the text output's thousands separators.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import Replay, {type ReplayResult} from '../../../src/commands/replay.js'

const S = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-replay-html-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')

/** The section whose <h2> is `title`. */
function section(html: string, title: string): string {
  const start = html.indexOf(`<h2>${title}</h2>`)
  expect(start).toBeGreaterThan(0)
  return html.slice(start, html.indexOf('</section>', start))
}

/** Header cells and body rows of the first <table> in `html`. */
function firstTable(html: string): {head: string[]; rows: string[][]} {
  const t = html.slice(html.indexOf('<table'), html.indexOf('</table>'))
  const head = [...t.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => unescape(m[1]!))
  const rows = [...t.matchAll(/<tr>(.*?)<\/tr>/g)].slice(1).map((r) => [...r[1]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => unescape(m[1]!)))
  return {head, rows}
}

describe('replay --html on the 6.19 BBML2 capture, BPF phase', () => {
  let stdout = ''
  let html = ''
  let result: ReplayResult

  beforeAll(async () => {
    const file = join(dir, 'replay.html')
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      result = (await Replay.run([`${S}/kernel_page_tables.loaded`, `${S}/trace.txt.gz`, '--from-marker', 'capture: bpf phase begin', '--until-marker', 'capture: bpf phase end', '--html', file, '--no-chart'], process.cwd())) as ReplayResult
    } finally {
      log.mockRestore()
      err.mockRestore()
    }
    html = readFileSync(file, 'utf8')
  }, 60_000)

  it('the first point of the chart is the text report\'s "before"', () => {
    const tb = /^table bytes\s+(\d[\d,.]* \w+)\s+(\d[\d,.]* \w+)/m.exec(stdout)!
    const tlb = /^TLB entries\s+([\d,]+)\s+([\d,]+)/m.exec(stdout)!
    expect(tb[1]).toBe('120 KiB')
    expect(tlb[1]).toBe('3,088')
    const chart = section(html, 'Over the trace')
    const {head, rows} = firstTable(chart)
    expect(head.slice(0, 4)).toEqual(['trace time (s)', 'kernel calls', 'table bytes', 'TLB entries'])
    expect(rows[0]!.slice(1, 4)).toEqual(['0', tb[1], tlb[1]])
    expect(rows.at(-1)!.slice(2, 4)).toEqual([tb[2], tlb[2]])
    // The engine's own first sample is later (it keeps every 128th call on this trace).
    expect(result.series[0]!.calls).toBeGreaterThan(1)
    expect(result.series[0]!.tableBytes).toBeGreaterThan(result.tableBytesBefore)
    // The drawn line starts there too: the first hover bucket holds the first point alone.
    const data = JSON.parse(/<script type="application\/json" id="series-data-\d+">(.*?)<\/script>/.exec(chart)![1]!) as {buckets: number[][]}[]
    expect(data[0]!.buckets[0]).toEqual([0, 0, result.tableBytesBefore])
    expect(data[1]!.buckets[0]).toEqual([0, 0, 3088])
  })

  it('x axis in seconds of trace time, from the window\'s start; the phase markers drawn with their text', () => {
    const chart = section(html, 'Over the trace')
    expect(chart).toContain('>trace time (s)</text>')
    const ticks = [...chart.matchAll(/<text class="tick x-tick"[^>]*>([^<]*)<\/text>/g)].map((m) => Number(m[1]!.replace(/,/g, '')))
    expect(ticks.length).toBeGreaterThanOrEqual(3 * 3)
    // The window opens at the marker "capture: bpf phase begin" (8.270383 s in trace.txt.gz) and
    // closes at "capture: bpf phase end"; the first row is the window's start.
    const {rows} = firstTable(chart)
    expect(rows[0]![0]).toBe('8.270383')
    const t0 = Number(rows[0]![0])
    const t1 = Number(rows.at(-1)![0]!.replace(/,/g, ''))
    expect(ticks.every((t) => t >= t0 && t <= t1)).toBe(true)
    const titles = [...chart.matchAll(/<line class="marker"[^>]*><title>([^<]*)<\/title>/g)].map((m) => unescape(m[1]!))
    expect(titles.some((t) => t.includes('capture: bpf phase begin (test_bpf)'))).toBe(true)
    expect(titles.some((t) => t.includes('capture: bpf phase end'))).toBe(true)
    const labels = [...chart.matchAll(/<text class="marker-label"[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1]!))
    expect(labels).toContain('capture: bpf phase begin (test_bpf)')
    expect(chart).toContain('<summary>Markers: ')
  })

  it('offenders as in the text (calls, splits, tables +/−), and no number of four digits or more without separators in any table', () => {
    const off = firstTable(section(html, 'Top offenders (by table pages they cost)'))
    expect(off.head).toEqual(['by', 'who', 'calls', 'splits', 'tables +', 'tables −', 'table bytes'])
    const probe = off.rows.find((r) => r[0] === 'probe' && r[1] === 'set_memory_ro')!
    const text = stdout.split('\n').find((l) => /^probe\s+set_memory_ro\s/.test(l))!.trim().split(/\s+/)
    expect(probe.slice(2, 6)).toEqual(text.slice(2, 6))
    expect(probe[3]).toMatch(/^\d{1,3}(,\d{3})+$/)
    const cells = [...html.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!)
    expect(cells.filter((c) => /(^|[^\w.,x])\d{4,}(?![\w])/.test(c) && !/0x[0-9a-f]/.test(c))).toEqual([])
  })

  it('the headline first, then the page-table change as the text prints it', () => {
    const h = html.indexOf('<div class="headline">')
    expect(h).toBeGreaterThan(0)
    expect(h).toBeLessThan(html.indexOf('<dl class="meta">'))
    expect(html.slice(h)).toMatch(/^<div class="headline"><p>Under bbml2: page tables 120 KiB → \d+ KiB; TLB entries 3,088 → \d{1,3},\d{3}; \d,\d{3} splits<\/p>/)
    const pt = firstTable(section(html, 'Page tables'))
    const tb = /^table bytes\s+(\d[\d,.]* \w+)\s+(\d[\d,.]* \w+)\s+(\S+ \w+)/m.exec(stdout)!
    expect(pt.rows[0]).toEqual(['table bytes', tb[1], tb[2], tb[3]])
  })
})

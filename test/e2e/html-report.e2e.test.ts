/**
 * End to end: the HTML report of a real capture (the 6.19 BBML2 boot), opened in headless
 * Chromium. Checks that the maps and charts render, that nothing logs an error or asks the
 * network, that hovering a map cell shows its range, level and attributes, that a click zooms,
 * and that capture strings stay text. Screenshots go to test-output/e2e/.
 *
 * The series and bar sections use the audits of the boot's four snapshots (before, loaded,
 * bpf, after): real figures through the same API the replay and compare commands use.
 */
import {mkdirSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {readPtdump} from '../../src/ingest/ptdump/index.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy} from '../../src/replay/run.js'
import {runVerify} from '../../src/replay/verify.js'
import {diffSnapshots} from '../../src/report/diff.js'
import {diffHtmlDoc} from '../../src/report/html/diff-doc.js'
import {verifyHtmlDoc} from '../../src/report/html/verify-doc.js'
import {verifyResult} from '../../src/report/verify.js'
import {audit} from '../../src/report/audit.js'
import {auditHtmlDoc, auditTableSections, captureMeta} from '../../src/report/html/audit-doc.js'
import {mapColumnFromPageTables} from '../../src/report/html/map-model.js'
import {type HtmlReportDoc, renderHtmlReport, writeHtmlAtomically} from '../../src/report/html/render.js'
import {compareBarsSection, compareMapsSection} from '../../src/report/html/replay-doc.js'
import {type Chromium, chromiumUnavailable, launchChromium} from './chromium.js'

const SAMPLE = resolve('samples/linux-6.19-bbml2-qemu/max-2G-default')
const OUT = resolve('test-output/e2e')
const VERSION = JSON.parse(readFileSync(resolve('package.json'), 'utf8')).version as string
const EVIL = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'

interface Box {
  x0: number
  x1: number
  y0: number
  y1: number
  text: string
}

/** Pairs of boxes (as the browser laid them out) that intersect. */
function overlapping(boxes: Box[]): string[] {
  const out: string[] = []
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!
      const b = boxes[j]!
      if (a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5) out.push(`${a.text} × ${b.text}`)
    }
  return out
}

const skipReason = chromiumUnavailable()
if (skipReason) console.warn(`html e2e skipped: ${skipReason}`)

async function sampleDoc(): Promise<HtmlReportDoc> {
  const names = ['before', 'loaded', 'bpf', 'after']
  const snaps = await Promise.all(names.map((n) => readPtdump(join(SAMPLE, `kernel_page_tables.${n}`))))
  const reports = snaps.map((s) => audit(s.pt, s.regions))
  const loaded = snaps[1]!
  const kernel = readFileSync(join(SAMPLE, 'uname.txt'), 'utf8').trim().split(/\s+/)[2]!
  // Events for the hover: the ranges whose attributes changed between before and loaded, as
  // found by the maps' own records (a stand-in for the trace events replay will pass).
  const before = snaps[0]!.pt
  const events: {start: number; end: number; label: string}[] = []
  for (const r of loaded.pt.runs()) {
    const b = before.runAt(r.start)
    if (!b || b.prot !== r.prot || b.lvl !== r.lvl) events.push({start: r.start, end: r.end, label: `changed before→loaded ${EVIL}`})
  }
  return {
    title: `ptreplay report — ${SAMPLE.split('/').slice(-2).join('/')}`,
    meta: captureMeta(reports[1]!, {kernel, source: 'kernel_page_tables.loaded', comm: EVIL}),
    version: VERSION,
    sections: [
      {kind: 'map', title: 'Fragmentation map (loaded)', columns: [mapColumnFromPageTables(loaded.pt, loaded.regions, {events})]},
      {
        kind: 'series',
        title: 'Table bytes and TLB entries over the boot',
        xLabel: 'snapshot',
        series: [
          {name: 'table bytes', values: reports.map((r) => r.total.tableBytes), format: 'bytes'},
          {name: 'TLB entries (linear map)', values: reports.map((r) => r.regions.find((x) => x.name === 'linear')!.tlbEntries)},
        ],
        markers: [{x: 1, label: 'insmod phase end'}],
      },
      {
        kind: 'bars',
        title: 'Snapshots side by side',
        metrics: [{name: 'table bytes', format: 'bytes'}, {name: 'TLB entries'}, {name: 'runs'}],
        groups: reports.map((r, i) => ({label: names[i]!, values: [r.total.tableBytes, r.total.tlbEntries, r.total.runs]})),
      },
      compareMapsSection([{label: 'before', pt: snaps[0]!.pt, regions: snaps[0]!.regions}, {label: EVIL, pt: snaps[3]!.pt, regions: snaps[3]!.regions}], {title: 'before vs after'}),
      ...auditTableSections(reports[1]!),
    ],
  }
}

describe.skipIf(Boolean(skipReason))(`HTML report in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let chromium: Chromium
  let file: string
  const consoleErrors: string[] = []
  const requests: string[] = []

  beforeAll(async () => {
    mkdirSync(OUT, {recursive: true})
    file = join(OUT, 'report-6.19-loaded.html')
    writeHtmlAtomically(file, renderHtmlReport(await sampleDoc()))
    chromium = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await chromium?.close()
  })

  it('renders maps and charts with no console error and no network request; hover and zoom work; capture text stays text', async () => {
    const page = await chromium.context.newPage()
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url())
    })
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('html[data-ready="1"]', {timeout: 30_000})

    // Maps: one canvas per region per column, each drawn (not blank).
    // Browser-side code as a string: the project's TypeScript has no DOM types.
    const maps = (await page.evaluate(`(() => {
      const canvases = [...document.querySelectorAll('canvas.map-canvas')]
      const painted = canvases.map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        let coloured = 0
        for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i + 1] !== 255 || d[i + 2] !== 255) coloured++
        return coloured
      })
      return {state: window.__ptreplay, count: canvases.length, painted}
    })()`)) as {state: {maps: number; mapsReady: number; errors: string[]}; count: number; painted: number[]}
    expect(maps.state.errors).toEqual([])
    expect(maps.count).toBeGreaterThanOrEqual(3)
    expect(maps.state.mapsReady).toBe(maps.count)
    expect(maps.painted.every((n) => n > 0)).toBe(true)
    // Charts: two series panels with a drawn line, four bar groups of three bars.
    expect(await page.locator('svg.series-panel path.line').count()).toBe(2)
    expect(await page.locator('svg.bars rect.bar').count()).toBe(12)
    expect(await page.locator('table.numbers').count()).toBeGreaterThanOrEqual(5)

    // Series hover: the read-out names the x position and every series' value there.
    const panel = page.locator('section#section-1 svg.series-panel').first()
    await panel.scrollIntoViewIfNeeded()
    const pb = (await panel.boundingBox())!
    await page.mouse.move(pb.x + pb.width - 20, pb.y + pb.height / 2)
    await expect.poll(async () => page.locator('#tip').innerText()).toMatch(/^snapshot 3\ntable bytes: \d+ KiB$/)
    await page.evaluate('window.scrollTo(0, 0)')

    // Side by side: the same region sits on the same row in both columns.
    const pair = page.locator('section#section-3 canvas.map-canvas[data-region="linear"]')
    expect(await pair.count()).toBe(2)
    const [ya, yb] = [(await pair.nth(0).boundingBox())!.y, (await pair.nth(1).boundingBox())!.y]
    expect(ya).toBe(yb)

    // Hover the first cell of the linear map: the 6.19 BBML2 loaded dump block-maps RAM from
    // the linear-map start (kernel_page_tables.loaded: 0xffff000040000000 …).
    const linear = page.locator('section#section-0 canvas.map-canvas[data-region="linear"]')
    const box = (await linear.boundingBox())!
    await page.mouse.move(box.x + 3, box.y + 3)
    const tip = page.locator('#tip')
    await expect.poll(async () => tip.isVisible()).toBe(true)
    const text = await tip.innerText()
    expect(text).toMatch(/0xffff0000[0-9a-f]{8}–0xffff0000[0-9a-f]{8}/)
    expect(text).toMatch(/PUD|PMD|PTE|cont-/)
    expect(text).toContain('attributes:')

    // Click to zoom: the view shrinks by 8 (cell size printed in the status line).
    const status = page.locator('section#section-0 .map-region[data-region="linear"] .map-status')
    const before = await status.innerText()
    await page.mouse.click(box.x + 3, box.y + 3)
    await expect.poll(async () => status.innerText()).not.toBe(before)
    const cellBefore = /cell ([\d.]+ \w+)/.exec(before)![1]
    const cellAfter = /cell ([\d.]+ \w+)/.exec(await status.innerText())![1]
    expect(cellAfter).not.toBe(cellBefore)

    // Zoom all the way in: the view ends at one 2 MiB slot of 4 KiB cells.
    for (let i = 0; i < 12; i++) await page.mouse.click(box.x + 3, box.y + 3)
    await expect.poll(async () => status.innerText()).toMatch(/\(2 MiB\), cell 4 KiB/)
    await page.mouse.move(box.x + 3, box.y + 3)
    const pageTip = await tip.innerText()
    expect(pageTip).toMatch(/\(4 KiB\)/)

    // Capture strings (a comm, a column label, an event label) are text, never markup.
    const xss = await page.evaluate('window.__xss')
    expect(xss).toBeUndefined()
    expect(await page.locator('dl.meta dd', {hasText: '<script>window.__xss = 1</script>'}).count()).toBe(1)
    expect(await page.locator('h3.map-col-label', {hasText: '<img src=x'}).count()).toBeGreaterThanOrEqual(1)

    await page.keyboard.down('Shift')
    await page.mouse.click(box.x + 3, box.y + 3)
    await page.keyboard.up('Shift')
    await page.locator('section#section-0 .map-tools button', {hasText: 'whole extent'}).first().click()
    await page.mouse.move(box.x + box.width / 3, box.y + 4)
    await page.screenshot({path: join(OUT, 'report-6.19-loaded.png'), fullPage: true})
    await page.close()

    expect(consoleErrors).toEqual([])
    expect(requests).toEqual([])
  }, 120_000)

  it('layout: five maps side by side keep their buttons and addresses on one line; no bar value or marker label overlaps another', async () => {
    const names = ['before', 'loaded', 'bpf', 'after']
    const snaps = await Promise.all(names.map((n) => readPtdump(join(SAMPLE, `kernel_page_tables.${n}`))))
    const cols = [...snaps, snaps[3]!].map((s, i) => ({label: `${names[i] ?? 'after again'} policy`, pt: s.pt, regions: s.regions}))
    const doc: HtmlReportDoc = {
      title: 'layout',
      headline: ['Fewest page tables under bbml2: 152 KiB and 3,557 TLB entries, against 4.06 MiB and 520,438 under auto (pte-only)'],
      meta: {},
      version: VERSION,
      sections: [
        // compare on the 6.1 capture, five policies: the labels that touched ("4.06 MiB520,438").
        compareBarsSection([
          {label: 'auto (pte-only)', tableBytes: 4_257_792, tlbEntries: 520_438, splits: 0, collapses: 0},
          {label: 'pte-only', tableBytes: 4_257_792, tlbEntries: 520_438, splits: 0, collapses: 0},
          {label: 'bbml2', tableBytes: 155_648, tlbEntries: 3_557, splits: 88, collapses: 0},
          {label: 'collapse-both', tableBytes: 155_648, tlbEntries: 3_557, splits: 88, collapses: 0},
          {label: 'x86-cpa', tableBytes: 155_648, tlbEntries: 7_232, splits: 10, collapses: 0},
        ]),
        compareMapsSection(cols),
        {
          kind: 'series',
          title: 'markers',
          xLabel: 'trace time (s)',
          x: Array.from({length: 100}, (_, i) => 8.27 + i * 0.1),
          xFormat: 'seconds',
          series: [{name: 'table bytes', values: Array.from({length: 100}, (_, i) => 122_880 + 4096 * i), format: 'bytes'}],
          markers: Array.from({length: 30}, (_, i) => ({x: 8.27 + i * 0.33, label: `capture: insmod module_number_${i} ${EVIL}`})),
        },
      ],
    }
    const layoutFile = join(OUT, 'layout.html')
    writeHtmlAtomically(layoutFile, renderHtmlReport(doc))
    const page = await chromium.context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(pathToFileURL(layoutFile).href)
    await page.waitForSelector('html[data-ready="1"]', {timeout: 30_000})
    const m = (await page.evaluate(`(() => {
      const box = (e) => { const r = e.getBoundingClientRect(); return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, h: r.height, text: e.textContent} }
      const lineHeight = (e) => parseFloat(getComputedStyle(e).fontSize) * 1.6
      const oneLine = (sel) => [...document.querySelectorAll(sel)].filter((e) => e.getBoundingClientRect().height > lineHeight(e) + 6).map((e) => e.textContent)
      return {
        bars: [...document.querySelectorAll('svg.bars text')].map(box),
        markers: [...document.querySelectorAll('svg .marker-label')].map(box),
        plot: box(document.querySelector('svg.series-panel')),
        canvases: [...document.querySelectorAll('canvas.map-canvas')].map(box),
        cells: [...document.querySelectorAll('.map-cols .map-region')].map(box),
        wrapped: [...oneLine('.map-tools button'), ...oneLine('.map-status .view'), ...oneLine('.map-head .bounds')],
        xss: window.__xss,
      }
    })()`)) as {bars: Box[]; markers: Box[]; plot: Box; canvases: Box[]; cells: Box[]; wrapped: string[]; xss: unknown}
    await page.screenshot({path: join(OUT, 'layout.png'), fullPage: true})
    await page.close()
    expect(errors).toEqual([])
    expect(m.xss).toBeUndefined()
    expect(m.bars.length).toBe(25)
    expect(overlapping(m.bars)).toEqual([])
    expect(m.markers.length).toBeGreaterThan(3)
    expect(overlapping(m.markers)).toEqual([])
    for (const b of m.markers) expect(b.x1).toBeLessThanOrEqual(m.plot.x1)
    expect(m.wrapped).toEqual([])
    // A map per region and column (a region a snapshot lacks says so), each at least 340 px wide, none overlapping another.
    expect(m.canvases.length).toBeGreaterThanOrEqual(20)
    expect(m.cells.every((c) => c.x1 - c.x0 >= 340)).toBe(true)
    expect(overlapping(m.canvases)).toEqual([])
  }, 120_000)

  it('verify and diff pages: the verdict first, nothing wider than the window, no block over another, maps drawn', async () => {
    // verify: the 6.12 KFENCE capture, before → loaded (differs: KFENCE pool pages, test/commands/verify.test.ts).
    const K = resolve('samples/debian-6.12-qemu/max-2G-kfence')
    const [kb, kl] = await Promise.all(['before', 'loaded'].map((n) => readPtdump(join(K, `kernel_page_tables.${n}`))))
    const v = await runVerify({before: kb!, after: kl!, traces: [join(K, 'trace.txt')], choice: choosePolicy('auto', {}, kb!, loadFacts(kb!.source).facts)})
    const verifyFile = join(OUT, 'verify-6.12-kfence.html')
    writeHtmlAtomically(verifyFile, renderHtmlReport(verifyHtmlDoc({result: verifyResult(v), predicted: {pt: v.predicted!, regions: kb!.regions}, actual: kl!, version: VERSION})))
    // diff: the 6.19 BBML2 capture, before → loaded.
    const [db, dl] = await Promise.all(['before', 'loaded'].map((n) => readPtdump(join(SAMPLE, `kernel_page_tables.${n}`))))
    const diffFile = join(OUT, 'diff-6.19.html')
    writeHtmlAtomically(diffFile, renderHtmlReport(diffHtmlDoc({diff: diffSnapshots(db!, dl!, {era: db!.era}), a: db!, b: dl!, version: VERSION})))
    for (const [file, shot] of [
      [verifyFile, 'verify-6.12-kfence.png'],
      [diffFile, 'diff-6.19.png'],
    ] as const) {
      const page = await chromium.context.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(String(e)))
      await page.goto(pathToFileURL(file).href)
      await page.waitForSelector('html[data-ready="1"]', {timeout: 30_000})
      const m = (await page.evaluate(`(() => {
        const box = (e) => { const r = e.getBoundingClientRect(); return {x0: r.left, x1: r.right, y0: r.top + scrollY, y1: r.bottom + scrollY, text: e.className + ' ' + e.textContent.slice(0, 40)} }
        return {
          scrollWidth: document.documentElement.scrollWidth,
          headline: box(document.querySelector('.headline')),
          firstSection: box(document.querySelector('section')),
          blocks: [...document.querySelectorAll('.range-item, table.numbers, .map-region')].map(box),
          canvases: document.querySelectorAll('canvas.map-canvas').length,
          state: window.__ptreplay,
        }
      })()`)) as {scrollWidth: number; headline: Box; firstSection: Box; blocks: Box[]; canvases: number; state: {mapsReady: number; errors: string[]}}
      await page.screenshot({path: join(OUT, shot), fullPage: true})
      await page.close()
      expect(errors).toEqual([])
      expect(m.state.errors).toEqual([])
      expect(m.canvases).toBeGreaterThanOrEqual(8)
      expect(m.state.mapsReady).toBe(m.canvases)
      expect(m.scrollWidth).toBeLessThanOrEqual(1280)
      expect(m.headline.y1).toBeLessThanOrEqual(m.firstSection.y0)
      expect(overlapping(m.blocks)).toEqual([])
    }
  }, 120_000)

  it('the audit report of the loaded snapshot (the README picture) renders without errors', async () => {
    const snap = await readPtdump(join(SAMPLE, 'kernel_page_tables.loaded'))
    const kernel = readFileSync(join(SAMPLE, 'uname.txt'), 'utf8').trim().split(/\s+/)[2]!
    const doc = auditHtmlDoc({report: audit(snap.pt, snap.regions), pt: snap.pt, regions: snap.regions, source: 'samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded', version: VERSION, kernel})
    const auditFile = join(OUT, 'audit-6.19-loaded.html')
    writeHtmlAtomically(auditFile, renderHtmlReport(doc))
    const page = await chromium.context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    await page.goto(pathToFileURL(auditFile).href)
    await page.waitForSelector('html[data-ready="1"]', {timeout: 30_000})
    const canvas = page.locator('canvas.map-canvas[data-region="linear"]')
    const box = (await canvas.boundingBox())!
    // Hover a cell in the split (cont-PTE/PTE) stretch near the start of the linear map.
    await page.mouse.move(box.x + box.width * 0.3, box.y + 4)
    await expect.poll(async () => page.locator('#tip').isVisible()).toBe(true)
    await page.screenshot({path: join(OUT, 'audit-6.19-loaded.png'), clip: {x: 0, y: 0, width: 1280, height: 900}})
    await page.close()
    expect(errors).toEqual([])
  }, 120_000)
})

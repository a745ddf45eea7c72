/**
 * HTML report benchmark: the audit report of a generated 4 TiB fully fragmented linear map
 * (≥ 1 M runs) as one self-contained HTML file. Prints the file size, the time to build it, and,
 * in headless Chromium, the time until the page is interactive (maps decoded and drawn, handlers
 * attached: performance.now() at the page's ready mark) and the time of one zoom and one hover.
 * Targets (issue 4): < 5 MB, interactive < 2 s. Nothing here asserts a time.
 * Run alone: node dist/bench/html.js [TiB]
 */
import {statSync} from 'node:fs'
import {pathToFileURL} from 'node:url'

import {readPtdump} from '../src/ingest/ptdump/index.js'
import {pageOffsetKva} from '../src/model/address.js'
import {makeGeometry} from '../src/model/geometry.js'
import type {Region} from '../src/model/layout.js'
import {PageTables} from '../src/model/pagetable.js'
import {type Run} from '../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID} from '../src/model/prot.js'
import {audit} from '../src/report/audit.js'
import {auditHtmlDoc} from '../src/report/html/audit-doc.js'
import type {HtmlReportDoc} from '../src/report/html/render.js'
import {renderHtmlReport, writeHtmlAtomically} from '../src/report/html/render.js'
import {chromiumUnavailable, launchChromium} from '../test/e2e/chromium.js'
import {generateFragmentedDump} from './gen-ptdump.js'
import {type BenchResult, peakRssMiB, printResult, tempDir} from './util.js'

/**
 * The same size of map without the regularity gzip feeds on: `runs` PTE runs of pseudo-random
 * lengths (1..2047 pages, mean ≈ 4 MiB) alternating RW/ro, so the page must fall back to
 * per-slot summaries to stay within its budget.
 */
export function irregularMap(runs = 1 << 20): {pt: PageTables; regions: Region[]} {
  const geo = makeGeometry(4096, 48)
  const base = pageOffsetKva(48)
  const RW = P_VALID | P_AF | P_PXN | P_UXN
  let seed = 1
  let a = base
  const out: Run[] = []
  for (let i = 0; i < runs; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648
    const pages = 1 + (Math.floor(seed / 65536) % 2047)
    out.push({start: a, end: a + pages * 4096, lvl: 0, cont: false, prot: i % 2 ? RW | P_RDONLY : RW, flags: 0})
    a += pages * 4096
  }
  return {pt: PageTables.fromRuns(geo, out), regions: [{name: 'linear', start: base, end: base + 2 ** 47}]}
}

async function measure(name: string, makeDoc: () => HtmlReportDoc, file: string, figures: BenchResult['figures']): Promise<void> {
  const t0 = process.hrtime.bigint()
  const html = renderHtmlReport(makeDoc())
  const t1 = process.hrtime.bigint()
  writeHtmlAtomically(file, html)
  figures[`${name}: HTML MB`] = statSync(file).size / 1e6
  figures[`${name}: build s (map + HTML)`] = Number(t1 - t0) / 1e9
  const detail = /summarised below ([\d.]+ \w+)/.exec(html)
  figures[`${name}: map detail`] = detail ? `summarised below ${detail[1]}` : 'exact (every run)'
  const why = chromiumUnavailable()
  if (why) {
    figures[`${name}: interactive`] = `not measured: ${why}`
    return
  }
  const chromium = await launchChromium()
  try {
    const page = await chromium.context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    const w0 = Date.now()
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('html[data-ready="1"]', {timeout: 60_000})
    const wall = (Date.now() - w0) / 1000
    // Browser-side code as strings: the project's TypeScript has no DOM types.
    const readyAt = (await page.evaluate('window.__ptreplay.readyAt')) as number
    const canvas = page.locator('canvas.map-canvas[data-region="linear"]')
    const box = (await canvas.boundingBox())!
    // One zoom (aggregate + draw of the linear map) and one hover, timed inside the page.
    const timed = (type: string, x: number, y: number): string =>
      `(() => { const c = document.querySelector('canvas.map-canvas[data-region="linear"]'); const t = performance.now();
        c.dispatchEvent(new MouseEvent('${type}', {clientX: ${x}, clientY: ${y}, bubbles: true})); return performance.now() - t })()`
    const zoomMs = (await page.evaluate(timed('click', box.x + 5, box.y + 5))) as number
    const hoverMs = (await page.evaluate(timed('mousemove', box.x + 40, box.y + 20))) as number
    figures[`${name}: interactive s (page)`] = readyAt / 1000
    figures[`${name}: goto→ready s (wall)`] = wall
    figures[`${name}: zoom redraw ms`] = zoomMs
    figures[`${name}: hover ms`] = hoverMs
    figures[`${name}: page errors`] = errors.length ? errors.join('; ') : 'none'
  } finally {
    await chromium.close()
  }
}

export async function benchHtml(tib = 4): Promise<BenchResult> {
  const tmp = tempDir('html')
  try {
    const dump = tmp.file('fragmented.txt')
    await generateFragmentedDump(dump, tib)
    // Geometry given, as the ptdump bench's generated layout does not let the reader infer it.
    const snap = await readPtdump(dump, {pageSize: 4096, vaBits: 48})
    const report = audit(snap.pt, snap.regions)
    const figures: BenchResult['figures'] = {'runs in model': snap.pt.runCount}
    await measure('ptdump', () => auditHtmlDoc({report, pt: snap.pt, regions: snap.regions, source: 'fragmented.txt', version: 'bench'}), tmp.file('report.html'), figures)
    const irr = irregularMap()
    figures['irregular: runs'] = irr.pt.runCount
    await measure('irregular', () => auditHtmlDoc({report: audit(irr.pt, irr.regions), pt: irr.pt, regions: irr.regions, source: 'irregular', version: 'bench'}), tmp.file('irregular.html'), figures)
    figures['peak RSS MiB'] = peakRssMiB()
    return {name: `html: audit report of a ${tib} TiB fully fragmented linear map (ptdump) and of 1 M irregular runs`, figures}
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printResult(await benchHtml(Number(process.argv[2] ?? 4)))
}

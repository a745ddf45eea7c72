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
import {audit} from '../src/report/audit.js'
import {auditHtmlDoc} from '../src/report/html/audit-doc.js'
import {renderHtmlReport, writeHtmlAtomically} from '../src/report/html/render.js'
import {chromiumUnavailable, launchChromium} from '../test/e2e/chromium.js'
import {generateFragmentedDump} from './gen-ptdump.js'
import {type BenchResult, peakRssMiB, printResult, tempDir} from './util.js'

export async function benchHtml(tib = 4): Promise<BenchResult> {
  const tmp = tempDir('html')
  try {
    const dump = tmp.file('fragmented.txt')
    await generateFragmentedDump(dump, tib)
    const snap = await readPtdump(dump)
    const report = audit(snap.pt, snap.regions)
    const t0 = process.hrtime.bigint()
    const html = renderHtmlReport(auditHtmlDoc({report, pt: snap.pt, regions: snap.regions, source: 'fragmented.txt', version: 'bench'}))
    const t1 = process.hrtime.bigint()
    const file = tmp.file('report.html')
    writeHtmlAtomically(file, html)
    const figures: BenchResult['figures'] = {
      'runs in model': snap.pt.runCount,
      'HTML MB': statSync(file).size / 1e6,
      'build HTML s': Number(t1 - t0) / 1e9,
      'peak RSS MiB': peakRssMiB(),
    }
    const why = chromiumUnavailable()
    if (why) {
      figures['time to interactive'] = `not measured: ${why}`
    } else {
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
        figures['interactive s (page)'] = readyAt / 1000
        figures['goto→ready s (wall)'] = wall
        figures['zoom redraw ms'] = zoomMs
        figures['hover ms'] = hoverMs
        figures['page errors'] = errors.length ? errors.join('; ') : 'none'
      } finally {
        await chromium.close()
      }
    }
    return {name: `html: audit report of a ${tib} TiB fully fragmented linear map`, figures}
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printResult(await benchHtml(Number(process.argv[2] ?? 4)))
}

/**
 * Reader + model + audit benchmark: a generated 4 TiB fully fragmented linear map (≥ 1 M lines).
 * Prints lines/s, MB/s and peak RSS. Targets (issue 2): < 1 s, < 150 MB RSS.
 * Run alone: node dist/bench/ptdump.js [TiB]
 */
import {spawnSync} from 'node:child_process'
import {readFileSync, statSync} from 'node:fs'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {readPtdump} from '../src/ingest/ptdump/index.js'
import {audit} from '../src/report/audit.js'
import {generateFragmentedDump} from './gen-ptdump.js'
import {type BenchResult, peakRssMiB, printResult, tempDir} from './util.js'

export async function benchPtdump(tib = 4): Promise<BenchResult> {
  const tmp = tempDir('ptdump')
  try {
    const path = tmp.file('fragmented.txt')
    // Generate in a child process: the generator's garbage must not count in the reader's RSS.
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--generate', path, String(tib)], {encoding: 'utf8'})
    if (child.status !== 0) throw new Error(`dump generation failed: ${child.stderr}`)
    const gen = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as {lines: number; bytes: number}
    const bytes = statSync(path).size
    const rssBefore = peakRssMiB()
    const t0 = process.hrtime.bigint()
    const snap = await readPtdump(path)
    const t1 = process.hrtime.bigint()
    const report = audit(snap.pt, snap.regions)
    const t2 = process.hrtime.bigint()
    const parseS = Number(t1 - t0) / 1e9
    const totalS = Number(t2 - t0) / 1e9
    const lin = report.regions.find((r) => r.name === 'linear')!
    return {
      name: `ptdump: parse + model + audit of a ${tib} TiB fully fragmented linear map`,
      figures: {
        'input lines': gen.lines,
        'input MB': bytes / 1e6,
        'runs in model': snap.pt.runCount,
        'linear PTE tables': lin.tablePages.PTE ?? 0,
        'parse+model s': parseS,
        'audit s': totalS - parseS,
        'total s': totalS,
        'lines/s': gen.lines / totalS,
        'MB/s': bytes / 1e6 / totalS,
        'peak RSS MiB': peakRssMiB(),
        'RSS before MiB': rssBefore,
      },
    }
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === '--generate') {
    const {writeFileSync} = await import('node:fs')
    const out = process.argv[3]!
    writeFileSync(`${out}.json`, JSON.stringify(await generateFragmentedDump(out, Number(process.argv[4] ?? 4))))
  } else {
    printResult(await benchPtdump(Number(process.argv[2] ?? 4)))
  }
}

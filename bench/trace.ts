/**
 * Trace reader benchmark: a generated ≥ 500 MB tracefs kprobe trace (bench/gen-trace.ts) read
 * with readTrace() to the last normalized, time-sorted event. Prints MB/s, events/s and peak
 * RSS, beside the time `wc -l` takes on the same file (the floor: reading the bytes once).
 * Targets (issue 3): ≥ 250 MB/s, < 200 MB RSS. The file is deleted afterwards. The command-line
 * run against the Python reference is bench/ingest.ts.
 * Run alone: node dist/bench/trace.js [MB]
 */
import {spawnSync} from 'node:child_process'
import {loadavg} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {readTrace} from '../src/ingest/trace/index.js'
import type {GeneratedTrace} from './gen-trace.js'
import {type BenchResult, peakRssMiB, printResult, tempDir, times} from './util.js'

export async function benchTrace(mb = 512): Promise<BenchResult> {
  const tmp = tempDir('trace')
  try {
    const path = tmp.file('trace.txt')
    const tg0 = process.hrtime.bigint()
    // In a child process, so the generator's memory does not count in this process's peak RSS.
    const child = spawnSync(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'gen-trace.js'), path, String(mb * 1024 * 1024)], {encoding: 'utf8'})
    if (child.status !== 0) throw new Error(`gen-trace failed: ${child.stderr}`)
    const gen = JSON.parse(child.stdout) as GeneratedTrace
    const genS = Number(process.hrtime.bigint() - tg0) / 1e9
    // wc -l reads the same bytes once (page cache warm after generation, as for the reader).
    const tw0 = process.hrtime.bigint()
    const wc = spawnSync('wc', ['-l', path], {encoding: 'utf8'})
    const wcS = Number(process.hrtime.bigint() - tw0) / 1e9
    const wcLines = Number(wc.stdout.trim().split(/\s+/)[0])
    const rssBefore = peakRssMiB()
    const t0 = process.hrtime.bigint()
    const c0 = process.cpuUsage()
    const read = readTrace([path])
    let events = 0
    let stacks = 0
    for await (const batch of read.batches) {
      events += batch.length
      for (let i = 0; i < batch.length; i++) if (batch[i]!.stack) stacks++
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    // CPU time as well: the machine is shared, so wall time alone overstates the cost under load.
    const cpu = process.cpuUsage(c0)
    const cpuS = (cpu.user + cpu.system) / 1e6
    if (events !== gen.events) throw new Error(`read ${events} events, generated ${gen.events}`)
    return {
      name: `trace: readTrace of a ${Math.round(gen.bytes / 1e6)} MB tracefs kprobe trace (tokenize, assemble, normalize, sort)`,
      figures: {
        'input MB': gen.bytes / 1e6,
        'input lines': gen.lines,
        'events': events,
        'events with stack': stacks,
        'unrecognized lines': read.stats.unrecognized,
        'read s': s,
        'read CPU s': cpuS,
        'MB/s': gen.bytes / 1e6 / s,
        'MB/s (CPU time)': gen.bytes / 1e6 / cpuS,
        'events/s': events / s,
        'load average (1 min)': loadavg()[0]!,
        'wc -l s': wcS,
        'wc -l MB/s': gen.bytes / 1e6 / wcS,
        'wc -l lines': wcLines,
        'readTrace vs wc -l': `${times(s / wcS)} slower (wall; one run each: see bench/ingest.ts for medians and the Python reference)`,
        'peak RSS MiB': peakRssMiB(),
        'RSS before read MiB': rssBefore,
        'generate s': genS,
        'target': '≥ 250 MB/s, < 200 MB RSS',
      },
    }
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printResult(await benchTrace(Number(process.argv[2] ?? 512)))
}

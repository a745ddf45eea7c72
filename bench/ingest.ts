/**
 * Ingest benchmark, as ratios to references measured in the same run on the same file:
 *
 *   `ptreplay events --json FILE`   (start-up, detect, tokenize, assemble, normalize, sort, count)
 *   `python3 bench/reference/tracefs_reader.py --format F FILE`   (what a kernel developer writes
 *       instead: one regex per line for the prefix, one for `name=value`, counts per probe)
 *   `wc -l FILE`   (the floor: the bytes read once)
 *
 * Inputs, each written to a temp file (page cache warm: every command runs once unmeasured first):
 *   tracefs    the kprobe trace of bench/gen-trace.ts (shaped like the real 6.19 BBML2 capture)
 *   trace-cmd  samples/linux-7.3-debian-qemu/ampere1a-2G-tools/trace-cmd-report.txt.gz repeated,
 *              each copy's timestamps shifted past the previous one's (a real `trace-cmd report`)
 *   perf       the same for its perf-script.txt.gz (a real `perf script`)
 * Each command runs `--repeat` times (default 3), interleaved; medians are printed, wall and CPU.
 * Goals (issue 10): tracefs ≥ 10× the Python reader and ≤ 20× `wc -l`; trace-cmd, perf ≥ 5× the
 * Python reader. Nothing is asserted.
 *
 * Run alone: node dist/bench/ingest.js [--mb N (tracefs; default 419)] [--text-mb N (trace-cmd,
 * perf; default 100)] [--repeat N] [--only tracefs,trace-cmd,perf]
 */
import {spawnSync} from 'node:child_process'
import {createWriteStream, readFileSync, statSync} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {pathToFileURL} from 'node:url'
import {gunzipSync} from 'node:zlib'

import {type BenchResult, measureSideBySide, printResult, ROOT, tempDir, times} from './util.js'

const SAMPLE = join(ROOT, 'samples/linux-7.3-debian-qemu/ampere1a-2G-tools')
const PY = join(ROOT, 'bench/reference/tracefs_reader.py')
const CLI = join(ROOT, 'bin/run.js')

/** The first `sec.frac:` after the `[cpu]` field of a trace-cmd / perf line. */
const TS = /^(.*?\[\d+\][^:]*?\s)(\d+)\.(\d+):/

/**
 * `sample` (a real text trace) written `copies` times until `bytes`, each copy's timestamps
 * shifted by the sample's span rounded up to whole seconds (so the file stays in time order).
 */
export async function repeatSample(sample: string, path: string, bytes: number): Promise<{bytes: number; lines: number}> {
  const text = gunzipSync(readFileSync(sample)).toString('utf8')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const parsed = lines.map((l) => {
    const m = TS.exec(l)
    return m ? {head: m[1]!, sec: Number(m[2]), frac: m[3]!, rest: l.slice(m[0].length)} : {head: l, sec: -1, frac: '', rest: ''}
  })
  const secs = parsed.filter((p) => p.sec >= 0).map((p) => p.sec)
  const span = Math.max(...secs) - Math.min(...secs) + 1
  const header = parsed.filter((p, i) => p.sec < 0 && i < parsed.findIndex((q) => q.sec >= 0))
  const body = parsed.slice(header.length)
  const out = createWriteStream(path, {highWaterMark: 1 << 22})
  let written = 0
  let n = 0
  const head = header.map((h) => h.head).join('\n') + (header.length ? '\n' : '')
  out.write(head)
  written += Buffer.byteLength(head)
  n += header.length
  for (let k = 0; written < bytes; k++) {
    const shift = k * span
    const s = body.map((p) => (p.sec < 0 ? p.head : `${p.head}${p.sec + shift}.${p.frac}:${p.rest}`)).join('\n') + '\n'
    written += Buffer.byteLength(s)
    n += body.length
    if (!out.write(s)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return {bytes: written, lines: n}
}

function generateTracefs(path: string, bytes: number): {bytes: number; lines: number} {
  // in a child process: the generator's memory is not ours
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/bench/gen-trace.js'), path, String(bytes)], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`gen-trace failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as {bytes: number; lines: number}
}

interface Case {
  format: 'tracefs' | 'trace-cmd' | 'perf'
  goalPy: number
  goalWc?: number
  make: (path: string) => Promise<{bytes: number; lines: number}> | {bytes: number; lines: number}
  what: string
}

export async function benchIngest(opts: {mb?: number; textMb?: number; repeat?: number; only?: string[]} = {}): Promise<BenchResult[]> {
  const mb = opts.mb ?? 419
  const textMb = opts.textMb ?? 100
  const cases: Case[] = [
    {format: 'tracefs', goalPy: 10, goalWc: 20, what: 'bench/gen-trace.ts kprobe trace', make: (p) => generateTracefs(p, mb * 1e6)},
    {format: 'trace-cmd', goalPy: 5, what: 'the real trace-cmd report (7.3 ampere1a) repeated', make: (p) => repeatSample(join(SAMPLE, 'trace-cmd-report.txt.gz'), p, textMb * 1e6)},
    {format: 'perf', goalPy: 5, what: 'the real perf script (7.3 ampere1a) repeated', make: (p) => repeatSample(join(SAMPLE, 'perf-script.txt.gz'), p, textMb * 1e6)},
  ]
  const results: BenchResult[] = []
  for (const c of cases) {
    if (opts.only && !opts.only.includes(c.format)) continue
    const tmp = tempDir(`ingest-${c.format}`)
    try {
      const path = tmp.file(`${c.format}.txt`)
      const gen = await c.make(path)
      const bytes = statSync(path).size
      const py = tmp.file('py.json')
      const m = measureSideBySide(
        {
          ptreplay: {cmd: process.execPath, args: [CLI, 'events', '--json', '--format', c.format, path]},
          // the parallel reader (src/ingest/trace/parallel.ts, off by default): this one + 1 worker
          parallel: {cmd: 'env', args: ['PTREPLAY_THREADS=2', process.execPath, CLI, 'events', '--json', '--format', c.format, path]},
          python: {cmd: 'python3', args: [PY, '--format', c.format, path], out: py},
          wc: {cmd: 'wc', args: ['-l', path]},
        },
        opts.repeat ?? 3,
      )
      const ref = JSON.parse(readFileSync(py, 'utf8')) as {events: number}
      const p = m['ptreplay']!
      const y = m['python']!
      const w = m['wc']!
      const q = m['parallel']!
      const vsPy = y.wallS / p.wallS
      const vsWc = p.wallS / w.wallS
      const figures: BenchResult['figures'] = {
        'input': `${(bytes / 1e6).toFixed(0)} MB, ${gen.lines.toLocaleString('en-US')} lines (${c.what})`,
        'runs (median of)': p.runs,
        'ptreplay events --json s': `${p.wallS.toFixed(2)} wall, ${p.cpuS.toFixed(2)} CPU (${(bytes / 1e6 / p.wallS).toFixed(0)} MB/s)`,
        'PTREPLAY_THREADS=2 s': `${q.wallS.toFixed(2)} wall, ${q.cpuS.toFixed(2)} CPU (${times(p.wallS / q.wallS)} the one-thread speed; peak RSS ${q.peakRssMiB.toFixed(0)} MiB)`,
        'python reader s': `${y.wallS.toFixed(2)} wall, ${y.cpuS.toFixed(2)} CPU (${(bytes / 1e6 / y.wallS).toFixed(0)} MB/s; ${ref.events.toLocaleString('en-US')} lines matched)`,
        'wc -l s': `${w.wallS.toFixed(3)} wall, ${w.cpuS.toFixed(3)} CPU`,
        'ptreplay vs python (wall)': `${times(vsPy)} faster (goal ≥ ${c.goalPy}×: ${vsPy >= c.goalPy ? 'met' : 'NOT met'})`,
        'ptreplay vs python (CPU)': `${times(y.cpuS / p.cpuS)} faster`,
        'ptreplay vs wc -l (wall)': `${times(vsWc)} slower${c.goalWc ? ` (goal ≤ ${c.goalWc}×: ${vsWc <= c.goalWc ? 'met' : 'NOT met'})` : ''}`,
        'ptreplay vs wc -l (CPU)': `${times(p.cpuS / Math.max(w.cpuS, 1e-3))} slower`,
        'peak RSS MiB ptreplay': p.peakRssMiB,
        'peak RSS MiB python': y.peakRssMiB,
      }
      results.push({name: `ingest ${c.format}: ptreplay events --json vs a Python regex reader and wc -l`, figures})
    } finally {
      tmp.cleanup()
    }
  }
  return results
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const {values} = parseArgs({options: {'mb': {type: 'string'}, 'text-mb': {type: 'string'}, 'repeat': {type: 'string'}, 'only': {type: 'string'}}})
  const rs = await benchIngest({
    mb: values.mb === undefined ? undefined : Number(values.mb),
    textMb: values['text-mb'] === undefined ? undefined : Number(values['text-mb']),
    repeat: values.repeat === undefined ? undefined : Number(values.repeat),
    only: values.only?.split(','),
  })
  for (const r of rs) printResult(r)
}

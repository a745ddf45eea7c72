/**
 * Replay memory benchmark (issue 15, R16): peak RSS of `replay --policy bbml2` on 0.8 M, 3.2 M and
 * 12.8 M synthesized module-churn events, which must stay flat (goal: largest / smallest ≤ 1.2):
 * the replay keeps what the model needs (runs: distinct mappings), not what the trace said.
 *
 * The trace goes through the real text path — `ptreplay synth workload` writes tracefs text to a
 * pipe, a child process reads it as `-` and replays it as `ptreplay replay` does (readTrace →
 * engine → report) — because what leaked was text: names cut from the 128 KiB chunk strings of
 * the reader kept whole chunks alive. Each size runs in its own child, so each peak RSS is its
 * own. The machine is the R16 reproducer's (16 GiB, block-mapped boot map as bbml2 requires).
 *
 * The model itself grows with this workload while it fragments more of the linear map (random
 * backing pages over 16 GiB: new 64 KiB groups lose PTE_CONT); the runs are printed beside the
 * RSS with their share, to show that growth is the model's and small.
 *
 * Run: node dist/bench/replay-rss.js [--quick] [--policy P]   (quick: 0.8 M and 3.2 M only)
 */
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {readPtdump} from '../src/ingest/ptdump/index.js'
import {buildReplayReport} from '../src/report/replay.js'
import {choosePolicy, runReplay} from '../src/replay/run.js'
import {renderMachine, synthMachine} from '../src/synth/machine.js'
import {type BenchResult, ROOT, fmt, printResult, tempDir} from './util.js'

const CLI = join(ROOT, 'bin', 'run.js')
const GIB = 2 ** 30

interface ChildFigures {
  events: number
  runs: number
  peakRssMiB: number
  heapUsedMiB: number
  seconds: number
}

/** In the child: replay stdin (tracefs text) over `machine` and print the figures as JSON. */
async function child(machine: string, policy: string): Promise<void> {
  const t0 = process.hrtime.bigint()
  const snap = await readPtdump(machine)
  const choice = choosePolicy(policy, {}, snap, {})
  const run = await runReplay(snap, ['-'], choice)
  buildReplayReport(run, snap.pt, snap.regions)
  globalThis.gc?.()
  const out: ChildFigures = {
    events: run.stats.eventsSeen,
    runs: run.pt.runCount,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

/** `ptreplay synth workload … | node replay-rss.js --child machine policy`; the child's figures. */
function measure(machine: string, events: number, policy: string): Promise<ChildFigures> {
  return new Promise((resolve, reject) => {
    const gen = spawn(process.execPath, [CLI, 'synth', 'workload', '--kind', 'module-churn', '--events', String(events), '--machine', machine, '--seed', '1'], {stdio: ['ignore', 'pipe', 'inherit']})
    const rep = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', machine, policy], {stdio: ['pipe', 'pipe', 'inherit']})
    gen.stdout.pipe(rep.stdin)
    let text = ''
    rep.stdout.on('data', (b: Buffer) => (text += b.toString()))
    rep.on('error', reject)
    rep.on('close', (code) => {
      if (code !== 0) return reject(new Error(`replay child exited with ${code}`))
      try {
        resolve(JSON.parse(text) as ChildFigures)
      } catch (e) {
        reject(e as Error)
      }
    })
  })
}

export async function benchReplayRss(sizes: number[], policy = 'bbml2'): Promise<BenchResult> {
  const tmp = tempDir('rss')
  try {
    const machine = tmp.file('m16.txt')
    writeFileSync(machine, [...renderMachine(synthMachine({memoryBytes: 16 * GIB, policy: 'bbml2'}))].join('\n') + '\n')
    const load0 = loadavg()[0]!
    const rows: ChildFigures[] = []
    for (const n of sizes) rows.push(await measure(machine, n, policy))
    const rss = rows.map((r) => r.peakRssMiB)
    const figures: BenchResult['figures'] = {}
    for (const r of rows) {
      figures[`peak RSS, ${fmt(r.events / 1e6, 1)} M events`] = `${fmt(r.peakRssMiB, 0)} MiB, heap after ${fmt(r.heapUsedMiB, 1)} MiB, ${fmt(r.runs, 0)} runs, ${fmt(r.events / r.seconds / 1e3, 0)} k events/s (gen+parse+replay)`
    }
    figures['peak RSS largest/smallest'] = `${fmt(Math.max(...rss) / Math.min(...rss), 2)} (goal ≤ 1.2)`
    figures['peak RSS last/first'] = fmt(rss[rss.length - 1]! / rss[0]!, 2)
    figures['load (1 min) start/end'] = `${fmt(load0, 2)} / ${fmt(loadavg()[0]!, 2)}`
    return {name: `replay-rss: peak RSS of replay --policy ${policy} on ${sizes.map((s) => fmt(s / 1e6, 1)).join(' / ')} M synthesized module-churn events (16 GiB machine, tracefs text through a pipe)`, figures}
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  if (args[0] === '--child') await child(args[1]!, args[2] ?? 'bbml2')
  else {
    const quick = args.includes('--quick')
    const p = args.indexOf('--policy')
    const policy = p >= 0 ? args[p + 1]! : 'bbml2'
    const sizes = quick ? [800_000, 3_200_000] : [800_000, 3_200_000, 12_800_000]
    printResult(await benchReplayRss(sizes, policy))
  }
}

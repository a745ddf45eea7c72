/**
 * Fleet benchmark: `synth fleet` writes N host bundles (default 10,000), then `fleet` audits them
 * with --jobs 1 and --jobs 2, each run in its own process so its peak RSS (worker threads
 * included) is its own. Prints hosts/s per run, the speed-up of 2 jobs over 1 (same fleet, same
 * minutes), peak RSS and the machine's load (the machine is shared: read the ratio, not the rate).
 * Run alone: node dist/bench/fleet.js [hosts]
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, renameSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {runFleet} from '../src/fleet/run.js'
import {BootMachineCache, fleetHostDump, fleetHostFacts, fleetHostSpec} from '../src/synth/fleet.js'
import {type BenchResult, peakRssMiB, printResult, tempDir} from './util.js'

interface RunFigures {
  hosts: number
  errors: number
  seconds: number
  cpuSeconds: number
  peakRssMiB: number
  tableBytes: number
  mode: string
}

function generate(dir: string, hosts: number, seed: number): {seconds: number; bytes: number} {
  const t0 = process.hrtime.bigint()
  const cache = new BootMachineCache()
  let bytes = 0
  for (let i = 1; i <= hosts; i++) {
    const spec = fleetHostSpec(seed, i)
    const host = join(dir, spec.hostname)
    mkdirSync(host, {recursive: true})
    for (const [name, text] of Object.entries(fleetHostFacts(spec))) writeFileSync(join(host, name), text)
    const text = [...fleetHostDump(spec, cache, seed)].join('\n') + '\n'
    writeFileSync(join(host, '.tmp'), text)
    renameSync(join(host, '.tmp'), join(host, 'kernel_page_tables.after'))
    bytes += text.length
  }
  return {seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes}
}

async function runOnce(dir: string, jobs: number): Promise<RunFigures> {
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  const run = await runFleet([dir], {jobs, replay: false})
  const cpu = process.cpuUsage(cpu0)
  return {
    hosts: run.summary.hosts,
    errors: run.summary.errors,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMiB: peakRssMiB(),
    tableBytes: run.summary.tableBytes.sum,
    mode: run.mode,
  }
}

function child(args: string[]): unknown {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {encoding: 'utf8', maxBuffer: 1 << 24})
  if (r.status !== 0) throw new Error(`bench child ${args.join(' ')} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

export async function benchFleet(hosts = 10_000): Promise<BenchResult> {
  const tmp = tempDir('fleet')
  try {
    const gen = child(['--generate', tmp.dir, String(hosts)]) as {seconds: number; bytes: number}
    const load0 = loadavg()[0]!
    const one = child(['--run', tmp.dir, '1']) as RunFigures
    const two = child(['--run', tmp.dir, '2']) as RunFigures
    const load1 = loadavg()[0]!
    if (one.tableBytes !== two.tableBytes || one.hosts !== hosts || two.hosts !== hosts) throw new Error('the two runs disagree')
    return {
      name: `fleet: ${hosts.toLocaleString('en-US')} synthetic hosts (synth fleet), --jobs 1 vs --jobs 2 (${one.mode})`,
      figures: {
        hosts,
        'fleet MB on disk': gen.bytes / 1e6,
        'synth fleet s': gen.seconds,
        'jobs 1: s': one.seconds,
        'jobs 1: hosts/s': hosts / one.seconds,
        'jobs 1: CPU s': one.cpuSeconds,
        'jobs 1: peak RSS MiB': one.peakRssMiB,
        'jobs 2: s': two.seconds,
        'jobs 2: hosts/s': hosts / two.seconds,
        'jobs 2: CPU s': two.cpuSeconds,
        'jobs 2: peak RSS MiB': two.peakRssMiB,
        'speed-up 2 over 1': one.seconds / two.seconds,
        'cores': availableParallelism(),
        'load avg (1 min) before/after': `${load0.toFixed(2)} / ${load1.toFixed(2)}`,
        'table bytes, all hosts': two.tableBytes,
      },
    }
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [flag, a, b] = process.argv.slice(2)
  if (flag === '--generate') console.log(JSON.stringify(generate(a!, Number(b), 7)))
  else if (flag === '--run') console.log(JSON.stringify(await runOnce(a!, Number(b))))
  else printResult(await benchFleet(flag ? Number(flag) : undefined))
}

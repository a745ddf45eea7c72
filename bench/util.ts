/**
 * Shared helpers for the benchmarks: peak RSS, timing of child processes against references,
 * medians, the machine and its load, temp files, printing.
 *
 * Absolute figures do not travel between machines (the same code ran 2.3× faster on another
 * one), so a benchmark measures its references (`wc -l`, bench/reference/*.py) in the same run,
 * on the same input, and prints the ratios; every result is printed with the machine, its load
 * and the peak RSS of the measured process.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The repository root (benchmarks run from dist/bench/). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export function peakRssMiB(): number {
  // maxRSS is in KiB (process.resourceUsage, Node ≥ 12.6).
  return process.resourceUsage().maxRSS / 1024
}

export function tempDir(prefix: string): {dir: string; file: (name: string) => string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), `ptreplay-${prefix}-`))
  return {dir, file: (n) => join(dir, n), cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', {maximumFractionDigits: digits})
}

/** `12.3×` */
export function times(r: number): string {
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** The machine: cores, CPU model (/proc/cpuinfo), load averages now. */
export function machine(): {nproc: number; cpu: string; load: string} {
  let cpu = cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) cpu = m[1]!.trim()
  } catch {
    // not Linux: os.cpus() says it
  }
  return {nproc: cpus().length, cpu, load: loadavg().map((l) => l.toFixed(2)).join(' / ')}
}

/** One run of a child process, measured by bench/reference/measure.py (wait4 rusage). */
export interface Measured {
  wallS: number
  cpuS: number
  peakRssMiB: number
}

/**
 * Run `cmd args` once with its standard output into `out` (default /dev/null): wall time, CPU
 * time (user + system) and peak RSS of that process alone. Throws when it exits non-zero.
 */
export function measure(cmd: string, args: string[], out = '/dev/null'): Measured {
  const r = spawnSync('python3', [join(ROOT, 'bench/reference/measure.py'), out, cmd, ...args], {encoding: 'utf8', maxBuffer: 1 << 20})
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (the benchmarks need python3)`)
  if (r.status !== 0) throw new Error(`measure ${cmd} failed: ${r.stderr}`)
  const m = JSON.parse(r.stdout) as {wall: number; user: number; sys: number; maxrssKiB: number; status: number}
  if (m.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${m.status}: ${r.stderr.slice(0, 500)}`)
  return {wallS: m.wall, cpuS: m.user + m.sys, peakRssMiB: m.maxrssKiB / 1024}
}

/**
 * Several commands measured `repeats` times, interleaved (a, b, c, a, b, c, …) so a change of
 * load hits them alike; the median of each figure per command. The first round is preceded by
 * one unmeasured run of each (page cache, code caches warm).
 */
export function measureSideBySide(
  cmds: Record<string, {cmd: string; args: string[]; out?: string}>,
  repeats = 3,
  warm = true,
): Record<string, Measured & {runs: number}> {
  const names = Object.keys(cmds)
  if (warm) for (const n of names) measure(cmds[n]!.cmd, cmds[n]!.args, cmds[n]!.out)
  const runs: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < repeats; r++) for (const n of names) runs[n]!.push(measure(cmds[n]!.cmd, cmds[n]!.args, cmds[n]!.out))
  return Object.fromEntries(
    names.map((n) => {
      const m = runs[n]!
      return [n, {wallS: median(m.map((x) => x.wallS)), cpuS: median(m.map((x) => x.cpuS)), peakRssMiB: median(m.map((x) => x.peakRssMiB)), runs: m.length}]
    }),
  )
}

export interface BenchResult {
  name: string
  figures: Record<string, string | number>
}

/**
 * Print one result. The machine and its load are always printed, and the peak RSS of this
 * process unless the benchmark measured its own (a child's) under another key.
 */
export function printResult(r: BenchResult): void {
  const m = machine()
  const figures: Record<string, string | number> = {...r.figures}
  if (!Object.keys(figures).some((k) => /peak RSS/.test(k))) figures['peak RSS MiB'] = peakRssMiB()
  figures['machine'] = `${m.nproc} × ${m.cpu}`
  figures['load (1/5/15 min)'] = m.load
  console.log(`\n## ${r.name}`)
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(30)} ${typeof v === 'number' ? fmt(v, 2) : v}`)
}

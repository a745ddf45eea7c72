/**
 * Start-up benchmark: what running `ptreplay` costs before any input is read — Node, oclif
 * (config, plugins, the manifest), and the modules of the one command run. Measured as a ratio
 * to `node -e 0` (Node's own start) in the same run, interleaved, median of the runs; CPU time
 * (user + system) is the figure that travels, wall time is printed beside it.
 *
 * Measured: `--version` (oclif alone), `events --help` (help from the manifest, no command
 * module), `events --json` on a small real trace (the first 400 lines of the 6.1 capture: the
 * command's modules and one read), `audit --json` on a real dump, `replay --json` on the same
 * trace and its 6.1 snapshot (the replay's modules). The test suite spawns the CLI many times:
 * every run pays this.
 *
 * Run alone: node dist/bench/startup.js [--runs N]
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {ROOT, fmt, measureSideBySide, printResult, tempDir, times} from './util.js'

const {values} = parseArgs({options: {runs: {type: 'string', default: '7'}, quick: {type: 'boolean', default: false}}})
const runs = values.quick ? 3 : Number(values.runs)

const capture = join(ROOT, 'samples/debian-6.1-qemu/max-2G-default')
const tmp = tempDir('startup')
try {
  // A small real trace: its header and first events, so reading it costs next to nothing.
  const trace = tmp.file('trace-small.txt')
  writeFileSync(trace, readFileSync(join(capture, 'trace.txt'), 'utf8').split('\n').slice(0, 400).join('\n') + '\n')
  const cli = join(ROOT, 'bin/run.js')
  const node = (...args: string[]) => ({cmd: process.execPath, args})
  const ptreplay = (...args: string[]) => ({cmd: process.execPath, args: [cli, ...args]})
  const cmds = {
    'node -e 0': node('-e', '0'),
    '--version': ptreplay('--version'),
    'events --help': ptreplay('events', '--help'),
    'events --json (400 lines)': ptreplay('events', '--json', trace),
    'audit --json': ptreplay('audit', '--json', join(capture, 'kernel_page_tables.before')),
    'replay --json (400 lines)': ptreplay('replay', '--json', join(capture, 'kernel_page_tables.before'), trace),
  }
  const m = measureSideBySide(cmds, runs)
  const base = m['node -e 0']!
  const figures: Record<string, string | number> = {
    'node -e 0 (reference)': `${fmt(base.cpuS * 1000, 0)} ms CPU, ${fmt(base.wallS * 1000, 0)} ms wall`,
  }
  for (const [name, r] of Object.entries(m)) {
    if (name === 'node -e 0') continue
    figures[name] = `${times(r.cpuS / base.cpuS)} CPU (${fmt(r.cpuS * 1000, 0)} ms), ${times(r.wallS / base.wallS)} wall (${fmt(r.wallS * 1000, 0)} ms)`
  }
  figures['runs (median of)'] = runs
  figures['peak RSS MiB (events --json)'] = m['events --json (400 lines)']!.peakRssMiB
  printResult({name: 'start-up: ptreplay against node -e 0 (CPU and wall ratios)', figures})
} finally {
  tmp.cleanup()
}

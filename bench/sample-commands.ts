/**
 * The outputs that must not change when the code gets faster: one argument list per output, over
 * every sample. Used by bench/same-output.ts (this build against a git ref) and by
 * test/golden/samples.test.ts (this build against the checked-in golden files).
 *
 * Per sample: `events --json` and the normalized events themselves (`events --output x.ndjson`)
 * for every trace file (tracefs text, trace-cmd report, perf script, trace.dat); `audit --json`
 * for every kernel_page_tables.*; `replay --json` and `verify --json` where a directory holds a
 * before/after pair and a trace; the README's 6.19 marker windows.
 */
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './util.js'

export const TRACE = /^(trace(\.txt|\.dat|-v\d.*\.dat)(\.gz)?|trace_stacktrace\.txt(\.gz)?|trace-cmd-report(-t)?\.txt\.gz|perf-script(-F)?\.txt\.gz)$/

/**
 * The commands to compare, as argument lists (paths relative to the repository root `root`);
 * `out` is the directory `--output` writes into.
 */
export function sampleCommands(out: string, root = ROOT): string[][] {
  const cmds: string[][] = []
  const dirs: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(join(root, d), {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (!dirs.includes(d)) dirs.push(d)
    }
  }
  walk('samples')
  for (const d of dirs.sort()) {
    const files = readdirSync(join(root, d)).sort()
    for (const f of files) {
      const p = join(d, f)
      if (TRACE.test(f)) {
        cmds.push(['events', '--json', p])
        cmds.push(['events', p, '--output', join(out, 'events.ndjson')])
      }
      if (f.startsWith('kernel_page_tables.')) cmds.push(['audit', '--json', p])
    }
    const before = files.includes('kernel_page_tables.before') ? join(d, 'kernel_page_tables.before') : undefined
    const after = files.includes('kernel_page_tables.after') ? join(d, 'kernel_page_tables.after') : undefined
    const trace = files.find((f) => /^trace\.txt(\.gz)?$/.test(f))
    if (before && trace) cmds.push(['replay', '--json', before, join(d, trace)])
    if (before && after && trace) cmds.push(['verify', '--json', before, join(d, trace), after])
  }
  const b619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
  if (existsSync(join(root, b619))) {
    cmds.push(['replay', '--json', `${b619}/kernel_page_tables.loaded`, `${b619}/trace.txt.gz`, '--from-marker', 'capture: bpf phase begin'])
    cmds.push(['verify', '--json', `${b619}/kernel_page_tables.loaded`, `${b619}/trace.txt.gz`, `${b619}/kernel_page_tables.bpf`, '--from-marker', 'capture: bpf phase begin', '--until-marker', 'capture: bpf phase end'])
  }
  return cmds
}

/**
 * "No behaviour change" check for speed work: runs this tree's build and another commit's build
 * (default `main`; the commit before a change) over every sample and compares their outputs byte
 * for byte. The reference is produced by the other commit's code, built from `git archive` into a
 * temp dir, never by this tree's code.
 *
 * Compared, per sample: `events --json` and the normalized events themselves (`events --output
 * x.ndjson`) for every trace file (tracefs text, trace-cmd report, perf script, trace.dat);
 * `audit --json` for every kernel_page_tables.*; `replay --json` and `verify --json` where a
 * directory holds a before/after pair and a trace; the README's 6.19 marker windows.
 * Not in `npm run bench` (no timing); exit 1 when an output differs.
 *
 * Run: npm run build && node dist/bench/same-output.js [REF] [--filter SUBSTRING]
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {join, relative} from 'node:path'
import {parseArgs} from 'node:util'

import {ROOT, tempDir} from './util.js'

const TRACE = /^(trace(\.txt|\.dat|-v\d.*\.dat)(\.gz)?|trace_stacktrace\.txt(\.gz)?|trace-cmd-report(-t)?\.txt\.gz|perf-script(-F)?\.txt\.gz)$/

/** The commands to compare, as argument lists (relative to the repository root). */
export function sampleCommands(out: string): string[][] {
  const cmds: string[][] = []
  const dirs: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(join(ROOT, d), {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (!dirs.includes(d)) dirs.push(d)
    }
  }
  walk('samples')
  for (const d of dirs.sort()) {
    const files = readdirSync(join(ROOT, d)).sort()
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
  if (existsSync(join(ROOT, b619))) {
    cmds.push(['replay', '--json', `${b619}/kernel_page_tables.loaded`, `${b619}/trace.txt.gz`, '--from-marker', 'capture: bpf phase begin'])
    cmds.push(['verify', '--json', `${b619}/kernel_page_tables.loaded`, `${b619}/trace.txt.gz`, `${b619}/kernel_page_tables.bpf`, '--from-marker', 'capture: bpf phase begin', '--until-marker', 'capture: bpf phase end'])
  }
  return cmds
}

/** `ref` built from `git archive` into `dir` (node_modules shared with this tree). */
function buildRef(ref: string, dir: string): void {
  const tar = execFileSync('git', ['-C', ROOT, 'archive', ref], {maxBuffer: 1 << 30})
  execFileSync('tar', ['-x', '-C', dir], {input: tar})
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {cwd: dir, stdio: 'inherit'})
}

function run(root: string, args: string[], out: string): Buffer {
  const r = spawnSync(process.execPath, [join(root, 'bin/run.js'), ...args], {cwd: ROOT, maxBuffer: 1 << 30})
  let b = Buffer.concat([Buffer.from(`exit ${r.status}\n`), r.stdout, Buffer.from('\n--stderr--\n'), r.stderr])
  const ndjson = join(out, 'events.ndjson')
  if (existsSync(ndjson)) {
    b = Buffer.concat([b, Buffer.from('\n--events.ndjson--\n'), readFileSync(ndjson)])
    rmSync(ndjson)
  }
  return b
}

const {values, positionals} = parseArgs({allowPositionals: true, options: {filter: {type: 'string'}}})
const ref = positionals[0] ?? 'main'
const tmp = tempDir('same-output')
try {
  const refDir = join(tmp.dir, 'ref')
  mkdirSync(refDir)
  console.log(`building ${ref} (${execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], {encoding: 'utf8'}).trim()}) in ${refDir}`)
  buildRef(ref, refDir)
  const out = join(tmp.dir, 'out')
  mkdirSync(out)
  let differ = 0
  let same = 0
  for (const args of sampleCommands(out)) {
    if (values.filter && !args.join(' ').includes(values.filter)) continue
    const a = run(refDir, args, out)
    const b = run(ROOT, args, out)
    const label = `ptreplay ${args.map((x) => (x.startsWith('/') ? relative(ROOT, x) : x)).join(' ')}`
    if (a.equals(b)) {
      same++
      console.log(`same    ${label} (${a.length.toLocaleString('en-US')} bytes)`)
    } else {
      differ++
      let i = 0
      while (i < a.length && a[i] === b[i]) i++
      console.log(`DIFFER  ${label}: first difference at byte ${i}:\n  ${ref}: ${JSON.stringify(a.subarray(Math.max(0, i - 60), i + 60).toString())}\n  this: ${JSON.stringify(b.subarray(Math.max(0, i - 60), i + 60).toString())}`)
    }
  }
  console.log(`\n${same} outputs identical, ${differ} different (reference: ${ref})`)
  process.exitCode = differ ? 1 : 0
} finally {
  tmp.cleanup()
}

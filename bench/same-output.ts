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
import {existsSync, mkdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {join, relative} from 'node:path'
import {parseArgs} from 'node:util'

import {sampleCommands} from './sample-commands.js'
import {ROOT, tempDir} from './util.js'

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

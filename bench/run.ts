/**
 * `npm run bench`: every benchmark in its own process, so each peak RSS is its own.
 * Benchmarks print throughput and peak RSS; none of them asserts a time.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
// `--quick` (BENCH_QUICK=1 for the benchmark): those that have a quick mode use it (replay-rss: 0.8 M and 3.2 M events only).
const quick = process.argv.includes('--quick')
const only = process.argv.slice(2).filter((a) => a !== '--quick')
const benches = ['ptdump', 'trace', 'tracedat', 'replay-real', 'replay', 'replay-rss', 'html', 'fleet', 'hostile']
let failed = 0
for (const b of benches) {
  if (only.length && !only.includes(b)) continue
  const file = join(here, `${b}.js`)
  if (!existsSync(file)) continue
  const r = spawnSync(process.execPath, ['--expose-gc', file], {stdio: 'inherit', env: quick ? {...process.env, BENCH_QUICK: '1'} : process.env})
  if (r.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0

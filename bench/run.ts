/**
 * `npm run bench`: every benchmark in its own process, so each peak RSS is its own.
 * Benchmarks print throughput and peak RSS; none of them asserts a time.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = ['ptdump', 'trace', 'tracedat', 'replay-real', 'replay', 'html', 'fleet', 'hostile']
let failed = 0
for (const b of benches) {
  if (only.length && !only.includes(b)) continue
  const file = join(here, `${b}.js`)
  if (!existsSync(file)) continue
  const r = spawnSync(process.execPath, ['--expose-gc', file], {stdio: 'inherit'})
  if (r.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0

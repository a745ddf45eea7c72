/**
 * `npm run bench [-- NAME… [--quick]]`: every benchmark in its own process, so each peak RSS is
 * its own. Each prints its references measured in the same run (wc -l, bench/reference/*.py, …),
 * the ratios, the machine and its load (bench/util.ts printResult). None asserts a time; none
 * runs in `npm test`.
 * --quick: smaller inputs where a benchmark has a size (ingest: 50 MB tracefs, 20 MB text;
 * replay-rss: 0.8 M and 3.2 M events, without 12.8 M).
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const only = argv.filter((a) => !a.startsWith('--'))
const benches = ['startup', 'ingest', 'ptdump', 'trace', 'tracedat', 'replay-real', 'replay', 'replay-rss', 'html', 'fleet', 'hostile']
const QUICK: Record<string, string[]> = {startup: ['--quick'], ingest: ['--mb', '50', '--text-mb', '20'], trace: ['100'], 'replay-rss': ['--quick']}
let failed = 0
for (const b of benches) {
  if (only.length && !only.includes(b)) continue
  const file = join(here, `${b}.js`)
  if (!existsSync(file)) continue
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...(quick ? (QUICK[b] ?? []) : [])], {stdio: 'inherit'})
  if (r.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0

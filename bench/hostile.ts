/**
 * Hostile-input benchmark (issue 15 §1, R02/R13): a line without newline (default 1 GiB, streamed
 * into the reader: no file) and a ptdump whose marker is 1 MB long. Each must end with one
 * diagnostic (or one clean error) in time linear in the input and memory bounded by the 1 MiB line
 * cap. Prints seconds, MB/s and peak RSS beside the reference: the same bytes read as ordinary
 * 100-byte lines. Nothing is asserted.
 * Run alone: node dist/bench/hostile.js [MiB]
 */
import {loadavg} from 'node:os'
import {Readable} from 'node:stream'
import {pathToFileURL} from 'node:url'

import {parsePtdump} from '../src/ingest/ptdump/index.js'
import {openSource} from '../src/ingest/source.js'
import {type BenchResult, peakRssMiB, printResult} from './util.js'

/** `bytes` of 'A' (with a newline every `lineLen` bytes, or none), as a stream of 1 MiB chunks. */
function stream(bytes: number, lineLen?: number): Readable {
  const chunk = Buffer.alloc(1 << 20, 0x41)
  if (lineLen) for (let i = lineLen - 1; i < chunk.length; i += lineLen) chunk[i] = 10
  let left = bytes
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(left, chunk.length)
      left -= n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    },
  })
}

async function drain(s: Readable): Promise<{lines: number; overlong: number; s: number}> {
  const t0 = process.hrtime.bigint()
  const src = await openSource('-', s)
  let lines = 0
  let overlong = 0
  for await (const b of src.batches) {
    lines += b.lines.length
    overlong += b.overlong?.length ?? 0
  }
  return {lines, overlong, s: Number(process.hrtime.bigint() - t0) / 1e9}
}

export async function benchHostile(mib = 1024): Promise<BenchResult> {
  const bytes = mib * 1024 * 1024
  const ref = await drain(stream(bytes, 100))
  const one = await drain(stream(bytes))
  const t0 = process.hrtime.bigint()
  const snap = parsePtdump(`---[ ${'\u001b['.repeat(500_000)} ]---\n0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL\n`, 'marker.txt', {vaBits: 48})
  const markerS = Number(process.hrtime.bigint() - t0) / 1e9
  return {
    name: `hostile input (${mib} MiB; load ${loadavg()[0]!.toFixed(1)})`,
    figures: {
      'reference lines': `${ref.s.toFixed(2)} s (${((bytes / ref.s) / 1e6).toFixed(0)} MB/s, ${ref.lines.toLocaleString('en-US')} lines)`,
      'one line, no newline': `${one.s.toFixed(2)} s (${((bytes / one.s) / 1e6).toFixed(0)} MB/s), ${one.overlong} line-too-long`,
      'ratio one-line/ref': (one.s / ref.s).toFixed(2),
      '1 MB marker ptdump': `${markerS.toFixed(3)} s, ${Object.entries(snap.diagnosticCounts).map(([k, v]) => `${k} ${v}`).join(', ')}; longest message ${Math.max(...snap.diagnostics.map((d) => d.message.length))} chars`,
      'peak RSS MiB': peakRssMiB(),
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const mib = Number(process.argv[2] ?? 1024)
  printResult(await benchHostile(mib))
}

/**
 * trace.dat ingest beside tracefs text ingest of the same events, in one run.
 *
 * Input: the real recording (samples/linux-7.3-debian-qemu/ampere1a-2G-tools), made longer by
 * repeating it: its version 6 conversion (trace-v6.dat.gz) with each CPU's pages written N times,
 * every repeat's page timestamps shifted by 200 s (a valid trace.dat: only the flyrecord CPU
 * table and the page timestamps change), and the same N repeats of trace-cmd-report-t.txt turned
 * into tracefs `trace` lines (`comm-pid [cpu] flags sec.usec: event: payload`). Both are read with
 * readTrace() to the last normalized, sorted event. Prints events/s of each and their ratio (the
 * target: trace.dat at least as fast as the text). Temporary files are deleted afterwards.
 * Run alone: node dist/bench/tracedat.js [repeats]
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {pathToFileURL} from 'node:url'
import {gunzipSync} from 'node:zlib'

import {readTrace} from '../src/ingest/trace/index.js'
import {readTraceDatMeta} from '../src/ingest/trace/tracedat/reader.js'
import {type BenchResult, peakRssMiB, printResult, tempDir} from './util.js'

const SAMPLE = 'samples/linux-7.3-debian-qemu/ampere1a-2G-tools'
const SHIFT_S = 200

/** The v6 sample with every CPU's pages repeated `n` times (page timestamps shifted). */
async function bigTraceDat(src: string, out: string, n: number): Promise<void> {
  const v6 = gunzipSync(readFileSync(src))
  writeFileSync(out, v6)
  const meta = await readTraceDatMeta(out)
  meta.file.close()
  const top = meta.buffers[0]!
  const page = top.pageSize
  const table = top.offset + 10 // after "flyrecord\0"
  const dataStart = Math.min(...top.cpus.map((c) => c.offset))
  const parts: Buffer[] = [Buffer.from(v6.subarray(0, dataStart))]
  let off = dataStart
  for (const c of top.cpus) {
    const raw = v6.subarray(c.offset, c.offset + c.size)
    parts[0]!.writeBigUInt64LE(BigInt(off), table + c.cpu * 16)
    parts[0]!.writeBigUInt64LE(BigInt(raw.length * n), table + c.cpu * 16 + 8)
    for (let k = 0; k < n; k++) {
      const copy = Buffer.from(raw)
      for (let p = 0; p + page <= copy.length; p += page) copy.writeBigUInt64LE(copy.readBigUInt64LE(p) + BigInt(k * SHIFT_S) * 1_000_000_000n, p)
      parts.push(copy)
    }
    off += raw.length * n
  }
  writeFileSync(out, Buffer.concat(parts))
}

/** report -t lines → tracefs `trace` lines, repeated `n` times with the same time shift. */
function bigTracefs(src: string, out: string, n: number): number {
  const lines = gunzipSync(readFileSync(src)).toString('latin1').split('\n')
  const re = /^(.*?-\d+)\s+\[(\d+)\] (\S+)\s+(\d+)\.(\d{6})\d{3}: ([\w.]+):\s+(.*)$/
  const parsed: {head: string; cpu: string; flags: string; sec: number; usec: string; name: string; payload: string}[] = []
  for (const l of lines) {
    const m = re.exec(l)
    if (m) parsed.push({head: m[1]!, cpu: m[2]!, flags: m[3]!, sec: Number(m[4]), usec: m[5]!, name: m[6]!, payload: m[7]!})
  }
  const chunks: string[] = ['# tracer: nop\n#\n']
  for (let k = 0; k < n; k++) {
    let s = ''
    for (const e of parsed) s += `${e.head.padStart(22)} [${e.cpu}] ${e.flags} ${String(e.sec + k * SHIFT_S).padStart(5)}.${e.usec}: ${e.name}: ${e.payload}\n`
    chunks.push(s)
  }
  writeFileSync(out, chunks.join(''))
  return parsed.length * n
}

async function ingest(path: string): Promise<{events: number; s: number; cpuS: number; format: string}> {
  const t0 = process.hrtime.bigint()
  const c0 = process.cpuUsage()
  const r = readTrace([path])
  let events = 0
  for await (const b of r.batches) events += b.length
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(c0)
  return {events, s, cpuS: (cpu.user + cpu.system) / 1e6, format: r.stats.format}
}

export async function benchTraceDat(n = 40): Promise<BenchResult> {
  const tmp = tempDir('tracedat')
  try {
    const dat = tmp.file('trace.dat')
    const txt = tmp.file('trace.txt')
    await bigTraceDat(`${SAMPLE}/trace-v6.dat.gz`, dat, n)
    const lines = bigTracefs(`${SAMPLE}/trace-cmd-report-t.txt.gz`, txt, n)
    // warm both paths once (JIT), then measure each
    await ingest(dat)
    await ingest(txt)
    const d = await ingest(dat)
    const t = await ingest(txt)
    if (d.events !== t.events || d.events !== lines) throw new Error(`trace.dat ${d.events} events, tracefs ${t.events}, lines ${lines}`)
    return {
      name: `tracedat: ${d.events.toLocaleString('en-US')} events of the real 7.3 recording ×${n}, trace.dat (v6) vs tracefs text`,
      figures: {
        'events': d.events,
        'trace.dat format': d.format,
        'trace.dat s': d.s,
        'trace.dat events/s': d.events / d.s,
        'trace.dat events/CPU-s': d.events / d.cpuS,
        'tracefs text format': t.format,
        'tracefs text s': t.s,
        'tracefs events/s': t.events / t.s,
        'tracefs events/CPU-s': t.events / t.cpuS,
        'ratio trace.dat/tracefs (events/CPU-s)': t.cpuS / d.cpuS,
        'load average (1 min)': loadavg()[0]!,
        'peak RSS MiB': peakRssMiB(),
        'target': 'ratio ≥ 1 (binary path at least as fast as the text path)',
      },
    }
  } finally {
    tmp.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printResult(await benchTraceDat(Number(process.argv[2] ?? 40)))
}

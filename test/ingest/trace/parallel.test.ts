/**
 * The parallel reader (src/ingest/trace/parallel.ts) gives exactly what one thread gives: the
 * built CLI is run on the same input with PTREPLAY_THREADS=1 and with worker threads cutting the
 * file at every 512 KiB read (PTREPLAY_RANGE_BYTES, PTREPLAY_PARALLEL_MIN_BYTES=0), and the
 * `events --json` output, stderr, exit status and the NDJSON export are compared byte for byte.
 *
 * Inputs: the real 6.1 capture with stacks (samples/debian-6.1-qemu: the cuts fall inside stacks,
 * checked below), with its stack-less twin as a second input (several files, the duplicate-input
 * filter); a file built from that capture's lines so that a cut falls inside a second `# tracer:`
 * header, next to loss markers, junk lines and a latency-format tail (hints not trusted there);
 * and a file whose third range holds a NUL-filled line of over 1 MiB (the same one-line error,
 * exit 2). Needs the build (the worker is compiled JS): skipped without dist/.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

const BIN = 'bin/run.js'
const READ = 512 * 1024
const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-parallel-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

interface Run {
  exit: number | null
  stdout: string
  stderr: string
  ndjson: string
}

function run(args: string[], threads: number): Run {
  const out = join(dir, 'out.ndjson')
  rmSync(out, {force: true})
  const env = {...process.env, PTREPLAY_THREADS: String(threads), PTREPLAY_PARALLEL_MIN_BYTES: '0', PTREPLAY_RANGE_BYTES: String(READ), PTREPLAY_PARALLEL_REPORT: '1'}
  const r = spawnSync(process.execPath, [BIN, 'events', '--json', ...args, '--output', out], {env, encoding: 'utf8', maxBuffer: 1 << 28})
  return {exit: r.status, stdout: r.stdout, stderr: r.stderr, ndjson: existsSync(out) ? readFileSync(out, 'utf8') : ''}
}

/** Runs one thread and three (two workers), expects the same bytes; the one-thread run. */
function same(args: string[], workerEvents = true): Run {
  const one = run(args, 1)
  const par = run(args, 3)
  // the parallel run says what the workers did (PTREPLAY_PARALLEL_REPORT): they did read ranges
  const report = /^parallel read: (\d+) files, (\d+) ranges by workers, (\d+) events made by workers\n/m.exec(par.stderr)
  expect(report, par.stderr).not.toBeNull()
  expect(Number(report![2])).toBeGreaterThan(0)
  if (workerEvents) expect(Number(report![3])).toBeGreaterThan(1000)
  expect(one.stderr).not.toMatch(/^parallel read:/m)
  par.stderr = par.stderr.replace(report![0], '')
  expect(par.exit).toBe(one.exit)
  expect(par.stderr).toBe(one.stderr)
  expect(par.stdout).toBe(one.stdout)
  expect(par.ndjson.length).toBe(one.ndjson.length)
  expect(par.ndjson === one.ndjson).toBe(true)
  return one
}

/** The line after each cut the parallel reader makes (the last newline of each 512 KiB read). */
function linesAfterCuts(text: Buffer): string[] {
  const out: string[] = []
  for (let k = READ; k < text.length; k += READ) {
    const nl = text.subarray(k - READ, k).lastIndexOf(10)
    if (nl < 0) continue
    const at = k - READ + nl + 1
    out.push(text.subarray(at, text.indexOf(10, at)).toString('latin1'))
  }
  return out
}

describe.skipIf(!existsSync('dist/src/ingest/trace/parallel-worker.js'))('parallel reader = one thread', () => {
  it('the real 6.1 capture with stacks, cut inside stacks', () => {
    const path = join(S61, 'trace_stacktrace.txt')
    const cuts = linesAfterCuts(readFileSync(path))
    expect(cuts.length).toBeGreaterThan(8)
    expect(cuts.filter((l) => l.startsWith(' => ')).length).toBeGreaterThan(0)
    const one = same([path])
    const r = JSON.parse(one.stdout) as {events: number; stacks: number}
    expect(r.events).toBeGreaterThan(10_000)
    expect(r.stacks).toBeGreaterThan(1000)
  })

  it('two real inputs (trace.txt + its stack-trace buffer) merged, duplicates dropped alike', () => {
    const one = same([join(S61, 'trace.txt'), join(S61, 'trace_stacktrace.txt')])
    const r = JSON.parse(one.stdout) as {diagnostics: {byCode: Record<string, number>}}
    expect(r.diagnostics.byCode['duplicate-input']).toBeGreaterThan(0)
  })

  it('a cut inside a second `# tracer:` header, loss markers, junk and a latency-format tail', () => {
    const text = readFileSync(join(S61, 'trace.txt'), 'latin1')
    const lines = text.split('\n').filter((l) => l !== '')
    const header = lines.filter((l) => l.startsWith('#'))
    const events = lines.filter((l) => !l.startsWith('#'))
    const parts: string[] = [...header]
    let size = header.join('\n').length + 1
    let e = 0
    const fill = (upTo: number) => {
      while (size + events[e % events.length]!.length + 1 < upTo) {
        const l = events[e++ % events.length]!
        parts.push(l)
        size += l.length + 1
      }
    }
    // the second snapshot's header straddles the 1 MiB read boundary
    fill(2 * READ - 200)
    for (const h of header) {
      parts.push(h)
      size += h.length + 1
    }
    // the second snapshot repeats the first one's events: dropped as duplicates
    e = 0
    fill(3 * READ - 300)
    for (const l of ['CPU:1 [LOST 17 EVENTS]', 'this is not a trace line', '##### CPU 0 buffer started ####', 'CPU:0 [LOST EVENTS]']) {
      parts.push(l)
      size += l.length + 1
    }
    fill(3 * READ + 4000)
    // latency-format from here on: the workers' events for these lines must not be taken
    parts.push('# nop latency trace v1.1.5 on 6.1.0', '#  cmd     pid   ||||| time  |   caller')
    fill(4 * READ + 20000)
    const path = join(dir, 'awkward.txt')
    writeFileSync(path, parts.join('\n') + '\n', 'latin1')
    const cuts = linesAfterCuts(readFileSync(path))
    expect(cuts.some((l) => l.startsWith('#'))).toBe(true)
    const one = same([path, '--format', 'tracefs'])
    const r = JSON.parse(one.stdout) as {lost: {markers: number}; diagnostics: {byCode: Record<string, number>}}
    expect(r.lost.markers).toBe(2)
    expect(r.diagnostics.byCode['latency-format']).toBe(1)
    expect(r.diagnostics.byCode['duplicate']).toBe(1)
  })

  it('a NUL-filled line of over 1 MiB in a later range: the same one-line error, exit 2', () => {
    const text = readFileSync(join(S61, 'trace.txt'))
    const path = join(dir, 'binary.txt')
    writeFileSync(path, Buffer.concat([text.subarray(0, text.lastIndexOf(10, 3 * READ) + 1), Buffer.alloc(3 * READ, 0), Buffer.from('\n'), text.subarray(0, READ)]))
    const one = same([path], false)
    expect(one.exit).toBe(2)
    expect(one.stderr).toMatch(/binary data \(NUL bytes/)
    expect(one.stderr).not.toMatch(/\n\s+at /)
  })
})

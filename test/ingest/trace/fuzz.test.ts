/**
 * Robustness: no reader (nor the assembler, normalizer or readTrace) throws on arbitrary input,
 * and every line that is not understood is reported as `file:line: expected …, got …`.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'

import {Normalizer} from '../../../src/ingest/normalize.js'
import {InputError} from '../../../src/ingest/source.js'
import {readTrace, tokenizeText} from '../../../src/ingest/trace/index.js'

const REAL = [
  '          insmod-127     [001] d....    39.894771: set_memory_ro: (set_memory_ro+0x0/0x30) addr=0xffffcc0d8602b000 numpages=0x1',
  '          insmod-88      [001] d....     2.848612: split_kernel_leaf_mapping_ret: (update_range_prot+0x20/0xd8 <- split_kernel_leaf_mapping) ret=0x0',
  '          insmod-127     [001] d....    39.896413: <stack trace>',
  ' => set_memory_ro',
  '            init-1       [001] .....    39.762255: tracing_mark_write: capture: insmod phase begin',
  'CPU:1 [LOST 801 EVENTS]',
  '# tracer: nop',
  'cpus=2',
  '            bash-9171  [000]   739.915299: alloc_vmap_area:      va_start: 18446683600670310400 size=20480',
  '              sh  8255 [001]   714.687947:        vmalloc:alloc_vmap_area: va_start: 18446683600662446080 size=20480',
  '\tffffffff816078c4 alloc_vmap_area+0x684 ([kernel.kallsyms])',
  '    bash-7624      0..... 33409us : alloc_vmap_area: va_start: 1 size=2',
  '9970 0 769279772655 type: 716',
  '  <idle>-0       [005] d..3.  1050.656188: get_next_timer_interrupt(basej=0x10002dbad, basem=0xf45fd7d300) <-tick_nohz_next_event',
]

/** A real line, cut, spliced with noise, or pure noise (never a newline: that makes two lines). */
const line = fc.oneof(
  fc.string({unit: 'binary', maxLength: 120}),
  fc.tuple(fc.constantFrom(...REAL), fc.nat(200), fc.nat(200), fc.string({maxLength: 8})).map(([l, a, b, noise]) => {
    const i = a % (l.length + 1)
    const j = Math.max(i, b % (l.length + 1))
    return l.slice(0, i) + noise + l.slice(j)
  }),
  fc.constantFrom(...REAL),
).map((l) => l.replace(/[\r\n]/g, ' '))

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-fuzz-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe.each(['tracefs', 'trace-cmd', 'perf'])('%s reader on arbitrary input', (reader) => {
  it('never throws; unrecognized lines carry file:line; the normalizer accepts every record', () => {
    fc.assert(
      fc.property(fc.array(line, {maxLength: 25}), fc.boolean(), (lines, newlineAtEnd) => {
        const text = lines.join('\n') + (newlineAtEnd ? '\n' : '')
        const {records, diagnostics, stats} = tokenizeText(reader, text, 'in.txt')
        const n = lines.length
        for (const d of diagnostics) {
          expect(d.message).toMatch(/^in\.txt:\d+: /)
          expect(d.src.file).toBe('in.txt')
          expect(d.src.line).toBeGreaterThanOrEqual(1)
          expect(d.src.line).toBeLessThanOrEqual(Math.max(n, 1))
          expect(d.message.startsWith(`in.txt:${d.src.line}: `)).toBe(true)
        }
        expect(stats.unrecognized).toBe(diagnostics.filter((d) => d.code === 'unrecognized').length)
        const norm = new Normalizer()
        for (const r of records) {
          expect(r.src.line).toBeGreaterThanOrEqual(1)
          norm.normalize(r)
        }
      }),
      {numRuns: 300},
    )
  })
})

describe('readTrace on arbitrary files', () => {
  it('never throws for a readable file when the format is given; everything is counted', async () => {
    let k = 0
    await fc.assert(
      fc.asyncProperty(fc.array(line, {maxLength: 30}), fc.constantFrom('tracefs', 'trace-cmd', 'perf'), async (lines, format) => {
        const p = join(dir, `t${k++}.txt`)
        writeFileSync(p, lines.length ? lines.join('\n') + '\n' : '', 'utf8')
        const r = readTrace([p], {format})
        let events = 0
        for await (const b of r.batches) events += b.length
        expect(r.stats.events).toBe(events)
        expect(r.stats.lines).toBe(lines.length)
        for (const d of r.diagnostics) expect(d.message.startsWith(`${p}:${d.src.line}: `)).toBe(true)
      }),
      {numRuns: 60},
    )
  })

  it('strict mode fails fast with file:line', async () => {
    const p = join(dir, 'strict.txt')
    writeFileSync(p, `${REAL[0]}\nnot a trace line\n${REAL[0]}\n`)
    const r = readTrace([p], {format: 'tracefs', strict: true})
    await expect(
      (async () => {
        for await (const _ of r.events) void _
      })(),
    ).rejects.toThrow(`${p}:2: expected a tracefs event line`)
  })

  it('a file whose format cannot be told is an InputError that says to pass --format', async () => {
    const p = join(dir, 'unknown.txt')
    writeFileSync(p, 'hello\nworld\n')
    const r = readTrace([p])
    await expect(
      (async () => {
        for await (const _ of r.events) void _
      })(),
    ).rejects.toThrow(/cannot tell the trace format.*--format/)
  })

  it('a truncated gzip: the events read so far, then a clear InputError', async () => {
    const p = join(dir, 'cut.txt.gz')
    writeFileSync(p, readFileSync('samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz').subarray(0, 300_000))
    const r = readTrace([p])
    let events = 0
    let err: unknown
    try {
      for await (const b of r.batches) events += b.length
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(InputError)
    expect((err as Error).message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:300000: truncated compressed input: the file ends inside gzip member 1 \\(which starts at byte 0\\) \\(${events.toLocaleString('en-US')} events read before the error\\)$`))
    expect(events).toBeGreaterThan(10_000)
    expect(r.stats.events).toBe(events)
  })
})

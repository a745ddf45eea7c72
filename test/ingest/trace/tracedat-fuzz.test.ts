/**
 * Bad trace.dat input: the reader never throws anything but an InputError (`file:offset: expected
 * …, got …`, exit 2), keeps the events read before a fault, and reports and skips what it safely
 * can (a corrupt page, an unknown event id, lost events). fast-check flips bytes of the real
 * recording (its version 7 uncompressed conversion, so page and event headers are plain bytes) in
 * the initial format, the section headers, the page headers and the event headers.
 */
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {InputError} from '../../../src/ingest/source.js'
import {readTraceDatMeta} from '../../../src/ingest/trace/tracedat/reader.js'
import {readPage} from '../../../src/ingest/trace/tracedat/ringbuffer.js'
import {readAll, TOOLS} from '../../helpers/tracedat.js'

let dir: string
let path: string
let orig: Buffer
const at = {header: [] as number[], sections: [] as number[], pages: [] as number[], events: [] as number[]}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptreplay-tracedat-fuzz-'))
  path = join(dir, 'v7-none.dat')
  orig = gunzipSync(readFileSync(`${TOOLS}/trace-v7-none.dat.gz`))
  writeFileSync(path, orig)
  const meta = await readTraceDatMeta(path)
  meta.file.close()
  for (let i = 0; i < 34; i++) at.header.push(i)
  const secs = [...meta.options.sections.values(), ...meta.buffers.map((b) => b.offset), Number(orig.readBigUInt64LE(orig.indexOf(0, 10) + 13))]
  for (const s of secs) for (let i = 0; i < 16; i++) at.sections.push(s + i)
  const view = new DataView(orig.buffer, orig.byteOffset, orig.byteLength)
  for (const b of meta.buffers) {
    for (const c of b.cpus) {
      for (let p = c.offset; p + b.pageSize <= c.offset + c.size; p += b.pageSize) {
        for (let i = 0; i < 16; i++) at.pages.push(p + i)
        readPage(view, p, b.pageSize, meta.header, true, (_ts, _s, _l, a) => {
          for (let i = 0; i < 8; i++) at.events.push(p + a + i)
        })
      }
    }
  }
  expect(at.events.length).toBeGreaterThan(14374 * 4)
})

afterAll(() => rmSync(dir, {recursive: true, force: true}))

function patch(offset: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+')
  try {
    writeSync(fd, bytes, 0, bytes.length, offset)
  } finally {
    closeSync(fd)
  }
}

/** Flip bits at some of `where`, read, restore; the read must end normally or with an InputError. */
async function flipAndRead(where: number[], picks: {k: number; mask: number}[]): Promise<void> {
  const offs = picks.map((p) => where[p.k % where.length]!)
  for (let i = 0; i < offs.length; i++) patch(offs[i]!, Buffer.from([orig[offs[i]!]! ^ (picks[i]!.mask || 1)]))
  try {
    const r = await readAll([path])
    if (r.error !== undefined) {
      expect(r.error).toBeInstanceOf(InputError)
      expect((r.error as Error).message).toMatch(/^[^\n]+:\d+: \S/)
    }
    for (const d of r.diagnostics) expect(d.message).toMatch(/^[^\n]+:\d+: /)
  } finally {
    for (const o of offs) patch(o, Buffer.from([orig[o]!]))
  }
}

const flips = fc.array(fc.record({k: fc.nat(), mask: fc.integer({min: 1, max: 255})}), {minLength: 1, maxLength: 4})

describe('trace.dat reader on flipped bytes never throws but an InputError', () => {
  for (const region of ['header', 'sections', 'pages', 'events'] as const) {
    it(`in the ${region === 'header' ? 'initial format' : region === 'sections' ? 'section headers' : region === 'pages' ? 'page headers' : 'event headers'}`, async () => {
      await fc.assert(
        fc.asyncProperty(flips, (p) => flipAndRead(at[region], p)),
        {numRuns: 12, seed: 8},
      )
    })
  }
})

describe('trace.dat bad input', () => {
  it('a truncated file: the events before the cut, then file:offset … truncated', async () => {
    // version 6 keeps its metadata first and the CPU data last (v7 writes the options with the
    // BUFFER entries after the data: cut there, nothing can be read, as with trace-cmd)
    const v6 = gunzipSync(readFileSync(`${TOOLS}/trace-v6.dat.gz`))
    const full = join(dir, 'v6.dat')
    writeFileSync(full, v6)
    const meta = await readTraceDatMeta(full)
    meta.file.close()
    const cpu1 = meta.buffers[0]!.cpus[1]!
    // CPU 1's data cut in the middle: CPU 0 is complete
    const cut = join(dir, 'cut.dat')
    writeFileSync(cut, v6.subarray(0, cpu1.offset + Math.floor(cpu1.size / 2)))
    const r = await readAll([cut])
    expect(r.error).toBeInstanceOf(InputError)
    expect((r.error as Error).message).toMatch(new RegExp(`^${cut}:${cpu1.offset}: expected ${cpu1.size} bytes of CPU 1 data, got \\d+ .*truncated`))
    // CPU 0's 5767 events (trace-cmd-report-stat.txt) are all delivered, and CPU 1's before the cut
    expect(r.events.filter((e) => e.cpu === 0).length).toBe(5767)
    const cpu1Events = r.events.filter((e) => e.cpu === 1).length
    expect(cpu1Events).toBeGreaterThan(8607 / 3)
    expect(cpu1Events).toBeLessThan(8607)
    const head = join(dir, 'head.dat')
    writeFileSync(head, orig.subarray(0, 20))
    const h = await readAll([head])
    expect(h.error).toBeInstanceOf(InputError)
    expect((h.error as Error).message).toMatch(/head\.dat:\d+: expected .* got/)
  })

  it('an unknown event id is reported with its offset and skipped', async () => {
    const meta = await readTraceDatMeta(path)
    meta.file.close()
    const c = meta.buffers[0]!.cpus[0]!
    const view = new DataView(orig.buffer, orig.byteOffset, orig.byteLength)
    let first = -1
    let header = -1
    readPage(view, c.offset, meta.buffers[0]!.pageSize, meta.header, true, (_ts, s, _l, a) => {
      if (first < 0) {
        first = s
        header = c.offset + a
      }
    })
    patch(first, Buffer.from([0x0f, 0x27])) // common_type 9999
    try {
      const r = await readAll([path])
      expect(r.error).toBeUndefined()
      expect(r.events.length).toBe(14373)
      const d = r.diagnostics.find((x) => x.code === 'unknown-event')
      expect(d?.message).toMatch(new RegExp(`:${header}: expected an event id with a format in the file, got 9999`))
    } finally {
      patch(first, orig.subarray(first, first + 2))
    }
  })
})

describe('trace.dat lost events', () => {
  it('a page with MISSING_EVENTS (and the count stored) is counted and reported at its offset', async () => {
    const meta = await readTraceDatMeta(path)
    meta.file.close()
    const b = meta.buffers[0]!
    const c = b.cpus[1]!
    const page = c.offset + b.pageSize // CPU 1's second page
    const commit = orig.readUInt32LE(page + 8)
    const size = commit & ((1 << 27) - 1)
    // the count goes after the data (MISSING_STORED); the page must have room for it
    expect(size + 16 + 8).toBeLessThanOrEqual(b.pageSize)
    const flags = Buffer.alloc(4)
    flags.writeUInt32LE((commit | 0x80000000 | 0x40000000) >>> 0)
    const count = Buffer.alloc(8)
    count.writeBigUInt64LE(801n)
    const savedCount = Buffer.from(orig.subarray(page + 16 + size, page + 16 + size + 8))
    patch(page + 8, flags)
    patch(page + 16 + size, count)
    try {
      const r = await readAll([path])
      expect(r.error).toBeUndefined()
      expect(r.events.length).toBe(14374)
      expect(r.stats.lostEvents).toBe(801)
      expect(r.stats.lostByCpu).toEqual({1: 801})
      const d = r.diagnostics.find((x) => x.code === 'lost-events')
      expect(d?.message).toMatch(/CPU 1 lost 801 events/)
    } finally {
      patch(page + 8, orig.subarray(page + 8, page + 12))
      patch(page + 16 + size, savedCount)
    }
  })
})

/**
 * The same recording in the other trace.dat layouts, against the same reference (the events of
 * trace-cmd-report-t.txt, read by the text reader):
 * - trace-v6.dat.gz / trace-v7-none.dat.gz: `trace-cmd convert --file-version 6|7 --compression
 *   none` (Debian's trace-cmd 3.1.6) of trace.dat, gzip'd for the repository (samples/README.md);
 *   gunzipped to a temporary file here, since trace.dat is read by offset.
 * - zlib: trace-cmd's zlib codec (compress2()/uncompress(): zlib-wrapped deflate) is not in that
 *   build, so the test compresses the sections and the flyrecord data of the v7 uncompressed file
 *   in place with node:zlib (each compressed section fits where the uncompressed one was, so no
 *   offset moves; only the section flags, the `none` → `zlib` name and the BUFFER option's CPU
 *   data sizes change). The flyrecord data is cut into chunks of 8 pages, as trace-cmd's writer does
 *   in chunks.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {deflateSync, gunzipSync} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {firstDiff, readAll, TOOLS} from '../../helpers/tracedat.js'

let dir: string
let v6: string
let v7none: string
let v7zlib: string

function u16(b: Buffer, at: number): number {
  return b.readUInt16LE(at)
}

/** v7 uncompressed → zlib, in place (see the file comment). */
export function recompressZlib(src: Buffer, chunkPages = 8): Buffer {
  const b = Buffer.from(src)
  const name = b.indexOf(0, 10) + 7 // after "7\0", endianness, long size, 4-byte page size
  expect(b.toString('latin1', name, name + 5)).toBe('none\0')
  b.write('zlib', name, 'latin1')
  let optOff = Number(b.readBigUInt64LE(b.indexOf(0, name + 5) + 1))
  const sections: number[] = []
  const buffers: {cpuFields: number[]}[] = []
  while (optOff !== 0) {
    expect(u16(b, optOff)).toBe(0)
    const end = optOff + 16 + Number(b.readBigUInt64LE(optOff + 8))
    let p = optOff + 16
    optOff = 0
    while (p < end) {
      const id = u16(b, p)
      const size = b.readUInt32LE(p + 2)
      const d = p + 6
      if (id === 0) optOff = Number(b.readBigUInt64LE(d))
      else if (id >= 16 && id <= 21) sections.push(Number(b.readBigUInt64LE(d)))
      else if (id === 3) {
        sections.push(Number(b.readBigUInt64LE(d)))
        let q = b.indexOf(0, d + 8) + 1 // name
        q = b.indexOf(0, q) + 1 // clock
        q += 4 // page size
        const cpus = b.readUInt32LE(q)
        q += 4
        const cpuFields: number[] = []
        for (let i = 0; i < cpus; i++) cpuFields.push(q + i * 20 + 4)
        buffers.push({cpuFields})
      }
      p = d + size
      if (id === 0) break
    }
  }
  for (const off of sections) {
    const id = u16(b, off)
    const size = Number(b.readBigUInt64LE(off + 8))
    b.writeUInt16LE(1, off + 2) // compressed
    if (id === 3) continue // flyrecord: its CPUs' data is compressed below
    const z = deflateSync(b.subarray(off + 16, off + 16 + size), {level: 9})
    expect(z.length + 8).toBeLessThanOrEqual(size)
    b.writeBigUInt64LE(BigInt(z.length + 8), off + 8)
    b.writeUInt32LE(z.length, off + 16)
    b.writeUInt32LE(size, off + 20)
    z.copy(b, off + 24)
  }
  const page = b.readUInt32LE(b.indexOf(0, 10) + 3)
  for (const buf of buffers) {
    for (const f of buf.cpuFields) {
      const off = Number(b.readBigUInt64LE(f))
      const size = Number(b.readBigUInt64LE(f + 8))
      const raw = Buffer.from(b.subarray(off, off + size))
      const chunks: Buffer[] = []
      for (let i = 0; i < raw.length; i += chunkPages * page) {
        const u = raw.subarray(i, Math.min(raw.length, i + chunkPages * page))
        const z = deflateSync(u)
        const h = Buffer.alloc(8)
        h.writeUInt32LE(z.length, 0)
        h.writeUInt32LE(u.length, 4)
        chunks.push(h, z)
      }
      const count = Buffer.alloc(4)
      count.writeUInt32LE(chunks.length / 2, 0)
      const out = Buffer.concat([count, ...chunks])
      expect(out.length).toBeLessThanOrEqual(size)
      out.copy(b, off)
      b.writeBigUInt64LE(BigInt(out.length), f + 8)
    }
  }
  return b
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptreplay-tracedat-'))
  v6 = join(dir, 'v6.dat')
  v7none = join(dir, 'v7-none.dat')
  v7zlib = join(dir, 'v7-zlib.dat')
  writeFileSync(v6, gunzipSync(readFileSync(`${TOOLS}/trace-v6.dat.gz`)))
  const none = gunzipSync(readFileSync(`${TOOLS}/trace-v7-none.dat.gz`))
  writeFileSync(v7none, none)
  writeFileSync(v7zlib, recompressZlib(none))
})

afterAll(() => {
  rmSync(dir, {recursive: true, force: true})
})

describe('trace.dat variants of the real recording', () => {
  let reference: Awaited<ReturnType<typeof readAll>>
  beforeAll(async () => {
    reference = await readAll([`${TOOLS}/trace-cmd-report-t.txt.gz`])
    expect(reference.events.length).toBe(14374)
  })

  for (const [label, path, format] of [
    ['version 6 (trace-cmd convert)', () => v6, 'trace.dat v6'],
    ['version 7 uncompressed (trace-cmd convert)', () => v7none, 'trace.dat v7'],
    ['version 7 zlib (sections recompressed with node:zlib)', () => v7zlib, 'trace.dat v7 zlib'],
  ] as const) {
    it(`${label}: the events of trace-cmd report -t, field for field`, async () => {
      const r = await readAll([path()])
      expect(r.error).toBeUndefined()
      expect(r.stats.format).toBe(format)
      expect(r.diagnostics).toEqual([])
      expect(r.events.length).toBe(reference.events.length)
      expect(firstDiff(r.events, reference.events)).toBe(-1)
    })
  }
})

/**
 * An instance buffer (`trace-cmd record -B inst`): a second BUFFER option naming `inst` and
 * pointing at the same flyrecord data, in a new options section appended to the v7 uncompressed
 * file (the last section's DONE is pointed at it). The instance is read as its own stream: every
 * event twice, the instance's named `file[inst]`, both equal field for field.
 */
function withInstance(src: Buffer): Buffer {
  const b = Buffer.from(src)
  let off = Number(b.readBigUInt64LE(b.indexOf(0, 10) + 13))
  let lastDone = -1
  let bufferData: Buffer | undefined
  while (off !== 0) {
    const end = off + 16 + Number(b.readBigUInt64LE(off + 8))
    let p = off + 16
    off = 0
    while (p < end) {
      const id = u16(b, p)
      const size = b.readUInt32LE(p + 2)
      if (id === 3) bufferData = b.subarray(p + 6, p + 6 + size)
      if (id === 0) {
        lastDone = p + 6
        off = Number(b.readBigUInt64LE(p + 6))
        break
      }
      p += 6 + size
    }
  }
  expect(bufferData).toBeDefined()
  // offset(8) + name "" → offset(8) + "inst\0", the rest (clock, page size, CPUs) as is
  const data = Buffer.concat([bufferData!.subarray(0, 8), Buffer.from('inst\0', 'latin1'), bufferData!.subarray(9)])
  const opt = Buffer.alloc(6 + data.length + 6 + 8)
  opt.writeUInt16LE(3, 0)
  opt.writeUInt32LE(data.length, 2)
  data.copy(opt, 6)
  opt.writeUInt16LE(0, 6 + data.length)
  opt.writeUInt32LE(8, 8 + data.length)
  const head = Buffer.alloc(16)
  head.writeBigUInt64LE(BigInt(opt.length), 8)
  b.writeBigUInt64LE(BigInt(b.length), lastDone)
  return Buffer.concat([b, head, opt])
}

describe('trace.dat instance buffers', () => {
  it('are read as their own streams', async () => {
    const path = join(dir, 'instance.dat')
    writeFileSync(path, withInstance(gunzipSync(readFileSync(`${TOOLS}/trace-v7-none.dat.gz`))))
    const r = await readAll([path])
    expect(r.error).toBeUndefined()
    expect(r.diagnostics).toEqual([])
    const top = r.events.filter((e) => e.src.file === path)
    const inst = r.events.filter((e) => e.src.file === `${path}[inst]`)
    expect(top.length).toBe(14374)
    expect(inst.length).toBe(14374)
    expect(firstDiff(top, inst)).toBe(-1)
  })
})

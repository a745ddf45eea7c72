/**
 * zstd frames with their content checksums (RFC 8878 §3.1.1, §3.1.2), against files written by the
 * system's `zstd` binary: several frames, skippable frames, frames without a checksum, an empty
 * frame, any chunking. A checksum is checked for real: a stored checksum altered by hand is
 * reported with the value zstd wrote as the computed one (so XXH64 here = zstd's).
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, describe, expect, it} from 'vitest'

import {decodeZstd} from '../../src/ingest/decompress-zstd.js'
import {InputError, openSource} from '../../src/ingest/source.js'

const A = 'test/golden/five-formats/capture.tracefs.txt'
const B = 'samples/debian-6.1-qemu/max-2G-default/kprobe_events'
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-zstd-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const zstd = (args: string[], input: Buffer | string) => execFileSync('zstd', ['-q', '-c', ...args], {input})
/** A skippable frame (magic 0x184D2A5x, 4-byte size, data). */
function skippable(data: Buffer, nibble = 0xa): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt32LE((0x184d2a50 | nibble) >>> 0, 0)
  h.writeUInt32LE(data.length, 4)
  return Buffer.concat([h, data])
}

async function decode(bytes: Buffer, chunk = bytes.length): Promise<{text: string; error?: Error}> {
  const parts: Buffer[] = []
  for (let o = 0; o < bytes.length; o += chunk) parts.push(bytes.subarray(o, o + chunk))
  const out: Buffer[] = []
  try {
    for await (const b of decodeZstd(Readable.from(parts))) out.push(b)
  } catch (e) {
    return {text: Buffer.concat(out).toString(), error: e as Error}
  }
  return {text: Buffer.concat(out).toString()}
}

async function readLines(path: string): Promise<{lines: string[]; error?: InputError}> {
  const lines: string[] = []
  try {
    const src = await openSource(path)
    for await (const b of src.batches) lines.push(...b.lines)
  } catch (e) {
    if (e instanceof InputError) return {lines, error: e}
    throw e
  }
  return {lines}
}

const a = readFileSync(A)
const b = readFileSync(B)
const fa = zstd([], a)
const fEmpty = zstd([], Buffer.alloc(0))
const fbNoCheck = zstd(['--no-check'], b)
const fb = zstd([], b)
// frames: 1 zstd(A), 2 skippable, 3 zstd(empty), 4 zstd(B) without checksum, 5 zstd(B)
const multi = Buffer.concat([fa, skippable(Buffer.from('metadata')), fEmpty, fbNoCheck, fb])
const expected = Buffer.concat([a, b, b]).toString()

describe('zstd frames', () => {
  it('the system zstd writes checksums by default (the files below exercise them)', () => {
    expect(fa[4]! & 4).toBe(4)
    expect(fbNoCheck[4]! & 4).toBe(0)
    expect(fEmpty.length).toBeLessThan(18)
  })

  it('several frames, a skippable one, an empty one and one without checksum: the content in order', async () => {
    const r = await decode(multi)
    expect(r.error).toBeUndefined()
    expect(r.text).toBe(expected)
  })

  for (const chunk of [1, 3, 17, 4096]) {
    it(`the same fed in ${chunk}-byte chunks`, async () => {
      const r = await decode(multi, chunk)
      expect(r.error).toBeUndefined()
      expect(r.text).toBe(expected)
    })
  }

  it('a stored checksum altered: the mismatch names the frame, the offset and the checksum zstd wrote as computed', async () => {
    const bad = Buffer.from(multi)
    const at = fa.length + 16 + fEmpty.length + fbNoCheck.length + fb.length - 4 // frame 5's checksum
    const stored = bad.readUInt32LE(at)
    bad.writeUInt32LE((stored ^ 0x00010000) >>> 0, at)
    const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`
    for (const chunk of [bad.length, 5]) {
      const r = await decode(bad, chunk)
      expect(r.error?.message).toBe(`zstd frame 5 content checksum mismatch (expected ${hex((stored ^ 0x00010000) >>> 0)}, got ${hex(stored)})`)
      expect((r.error as Error & {offset: number}).offset).toBe(at)
    }
  })

  it('a frame cut short, trailing garbage, trailing zeros: errors at their offsets (`zstd -t` refuses all three)', async () => {
    const cut = await decode(multi.subarray(0, fa.length + 10))
    expect(cut.error?.message).toMatch(/^truncated compressed input: the file ends inside skippable frame 2 /)
    expect((cut.error as Error & {offset: number}).offset).toBe(fa.length + 10)
    const magic = await decode(multi.subarray(0, fa.length + 16 + fEmpty.length + 2))
    expect(magic.error?.message).toBe('truncated compressed input: the file ends inside the magic number of frame 4')
    const cut2 = await decode(fa.subarray(0, fa.length - 2))
    expect(cut2.error?.message).toMatch(/^truncated compressed input: the file ends inside zstd frame 1 /)
    for (const tail of [Buffer.from('garbage\n'), Buffer.alloc(100)]) {
      const r = await decode(Buffer.concat([fa, tail]))
      expect(r.error?.message).toMatch(/^expected a zstd frame \(magic 28 b5 2f fd\) or a skippable frame after frame 1, got bytes /)
      expect((r.error as Error & {offset: number}).offset).toBe(fa.length)
      expect(r.text).toBe(a.toString())
    }
  })

  it('through openSource: `file:offset:` and the lines before the error delivered', async () => {
    const f = join(dir, 'bad.zst')
    const bad = Buffer.concat([fa, fb])
    bad.writeUInt32LE((bad.readUInt32LE(bad.length - 4) ^ 1) >>> 0, bad.length - 4)
    writeFileSync(f, bad)
    const r = await readLines(f)
    expect(r.error!.message).toMatch(new RegExp(`^${f}:${bad.length - 4}: zstd frame 2 content checksum mismatch \\(expected 0x[0-9a-f]{8}, got 0x[0-9a-f]{8}\\)$`))
    expect(r.lines.slice(0, 30).join('\n')).toBe(a.toString().split('\n').slice(0, 30).join('\n'))
  })
})

/**
 * gzip members (RFC 1952) against the system's gzip 1.12: several members, optional header
 * fields, any chunking; and what follows the last member judged as `gzip -t` judges it (zeros:
 * accepted; anything else: "trailing garbage", which here is an error at its offset). Each
 * damaged file is also given to `gzip -t` so the test shows the two agree.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {crc32, deflateRawSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'

import {decodeGzip} from '../../src/ingest/decompress-gzip.js'

const A = 'test/golden/five-formats/capture.tracefs.txt'
const B = 'samples/debian-6.1-qemu/max-2G-default/kprobe_events'
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-gzip-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const a = readFileSync(A)
const b = readFileSync(B)
const ga = execFileSync('gzip', ['-c', A])
const gb = execFileSync('gzip', ['-9', '-c', B])

/** `gzip -t` exit status on these bytes (0 ok, 1 error, 2 warning). */
function gzipT(bytes: Buffer): number {
  const f = join(dir, `t-${Math.random().toString(36).slice(2)}.gz`)
  writeFileSync(f, bytes)
  return spawnSync('gzip', ['-t', f]).status!
}

type Failure = Error & {offset?: number}
async function decode(bytes: Buffer, chunk = bytes.length): Promise<{text: string; error?: Failure}> {
  const parts: Buffer[] = []
  for (let o = 0; o < bytes.length; o += chunk) parts.push(bytes.subarray(o, o + chunk))
  const out: Buffer[] = []
  try {
    for await (const x of decodeGzip(Readable.from(parts))) out.push(x)
  } catch (e) {
    return {text: Buffer.concat(out).toString(), error: e as Failure}
  }
  return {text: Buffer.concat(out).toString()}
}

/** A member with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC). */
function fullHeaderMember(data: Buffer): Buffer {
  const fixed = Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3])
  const extra = Buffer.from([4, 0, 0x41, 0x42, 0, 0])
  const header = Buffer.concat([fixed, extra, Buffer.from('name.txt\0'), Buffer.from('a comment\0')])
  const hcrc = Buffer.alloc(2)
  hcrc.writeUInt16LE(crc32(header) & 0xffff)
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc32(data), 0)
  trailer.writeUInt32LE(data.length, 4)
  return Buffer.concat([header, hcrc, deflateRawSync(data), trailer])
}

describe('gzip members', () => {
  const two = Buffer.concat([ga, fullHeaderMember(b), gb])
  for (const chunk of [two.length, 1, 7, 4096]) {
    it(`three members (one with every optional header field) in ${chunk}-byte chunks`, async () => {
      expect(gzipT(two)).toBe(0)
      const r = await decode(two, chunk)
      expect(r.error).toBeUndefined()
      expect(r.text).toBe(Buffer.concat([a, b, b]).toString())
    })
  }

  it('a CRC-32 failure is placed at the trailer, after the content', async () => {
    const bad = Buffer.from(ga)
    bad[bad.length - 6] ^= 0xff
    expect(gzipT(bad)).toBe(1)
    const r = await decode(bad)
    expect(r.error!.message).toMatch(/^gzip member 1 \(which starts at byte 0\): CRC-32 mismatch \(expected 0x[0-9a-f]{8}, got 0x[0-9a-f]{8}\): corrupt data$/)
    expect(r.error!.offset).toBe(ga.length - 8)
    expect(r.text).toBe(a.toString())
  })

  it('an ISIZE that disagrees, a header CRC that disagrees', async () => {
    const bad = Buffer.from(ga)
    bad[bad.length - 1] ^= 1
    expect(gzipT(bad)).toBe(1)
    expect((await decode(bad)).error!.message).toMatch(/length mismatch \(ISIZE \d+, decoded 11866 mod 2\^32\)/)
    const h = fullHeaderMember(b)
    h[36] ^= 1 // the header CRC (10 + 6 + 9 + 10 = 35 header bytes, then 2 CRC bytes)
    expect(gzipT(h)).toBe(1)
    const r = await decode(h)
    expect(r.error!.message).toMatch(/^gzip member 1: header CRC mismatch/)
    expect(r.error!.offset).toBe(35)
  })

  it('corrupt deflate data: an error inside the member, at an offset in its data', async () => {
    const bad = Buffer.from(gb)
    for (let i = 40; i < 60; i++) bad[i] = 0xff
    expect(gzipT(bad)).toBe(1)
    const r = await decode(bad)
    expect(r.error!.message).toMatch(/^gzip member 1 \(which starts at byte 0\): corrupt deflate data \(/)
    expect(r.error!.offset).toBeLessThanOrEqual(bad.length)
  })

  it('zero bytes after the last member are accepted, as `gzip -t` does', async () => {
    const z = Buffer.concat([ga, Buffer.alloc(1000)])
    expect(gzipT(z)).toBe(0)
    const r = await decode(z, 300)
    expect(r.error).toBeUndefined()
    expect(r.text).toBe(a.toString())
  })

  for (const [what, tail] of [
    ['text', Buffer.from('garbage\n')],
    ['zeros then text', Buffer.concat([Buffer.alloc(3), Buffer.from('garbage')])],
  ] as const) {
    it(`trailing ${what} is an error at the end of the last member (\`gzip -t\`: "trailing garbage ignored", exit 2)`, async () => {
      const bytes = Buffer.concat([ga, tail])
      expect(gzipT(bytes)).toBe(2)
      for (const chunk of [bytes.length, 5]) {
        const r = await decode(bytes, chunk)
        expect(r.error!.message).toMatch(new RegExp(`^${tail.length} bytes after gzip member 1 are not a gzip member \\(first non-zero byte at \\d+: `))
        expect(r.error!.offset).toBe(ga.length)
        expect(r.text).toBe(a.toString())
      }
    })
  }

  it('a second member with an unknown method: an error naming it (`gzip -t`: "unknown method")', async () => {
    const bytes = Buffer.concat([ga, Buffer.from([0x1f, 0x8b]), Buffer.from('garbage')])
    expect(gzipT(bytes)).toBe(1)
    const r = await decode(bytes)
    expect(r.error!.message).toBe('gzip member 2: unknown compression method 103 (expected 8, deflate)')
    expect(r.error!.offset).toBe(ga.length + 2)
  })

  it('a file cut inside the trailer or the header: truncated, at the end of the file', async () => {
    for (const n of [ga.length - 3, 5]) {
      const r = await decode(ga.subarray(0, n))
      expect(r.error!.message).toMatch(/^truncated compressed input: the file ends inside gzip member 1 /)
      expect(r.error!.offset).toBe(n)
    }
    // a lone 1f after a member: the start of a member cut short (`gzip -t`: unexpected end, exit 1)
    const lone = Buffer.concat([ga, Buffer.from([0x1f])])
    expect(gzipT(lone)).toBe(1)
    const r = await decode(lone)
    expect(r.error!.message).toMatch(/^truncated compressed input: the file ends inside gzip member 2 /)
  })
})

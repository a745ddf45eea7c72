/**
 * gzip input, member by member (RFC 1952), with every failure placed at its byte offset.
 *
 * Node's Gunzip handles several members, but inside one write it drops the write's whole output
 * when the bytes after a member are not a member (or the CRC fails), so the error came out as
 * "<file>:1: incorrect header check" with nothing read, and bytes after the last member that
 * began with a zero were ignored whatever followed. Here the header (§2.3) is read here, the
 * deflate data by zlib's raw inflate (native), and the trailer checked here: CRC-32 (zlib.crc32)
 * and ISIZE. After a member, as `gzip -t` (gzip 1.12) does:
 * - another member (1f 8b): read it (`cat a.gz b.gz`);
 * - zero bytes up to the end: ignored (`gzip -t` is silent and exits 0; `-v` warns "trailing
 *   zero bytes ignored"): tape and block padding;
 * - anything else: an error at the first byte after the member (`gzip -t`: "decompression OK,
 *   trailing garbage ignored", exit 2). Here it is bad input, exit 2, no output.
 *
 * Pulled by the line splitter (an async generator), so memory stays bounded: the pump feeds the
 * inflater only as fast as its output is read.
 */
import {crc32, createInflateRaw, type InflateRaw} from 'node:zlib'

import {CompressedDataError} from './decompress-error.js'

/** Bytes per inflate output chunk (source.ts's read size). */
const GZIP_CHUNK = 512 * 1024

const FHCRC = 2
const FEXTRA = 4
const FNAME = 8
const FCOMMENT = 16
const FRESERVED = 0xe0

const hex32 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`
const bytesHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')

/** Compressed bytes from an async source, taken by count or by chunk, with the offset of the next one. */
class ByteReader {
  private q: Buffer[] = []
  private qLen = 0
  private done = false
  /** Offset in the input of the next byte taken. */
  offset = 0

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** At least n bytes buffered? (false: the input ends first). */
  async fill(n: number): Promise<boolean> {
    while (this.qLen < n && !this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
      else if (r.value.length) {
        this.q.push(r.value)
        this.qLen += r.value.length
      }
    }
    return this.qLen >= n
  }

  /** The first n buffered bytes (fill(n) first). */
  peek(n: number): Buffer {
    if (this.q[0]!.length >= n) return this.q[0]!.subarray(0, n)
    const all = Buffer.concat(this.q)
    this.q = [all]
    return all.subarray(0, n)
  }

  take(n: number): Buffer {
    const b = Buffer.from(this.peek(n))
    this.drop(n)
    return b
  }

  private drop(n: number): void {
    this.offset += n
    this.qLen -= n
    while (n > 0) {
      const h = this.q[0]!
      if (h.length <= n) {
        this.q.shift()
        n -= h.length
      } else {
        this.q[0] = h.subarray(n)
        n = 0
      }
    }
  }

  /** The next buffered or read chunk, whole; undefined at the end. */
  async chunk(): Promise<Buffer | undefined> {
    if (!(await this.fill(1))) return undefined
    const c = this.q.shift()!
    this.qLen -= c.length
    this.offset += c.length
    return c
  }

  /** Offset just past the bytes buffered (the end of the input, once fill() has failed). */
  get bufferedEnd(): number {
    return this.offset + this.qLen
  }

  /** Give back bytes taken but not used (the start of what follows a member). */
  unshift(b: Buffer): void {
    if (!b.length) return
    this.q.unshift(b)
    this.qLen += b.length
    this.offset -= b.length
  }

  /** Bytes up to and including the first 0 (a zero-terminated header field). */
  async takeZeroTerminated(): Promise<Buffer | undefined> {
    for (let n = 1; ; n++) {
      if (!(await this.fill(n))) return undefined
      if (this.peek(n)[n - 1] === 0) return this.take(n)
    }
  }
}

export async function* decodeGzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const r = new ByteReader(input[Symbol.asyncIterator]())
  for (let member = 1; ; member++) {
    if (member > 1) {
      if (!(await r.fill(1))) return
      if (!(await afterMember(r, member - 1))) return
    }
    yield* readMember(r, member, r.offset)
  }
}

/** Bytes after member `n`: true when another member starts; false for zeros to the end. */
async function afterMember(r: ByteReader, n: number): Promise<boolean> {
  const at = r.offset
  const twoBytes = await r.fill(2)
  const head = r.peek(twoBytes ? 2 : 1)
  // a member (or, as `gzip -t` sees a lone 1f at the end, the start of one cut short)
  if (head[0] === 0x1f && (head[1] === 0x8b || !twoBytes)) return true
  let nonZero: {at: number; bytes: Buffer} | undefined
  let total = 0
  for (;;) {
    const c = await r.chunk()
    if (!c) break
    const i = nonZero ? -1 : c.findIndex((b) => b !== 0)
    if (i >= 0) nonZero = {at: at + total + i, bytes: Buffer.from(c.subarray(i, i + 8))}
    total += c.length
  }
  if (!nonZero) return false
  throw new CompressedDataError(
    `${total.toLocaleString('en-US')} bytes after gzip member ${n} are not a gzip member (first non-zero byte at ${nonZero.at}: ${bytesHex(nonZero.bytes)}; \`gzip -t\`: "trailing garbage ignored", exit 2)`,
    at,
  )
}

async function* readMember(r: ByteReader, member: number, start: number): AsyncGenerator<Buffer> {
  const where = () => `gzip member ${member} (which starts at byte ${start})`
  const truncated = () => new CompressedDataError(`truncated compressed input: the file ends inside ${where()}`, r.bufferedEnd)
  // Header (RFC 1952 §2.3.1): ID1 ID2 CM FLG MTIME(4) XFL OS, then the optional fields.
  if (await r.fill(3)) {
    const m = r.peek(3)
    if (m[2] !== 8) throw new CompressedDataError(`gzip member ${member}: unknown compression method ${m[2]} (expected 8, deflate)`, start + 2)
  }
  if (!(await r.fill(10))) throw truncated()
  const fixed = r.take(10)
  const flg = fixed[3]!
  if (flg & FRESERVED) throw new CompressedDataError(`gzip member ${member}: reserved flag bits set (FLG ${hex32(flg).slice(8)})`, start + 3)
  const header = [fixed]
  if (flg & FEXTRA) {
    if (!(await r.fill(2))) throw truncated()
    const xlen = r.take(2)
    header.push(xlen)
    if (!(await r.fill(xlen.readUInt16LE(0)))) throw truncated()
    header.push(r.take(xlen.readUInt16LE(0)))
  }
  for (const f of [FNAME, FCOMMENT]) {
    if (!(flg & f)) continue
    const s = await r.takeZeroTerminated()
    if (!s) throw truncated()
    header.push(s)
  }
  if (flg & FHCRC) {
    const at = r.offset
    if (!(await r.fill(2))) throw truncated()
    const stored = r.take(2).readUInt16LE(0)
    const got = crc32(Buffer.concat(header)) & 0xffff
    if (stored !== got) throw new CompressedDataError(`gzip member ${member}: header CRC mismatch (expected ${stored.toString(16)}, got ${got.toString(16)})`, at)
  }

  // Deflate data (§2.3.1 "compressed blocks"), then CRC32 and ISIZE.
  let crc = 0
  let size = 0
  const bodyStart = r.offset
  const inf = createInflateRaw({chunkSize: GZIP_CHUNK})
  const pump = feed(r, inf)
  try {
    for await (const out of inf as AsyncIterable<Buffer>) {
      crc = crc32(out, crc)
      size = (size + out.length) >>> 0
      yield out
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (pump.eof && (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message))) throw truncated()
    if (pump.error) throw pump.error
    throw new CompressedDataError(`${where()}: corrupt deflate data (${err.message})`, bodyStart + inf.bytesWritten)
  } finally {
    pump.stop = true
    inf.destroy()
    await pump.done
  }
  // What the inflater was given beyond the deflate data belongs to the trailer and what follows.
  r.unshift(pump.unused(inf.bytesWritten))
  const at = r.offset
  if (!(await r.fill(8))) throw truncated()
  const trailer = r.take(8)
  const storedCrc = trailer.readUInt32LE(0)
  if (storedCrc !== crc >>> 0) throw new CompressedDataError(`${where()}: CRC-32 mismatch (expected ${hex32(storedCrc)}, got ${hex32(crc)}): corrupt data`, at)
  const isize = trailer.readUInt32LE(4)
  if (isize !== size) throw new CompressedDataError(`${where()}: length mismatch (ISIZE ${isize}, decoded ${size} mod 2^32)`, at + 4)
}

interface Pump {
  stop: boolean
  eof: boolean
  error?: Error
  done: Promise<void>
  /** The bytes fed past the first `consumed` (the inflater stops at the end of the deflate data). */
  unused(consumed: number): Buffer
}

/** Feed `inf` chunk by chunk from `r`, waiting for it to drain; keeps the chunks not yet consumed. */
function feed(r: ByteReader, inf: InflateRaw): Pump {
  const fed: Buffer[] = []
  /** Input bytes (of this member's deflate data) before fed[0]. */
  let fedStart = 0
  const p: Pump = {
    stop: false,
    eof: false,
    done: Promise.resolve(),
    unused(consumed) {
      const all = Buffer.concat(fed)
      return all.subarray(Math.max(0, consumed - fedStart))
    },
  }
  p.done = (async () => {
    try {
      while (!p.stop && !inf.destroyed) {
        // drop what the inflater has consumed
        while (fed.length && fedStart + fed[0]!.length <= inf.bytesWritten) fedStart += fed.shift()!.length
        const c = await r.chunk()
        if (!c) {
          p.eof = true
          inf.end()
          return
        }
        fed.push(c)
        if (p.stop || inf.destroyed) return
        if (!inf.write(c)) await drained(inf)
      }
    } catch (e) {
      p.error = e as Error
      inf.destroy(e as Error)
    }
  })()
  return p
}

/** 'drain', or the stream is finished one way or another. */
function drained(s: InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const f = () => {
      s.off('drain', f).off('close', f).off('error', f).off('end', f)
      resolve()
    }
    s.on('drain', f).on('close', f).on('error', f).on('end', f)
  })
}

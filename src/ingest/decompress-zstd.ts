/**
 * zstd input, frame by frame, with each frame's content checksum verified.
 *
 * fzstd (pure JS) decodes blocks but skips the 4-byte Content_Checksum, so a flipped bit was read
 * as different data. Here the frames are walked first (RFC 8878 §3.1: frame header, 3-byte block
 * headers with their sizes, the checksum; skippable frames §3.1.2), each zstd frame is decoded by
 * a fresh fzstd `Decompress` fed exactly that frame's bytes, and its output is hashed with XXH64
 * (xxhash-wasm); the low 32 bits must equal the stored checksum (§3.1.1). Several frames
 * (`zstd a b`, `pzstd`, `cat a.zst b.zst`) and skippable frames are read in order.
 *
 * Streaming with bounded memory: an async generator pulled by the line splitter, so decoding
 * waits for the reader; fzstd is fed one field or block at a time, so one step yields at most one
 * block (≤ 128 KiB, §3.1.1.2.3) plus the frame's window.
 *
 * Errors are CompressedDataError at the byte offset of the compressed input: a checksum
 * mismatch (at the checksum field), a file that ends inside a frame ("truncated compressed
 * input"), bytes after the last frame that are not a frame (`zstd -t`: "unsupported format"),
 * corrupt block data. Frames are counted from 1 in file order, skippable ones included.
 */
import type {Readable} from 'node:stream'
import {Decompress} from 'fzstd'
import type {XXHash, XXHashAPI} from 'xxhash-wasm'

import {CompressedDataError} from './decompress-error.js'

/** zstd frame magic 0xFD2FB528 little-endian (RFC 8878 §3.1.1). */
export const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]
const ZSTD_MAGIC_U32 = 0xfd2fb528
/** Skippable frames: magic 0x184D2A50..0x184D2A5F (RFC 8878 §3.1.2). */
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50

let api: Promise<XXHashAPI> | undefined
/** xxhash-wasm, imported and instantiated on first use (a zstd input). */
const xxh = () => (api ??= import('xxhash-wasm').then((m) => m.default()))

const enum St {
  Magic,
  Header,
  BlockHeader,
  BlockBody,
  Checksum,
  SkipSize,
  SkipBody,
}

const hex32 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`

/** Walks zstd frames through pushed chunks; decoded content comes out of push() and end(). */
export class ZstdFrames {
  /** Offset in the compressed input of the next byte pushed. */
  private pos = 0
  private st = St.Magic
  /** A fixed-size field being gathered (magic, header, block header, checksum, skip size). */
  private small = Buffer.alloc(18)
  private have = 0
  private need = 4
  /** Bytes left in the current block body or skippable frame. */
  private left = 0
  private frame = 0
  private frameStart = 0
  private fieldStart = 0
  private checksum = false
  private lastBlock = false
  private dec?: Decompress
  private hash?: XXHash<bigint>
  private out: Uint8Array[] = []

  constructor(private readonly xx: XXHashAPI) {}

  /** Feed compressed bytes; returns the decoded content they completed (possibly none). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.out = []
    let i = 0
    while (i < chunk.length) {
      if (this.st === St.BlockBody || this.st === St.SkipBody) {
        const n = Math.min(this.left, chunk.length - i)
        if (this.st === St.BlockBody) this.feed(chunk.subarray(i, i + n))
        i += n
        this.pos += n
        this.left -= n
        if (this.left === 0) this.afterBody()
        continue
      }
      const n = Math.min(this.need - this.have, chunk.length - i)
      if (this.have === 0) this.fieldStart = this.pos
      this.small.set(chunk.subarray(i, i + n), this.have)
      this.have += n
      i += n
      this.pos += n
      if (this.have === this.need) this.field()
    }
    return this.out
  }

  /** The content decoded by the last push() so far (after it threw). */
  taken(): Uint8Array[] {
    return this.out
  }

  /** The input ended: it must end between frames. */
  end(): void {
    if (this.st === St.Magic && this.have === 0) return
    if (this.st === St.Magic) {
      // the start of a magic number, cut: a truncated file; anything else is not a frame
      const m = this.small.subarray(0, this.have)
      const skip = [0x50, 0x2a, 0x4d, 0x18]
      if (!m.every((x, i) => x === ZSTD_MAGIC[i]) && !m.every((x, i) => (i === 0 ? (x & 0xf0) === 0x50 : x === skip[i]))) this.notAFrame()
      throw new CompressedDataError(`truncated compressed input: the file ends inside the magic number of frame ${this.frame + 1}`, this.pos)
    }
    const where = this.st === St.SkipSize || this.st === St.SkipBody ? 'skippable frame' : 'zstd frame'
    throw new CompressedDataError(`truncated compressed input: the file ends inside ${where} ${this.frame} (which starts at byte ${this.frameStart})`, this.pos)
  }

  private next(st: St, need: number): void {
    this.st = st
    this.need = need
    this.have = 0
  }

  private field(): void {
    const s = this.small
    switch (this.st) {
      case St.Magic: {
        const magic = s.readUInt32LE(0)
        const skippable = ((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC
        if (magic !== ZSTD_MAGIC_U32 && !skippable) this.notAFrame()
        this.frame++
        this.frameStart = this.fieldStart
        if (!skippable) {
          this.dec = new Decompress((data) => {
            if (!data.length) return
            this.hash!.update(data)
            this.out.push(data)
          })
          this.hash = this.xx.create64(0n)
          this.feed(s.subarray(0, 4))
          // the Frame_Header_Descriptor first, then the rest of the header once its size is known
          this.next(St.Header, 1)
        } else this.next(St.SkipSize, 4)
        return
      }
      case St.Header: {
        if (this.need === 1) {
          const fhd = s[0]!
          const single = (fhd >> 5) & 1
          const fcsFlag = fhd >> 6
          const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag
          const didBytes = [0, 1, 2, 4][fhd & 3]!
          this.checksum = ((fhd >> 2) & 1) === 1
          const rest = (single ? 0 : 1) + didBytes + fcsBytes
          this.feed(s.subarray(0, 1))
          if (rest > 0) {
            this.need = 1 + rest
            return
          }
        } else this.feed(s.subarray(1, this.need))
        this.next(St.BlockHeader, 3)
        return
      }
      case St.BlockHeader: {
        const h = s[0]! | (s[1]! << 8) | (s[2]! << 16)
        this.feed(s.subarray(0, 3))
        this.lastBlock = (h & 1) === 1
        const type = (h >> 1) & 3
        const size = h >>> 3
        if (type === 3) throw new CompressedDataError(`zstd frame ${this.frame}: corrupt compressed data (reserved block type 3)`, this.fieldStart)
        // Raw and compressed blocks carry Block_Size bytes; an RLE block one byte (§3.1.1.2.2).
        this.left = type === 1 ? 1 : size
        this.st = St.BlockBody
        this.have = 0
        if (this.left === 0) this.afterBody()
        return
      }
      case St.Checksum: {
        this.feed(s.subarray(0, 4))
        this.endFrame()
        const expected = s.readUInt32LE(0)
        const got = Number(this.hash!.digest() & 0xffffffffn)
        if (got !== expected) {
          throw new CompressedDataError(`zstd frame ${this.frame} content checksum mismatch (expected ${hex32(expected)}, got ${hex32(got)})`, this.fieldStart)
        }
        this.next(St.Magic, 4)
        return
      }
      case St.SkipSize:
        this.left = s.readUInt32LE(0)
        this.st = St.SkipBody
        this.have = 0
        if (this.left === 0) this.afterBody()
        return
      default:
        throw new Error(`zstd: unexpected state ${this.st}`)
    }
  }

  private afterBody(): void {
    if (this.st === St.SkipBody) return this.next(St.Magic, 4)
    if (!this.lastBlock) return this.next(St.BlockHeader, 3)
    if (this.checksum) return this.next(St.Checksum, 4)
    this.endFrame()
    this.next(St.Magic, 4)
  }

  /** The frame's bytes are all fed: let fzstd finish it (it skips the checksum itself). */
  private endFrame(): void {
    this.feed(new Uint8Array(0), true)
    this.dec = undefined
  }

  /** Feed fzstd. It may hold on to a short piece until more comes: fields are copied (`small` is reused). */
  private feed(bytes: Uint8Array, final = false): void {
    if (bytes.buffer === this.small.buffer) bytes = new Uint8Array(bytes)
    try {
      this.dec!.push(bytes, final)
    } catch (e) {
      const err = e as {code?: number; message?: string}
      // fzstd ZstdErrorCode.UnexpectedEOF = 5: a block shorter than its header says
      throw new CompressedDataError(`zstd frame ${this.frame}: corrupt compressed data (${err.code === 5 ? 'block data ends early' : (err.message ?? String(e))})`, this.pos)
    }
  }

  private notAFrame(): never {
    const bytes = [...this.small.subarray(0, this.have)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    throw new CompressedDataError(
      `expected a zstd frame (magic 28 b5 2f fd) or a skippable frame after frame ${this.frame}, got bytes ${bytes}${this.have < 4 ? ' and the end of the file' : ''} (\`zstd -t\`: unsupported format)`,
      this.fieldStart,
    )
  }
}

/** Decode a zstd stream (every frame checked); pulled, so memory stays bounded. */
export async function* decodeZstd(input: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const frames = new ZstdFrames(await xxh())
  for await (const chunk of input as AsyncIterable<Uint8Array>) {
    let outs: Uint8Array[]
    let error: unknown
    try {
      outs = frames.push(chunk)
    } catch (e) {
      // what the chunk decoded before the error goes first: the lines before it are read
      outs = frames.taken()
      error = e
    }
    for (const data of outs) yield Buffer.from(data.buffer, data.byteOffset, data.length)
    if (error) throw error
  }
  frames.end()
}

/**
 * Compressed input, recognised by magic bytes (never by file name) and decoded as a stream;
 * source.ts reads every input through COMPRESSION_FORMATS below.
 *
 * - gzip: Node's zlib raw inflate under a member walker that reads headers and checks trailers
 *   itself, so damage is placed by byte offset and what follows the last member is judged as
 *   `gzip -t` judges it (decompress-gzip.ts).
 * - zstd: Node 20's zlib has none: fzstd (pure JS) under a frame walker that verifies each
 *   frame's content checksum (decompress-zstd.ts); several frames and skippable frames as written
 *   by `zstd`, `pzstd`, `zstd -T0`.
 * - xz: xz-decompress (xz-embedded compiled to WebAssembly, shipped in the package; a WHATWG
 *   ReadableStream bridged with Readable.toWeb/fromWeb).
 *
 * A damaged file: the lines decoded before the damage are delivered, then the stream fails with a
 * CompressedDataError at a byte offset of the compressed file, which splitLines() turns into
 * `InputError("<file>:<offset>: …")`. gzip and zstd know the exact offset; xz-decompress gives
 * none, so an xz error is placed at the compressed bytes handed to it so far (XZ_SLICE).
 */
import {createRequire} from 'node:module'
import {Readable, Transform} from 'node:stream'
import type {ReadableStream as WebReadableStream} from 'node:stream/web'

import {CompressedDataError} from './decompress-error.js'
import {decodeGzip} from './decompress-gzip.js'
import {decodeZstd, ZSTD_MAGIC} from './decompress-zstd.js'

/**
 * xz-decompress, loaded on the first xz input rather than with every command that reads a file
 * (its wasm decoder costs about a fifth of `node -e 0`'s start-up). It is a webpack-built
 * CommonJS bundle, so it is required: synchronously, as xzDecoder() returns its stream at once.
 */
let xzModule: typeof import('xz-decompress') | undefined
const xzDecompress = () => (xzModule ??= createRequire(import.meta.url)('xz-decompress') as typeof import('xz-decompress'))

/** xz stream header magic (xz file format 1.0.4 §2.1.1.1). */
export const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]

/** zstd, every frame's content checksum verified (decompress-zstd.ts). */
export function zstdDecoder(input: Readable): Readable {
  return Readable.from(decodeZstd(input), {objectMode: false})
}

/**
 * Compressed bytes handed to xz-embedded per pull. It reports no position, so an error is placed
 * at the bytes pulled so far: the damage is at or before that offset, within this much.
 */
const XZ_SLICE = 64 * 1024

/** Decode xz through the wasm xz-embedded decoder. */
export function xzDecoder(input: Readable): Readable {
  const pulled = {bytes: 0}
  async function* slices(): AsyncGenerator<Buffer> {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (let o = 0; o < chunk.length; o += XZ_SLICE) {
        const s = chunk.subarray(o, o + XZ_SLICE)
        pulled.bytes += s.length
        yield s
      }
    }
  }
  const web = Readable.toWeb(Readable.from(slices(), {objectMode: false})) as unknown as ReadableStream<Uint8Array>
  const xz = new (xzDecompress().XzReadableStream)(web)
  const out = Readable.fromWeb(xz as unknown as WebReadableStream<Uint8Array>)
  // Rename xz-embedded's numeric error to something a user can act on.
  const mapped = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      cb(null, chunk)
    },
  })
  out.on('error', (e: Error) => mapped.destroy(xzError(e, pulled.bytes)))
  input.on('error', (e) => mapped.destroy(e))
  return out.pipe(mapped)
}

/** xz-embedded's `enum xz_ret` (xz.h), as reported by xz-decompress ("… error code N"). */
const XZ_RET: Record<number, string> = {
  2: 'unsupported integrity check',
  3: 'out of memory',
  4: 'dictionary larger than the memory limit',
  5: 'not an xz stream',
  6: 'unsupported xz options',
  7: 'corrupt data',
}
const XZ_BUF_ERROR = 8

function xzError(e: Error, pulled: number): Error {
  const m = e.message ?? String(e)
  const code = Number(/error code (\d+)/.exec(m)?.[1] ?? NaN)
  // XZ_BUF_ERROR: the decoder needed more input and there is none, i.e. the file was cut.
  if (code === XZ_BUF_ERROR) return new CompressedDataError('truncated compressed input: the file ends inside an xz stream (`xz -t`: "unexpected end of input")', pulled)
  if (Number.isNaN(code)) return new Error(`xz: ${m}`)
  return new CompressedDataError(`xz: corrupt compressed data (${XZ_RET[code] ?? m}), at or before this offset (xz-embedded gives no exact position)`, pulled)
}

export {ZSTD_MAGIC}

export type Decoder = (input: Readable) => Readable

/**
 * The compression formats every input is checked for, by magic bytes (never by name). source.ts
 * reads through this table, so every command decompresses the same way.
 */
export const COMPRESSION_FORMATS: readonly {name: string; bytes: readonly number[]; decoder: Decoder}[] = [
  {name: 'gzip', bytes: [0x1f, 0x8b], decoder: (input) => Readable.from(decodeGzip(input), {objectMode: false})},
  {name: 'zstd', bytes: ZSTD_MAGIC, decoder: zstdDecoder},
  {name: 'xz', bytes: XZ_MAGIC, decoder: xzDecoder},
]

/** The format whose magic `head` starts with, or undefined. */
export function compressionOf(head: Uint8Array): (typeof COMPRESSION_FORMATS)[number] | undefined {
  return COMPRESSION_FORMATS.find((m) => head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b))
}

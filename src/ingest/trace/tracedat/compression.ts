/**
 * Decompression of trace.dat v7 sections and flyrecord chunks (trace-cmd.dat.v7(5), COMPRESSION
 * FORMAT OF THE FILE SECTIONS / OF THE TRACE DATA; trace-cmd lib/trace-cmd/trace-compress.c
 * tracecmd_uncompress_block(), tracecmd_load_chunks_info()).
 *
 * A compressed section: `<4 compressed size><4 uncompressed size><data>`. Flyrecord data of one
 * CPU: `<4 chunk count>` then per chunk `<4 compressed size><4 uncompressed size><data>`, each
 * chunk a whole number of ring-buffer pages once decompressed. trace-cmd writes zstd frames
 * without a content size, so the uncompressed size comes from the chunk header (fzstd is given an
 * output buffer of exactly that size). zlib (trace-cmd's compress-zlib: compress2()/uncompress(),
 * zlib-wrapped deflate) goes through node:zlib.
 */
import {inflateSync} from 'node:zlib'

import {decompress as zstdDecompress} from 'fzstd'

/** Refuse to allocate more than this for one section or chunk (a corrupt size field). */
export const MAX_UNCOMPRESSED = 256 * 1024 * 1024

export type Codec = 'none' | 'zstd' | 'zlib'

export function codecOf(name: string): Codec | undefined {
  if (name === 'none' || name === '') return 'none'
  if (name === 'zstd') return 'zstd'
  if (name === 'zlib') return 'zlib'
  return undefined
}

/**
 * Decompress one block to exactly `size` bytes. Throws a plain Error with the reason (the caller
 * adds file and offset).
 */
export function uncompressBlock(codec: Codec, data: Uint8Array, size: number): Uint8Array {
  if (size > MAX_UNCOMPRESSED) throw new Error(`expected an uncompressed size up to ${MAX_UNCOMPRESSED}, got ${size}`)
  if (codec === 'none') {
    if (data.length !== size) throw new Error(`expected ${size} bytes, got ${data.length}`)
    return data
  }
  let out: Uint8Array
  try {
    if (codec === 'zstd') {
      const buf = new Uint8Array(size)
      out = zstdDecompress(data, buf)
    } else {
      out = inflateSync(data, {maxOutputLength: Math.max(1, size)})
    }
  } catch (e) {
    throw new Error(`expected ${codec} data that decompresses to ${size} bytes, got an error: ${(e as Error).message}`)
  }
  if (out.length !== size) throw new Error(`expected ${codec} data that decompresses to ${size} bytes, got ${out.length}`)
  return out
}

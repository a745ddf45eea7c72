/**
 * How many bytes of text an input will decode to, before reading it: for progress and its ETA,
 * never for correctness. Read from the container where it says so — gzip's ISIZE trailer
 * (RFC 1952 §2.3.1: size mod 2^32 of the last member), zstd's Frame_Content_Size (RFC 8878
 * §3.1.1.1.4, when the encoder wrote it) — else the compressed size times a typical ratio.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

import {XZ_MAGIC} from './decompress.js'

export type Compression = 'gzip' | 'zstd' | 'xz'

/**
 * Typical text-trace compression ratios, measured on samples/ (gzip -9 of tracefs text: 6.19
 * trace.txt.gz 57.3 MB / 2.39 MB = 24, 7.3 trace.txt.gz 3.08 MB / 164 KB = 19; zstd -19 and xz
 * -6 of the same text land near and above those). An estimate only: used when the container
 * does not carry the size.
 */
export const ESTIMATED_RATIO: Readonly<Record<Compression, number>> = {gzip: 20, zstd: 20, xz: 25}

export interface ExpectedSize {
  /** Bytes on disk. */
  bytes: number
  compression?: Compression
  /** Decoded bytes: exact from the container, or bytes × ESTIMATED_RATIO. */
  expected: number
  /** Whether `expected` was read from the container (else estimated, or the file is plain). */
  known: boolean
}

const GZIP_MAGIC = [0x1f, 0x8b]
const ZSTD_MAGIC_LE = 0xfd2fb528

/**
 * zstd Frame_Content_Size from a frame header at `buf` (RFC 8878 §3.1.1.1): descriptor bits 7-6
 * FCS_Field_Size flag, bit 5 Single_Segment, bits 1-0 Dictionary_ID flag. undefined when absent.
 */
export function zstdFrameContentSize(buf: Buffer): number | undefined {
  if (buf.length < 6 || buf.readUInt32LE(0) !== ZSTD_MAGIC_LE) return undefined
  const fhd = buf[4]!
  const fcsFlag = fhd >> 6
  const single = (fhd >> 5) & 1
  const didSize = [0, 1, 2, 4][fhd & 3]!
  const fcsSize = fcsFlag === 0 ? single : [1, 2, 4, 8][fcsFlag]!
  if (fcsSize === 0) return undefined
  const at = 5 + (single ? 0 : 1) + didSize
  if (buf.length < at + fcsSize) return undefined
  switch (fcsSize) {
    case 1:
      return buf[at]!
    case 2:
      return buf.readUInt16LE(at) + 256
    case 4:
      return buf.readUInt32LE(at)
    default:
      return Number(buf.readBigUInt64LE(at))
  }
}

/** What `path` will decode to (see the module comment). A file that cannot be read: undefined (the reader reports it). */
export function expectedSize(path: string): ExpectedSize | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return undefined
    const bytes = st.size
    const head = Buffer.alloc(18)
    const n = readSync(fd, head, 0, head.length, 0)
    const is = (magic: readonly number[]): boolean => n >= magic.length && magic.every((b, i) => head[i] === b)
    if (is(GZIP_MAGIC)) {
      // ISIZE: the last member's size mod 2^32. Several members (pigz -i, concatenation) or ≥ 4 GiB
      // make it too small; a text trace never shrinks, so a value below the compressed size is not trusted.
      const tail = Buffer.alloc(4)
      if (bytes >= 18 && readSync(fd, tail, 0, 4, bytes - 4) === 4) {
        const isize = tail.readUInt32LE(0)
        if (isize >= bytes) return {bytes, compression: 'gzip', expected: isize, known: true}
      }
      return {bytes, compression: 'gzip', expected: bytes * ESTIMATED_RATIO.gzip, known: false}
    }
    if (n >= 4 && head.readUInt32LE(0) === ZSTD_MAGIC_LE) {
      // The first frame's size: the whole file's for `zstd`; pzstd's frames are chunks, whose
      // size is then below the file's and not trusted.
      const fcs = zstdFrameContentSize(head.subarray(0, n))
      if (fcs !== undefined && fcs >= bytes) return {bytes, compression: 'zstd', expected: fcs, known: true}
      return {bytes, compression: 'zstd', expected: bytes * ESTIMATED_RATIO.zstd, known: false}
    }
    if (is(XZ_MAGIC)) return {bytes, compression: 'xz', expected: bytes * ESTIMATED_RATIO.xz, known: false}
    return {bytes, expected: bytes, known: true}
  } finally {
    closeSync(fd)
  }
}

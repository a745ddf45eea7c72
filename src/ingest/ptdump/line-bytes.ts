/**
 * The range-line tokenizer of ./line.ts on bytes: the common line (ASCII, the kernel's layout)
 * parsed straight from the input Buffer, no string per line. It accepts a line only where
 * parseRangeLine() would return the same fields; anything else (bad format, a non-kernel
 * address, NUL or non-ASCII bytes) returns false and the reader decodes that line and takes the
 * string path, which owns every diagnostic.
 *
 * The attribute columns repeat on every line (a few dozen distinct texts per dump): they are
 * hashed in place and mapped to the AttrInfo parsed once from their text (parseAttrs()).
 */
import {KVA_END} from '../../model/address.js'
import {type AttrInfo, type RangeFields, parseAttrs, unitIndex} from './line.js'

/** Hex digit values by byte (-1: not a hex digit). */
const HEX = (() => {
  const t = new Int8Array(256).fill(-1)
  for (let i = 0; i < 10; i++) t[48 + i] = i
  for (let i = 0; i < 6; i++) t[65 + i] = t[97 + i] = 10 + i
  return t
})()

/** parseHex16() of line.ts on bytes: the Kva, -1 for all zeros, -2 non-kernel, -3 not hex. */
function hex16(b: Buffer, p: number): number {
  const d0 = HEX[b[p]!]!
  const d1 = HEX[b[p + 1]!]!
  const d2 = HEX[b[p + 2]!]!
  if ((d0 | d1 | d2) < 0) return -3
  const top = (d0 << 8) | (d1 << 4) | d2
  // 13 digits = 52 bits: the high 5 digits and the low 8 digits as 32-bit integers
  let hi = 0
  for (let i = 3; i < 8; i++) {
    const d = HEX[b[p + i]!]!
    if (d < 0) return -3
    hi = (hi << 4) | d
  }
  let lo = 0
  for (let i = 8; i < 16; i++) {
    const d = HEX[b[p + i]!]!
    if (d < 0) return -3
    lo = ((lo << 4) | d) >>> 0
  }
  const v = hi * 4294967296 + lo
  if (top === 0xfff) return v
  if (top === 0 && v === 0) return -1
  return -2
}

/** LEVEL_CODE of the three bytes at b[i..i+3), or -1. */
function levelCodeAt(b: Buffer, i: number): number {
  if (b[i] !== 80) return -1 // P
  const x = b[i + 1]
  if (b[i + 2] === 68) {
    // ?D
    if (x === 77) return 1 // PMD
    if (x === 85) return 2 // PUD
    if (x === 52) return 3 // P4D
    if (x === 71) return 4 // PGD
    return -1
  }
  return x === 84 && b[i + 2] === 69 ? 0 : -1 // PTE
}

interface AttrEntry {
  bytes: Buffer
  info: AttrInfo | null
}

/**
 * Attribute texts by their bytes: a hash of the bytes picks an entry, a byte comparison confirms
 * it. The text is decoded (and parsed, through parseAttrs()'s cache) once per distinct text.
 */
export class AttrIntern {
  private readonly byHash = new Map<number, AttrEntry>()
  private last: AttrEntry | undefined
  private prev: AttrEntry | undefined
  /** Distinct texts kept at most (a garbled dump could hold many): beyond, parsed per line. */
  private static readonly MAX = 4096

  /**
   * AttrInfo of b[s..e) (after the level name), or null for blanks only; undefined when the
   * bytes hold NUL or non-ASCII (the caller takes the string path).
   */
  lookup(b: Buffer, s: number, e: number): AttrInfo | null | undefined {
    const n = e - s
    // Neighbouring lines mostly alternate between two texts: compare with them first.
    let m = this.last
    if (m !== undefined && m.bytes.length === n && same(m.bytes, b, s, n)) return m.info
    m = this.prev
    if (m !== undefined && m.bytes.length === n && same(m.bytes, b, s, n)) {
      this.prev = this.last
      this.last = m
      return m.info
    }
    let h = 0x811c9dc5
    let bad = 0
    for (let i = s; i < e; i++) {
      const c = b[i]!
      bad |= c === 0 ? 128 : c
      h = Math.imul(h ^ c, 0x01000193)
    }
    if (bad & 128) return undefined
    m = this.byHash.get(h)
    if (m === undefined || m.bytes.length !== n || !same(m.bytes, b, s, n)) {
      const info = parseAttrs(b.toString('latin1', s, e), 0)
      if (m !== undefined || this.byHash.size >= AttrIntern.MAX) return info
      m = {bytes: Buffer.from(b.subarray(s, e)), info}
      this.byHash.set(h, m)
    }
    this.prev = this.last
    this.last = m
    return m.info
  }
}

function same(a: Buffer, b: Buffer, s: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[s + i]) return false
  return true
}

/**
 * parseRangeLine() on b[s..e) (a line without its newline or carriage return, mail quoting not
 * stripped: the caller passes lines that start with "0"). True with the fields in `out` where
 * parseRangeLine() would succeed with the same fields; false for anything else.
 */
export function parseRangeBytes(b: Buffer, s: number, e: number, out: RangeFields, attrs: AttrIntern): boolean {
  const n = e - s
  if (n < 44 || b[s] !== 48 || (b[s + 1]! | 32) !== 120 || b[s + 18] !== 45) return false
  if (b[s + 19] !== 48 || (b[s + 20]! | 32) !== 120) return false
  const start = hex16(b, s + 2)
  const endRaw = hex16(b, s + 21)
  if (start < 0 || endRaw === -3 || endRaw === -2) return false
  let i = s + 37
  // the kernel prints three spaces then %9lu; any run of blanks is accepted (condensed docs)
  const sepStart = i
  for (; i < e; i++) {
    const c = b[i]
    if (c !== 32 && c !== 9) break
  }
  if (i === sepStart) return false
  let num = 0
  const numStart = i
  for (; i < e; i++) {
    const c = b[i]!
    if (c < 48 || c > 57) break
    num = num * 10 + (c - 48)
  }
  if (i === numStart || i >= e) return false
  const unit = unitIndex(b[i]!)
  if (unit < 0) return false
  i++
  if (i >= e || b[i] !== 32) return false
  i++
  if (i + 3 > e) return false
  const level = levelCodeAt(b, i)
  if (level < 0) return false
  i += 3
  let a: AttrInfo | null = null
  if (i < e) {
    const c = b[i]
    if (c !== 32 && c !== 9) return false
    const got = attrs.lookup(b, i, e)
    if (got === undefined) return false
    a = got
  }
  out.start = start
  out.end = endRaw === -1 ? KVA_END : endRaw
  out.sizeNum = num
  out.unit = unit
  out.level = level
  out.attrs = a
  return true
}

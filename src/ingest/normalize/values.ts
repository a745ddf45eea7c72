/**
 * Argument values as the trace formats print them (docs/trace-text-quirks.md#radix): look at the
 * `0x` prefix, never assume a radix from the name; `int` arguments fetched from a 64-bit register
 * (`%x1` without `:s32`) carry garbage in bits 63:32 (AAPCS64), so they are cut to 32 bits and
 * sign-extended. The `…Bytes(buf, s, e, text, off)` forms parse the bytes of a line in place, for
 * the fused fast path.
 */
import {type Kva, kvaFromBigInt, parseKva} from '../../model/address.js'

/** Parse a kernel address in any radix the formats use (docs/trace-text-quirks.md#radix). */
export function parseAddr(text: string): Kva | undefined {
  const c0 = text.charCodeAt(0)
  if (c0 === 48 /* 0 */ && (text.charCodeAt(1) | 32) === 120 /* x */) {
    if (text.length === 18 && (text.charCodeAt(2) | 32) === 102 && (text.charCodeAt(3) | 32) === 102 && (text.charCodeAt(4) | 32) === 102) {
      // 0xfffXXXXXXXXXXXXX: the 13 low digits are the Kva (model/address.ts), exact in a double
      let v = 0
      for (let i = 5; i < 18; i++) {
        const d = hexVal(text.charCodeAt(i))
        if (d < 0) return undefined
        v = v * 16 + d
      }
      return v
    }
    return parseKva(text)
  }
  if (/^[0-9a-f]{9,16}$/.test(text) && /[a-f]/.test(text)) return parseKva('0x' + text) // bare hex (%lx)
  if (/^-\d{1,19}$/.test(text)) {
    const v = BigInt(text)
    return v < -I64_LIMIT ? undefined : kvaFromBigInt(BigInt.asUintN(64, v))
  }
  if (/^\d{1,20}$/.test(text)) {
    if (text.length < 19) return undefined // below 0xfff0000000000000 = 18442240474082181120
    return kvaFromBigInt(BigInt(text))
  }
  return undefined
}

/**
 * parseAddr() of the bytes `buf[s, e)`, whose characters are `text[s + off, e + off)`: in place
 * for the common `0xfff…` (18 bytes) form, else via the text.
 */
export function parseAddrBytes(buf: Uint8Array, s: number, e: number, text: string, off: number): Kva | undefined {
  if (e - s === 18 && buf[s] === 48 && (buf[s + 1]! | 32) === 120 && (buf[s + 2]! | 32) === 102 && (buf[s + 3]! | 32) === 102 && (buf[s + 4]! | 32) === 102) {
    // 0xfffXXXXXXXXXXXXX: the 13 low digits are the Kva (model/address.ts), exact in a double
    let v = 0
    for (let i = s + 5; i < e; i++) {
      const d = hexVal(buf[i]!)
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v
  }
  return parseAddr(text.slice(s + off, e + off))
}

/** int32() of the bytes `buf[s, e)` (characters `text[s + off, e + off)`): in place for `0x` + 1–8 hex digits, else via the text. */
export function int32Bytes(buf: Uint8Array, s: number, e: number, text: string, off: number): number | undefined {
  const len = e - s
  if (len >= 3 && len <= 10 && buf[s] === 48 && buf[s + 1] === 120) {
    let v = 0
    for (let i = s + 2; i < e; i++) {
      const d = hexVal(buf[i]!)
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v >= 2 ** 31 ? v - 2 ** 32 : v
  }
  return int32(text.slice(s + off, e + off))
}

/** uint() of the bytes `buf[s, e)` (characters `text[s + off, e + off)`): in place for `0x` + 1–13 hex digits (exact in a double), else via the text. */
export function uintBytes(buf: Uint8Array, s: number, e: number, text: string, off: number): number | undefined {
  const len = e - s
  if (len >= 3 && len <= 15 && buf[s] === 48 && buf[s + 1] === 120) {
    let v = 0
    for (let i = s + 2; i < e; i++) {
      const d = hexVal(buf[i]!)
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v
  }
  return uint(text.slice(s + off, e + off))
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const l = c | 32
  if (l >= 97 && l <= 102) return l - 87
  return -1
}

/** Unsigned value (size, count) as an exact number; undefined when not a number or ≥ 2^53. */
export function uint(text: string): number | undefined {
  let v: number
  if (text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    if (text.length < 3 || !/^0x[0-9a-fA-F]+$/.test(text)) return undefined
    v = Number.parseInt(text.slice(2), 16)
  } else if (/^\d+$/.test(text)) v = Number(text)
  else return undefined
  return Number.isSafeInteger(v) ? v : undefined
}

/** Low 32 bits of a register value (hex, decimal or negative decimal), as an unsigned number. */
export function uint32(text: string): number | undefined {
  if (text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    if (text.length < 3 || text.length > 18 || !/^0x[0-9a-fA-F]+$/.test(text)) return undefined
    return Number.parseInt(text.length > 10 ? text.slice(-8) : text.slice(2), 16)
  }
  if (/^-?\d{1,20}$/.test(text)) return Number(BigInt.asUintN(32, BigInt(text)))
  return undefined
}

/** An `int` argument: low 32 bits, sign-extended (AAPCS64 leaves bits 63:32 unknown). */
export function int32(text: string): number | undefined {
  const u = uint32(text)
  if (u === undefined) return undefined
  return u >= 2 ** 31 ? u - 2 ** 32 : u
}

const U64_LIMIT = 1n << 64n
const I64_LIMIT = 1n << 63n

/** A full 64-bit value: hex, decimal or negative decimal; undefined when it does not fit 64 bits. */
export function u64(text: string): bigint | undefined {
  if (/^0x[0-9a-fA-F]{1,16}$/.test(text)) return BigInt(text)
  if (/^-?\d{1,20}$/.test(text)) {
    // %lu up to 2^64 - 1, or %ld down to -2^63 (two's complement): anything else does not fit
    // the register it was printed from, and must not wrap silently.
    const v = BigInt(text)
    if (v >= U64_LIMIT || v < -I64_LIMIT) return undefined
    return BigInt.asUintN(64, v)
  }
  if (/^[0-9a-f]{1,16}$/.test(text)) return BigInt('0x' + text)
  return undefined
}

/**
 * Kernel virtual addresses, exactly.
 *
 * A 64-bit kernel VA does not fit a JS number. Every arm64 kernel VA, on every configuration the
 * kernel supports (VA_BITS 36..52), lies in [0xfff0_0000_0000_0000, 2^64): the lowest possible
 * linear-map start is `_PAGE_OFFSET(52) = -(1 << 52)` (arch/arm64/include/asm/memory.h). So we
 * represent a kernel VA once and everywhere as its **offset from KVA_BASE = 0xfff0000000000000**:
 * an integer in [0, 2^52]. 2^52 < 2^53, so every offset, sum and difference of two offsets, and
 * every multiple of a page size in that range is an exact double: no BigInt in hot paths, no
 * rounding. 2^52 itself stands for the address 2^64, the exclusive end of the last ptdump line
 * (printed as 0x0000000000000000).
 *
 * Alignment arithmetic must not use 32-bit bitwise operators; use `alignDown`/`isAligned`, which
 * work with `%` on exact doubles.
 */

/** Offset in bytes of a kernel VA from KVA_BASE. Always an integer in [0, KVA_END]. */
export type Kva = number

export const KVA_BASE = 0xfff0000000000000n
/** The offset of address 2^64 (one past the last kernel byte). */
export const KVA_END: Kva = 2 ** 52

const HEX16 = /^0x[0-9a-fA-F]{1,16}$/

/**
 * Parse a `0x…` hex kernel address (as printed by ptdump or a trace) into a Kva.
 * Returns undefined when the text is not hex or the address is below KVA_BASE (a user address,
 * a NULL, or a value that is not a kernel VA).
 * Fast path: the kernel prints `0x%016lx`; the top three digits must be `fff` and the other 13
 * digits (52 bits) are parsed as one exact double.
 */
export function parseKva(text: string): Kva | undefined {
  if (text.length === 18 && text.charCodeAt(0) === 48 /* 0 */ && (text.charCodeAt(1) | 32) === 120 /* x */) {
    const c2 = text.charCodeAt(2) | 32
    const c3 = text.charCodeAt(3) | 32
    const c4 = text.charCodeAt(4) | 32
    if (c2 === 102 && c3 === 102 && c4 === 102) {
      const low = text.slice(5)
      const v = Number.parseInt(low, 16)
      // parseInt stops at the first non-hex digit: make sure all 13 were digits.
      if (Number.isNaN(v) || !/^[0-9a-fA-F]{13}$/.test(low)) return undefined
      return v
    }
  }
  if (!HEX16.test(text)) return undefined
  return kvaFromBigInt(BigInt(text))
}

/** Convert a full 64-bit address to a Kva, or undefined if it is below KVA_BASE. 2^64 maps to KVA_END. */
export function kvaFromBigInt(addr: bigint): Kva | undefined {
  if (addr === 1n << 64n) return KVA_END
  if (addr < KVA_BASE || addr > 0xffffffffffffffffn) return undefined
  return Number(addr - KVA_BASE)
}

/** Format as the kernel does (`0x%016lx`); KVA_END prints as 0x0000000000000000 like ptdump's last line. */
export function formatKva(kva: Kva): string {
  if (kva === KVA_END) return '0x0000000000000000'
  return '0xfff' + kva.toString(16).padStart(13, '0')
}

/** Kva of the arm64 `_PAGE_OFFSET(vaBits)` = -(1 << vaBits), the start of the linear map. */
export function pageOffsetKva(vaBits: number): Kva {
  return KVA_END - 2 ** vaBits
}

export function alignDown(x: number, size: number): number {
  return x - (x % size)
}

export function alignUp(x: number, size: number): number {
  const r = x % size
  return r === 0 ? x : x + (size - r)
}

/**
 * x % size === 0, without the float remainder (a call into C, slow for the ~2^40 ratios of a Kva
 * to a page size): for integers |x| < 2^53 and size ≥ 1, x / size rounds to an integer exactly
 * when size divides x (otherwise its fraction is at least 1/size, more than half its ulp).
 */
export function isAligned(x: number, size: number): boolean {
  return Number.isInteger(x / size)
}

/**
 * [a, b) cut at the aligned boundaries of g: an unaligned head, the whole aligned groups in the
 * middle, an unaligned tail — each as [start, end, whole]. (alloc_init_cont_pte/pmd's loop.)
 */
export function alignedChunks(a: number, b: number, g: number): [number, number, boolean][] {
  const lo = alignUp(a, g)
  const hi = alignDown(b, g)
  if (hi <= lo) return a < b ? [[a, b, false]] : []
  const out: [number, number, boolean][] = []
  if (a < lo) out.push([a, lo, false])
  out.push([lo, hi, true])
  if (hi < b) out.push([hi, b, false])
  return out
}

/** Number of trailing zero bits of a non-negative integer < 2^53 (the kernel's __ffs); 53 for 0. */
export function ffs(x: number): number {
  if (x === 0) return 53
  let n = 0
  while (x % 2 === 0) {
    // x / 2 is exact for integers below 2^53
    x /= 2
    n++
  }
  return n
}

/** Human size with a binary unit, e.g. 4096 → "4K", 2**30 → "1G", 0x3000 → "12K". Exact (ptdump style). */
export function formatSize(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P', 'E']
  let v = bytes / 1024
  let u = 0
  if (!Number.isInteger(v)) return `${bytes}B`
  while (u < units.length - 1 && v >= 1024 && v % 1024 === 0) {
    v /= 1024
    u++
  }
  return `${v}${units[u]}`
}

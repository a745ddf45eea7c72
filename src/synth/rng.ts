/**
 * A small seeded PRNG (mulberry32) so that synthesized machines and workloads are reproducible
 * from --seed on every platform and Node version (Math.random cannot be seeded).
 */
export class Rng {
  private s: number

  constructor(seed: number) {
    this.s = (Math.floor(seed) >>> 0) ^ 0x9e3779b9
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [0, n). n may exceed 2^32 (the result is exact below 2^53). */
  int(n: number): number {
    if (n <= 4294967296) return Math.floor(this.next() * n)
    // Two draws for large ranges (page numbers of a multi-TB machine).
    const hi = Math.floor(this.next() * Math.ceil(n / 4294967296))
    const v = hi * 4294967296 + Math.floor(this.next() * 4294967296)
    return v % n
  }

  /** Integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** A small size with a long tail (module sections, BPF programs): 1 + floor(max × u²). */
  skewed(max: number): number {
    const u = this.next()
    return 1 + Math.floor(max * u * u)
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
}

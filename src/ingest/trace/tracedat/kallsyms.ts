/**
 * Address → symbol from the /proc/kallsyms text a trace.dat carries, for `%ps` in print fmts
 * (ftrace `print` names its writer: `tracing_mark_write`). Not parsed at open: the text is ~10 MB
 * (and zstd-compressed in v7). A lookup streams it from the start (decompressing as it goes) and
 * stops as soon as the answer is certain: while the lines seen are in ascending address order
 * (the core kernel's part of kallsyms), the first symbol above the address closes the search;
 * otherwise the whole text is scanned. Answers are cached: a trace prints very few distinct
 * addresses this way.
 */
import {Decompress} from 'fzstd'
import {inflateSync} from 'node:zlib'

/** Where the kallsyms text lives: raw bytes, or compressed bytes and their codec. */
export interface KallsymsSource {
  codec: 'none' | 'zstd' | 'zlib'
  data: Uint8Array
}

const SLICE = 64 * 1024

export class Kallsyms {
  private readonly cache = new Map<bigint, {name: string; offset: bigint} | undefined>()

  constructor(private readonly src: KallsymsSource) {}

  lookup(addr: bigint): {name: string; offset: bigint} | undefined {
    if (this.cache.has(addr)) return this.cache.get(addr)
    // compressed, the text is preceded by its 4-byte size (the section's uncompressed form)
    const scan = new Scan(addr, this.src.codec === 'none' ? 0 : 4)
    try {
      this.stream((chunk) => scan.feed(chunk))
    } catch {
      // a corrupt kallsyms: use what was scanned (the caller prints the bare address otherwise)
    }
    scan.end()
    const r = scan.best === undefined || scan.best === 0n ? undefined : {name: scan.bestName, offset: addr - scan.best}
    if (this.cache.size < 4096) this.cache.set(addr, r)
    return r
  }

  /** Feed the text in pieces until `feed` returns false. */
  private stream(feed: (b: Uint8Array) => boolean): void {
    const {codec, data} = this.src
    if (codec === 'none') {
      for (let i = 0; i < data.length; i += SLICE) if (!feed(data.subarray(i, Math.min(data.length, i + SLICE)))) return
      return
    }
    if (codec === 'zlib') {
      feed(inflateSync(data))
      return
    }
    let go = true
    const d = new Decompress((chunk) => {
      if (go) go = feed(chunk)
    })
    for (let i = 0; i < data.length && go; i += SLICE) d.push(data.subarray(i, Math.min(data.length, i + SLICE)), i + SLICE >= data.length)
  }
}

/** The running search over `addr sym-type name [module]` lines. */
class Scan {
  best: bigint | undefined
  bestName = ''
  private carry: Uint8Array | undefined
  private prev = -1n
  private sorted = true
  private done = false

  constructor(
    private readonly addr: bigint,
    private skip: number,
  ) {}

  feed(chunk: Uint8Array): boolean {
    if (this.done) return false
    let t = chunk
    if (this.skip > 0) {
      const k = Math.min(this.skip, t.length)
      t = t.subarray(k)
      this.skip -= k
    }
    if (this.carry) {
      const c = new Uint8Array(this.carry.length + t.length)
      c.set(this.carry)
      c.set(t, this.carry.length)
      t = c
      this.carry = undefined
    }
    let i = 0
    for (;;) {
      const e = t.indexOf(10, i)
      if (e < 0) break
      if (!this.line(t, i, e)) {
        this.done = true
        return false
      }
      i = e + 1
    }
    if (i < t.length) this.carry = t.slice(i)
    return true
  }

  end(): void {
    if (this.carry && !this.done) this.line(this.carry, 0, this.carry.length)
  }

  /** false when the search is over. */
  private line(t: Uint8Array, i: number, e: number): boolean {
    let hi = 0
    let lo = 0
    let k = i
    for (; k < e; k++) {
      const c = t[k]!
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
      if (d < 0) break
      if (k - i < 8) hi = hi * 16 + d
      else lo = lo * 16 + d
    }
    const digits = k - i
    if ((digits !== 16 && digits !== 8) || t[k] !== 32) return true
    const v = digits === 16 ? (BigInt(hi) << 32n) | BigInt(lo) : BigInt(hi)
    if (v < this.prev) this.sorted = false
    this.prev = v
    if (v <= this.addr) {
      if (this.best === undefined || v > this.best) {
        const s = k + 3 // ` T `
        let ne = s
        while (ne < e && t[ne] !== 32 && t[ne] !== 9) ne++
        this.best = v
        this.bestName = Buffer.from(t.buffer, t.byteOffset + s, Math.max(0, ne - s)).toString('latin1')
      }
      return true
    }
    // above the address: in the sorted part, nothing later can be closer
    return !(this.sorted && this.best !== undefined)
  }
}

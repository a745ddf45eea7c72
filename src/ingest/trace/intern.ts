/**
 * Interns short strings cut out of a line (event names, comms, argument names) without
 * allocating on a hit: a hash over the characters picks a slot, the candidate is compared in
 * place. Repeated names then share one flat string — no per-line allocation, fast property
 * lookups downstream, and no reference into the 1 MB chunk the line was cut from.
 */
export class Interner {
  private readonly table: (string | undefined)[]
  private readonly mask: number
  private size = 0
  constructor(bits = 14) {
    this.table = new Array<string | undefined>(1 << bits)
    this.mask = (1 << bits) - 1
  }

  get(line: string, start: number, end: number): string {
    const len = end - start
    if (len > 96 || len <= 0) return line.slice(start, end)
    // a sampled hash (length, ends, middle): names differ there; the compare below is exact
    const c0 = line.charCodeAt(start)
    const c1 = line.charCodeAt(end - 1)
    const cm = line.charCodeAt(start + (len >> 1))
    const c2 = len > 3 ? line.charCodeAt(end - 3) : 0
    let slot = (Math.imul(len, 0x9e3779b1) ^ Math.imul(c0, 31) ^ Math.imul(c1, 1021) ^ Math.imul(cm, 8191) ^ Math.imul(c2, 131071)) & this.mask
    for (let probe = 0; probe < 8; probe++) {
      const cand = this.table[slot]
      if (cand === undefined) {
        const fresh = flat(line.slice(start, end))
        if (this.size < this.mask >> 1) {
          this.table[slot] = fresh
          this.size++
        }
        return fresh
      }
      // startsWith(s, pos) is one native compare, no charCodeAt loop
      if (cand.length === len && line.startsWith(cand, start)) return cand
      slot = (slot + 1) & this.mask
    }
    return line.slice(start, end)
  }
}

/** A flat copy that does not keep its parent string alive. */
export function flat(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string)
}

/** Shared by every tokenizer (a cache only: it changes no result). */
export const NAMES = new Interner()

export function intern(s: string): string {
  return NAMES.get(s, 0, s.length)
}

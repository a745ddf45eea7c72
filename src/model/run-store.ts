/**
 * The ordered number → number map PageTables keeps its runs in (run start → packed shape): a list
 * of sorted blocks of at most `maxBlock` keys, with each block's first key in a separate array.
 * A lookup is two binary searches over plain number arrays (no recursion, no comparator calls);
 * an insert or delete is one shift inside a block (a move of at most `maxBlock` numbers),
 * plus a block split or removal now and then. It offers the subset of sorted-btree's API that
 * PageTables uses, with the same meaning; test/model/run-store.prop.test.ts checks it against a
 * sorted-array oracle with tiny blocks.
 *
 * Memory: two numbers per key in arrays, one first-key and two array headers per block.
 */
/**
 * a.splice(i, 0, x) without the array splice() returns: a store update on the replay's hot path
 * allocates nothing (a shift of at most maxBlock numbers).
 */
function insertAt(a: number[], i: number, x: number): void {
  let j = a.length
  a.push(x)
  for (; j > i; j--) a[j] = a[j - 1]!
  a[i] = x
}

/** a.splice(i, j - i) without the array it returns (pop(), not length =: the backing store stays). */
function removeRange(a: number[], i: number, j: number): void {
  const d = j - i
  const n = a.length - d
  for (let x = i; x < n; x++) a[x] = a[x + d]!
  for (let x = 0; x < d; x++) a.pop()
}

export class RunStore {
  private ks: number[][] = [[]]
  private vs: number[][] = [[]]
  /** firsts[b] = ks[b][0]; empty while the store is empty (then ks = [[]]). */
  private firsts: number[] = []
  size = 0

  /**
   * 32 keys a block: an insert or delete moves at most 32 numbers per array. (256 made each edit
   * of the real 6.19 trace's 700-run model shift ~128: 4 M edits/s where 32 gives 12 M.)
   */
  constructor(private readonly maxBlock = 32) {}

  /** The block that holds x or would: the last whose first key ≤ x (block 0 if none). */
  private blockOf(x: number): number {
    const f = this.firsts
    let lo = 0
    let hi = f.length - 1
    if (hi <= 0) return 0
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (f[mid]! <= x) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Index of the last key ≤ x in keys, or -1. */
  private static le(keys: number[], x: number): number {
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (keys[mid]! <= x) lo = mid + 1
      else hi = mid
    }
    return lo - 1
  }

  get(k: number, dflt?: number): number | undefined {
    const b = this.blockOf(k)
    const keys = this.ks[b]!
    const i = RunStore.le(keys, k)
    return i >= 0 && keys[i] === k ? this.vs[b]![i] : dflt
  }

  /** Insert or overwrite. */
  set(k: number, v: number, _overwrite = true): void {
    if (this.size === 0) {
      this.ks = [[k]]
      this.vs = [[v]]
      this.firsts = [k]
      this.size = 1
      return
    }
    const b = this.blockOf(k)
    const keys = this.ks[b]!
    const vals = this.vs[b]!
    const i = RunStore.le(keys, k)
    if (i >= 0 && keys[i] === k) {
      vals[i] = v
      return
    }
    insertAt(keys, i + 1, k)
    insertAt(vals, i + 1, v)
    this.size++
    if (i + 1 === 0) this.firsts[b] = k
    if (keys.length > this.maxBlock) {
      const half = keys.length >> 1
      const nk = keys.splice(half)
      const nv = vals.splice(half)
      this.ks.splice(b + 1, 0, nk)
      this.vs.splice(b + 1, 0, nv)
      this.firsts.splice(b + 1, 0, nk[0]!)
    }
  }

  /**
   * Insert a key greater than every key held (a build in ascending order): appended to the last
   * block, a new block when it is full — no search, no splice, blocks filled to maxBlock.
   */
  append(k: number, v: number): void {
    if (this.size === 0) return this.set(k, v)
    let b = this.ks.length - 1
    if (this.ks[b]!.length >= this.maxBlock) {
      // a full block is not appended to again: trim its arrays to their length (push leaves
      // about a third of spare capacity)
      this.ks[b] = this.ks[b]!.slice()
      this.vs[b] = this.vs[b]!.slice()
      this.ks.push([])
      this.vs.push([])
      this.firsts.push(k)
      b++
    }
    this.ks[b]!.push(k)
    this.vs[b]!.push(v)
    this.size++
  }

  delete(k: number): boolean {
    if (this.size === 0) return false
    const b = this.blockOf(k)
    const keys = this.ks[b]!
    const i = RunStore.le(keys, k)
    if (i < 0 || keys[i] !== k) return false
    removeRange(keys, i, i + 1)
    removeRange(this.vs[b]!, i, i + 1)
    this.size--
    this.afterRemove(b, i)
    return true
  }

  /**
   * Delete every key in [lo, hi) (or [lo, hi] if includeHi): one shift per partly emptied block,
   * and the wholly emptied blocks (they are consecutive) dropped by one splice — a delete over
   * many blocks is linear in them, not quadratic (a 1 M-run linear map replaced at once).
   */
  deleteRange(lo: number, hi: number, includeHi: boolean): number {
    if (this.size === 0) return 0
    let b = this.blockOf(lo)
    let i = RunStore.le(this.ks[b]!, lo)
    if (i < 0 || this.ks[b]![i]! < lo) i++
    let n = 0
    let dropFrom = -1
    let dropTo = -1
    for (; b < this.ks.length; b++, i = 0) {
      const keys = this.ks[b]!
      const len = keys.length
      let j = i
      while (j < len && (keys[j]! < hi || (includeHi && keys[j] === hi))) j++
      if (j > i) {
        n += j - i
        this.size -= j - i
        if (i === 0 && j === len) {
          if (dropFrom < 0) dropFrom = b
          dropTo = b + 1
        } else {
          removeRange(keys, i, j)
          removeRange(this.vs[b]!, i, j)
          if (i === 0) this.firsts[b] = keys[0]!
        }
      }
      if (j < len) break
    }
    if (dropFrom >= 0) {
      if (dropTo - dropFrom === this.ks.length) {
        this.ks = [[]]
        this.vs = [[]]
        this.firsts = []
      } else {
        this.ks.splice(dropFrom, dropTo - dropFrom)
        this.vs.splice(dropFrom, dropTo - dropFrom)
        this.firsts.splice(dropFrom, dropTo - dropFrom)
      }
    }
    return n
  }

  /** Keep the block index right after keys were removed from block b at index i. */
  private afterRemove(b: number, i: number): void {
    const keys = this.ks[b]!
    if (keys.length === 0) {
      if (this.ks.length > 1) {
        this.ks.splice(b, 1)
        this.vs.splice(b, 1)
        this.firsts.splice(b, 1)
      } else this.firsts = []
    } else if (i === 0) this.firsts[b] = keys[0]!
  }

  /** [key, value] of the largest key ≤ x, or undefined. */
  getPairOrNextLower(x: number, reused: [number, number] = [0, 0]): [number, number] | undefined {
    if (this.size === 0) return undefined
    const b = this.blockOf(x)
    const i = RunStore.le(this.ks[b]!, x)
    if (i < 0) return undefined
    reused[0] = this.ks[b]![i]!
    reused[1] = this.vs[b]![i]!
    return reused
  }

  /** [key, value] of the largest key < x, or undefined. */
  nextLowerPair(x: number, reused: [number, number] = [0, 0]): [number, number] | undefined {
    if (this.size === 0) return undefined
    let b = this.blockOf(x)
    let i = RunStore.le(this.ks[b]!, x)
    if (i >= 0 && this.ks[b]![i] === x) i--
    if (i < 0) {
      if (b === 0) return undefined
      b--
      i = this.ks[b]!.length - 1
    }
    reused[0] = this.ks[b]![i]!
    reused[1] = this.vs[b]![i]!
    return reused
  }

  /** The smallest key > x, or undefined. */
  nextHigherKey(x: number): number | undefined {
    if (this.size === 0) return undefined
    const b = this.blockOf(x)
    const keys = this.ks[b]!
    const i = RunStore.le(keys, x) + 1
    if (i < keys.length) return keys[i]
    return b + 1 < this.ks.length ? this.ks[b + 1]![0] : undefined
  }

  /** Call fn(k, v) for each key in [lo, hi) (or [lo, hi]) in order; fn must not modify the store. */
  forRange(lo: number, hi: number, includeHi: boolean, fn: (k: number, v: number) => void): void {
    if (this.size === 0) return
    let b = this.blockOf(lo)
    let i = RunStore.le(this.ks[b]!, lo)
    if (i < 0 || this.ks[b]![i]! < lo) i++
    for (; b < this.ks.length; b++, i = 0) {
      const keys = this.ks[b]!
      const vals = this.vs[b]!
      for (; i < keys.length; i++) {
        const k = keys[i]!
        if (k > hi || (k === hi && !includeHi)) return
        fn(k, vals[i]!)
      }
    }
  }

  /** [key, value] pairs from the first key ≥ lo (the store must not change while iterating). */
  *entries(lo: number): Generator<[number, number]> {
    if (this.size === 0) return
    let b = this.blockOf(lo)
    let i = RunStore.le(this.ks[b]!, lo)
    if (i < 0 || this.ks[b]![i]! < lo) i++
    for (; b < this.ks.length; b++, i = 0) {
      const keys = this.ks[b]!
      const vals = this.vs[b]!
      for (; i < keys.length; i++) yield [keys[i]!, vals[i]!]
    }
  }

  keysArray(): number[] {
    return ([] as number[]).concat(...this.ks)
  }

  valuesArray(): number[] {
    return ([] as number[]).concat(...this.vs)
  }

  clone(): RunStore {
    const c = new RunStore(this.maxBlock)
    c.ks = this.ks.map((a) => a.slice())
    c.vs = this.vs.map((a) => a.slice())
    c.firsts = this.firsts.slice()
    c.size = this.size
    return c
  }
}

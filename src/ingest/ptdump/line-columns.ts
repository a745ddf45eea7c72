/**
 * Columns of the range lines kept (bounded by the number of printed runs), in fixed-size chunks:
 * growing never copies and never holds two generations at once, so the peak is the data itself.
 *
 * Two columns are mostly implied, so they are stored only where they are not: a line's end is the
 * next line's start (v5.6+ dumps tile the address space), and line numbers run on by one. A chunk
 * gets an explicit end or line column the first time one of its lines breaks the rule (a gap, a
 * marker between lines): 13 bytes a line instead of 25 for a tiling dump, never more than 25.
 */
const CHUNK_BITS = 16
const CHUNK = 1 << CHUNK_BITS
/** Index within a chunk; a line index i with (i & MASK) === 0 starts a chunk. */
export const MASK = CHUNK - 1

export class LineColumns {
  n = 0
  private starts: Float64Array[] = []
  private prots: Int32Array[] = []
  /** bit 0-2: level code; bit 3: cont */
  private shapes: Uint8Array[] = []
  /** Per chunk: the ends, or undefined while each equals the next line's start. */
  private ends: (Float64Array | undefined)[] = []
  /** Per chunk: the line numbers, or undefined while they run on from lineBase. */
  private lines: (Uint32Array | undefined)[] = []
  private lineBase: number[] = []
  /** End of the last line pushed (not yet in any column). */
  private lastEnd = 0

  push(start: number, end: number, prot: number, level: number, cont: boolean, line: number): void {
    const i = this.n
    if (i > 0) this.keepEnd(i - 1, start)
    const c = i >>> CHUNK_BITS
    const j = i & MASK
    if (j === 0) {
      this.starts.push(new Float64Array(CHUNK))
      this.prots.push(new Int32Array(CHUNK))
      this.shapes.push(new Uint8Array(CHUNK))
      this.ends.push(undefined)
      this.lines.push(undefined)
      this.lineBase.push(line)
    }
    this.starts[c]![j] = start
    this.prots[c]![j] = prot
    this.shapes[c]![j] = level | (cont ? 8 : 0)
    const lines = this.lines[c]
    if (lines !== undefined) lines[j] = line
    else if (line !== this.lineBase[c]! + j) {
      const a = new Uint32Array(CHUNK)
      for (let k = 0; k < j; k++) a[k] = this.lineBase[c]! + k
      a[j] = line
      this.lines[c] = a
    }
    this.lastEnd = end
    this.n = i + 1
  }

  /** Line i (not the last) ends at lastEnd; the next line starts at `next`. */
  private keepEnd(i: number, next: number): void {
    const c = i >>> CHUNK_BITS
    const j = i & MASK
    let e = this.ends[c]
    if (e === undefined) {
      if (next === this.lastEnd) return
      e = new Float64Array(CHUNK)
      const s = this.starts[c]!
      for (let k = 0; k < j; k++) e[k] = s[k + 1]!
      this.ends[c] = e
    }
    e[j] = this.lastEnd
  }

  start(i: number): number {
    return this.starts[i >>> CHUNK_BITS]![i & MASK]!
  }
  setStart(i: number, v: number): void {
    this.starts[i >>> CHUNK_BITS]![i & MASK] = v
  }
  end(i: number): number {
    if (i === this.n - 1) return this.lastEnd
    const e = this.ends[i >>> CHUNK_BITS]
    return e !== undefined ? e[i & MASK]! : this.start(i + 1)
  }
  prot(i: number): number {
    return this.prots[i >>> CHUNK_BITS]![i & MASK]!
  }
  shape(i: number): number {
    return this.shapes[i >>> CHUNK_BITS]![i & MASK]!
  }
  line(i: number): number {
    const c = i >>> CHUNK_BITS
    const l = this.lines[c]
    return l !== undefined ? l[i & MASK]! : this.lineBase[c]! + (i & MASK)
  }

  /** Free the chunks wholly below line i (the model is built front to back: peak = one copy). */
  releaseBefore(i: number): void {
    for (let c = (i >>> CHUNK_BITS) - 1; c >= 0 && this.starts[c]!.length; c--) {
      this.starts[c] = new Float64Array(0)
      this.prots[c] = new Int32Array(0)
      this.shapes[c] = new Uint8Array(0)
      this.ends[c] = undefined
      this.lines[c] = undefined
    }
  }
}

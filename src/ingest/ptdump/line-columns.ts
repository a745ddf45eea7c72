/**
 * Columns of the range lines kept (bounded by the number of printed runs), in fixed-size chunks:
 * growing never copies and never holds two generations at once, so the peak is the data itself.
 */
const CHUNK_BITS = 16
const CHUNK = 1 << CHUNK_BITS
/** Index within a chunk; a line index i with (i & MASK) === 0 starts a chunk. */
export const MASK = CHUNK - 1

export class LineColumns {
  n = 0
  private starts: Float64Array[] = []
  private ends: Float64Array[] = []
  private prots: Int32Array[] = []
  /** bit 0-2: level code; bit 3: cont */
  private shapes: Uint8Array[] = []
  private lines: Uint32Array[] = []

  push(start: number, end: number, prot: number, level: number, cont: boolean, line: number): void {
    const i = this.n++
    const c = i >>> CHUNK_BITS
    if (c === this.starts.length) {
      this.starts.push(new Float64Array(CHUNK))
      this.ends.push(new Float64Array(CHUNK))
      this.prots.push(new Int32Array(CHUNK))
      this.shapes.push(new Uint8Array(CHUNK))
      this.lines.push(new Uint32Array(CHUNK))
    }
    const j = i & MASK
    this.starts[c]![j] = start
    this.ends[c]![j] = end
    this.prots[c]![j] = prot
    this.shapes[c]![j] = level | (cont ? 8 : 0)
    this.lines[c]![j] = line
  }

  start(i: number): number {
    return this.starts[i >>> CHUNK_BITS]![i & MASK]!
  }
  setStart(i: number, v: number): void {
    this.starts[i >>> CHUNK_BITS]![i & MASK] = v
  }
  end(i: number): number {
    return this.ends[i >>> CHUNK_BITS]![i & MASK]!
  }
  prot(i: number): number {
    return this.prots[i >>> CHUNK_BITS]![i & MASK]!
  }
  shape(i: number): number {
    return this.shapes[i >>> CHUNK_BITS]![i & MASK]!
  }
  line(i: number): number {
    return this.lines[i >>> CHUNK_BITS]![i & MASK]!
  }

  /** Free the chunks wholly below line i (the model is built front to back: peak = one copy). */
  releaseBefore(i: number): void {
    for (let c = (i >>> CHUNK_BITS) - 1; c >= 0 && this.starts[c]!.length; c--) {
      const empty = new Float64Array(0)
      this.starts[c] = empty
      this.ends[c] = empty
      this.prots[c] = new Int32Array(0)
      this.shapes[c] = new Uint8Array(0)
      this.lines[c] = new Uint32Array(0)
    }
  }
}

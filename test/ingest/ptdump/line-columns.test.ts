/**
 * LineColumns stores a line's end and number only where they are not implied (end = next start,
 * number = previous + 1): every column reads back as pushed, across chunk boundaries (65,536
 * lines a chunk), whichever line first breaks the rule.
 */
import {describe, expect, it} from 'vitest'

import {LineColumns} from '../../../src/ingest/ptdump/line-columns.js'

function check(n: number, gapAt: Set<number>, jumpAt: Set<number>): void {
  const cols = new LineColumns()
  const want: {start: number; end: number; line: number; prot: number}[] = []
  let at = 4096
  let line = 2
  for (let i = 0; i < n; i++) {
    if (gapAt.has(i)) at += 8192
    if (jumpAt.has(i)) line += 3
    const r = {start: at, end: at + 4096 * ((i % 3) + 1), line, prot: i % 7}
    cols.push(r.start, r.end, r.prot, i % 5, i % 2 === 0, r.line)
    want.push(r)
    at = r.end
    line++
  }
  expect(cols.n).toBe(n)
  for (let i = 0; i < n; i++) {
    const w = want[i]!
    if (cols.start(i) !== w.start || cols.end(i) !== w.end || cols.line(i) !== w.line || cols.prot(i) !== w.prot || cols.shape(i) !== ((i % 5) | (i % 2 === 0 ? 8 : 0))) {
      throw new Error(`line ${i}: got ${cols.start(i)}-${cols.end(i)} line ${cols.line(i)}, want ${w.start}-${w.end} line ${w.line}`)
    }
  }
}

describe('LineColumns', () => {
  const C = 65536
  it('tiling lines with consecutive numbers (nothing explicit)', () => check(C + 10, new Set(), new Set()))
  it('a gap and a line jump inside the first chunk', () => check(C + 10, new Set([5]), new Set([7])))
  it('a gap right after the last line of a chunk and a jump at a chunk start', () => check(2 * C + 3, new Set([C, 2 * C]), new Set([C, C + 1])))
  it('a gap at the very end of a chunk', () => check(C + 2, new Set([C - 1]), new Set([C - 1])))
  it('every line a gap (a v5.4 dump)', () => check(1000, new Set(Array.from({length: 1000}, (_, i) => i)), new Set([0, 500])))
})

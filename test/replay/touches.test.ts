/**
 * TouchMap against a page-by-page oracle (an array of owners, one slot per page), with run-store
 * blocks of 4 keys so that block splits and cross-block neighbours happen all the time.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {TouchMap} from '../../src/replay/touches.js'

const PAGES = 48

/** Maximal stretches of equal non-empty owner in the oracle. */
function stretches(o: Array<number | undefined>): Array<{start: number; end: number; ref: number}> {
  const out: Array<{start: number; end: number; ref: number}> = []
  for (let i = 0; i < o.length; i++) {
    const r = o[i]
    if (r === undefined) continue
    const last = out.at(-1)
    if (last && last.end === i && last.ref === r) last.end = i + 1
    else out.push({start: i, end: i + 1, ref: r})
  }
  return out
}

describe('TouchMap', () => {
  it('set (last writer wins) and fill (first writer wins) agree with a per-page oracle; runs stay merged', () => {
    const op = fc.tuple(fc.boolean(), fc.nat(PAGES), fc.nat(12), fc.integer({min: 0, max: 3}))
    fc.assert(
      fc.property(fc.array(op, {maxLength: 80}), (ops) => {
        const m = new TouchMap<number>(4)
        const oracle: Array<number | undefined> = Array.from({length: PAGES + 12}, () => undefined)
        for (const [isSet, start, len, ref] of ops) {
          const end = start + len
          if (isSet) m.set(start, end, ref)
          else m.fill(start, end, ref)
          for (let i = start; i < end; i++) if (isSet || oracle[i] === undefined) oracle[i] = ref
          const want = stretches(oracle)
          expect(m.size).toBe(want.length)
          expect(m.overlapping(0, oracle.length)).toEqual(want)
        }
        const want = stretches(oracle)
        for (let s = 0; s < oracle.length; s += 3) {
          for (const e of [s + 1, s + 5]) {
            const refs: number[] = []
            for (let i = s; i < e; i++) if (oracle[i] !== undefined && !refs.includes(oracle[i]!)) refs.push(oracle[i]!)
            expect(m.refsIn(s, e)).toEqual(refs)
            const below = want.filter((w) => w.end <= s).at(-1)
            const above = want.find((w) => w.start >= e)
            expect(m.neighbours(s, e)).toEqual({...(below ? {below} : {}), ...(above ? {above} : {})})
          }
        }
      }),
      {numRuns: 300},
    )
  })

  it('an empty or inverted range changes nothing', () => {
    const m = new TouchMap<string>()
    m.set(10, 10, 'a')
    m.fill(12, 11, 'b')
    expect(m.size).toBe(0)
    expect(m.neighbours(0, 5)).toEqual({})
  })
})

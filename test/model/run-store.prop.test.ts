/**
 * RunStore against a sorted-array oracle, with blocks of 4 keys so that splits, block removals
 * and cross-block neighbours happen all the time.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {RunStore} from '../../src/model/run-store.js'

const KEYS = 40

describe('RunStore', () => {
  it('set/delete/deleteRange keep the same map as a sorted array; every query answers like it', () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), fc.nat(KEYS), fc.integer({min: 0, max: 9})),
      fc.tuple(fc.constant('del' as const), fc.nat(KEYS), fc.constant(0)),
      fc.tuple(fc.constant('range' as const), fc.nat(KEYS), fc.nat(6)),
    )
    fc.assert(
      fc.property(fc.array(op, {maxLength: 120}), (ops) => {
        const s = new RunStore(4)
        const oracle = new Map<number, number>()
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            s.set(k, v, true)
            oracle.set(k, v)
          } else if (kind === 'del') {
            expect(s.delete(k)).toBe(oracle.delete(k))
          } else {
            let n = 0
            for (const key of [...oracle.keys()]) if (key >= k && key <= k + v) n += oracle.delete(key) ? 1 : 0
            expect(s.deleteRange(k, k + v, true)).toBe(n)
          }
          const keys = [...oracle.keys()].sort((a, b) => a - b)
          expect(s.size).toBe(keys.length)
          expect(s.keysArray()).toEqual(keys)
          expect(s.valuesArray()).toEqual(keys.map((x) => oracle.get(x)))
        }
        const keys = [...oracle.keys()].sort((a, b) => a - b)
        for (let x = -1; x <= KEYS + 1; x++) {
          const le = keys.filter((key) => key <= x).pop()
          const lt = keys.filter((key) => key < x).pop()
          const gt = keys.find((key) => key > x)
          expect(s.get(x)).toBe(oracle.get(x))
          expect(s.getPairOrNextLower(x)).toEqual(le === undefined ? undefined : [le, oracle.get(le)])
          expect(s.nextLowerPair(x)).toEqual(lt === undefined ? undefined : [lt, oracle.get(lt)])
          expect(s.nextHigherKey(x)).toBe(gt)
          const seen: number[] = []
          s.forRange(x, x + 7, false, (k) => void seen.push(k))
          expect(seen).toEqual(keys.filter((key) => key >= x && key < x + 7))
          const seenIncl: number[] = []
          s.forRange(x, x + 7, true, (k) => void seenIncl.push(k))
          expect(seenIncl).toEqual(keys.filter((key) => key >= x && key <= x + 7))
          expect([...s.entries(x)].map((p) => p[0])).toEqual(keys.filter((key) => key >= x))
        }
        const c = s.clone()
        c.set(KEYS + 5, 1)
        expect(s.keysArray()).toEqual(keys)
        expect(c.size).toBe(keys.length + 1)
      }),
      {numRuns: 300},
    )
  })
})

/**
 * The run store against a naive per-page oracle: random replace() calls over a small universe
 * (including undescribed gaps) must leave exactly the per-page shapes the oracle holds, maximal
 * runs, exact totals and table counts equal to a recount.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {makeGeometry} from '../../src/model/geometry.js'
import {HOLE, PageTables, type Run, emptyTotals, accumulate} from '../../src/model/pagetable.js'
import {P_AF, P_RDONLY, P_VALID} from '../../src/model/prot.js'

const geo = makeGeometry(4096, 48)
const PAGE = 4096
const N = 64 // pages in the universe under test, placed at an arbitrary aligned base
const BASE = 2 ** 47 + 5 * 2 ** 30

type Cell = {lvl: number; cont: boolean; prot: number; flags: number} | undefined

function runsOfCells(cells: Cell[]): Run[] {
  const out: Run[] = []
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]
    if (!c) continue
    const start = BASE + i * PAGE
    const last = out[out.length - 1]
    if (last && last.end === start && last.lvl === c.lvl && last.cont === c.cont && last.prot === c.prot && last.flags === c.flags) last.end += PAGE
    else out.push({start, end: start + PAGE, ...c})
  }
  return out
}

const cell = fc.option(
  fc.record({lvl: fc.constant(0), cont: fc.constant(false), prot: fc.constantFrom(HOLE, P_VALID | P_AF, P_VALID | P_AF | P_RDONLY, P_AF), flags: fc.constant(0)}),
  {nil: undefined},
)

describe('PageTables storage', () => {
  it('replace() matches a per-page oracle, keeps runs maximal and totals exact', () => {
    fc.assert(
      fc.property(
        fc.array(cell, {minLength: N, maxLength: N}),
        fc.array(fc.tuple(fc.nat(N - 1), fc.nat(N - 1), fc.array(cell, {minLength: N, maxLength: N})), {maxLength: 12}),
        (initial, ops) => {
          const cells = [...initial]
          const pt = PageTables.fromRuns(geo, runsOfCells(cells))
          for (const [a, b, fill] of ops) {
            const lo = Math.min(a, b)
            const hi = Math.max(a, b) + 1
            for (let i = lo; i < hi; i++) cells[i] = fill[i]
            const repl = runsOfCells(cells.map((c, i) => (i >= lo && i < hi ? c : undefined)))
            pt.replace(BASE + lo * PAGE, BASE + hi * PAGE, repl)
          }
          expect([...pt.runs()]).toEqual(runsOfCells(cells))
          // The allocation-free walkers agree with runs() on every window.
          for (const [a, b] of [[0, N], [3, 17], [20, 21], [N - 5, N]] as const) {
            const from = BASE + a * PAGE
            const to = BASE + b * PAGE
            const viaCb: Run[] = []
            pt.forEachRun(from, to, (s, e, lvl, cont, prot, flags) => viaCb.push({start: s, end: e, lvl, cont, prot, flags}))
            const viaGen = [...pt.runs(from, to)]
            expect(viaCb).toEqual(viaGen)
            expect(pt.firstRun(from, to)).toEqual(viaGen[0])
          }
          expect(pt.check()).toEqual([])
          const t = emptyTotals()
          for (const r of runsOfCells(cells)) accumulate(geo, t, r)
          expect(pt.totals).toEqual(t)
          expect(pt.runCount).toBe(runsOfCells(cells).length)
          const fresh = PageTables.fromRuns(geo, runsOfCells(cells))
          expect(pt.equals(fresh)).toBe(true)
          expect(pt.recountTables()).toEqual(fresh.tables)
        },
      ),
      {numRuns: 300},
    )
  })
})

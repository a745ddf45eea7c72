/**
 * The run store against a naive per-page oracle: random replace() calls over a small universe
 * (including undescribed gaps) must leave exactly the per-page shapes the oracle holds, maximal
 * runs, exact totals and table counts equal to a recount.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {emptyTotals, accumulate} from '../../src/model/leaf-totals.js'
import {HOLE, NO_RUN, type Run, metaCont, metaFlags, metaLvl, metaProt} from '../../src/model/run.js'
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

  it('the in-place fast paths (one run replacing part of one run, setProt inside one run) match the oracle', () => {
    // Uniform fills and prot rewrites over short ranges: most land inside one stored run, where
    // replace() and setProt() take paint() (no range scan); the rest take the general path.
    const op = fc.oneof(
      fc.tuple(fc.constant('fill' as const), fc.nat(N - 1), fc.nat(7), cell),
      fc.tuple(fc.constant('prot' as const), fc.nat(N - 1), fc.nat(7), fc.constantFrom(0, P_RDONLY, P_VALID), fc.constantFrom(0, P_RDONLY, P_VALID)),
    )
    fc.assert(
      fc.property(fc.array(cell, {minLength: N, maxLength: N}), fc.array(op, {maxLength: 30}), (initial, ops) => {
        const cells = [...initial]
        const pt = PageTables.fromRuns(geo, runsOfCells(cells))
        for (const o of ops) {
          const lo = o[1]
          const hi = Math.min(N, lo + o[2] + 1)
          // Warm the lookup cache on the range first, as the kernel walks do.
          pt.runAt(BASE + lo * PAGE)
          if (o[0] === 'fill') {
            const c = o[3]
            for (let i = lo; i < hi; i++) cells[i] = c
            pt.replace(BASE + lo * PAGE, BASE + hi * PAGE, c ? [{start: BASE + lo * PAGE, end: BASE + hi * PAGE, ...c}] : [])
          } else {
            const [, , , set, clear] = o
            for (let i = lo; i < hi; i++) {
              const c = cells[i]
              if (c && c.prot !== HOLE) cells[i] = {...c, prot: (c.prot & ~clear) | set}
            }
            pt.setProt(BASE + lo * PAGE, BASE + hi * PAGE, set, clear)
          }
          expect([...pt.runs()]).toEqual(runsOfCells(cells))
          // The lookup cache left by the change answers like a fresh table.
          const fresh = PageTables.fromRuns(geo, runsOfCells(cells))
          for (const i of [lo - 1, lo, hi - 1, hi]) {
            const a = BASE + i * PAGE
            expect([pt.shapeAt(a), pt.runStart, pt.runEnd]).toEqual([fresh.shapeAt(a), fresh.runStart, fresh.runEnd])
          }
        }
        expect(pt.check()).toEqual([])
        const t = emptyTotals()
        for (const r of runsOfCells(cells)) accumulate(geo, t, r)
        expect(pt.totals).toEqual(t)
        expect(pt.runCount).toBe(runsOfCells(cells).length)
        // shapeAt agrees with runAt on every page (and the page before and after the universe).
        for (let i = -1; i <= N; i++) {
          const a = BASE + i * PAGE
          const r = pt.runAt(a)
          const m = pt.shapeAt(a)
          if (!r) expect(m).toBe(NO_RUN)
          else {
            expect({start: pt.runStart, end: pt.runEnd, lvl: metaLvl(m), cont: metaCont(m), prot: metaProt(m), flags: metaFlags(m)}).toEqual(r)
          }
        }
      }),
      {numRuns: 300},
    )
  })
})

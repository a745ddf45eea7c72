/**
 * Properties (docs/page-table-model.md#invariants, 4): split and collapse never change the total mapped bytes nor
 * any page's attributes (only levels and PTE_CONT); incremental table counts equal a recount;
 * check() stays empty. Starting machines come from mapMem() on random banks, so they hold every
 * leaf kind (PUD, cont-PMD, PMD, cont-PTE, PTE) and holes.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {type PageTables} from '../../src/model/pagetable.js'
import {HOLE} from '../../src/model/run.js'
import {HW} from '../../src/model/prot.js'
import {collapseAfterChange, tryCollapseKernelPmd} from '../../src/kernel/collapse.js'
import type {KernelContext} from '../../src/kernel/context.js'
import {makeContext} from '../../src/kernel/dispatch.js'
import {mapMem} from '../../src/kernel/map-mem.js'
import {updateRangeProt} from '../../src/kernel/pageattr.js'
import {makePolicy} from '../../src/kernel/policy.js'
import {rangeSplitToPtes, splitKernelLeafMapping} from '../../src/kernel/split.js'
import {G, K4, LIN, M2, geo} from './helpers.js'

const RAM0 = 0x40000000
const SPAN = 4 * G

/** Per-page attributes as maximal [start, end, prot] pieces, ignoring level and CONT. */
function attrs(pt: PageTables): [number, number, number][] {
  const out: [number, number, number][] = []
  for (const r of pt.runs(LIN, LIN + SPAN)) {
    if (r.prot === HOLE) continue
    const last = out.at(-1)
    if (last && last[1] === r.start && last[2] === r.prot) last[1] = r.end
    else out.push([r.start, r.end, r.prot])
  }
  return out
}

function mappedBytes(pt: PageTables): number {
  const t = pt.totals
  return Object.values(t.mappedBytes).reduce((a, b) => a + b, 0) + t.invalidBytes
}

/** Random memblock banks in [RAM0, RAM0 + SPAN), 64K or 4K aligned, and a machine from mapMem(). */
const machine = fc
  .array(fc.tuple(fc.integer({min: 0, max: SPAN / K4 - 1}), fc.integer({min: 1, max: (3 * G) / K4}), fc.boolean()), {minLength: 1, maxLength: 3})
  .map((specs) => {
    const banks = specs
      .map(([s, n, coarse]) => {
        const g = coarse ? 16 : 1
        const start = RAM0 + Math.floor(s / g) * g * K4
        return {start, end: Math.min(RAM0 + SPAN, start + Math.max(g, Math.floor(n / g) * g) * K4)}
      })
      .sort((a, b) => a.start - b.start)
    const disjoint: typeof banks = []
    for (const b of banks) {
      const prev = disjoint.at(-1)
      if (prev && b.start <= prev.end) prev.end = Math.max(prev.end, b.end)
      else disjoint.push({...b})
    }
    return disjoint
  })

function build(banks: {start: number; end: number}[], policy: 'bbml2' | 'collapse-general'): KernelContext {
  const r = mapMem({geo, cfg: makePolicy('bbml2').cfg, banks, memstartAddr: RAM0})
  return makeContext(r.pt, makePolicy(policy).cfg, {linear: r.linear})
}

const page = fc.integer({min: 0, max: SPAN / K4})

type Op = {k: 'split'; a: number; b: number} | {k: 'ptes'; a: number; b: number} | {k: 'collapse'; a: number} | {k: 'general'; a: number; b: number}
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(page, page).map(([x, y]) => ({k: 'split' as const, a: Math.min(x, y), b: Math.max(x, y) + 1})),
  fc.tuple(page, fc.integer({min: 1, max: 2048})).map(([x, n]) => ({k: 'ptes' as const, a: x, b: x + n})),
  fc.integer({min: 0, max: SPAN / M2 - 1}).map((x) => ({k: 'collapse' as const, a: x})),
  fc.tuple(page, fc.integer({min: 1, max: 1024})).map(([x, n]) => ({k: 'general' as const, a: x, b: x + n})),
)

function invariants(ctx: KernelContext): void {
  expect(ctx.pt.recountTables()).toEqual(ctx.pt.tables)
  expect(ctx.pt.check()).toEqual([])
}

const stats = {alloc: 0, freed: 0, runs: 0}
const stats2 = {alloc: 0, freed: 0, runs: 0}

describe('split / collapse properties', () => {
  it('never change mapped bytes or any page attribute; tables stay exact', () => {
    fc.assert(
      fc.property(machine, fc.array(op, {minLength: 1, maxLength: 12}), (banks, ops) => {
        const ctx = build(banks, 'bbml2')
        const attrs0 = attrs(ctx.pt)
        const bytes0 = mappedBytes(ctx.pt)
        const tables0 = ctx.pt.tablePages
        for (const o of ops) {
          if (o.k === 'split') expect(splitKernelLeafMapping(ctx, LIN + o.a * K4, LIN + o.b * K4)).toBe(0)
          else if (o.k === 'ptes') expect(rangeSplitToPtes(ctx, LIN + o.a * K4, LIN + o.b * K4)).toBe(0)
          else if (o.k === 'collapse') tryCollapseKernelPmd(ctx, LIN + o.a * M2)
          else collapseAfterChange(ctx, LIN + o.a * K4, LIN + o.b * K4, {})
          invariants(ctx)
        }
        expect(attrs(ctx.pt)).toEqual(attrs0)
        expect(mappedBytes(ctx.pt)).toBe(bytes0)
        expect(ctx.pt.tablePages).toBe(tables0 + ctx.tablePagesAllocated - ctx.tablePagesFreed)
        // A general collapse over everything folds back every table a split added: map_mem()
        // only leaves tables where a bank edge puts holes, which no split can fill.
        collapseAfterChange(ctx, LIN, LIN + SPAN, {})
        invariants(ctx)
        expect(attrs(ctx.pt)).toEqual(attrs0)
        expect(ctx.pt.tablePages).toBe(tables0)
        stats.alloc += ctx.tablePagesAllocated
        stats.freed += ctx.tablePagesFreed
        stats.runs++
      }),
      {numRuns: 60},
    )
  })

  it('a permission change and its inverse restore every page; collapse-general then frees what the split took', () => {
    fc.assert(
      fc.property(machine, fc.array(fc.tuple(page, fc.integer({min: 1, max: 600})), {minLength: 1, maxLength: 6}), (banks, changes) => {
        const ctx = build(banks, 'collapse-general')
        const attrs0 = attrs(ctx.pt)
        for (const [a, n] of changes) {
          const s = LIN + a * K4
          // Only over mapped pages (set_memory callers own what they change).
          const mapped = [...ctx.pt.runs(s, s + n * K4)].every((r) => r.prot !== HOLE) && [...ctx.pt.runs(s, s + n * K4)].reduce((x, r) => x + r.end - r.start, 0) === n * K4
          if (!mapped) continue
          expect(updateRangeProt(ctx, s, n * K4, HW.PTE_RDONLY, 0n)).toBe(0)
          invariants(ctx)
          expect(updateRangeProt(ctx, s, n * K4, 0n, HW.PTE_RDONLY)).toBe(0)
          collapseAfterChange(ctx, s, s + n * K4, {})
          invariants(ctx)
        }
        expect(attrs(ctx.pt)).toEqual(attrs0)
        // Every split page-table page of a restored range can be folded back except where the
        // boot map itself had tables; never more freed than allocated.
        expect(ctx.tablePagesFreed).toBeLessThanOrEqual(ctx.tablePagesAllocated)
        stats2.alloc += ctx.tablePagesAllocated
        stats2.freed += ctx.tablePagesFreed
        stats2.runs++
      }),
      {numRuns: 40},
    )
  })

  it('the generators did exercise splits and collapses (runs in file order, after the two above)', () => {
    expect(stats.runs).toBe(60)
    expect(stats.alloc).toBeGreaterThan(50)
    expect(stats.freed).toBe(stats.alloc)
    expect(stats2.alloc).toBeGreaterThan(10)
  })
})

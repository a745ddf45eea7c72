/**
 * Every page-table walk advances (issue 13, repro R01: test/data/repro/): for any stored runs (any level, any
 * alignment, holes, gaps) and any requested range — empty, reversed, negative, past 2^64 — each
 * walk returns or throws a ModelError; it never spins. A spinning walk would block the event loop,
 * so the tables are wrapped with a step budget that turns a non-advancing loop into an exception.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {KVA_END} from '../../src/model/address.js'
import {PageTables} from '../../src/model/pagetable.js'
import {ModelError} from '../../src/model/model-error.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {HW} from '../../src/model/prot.js'
import {makeContext} from '../../src/kernel/dispatch.js'
import {
  applyToPageRange,
  changeMemoryCommon,
  pageAddress,
  pageattrWalk,
  setDirectMapInvalidNoflush,
  updateRangeProt,
} from '../../src/kernel/pageattr.js'
import {makePolicy, type PolicyName} from '../../src/kernel/policy.js'
import {rangeSplitToPtes, splitKernelLeafMapping} from '../../src/kernel/split.js'
import {cpaChangeRange} from '../../src/kernel/x86-cpa.js'
import {G, K4, LIN, M2, RW, geo} from './helpers.js'

const STEP_BUDGET = 200_000

/** Wrap the lookups every walk goes through so that a loop that does not advance throws. */
function budgeted(pt: PageTables): PageTables {
  let steps = 0
  const tick = (): void => {
    if (++steps > STEP_BUDGET) throw new Error('walk did not advance (step budget spent)')
  }
  for (const name of ['shapeAt', 'firstRun', 'entryAt', 'runAt'] as const) {
    const orig = (pt[name] as (...a: unknown[]) => unknown).bind(pt)
    ;(pt as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
      tick()
      return orig(...a)
    }
  }
  return pt
}

/** Random runs: sorted and disjoint (fromRuns' contract) but otherwise arbitrary levels, alignment, holes and gaps. */
const runs = fc
  .array(
    fc.record({
      gap: fc.integer({min: 0, max: 3}).map((g) => g * K4 * [1, 16, 512, 1][g]!),
      pages: fc.oneof(fc.integer({min: 1, max: 16}), fc.constantFrom(512, 1024, 8192, 262144)),
      lvl: fc.integer({min: 0, max: 3}),
      cont: fc.boolean(),
      hole: fc.boolean(),
    }),
    {minLength: 0, maxLength: 12},
  )
  .map((specs) => {
    const out: Run[] = []
    let at = LIN
    for (const s of specs) {
      at += s.gap
      const end = at + s.pages * K4
      out.push({start: at, end, lvl: s.lvl, cont: s.cont, prot: s.hole ? HOLE : RW, flags: 0})
      at = end
    }
    return out
  })

/** Addresses around the runs and the edges of the Kva space, in any order. */
const addr = fc.oneof(
  fc.integer({min: -4, max: 4 * 262144 + 64}).map((p) => LIN + p * K4),
  fc.constantFrom(-K4, 0, KVA_END - K4, KVA_END, KVA_END + K4, KVA_END + M2, LIN - 1, LIN + 1),
)

const POLICIES: PolicyName[] = ['pte-only', 'bbml2', 'x86-cpa', 'collapse-general', 'bbml2-repaint']

function expectEnds(f: () => unknown): void {
  try {
    f()
  } catch (e) {
    // A ModelError is a clean, reported stop; anything else (the step budget included) is a failure.
    if (!(e instanceof ModelError)) throw e
  }
}

describe('every walk advances', () => {
  it('shapeAt() always brackets the address, so continuing at runEnd advances', () => {
    fc.assert(
      fc.property(runs, addr, (rs, a) => {
        const pt = PageTables.fromRuns(geo, rs)
        pt.shapeAt(a)
        expect(pt.runStart).toBeLessThanOrEqual(a)
        expect(pt.runEnd).toBeGreaterThan(a)
      }),
      {numRuns: 300, seed: 13},
    )
  })

  it('walks over random runs and random (also reversed or out-of-space) ranges terminate', () => {
    fc.assert(
      fc.property(runs, addr, addr, fc.constantFrom(...POLICIES), (rs, a, b, name) => {
        const pt = budgeted(PageTables.fromRuns(geo, rs))
        const ctx = makeContext(pt, makePolicy(name).cfg, {linear: {start: LIN, end: LIN + 4 * G}})
        const size = b - a
        expectEnds(() => pageattrWalk(ctx, a, b, 0, 0))
        expectEnds(() => updateRangeProt(ctx, a, size, HW.PTE_RDONLY, 0n))
        expectEnds(() => applyToPageRange(ctx, a, size, 0n, HW.PTE_VALID))
        expectEnds(() => rangeSplitToPtes(ctx, a, b))
        expectEnds(() => splitKernelLeafMapping(ctx, a, b))
        expectEnds(() => cpaChangeRange(ctx, a, b, 0, 0))
        expectEnds(() => changeMemoryCommon(ctx, a, Math.max(0, Math.min(4096, Math.floor(size / K4))), HW.PTE_RDONLY, HW.PTE_WRITE))
        expectEnds(() => setDirectMapInvalidNoflush(ctx, a))
      }),
      {numRuns: 400, seed: 1301},
    )
  })

  it('R01: page_address() of a struct page past the vmemmap is not an address (was: the walk spun at 2^64)', () => {
    // vmemmap at 0xfffffc0000000000 with PAGE_OFFSET left unknown-ish: the computed VA would exceed 2^64.
    const vmemmap = 0xfffffc0000000000n - 0xfff0000000000000n
    const page = 0xfffffc0000289640n - 0xfff0000000000000n
    expect(pageAddress(Number(page), Number(vmemmap), KVA_END - K4, K4)).toBeUndefined()
    const pt = budgeted(PageTables.fromRuns(geo, []))
    const ctx = makeContext(pt, makePolicy('pte-only').cfg, {})
    expectEnds(() => setDirectMapInvalidNoflush(ctx, KVA_END + 0xa25000))
  })
})

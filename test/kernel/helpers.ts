/** Shared fixtures for the kernel-mechanism tests (4K pages, 48-bit VA, 4 levels unless said). */
import {pageOffsetKva} from '../../src/model/address.js'
import {type Geometry, makeGeometry} from '../../src/model/geometry.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_SHARED, P_UXN, P_VALID, type Prot, withMemType} from '../../src/model/prot.js'
import type {KernelConfig, KernelContext} from '../../src/kernel/context.js'
import {makeContext} from '../../src/kernel/dispatch.js'
import {makePolicy, type PolicyName} from '../../src/kernel/policy.js'

export const geo: Geometry = makeGeometry(4096, 48)
export const K4 = 4096
export const K64 = 64 * 1024
export const M2 = 2 ** 21
export const M32 = 2 ** 25
export const G = 2 ** 30
/** Linear map start (Kva of 0xffff000000000000). */
export const LIN = pageOffsetKva(48)
/** PAGE_END for 48-bit: 0xffff800000000000. */
export const LIN_END = LIN + 2 ** 47
/** A vmalloc-area address (0xffff800080000000). */
export const VM = LIN_END + 2 * G

/** pgprot_tagged(PAGE_KERNEL) as ptdump shows it: RW NX SHD AF UXN MEM/NORMAL-TAGGED. */
export const RW: Prot = withMemType(P_VALID | P_AF | P_SHARED | P_PXN | P_UXN, 'MEM/NORMAL-TAGGED')

export function run(start: number, end: number, lvl: number, prot: Prot = RW, cont = false): Run {
  return {start, end, lvl, cont, prot, flags: 0}
}

/** Runs clipped to [from, to) as compact tuples [start−base, end−base, lvl, cont, prot]. */
export function shape(pt: PageTables, from: number, to: number, base = from): [number, number, number, boolean, Prot][] {
  return [...pt.runs(from, to)].map((r) => [r.start - base, r.end - base, r.lvl, r.cont, r.prot])
}

/**
 * The linear map of the 6.19 `before` dump of the qemu captures, as runs: a PUD table for the
 * first 512G slot, a PMD table for the first 1G, 1G PUD block, PUD holes to 512G, PGD holes to
 * PAGE_END. (Used where a test needs a realistic block-mapped start.)
 */
export function blockLinearMap(): PageTables {
  return PageTables.fromRuns(geo, [
    run(LIN, LIN + M32, 1, RW, false),
    run(LIN + M32, LIN + G, 1, RW, true),
    run(LIN + G, LIN + 2 * G, 2),
    run(LIN + 2 * G, LIN + 512 * G, 2, HOLE),
    run(LIN + 512 * G, LIN_END, 3, HOLE),
  ])
}

export function ctxFor(pt: PageTables, policy: PolicyName | KernelConfig): KernelContext {
  const cfg = typeof policy === 'string' ? makePolicy(policy).cfg : policy
  return makeContext(pt, cfg, {linear: {start: LIN, end: LIN_END}})
}
